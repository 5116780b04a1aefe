// The checks API, /api/v1/checks, with the token: every check listed and readable (config.yml's,
// the API's, those created on a first ping), and the API's own created, replaced, patched and
// deleted. config.yml stays the source of truth for what it defines: writes to its checks are a
// 409. A check written here is in the store: it survives restarts and reaches every replica.
import { Ajv } from 'ajv'
import type { FastifyPluginAsyncJsonSchemaToTs } from '@fastify/type-provider-json-schema-to-ts'
import createError from '@fastify/error'
import type { FastifyRequest } from 'fastify'
import { DEFAULT_GROUP, type DefinedFields } from '../config/defined.js'
import { compileCheck, type Config } from '../config/load.js'
import { checkFields, NAME_MAX, NO_NUL } from '../config/schema.js'
import { isScriptKey, SCRIPT_KEY_PREFIX, type CheckStatus } from '../domain/check.js'
import type { CheckDefinition, DefinedSource } from '../domain/definition.js'
import type { Item } from '../domain/item.js'
import { BadRequestError, describeAjvErrors, NotFoundError, readablePath } from '../errors.js'
import type { Monitor } from '../monitor.js'
import { isoLocal } from '../time.js'
import { allowsTags, badgeUrl, guardWithToken, requireTags } from './auth.js'
import { itemView, SCRIPTS_GROUP, scriptCheckView } from './script-view.js'

const ConflictError = createError('SP_ERR_CONFLICT', '%s', 409)

/** An API check's id: it is a URL segment (/refresh/<id>, /ping/<key>/<id>), so unreserved characters only. */
const CHECK_ID_PATTERN = '^[A-Za-z0-9][A-Za-z0-9_.~-]*$'
const idSchema = { type: 'string', minLength: 1, maxLength: NAME_MAX, pattern: CHECK_ID_PATTERN } as const
const text = (description: string) => ({ description, type: 'string', minLength: 1, maxLength: NAME_MAX, pattern: NO_NUL }) as const

const fieldProperties = {
  name: text('Shown on the page and as the `name` label.'),
  group: text(`The group it is shown in (default: ${DEFAULT_GROUP}).`),
  ...checkFields,
} as const

/** A check's fields, as PUT takes them (and POST, with its id). */
const checkBodySchema = { type: 'object', additionalProperties: false, required: ['name'], properties: fieldProperties } as const
const createBodySchema = { type: 'object', additionalProperties: false, required: ['id', 'name'], properties: { id: idSchema, ...fieldProperties } } as const
/** PATCH: a JSON merge patch (RFC 7396) of the fields; null removes one. What it leaves is checked as PUT's body is. */
const patchBodySchema = {
  type: 'object',
  additionalProperties: false,
  properties: Object.fromEntries(Object.keys(fieldProperties).map((k) => [k, {}])),
} as const
const validateFields = new Ajv({ allErrors: true, strict: true, strictTypes: false, verbose: true }).compile(checkBodySchema)

const params = { type: 'object', properties: { id: { type: 'string', minLength: 1, maxLength: NAME_MAX } }, required: ['id'] } as const

const STATUSES = ['up', 'running', 'late', 'failed', 'timeout', 'never', 'paused', 'maintenance'] as const satisfies readonly CheckStatus[]
const LIST_MAX = 1000

const listQuery = {
  type: 'object',
  additionalProperties: false,
  properties: {
    tag: { description: 'Checks with this tag; repeated, with all of them.', type: 'array', items: { type: 'string', minLength: 1, maxLength: 64 } },
    status: { type: 'string', enum: STATUSES },
    group: { type: 'string', minLength: 1, maxLength: NAME_MAX },
    source: { type: 'string', enum: ['config', 'api', 'auto', 'scripto'] },
    limit: { type: 'integer', minimum: 1, maximum: LIST_MAX, default: 100 },
    offset: { type: 'integer', minimum: 0, default: 0 },
  },
} as const

/** The faults of a check's fields that the schema cannot see (a cron expression, a zone, both interval and schedule), as 400 lines. */
function compileFaults(fields: DefinedFields, config: Config): string[] {
  const faults: string[] = []
  compileCheck(fields, { id: '', group: fields.group ?? DEFAULT_GROUP, index: 0, source: 'api' }, config.checkDefaults, [], (path, message) =>
    faults.push(`${readablePath(path, fields) || 'body'}: ${message}`),
  )
  return faults
}

/** The fields, checked as PUT's body is: by the schema, then by compileCheck. A 400 names every fault. */
function checkedFields(fields: Record<string, unknown>, config: Config): DefinedFields {
  if (!validateFields(fields)) throw new BadRequestError(describeAjvErrors(validateFields.errors ?? [], fields, 'body').join('; '))
  const faults = compileFaults(fields as DefinedFields, config)
  if (faults.length > 0) throw new BadRequestError(faults.join('; '))
  return fields as DefinedFields
}

/** The 409 for a write to a check that config.yml defines, or Scripto's API. */
function refuseConfigured(monitor: Monitor, id: string): void {
  if (isScriptKey(id)) {
    throw new ConflictError(`id: check ${JSON.stringify(id)} is a Scripto script: write it through /api/v1/script/${id.slice(SCRIPT_KEY_PREFIX.length)}`)
  }
  const item = monitor.config.itemsById.get(id)?.[0]
  if (item !== undefined && item.source === 'config') {
    throw new ConflictError(`id: check ${JSON.stringify(id)} is defined in config.yml, which stays the source of truth for it: change it there`)
  }
}

/** A check as the API shows it: its state (as /api/v1/status), its tags, group and source, and for a defined one its fields as given. */
function checkView(monitor: Monitor, item: Item, now: number) {
  const [status] = monitor.itemStatuses([item])
  const definition = item.source === 'config' ? undefined : monitor.definitions().get(item.id)
  return {
    ...itemView(status!, now),
    group: item.group,
    tags: item.tags,
    source: item.source,
    // Signed on a private instance, to embed where no key can be sent.
    badge: badgeUrl(`/badge/${encodeURIComponent(item.id)}.svg`, monitor.config),
    ...(definition === undefined ? {} : { fields: definition.spec, created: isoLocal(definition.created), updated: isoLocal(definition.updated) }),
  }
}

const isCheckId = (id: string) => id.length <= NAME_MAX && new RegExp(CHECK_ID_PATTERN).test(id)

/**
 * ?create=1 of a check-in (statuspage.auto_provision): creates check `id` with the configured
 * fields, named by its id, unless it exists. 'off': auto_provision is not set, or the id cannot be
 * a check's; 'full': max_checks are there (counted on this replica: replicas creating at once may
 * pass it by a few).
 */
export async function provision(monitor: Monitor, id: string): Promise<'created' | 'exists' | 'off' | 'full'> {
  if (monitor.config.itemsById.has(id)) return 'exists'
  const auto = monitor.config.autoProvision
  if (auto === undefined || !isCheckId(id)) return 'off'
  let made = 0
  for (const d of monitor.definitions().values()) if (d.source === 'auto') made++
  if (made >= auto.maxChecks) return 'full'
  let created = false
  await monitor.changeDefinition(id, (current) => {
    if (current !== undefined) return current
    created = true
    const now = monitor.now()
    return { id, source: 'auto', spec: { name: id, ...auto.fields }, created: now, updated: now }
  })
  return created ? 'created' : 'exists'
}

const checksRoutes: FastifyPluginAsyncJsonSchemaToTs = async (app) => {
  const { monitor } = app
  guardWithToken(app, { scope: (request) => (request.method === 'GET' || request.method === 'HEAD' ? 'read' : 'write') })
  for (const key of monitor.config.keys) {
    if (key.plain) app.log.warn({ key: key.name }, 'statuspage.keys: this key is written in config.yml as a plain secret; write sha256:<its digest> instead')
  }

  const view = (id: string, request: FastifyRequest) => {
    if (isScriptKey(id)) {
      const script = monitor.scriptOfKey(id)
      if (script === undefined) throw new NotFoundError(`id: no check has the id ${JSON.stringify(id)}`)
      requireTags(request, id, [])
      return { ...scriptCheckView(monitor.scriptStatus(script), monitor.now()), badge: badgeUrl(`/badge/script/${script.id}.svg`, monitor.config) }
    }
    const item = monitor.config.itemsById.get(id)?.[0]
    if (item === undefined) throw new NotFoundError(`id: no check has the id ${JSON.stringify(id)}`)
    requireTags(request, id, item.tags)
    return checkView(monitor, item, monitor.now())
  }

  /** A write of check `id` as `fields` give it: a key limited to tags may write only its checks, and only with one of its tags. */
  const mayWrite = (request: FastifyRequest, id: string, fields: { tags?: readonly string[] } | undefined) => {
    const current = monitor.config.itemsById.get(id)?.[0] ?? monitor.definitions().get(id)
    if (current !== undefined) requireTags(request, id, 'tags' in current ? current.tags : ((current.spec as DefinedFields).tags ?? []))
    if (fields !== undefined) requireTags(request, id, fields.tags ?? [])
  }

  /** Writes `fields` as check `id`'s definition: `create` refuses an id that exists. Resolves to whether it was created. */
  const define = async (id: string, fields: DefinedFields, { create, source = 'api' }: { create: boolean; source?: DefinedSource }) => {
    if (!isCheckId(id)) throw new BadRequestError(`id: must match ${CHECK_ID_PATTERN} (a check's id is a URL segment)`)
    let created = false
    await monitor.changeDefinition(id, (current) => {
      if (current !== undefined && create) {
        throw new ConflictError(`id: check ${JSON.stringify(id)} exists; PUT /api/v1/checks/${id} replaces it, PATCH changes some of its fields`)
      }
      const now = monitor.now()
      created = current === undefined
      const definition: CheckDefinition = { id, source: current?.source ?? source, spec: fields, created: current?.created ?? now, updated: now }
      return definition
    })
    return created
  }

  app.get('/api/v1/checks', { schema: { summary: 'List checks', tags: ['checks'], querystring: listQuery } }, async (request) => {
    const { tag = [], status, group, source, limit, offset } = request.query
    const now = monitor.now()
    const credential = request.credential!
    let items = monitor.config.items.filter(
      (item) =>
        allowsTags(credential, item.tags) &&
        (source === undefined || item.source === source) &&
        (group === undefined || item.group === group) &&
        tag.every((t) => item.tags.includes(t)),
    )
    if (status !== undefined) items = monitor.itemStatuses(items).flatMap((s) => (s.status === status ? [s.item] : []))
    // Scripto's scripts come after the items: checks with no tags, in the group Scripts.
    const scripts =
      monitor.config.scripto.enabled &&
      credential.tags === undefined &&
      tag.length === 0 &&
      (source === undefined || source === 'scripto') &&
      (group === undefined || group === SCRIPTS_GROUP)
        ? monitor.scripts().flatMap((script) => {
            const s = monitor.scriptStatus(script)
            return status === undefined || s.status === status ? [s] : []
          })
        : []
    const total = items.length + scripts.length
    const views = [
      ...items.slice(offset, offset + limit).map((item) => checkView(monitor, item, now)),
      ...scripts
        .slice(Math.max(0, offset - items.length), Math.max(0, offset + limit - items.length))
        .map((s) => ({ ...scriptCheckView(s, now), badge: badgeUrl(`/badge/script/${s.script.id}.svg`, monitor.config) })),
    ]
    return { checks: views, total, next_offset: offset + limit < total ? offset + limit : null }
  })

  app.get('/api/v1/checks/:id', { schema: { summary: 'Read a check', tags: ['checks'], params } }, async (request) => view(request.params.id, request))

  // The badge URLs of every group and tag (signed on a private instance); a check's is in its view.
  app.get('/api/v1/badges', { schema: { summary: 'The badge URLs of every group and tag', tags: ['checks'] } }, async (request) => {
    const { config } = monitor
    const credential = request.credential!
    const url = (kind: string, name: string) => badgeUrl(`/badge/${kind}/${encodeURIComponent(name)}.svg`, config)
    const tags = new Set(config.items.flatMap((item) => (allowsTags(credential, item.tags) ? item.tags : [])))
    return {
      groups: credential.tags === undefined ? Object.fromEntries(config.groups.map((g) => [g.name, url('group', g.name)])) : {},
      tags: Object.fromEntries(
        [...tags]
          .filter((tag) => allowsTags(credential, [tag]))
          .sort()
          .map((tag) => [tag, url('tag', tag)]),
      ),
    }
  })

  app.post(
    '/api/v1/checks',
    { schema: { summary: 'Create a check (409 when the id exists)', tags: ['checks'], body: createBodySchema } },
    async (request, reply) => {
      const { id, ...fields } = request.body as { id: string } & Record<string, unknown>
      const checked = checkedFields(fields, monitor.config)
      refuseConfigured(monitor, id)
      mayWrite(request, id, checked)
      await define(id, checked, { create: true })
      return reply.code(201).header('location', `/api/v1/checks/${id}`).send(view(id, request))
    },
  )

  app.put(
    '/api/v1/checks/:id',
    {
      schema: {
        summary: 'Create (201) or replace (200) a check',
        tags: ['checks'],
        params,
        body: checkBodySchema,
      },
    },
    async (request, reply) => {
      const { id } = request.params
      const checked = checkedFields(request.body as Record<string, unknown>, monitor.config)
      refuseConfigured(monitor, id)
      mayWrite(request, id, checked)
      const created = await define(id, checked, { create: false })
      return reply.code(created ? 201 : 200).send(view(id, request))
    },
  )

  app.patch(
    '/api/v1/checks/:id',
    { schema: { summary: 'Change some fields of a check (a JSON merge patch)', tags: ['checks'], params, body: patchBodySchema } },
    async (request) => {
      const { id } = request.params
      refuseConfigured(monitor, id)
      mayWrite(request, id, undefined)
      const patch = request.body as Record<string, unknown>
      await monitor.changeDefinition(id, (current) => {
        if (current === undefined) throw new NotFoundError(`id: no check has the id ${JSON.stringify(id)}`)
        const merged: Record<string, unknown> = { ...current.spec }
        for (const [key, value] of Object.entries(patch)) {
          if (value === null) delete merged[key]
          else merged[key] = value
        }
        const spec = checkedFields(merged, monitor.config)
        mayWrite(request, id, spec)
        return { ...current, spec, updated: monitor.now() }
      })
      return view(id, request)
    },
  )

  app.delete('/api/v1/checks/:id', { schema: { summary: 'Delete a check and its run log', tags: ['checks'], params } }, async (request, reply) => {
    const { id } = request.params
    refuseConfigured(monitor, id)
    mayWrite(request, id, undefined)
    let found = false
    await monitor.changeDefinition(id, (current) => {
      found = current !== undefined
      return undefined
    })
    if (!found) throw new NotFoundError(`id: no check has the id ${JSON.stringify(id)}`)
    return reply.code(204).send()
  })
}

export default checksRoutes
