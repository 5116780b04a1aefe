// GET /api/v1/items/:id/runs and /api/v1/script/:id/runs with the token: a check's run log, newest
// first, a page at a time.
// Outputs can hold secrets, so the log is read with the token, as check-ins are sent with it.
import type { FastifyPluginAsyncJsonSchemaToTs } from '@fastify/type-provider-json-schema-to-ts'
import type { FastifyRequest } from 'fastify'
import { NAME_MAX } from '../config/schema.js'
import { zoneOf } from '../domain/schedule.js'
import { NotFoundError } from '../errors.js'
import type { LogEntry } from '../domain/run.js'
import { isoIn } from '../time.js'
import { guardWithToken, requireTags } from './auth.js'

/** Entries per page, unless ?limit= says otherwise. */
const PAGE_DEFAULT = 20
const PAGE_MAX = 100

/** ?limit= and ?before= of a log read newest first, a page of `many` (entries, flips; one: `one`) at a time. */
export const pageQuery = (many: string, one: string, byDefault: number, max: number) =>
  ({
    type: 'object',
    additionalProperties: false,
    properties: {
      limit: { description: `${many} per page.`, type: 'integer', minimum: 1, maximum: max, default: byDefault },
      before: { description: `The seq of the last ${one} of the page before: the next page starts below it.`, type: 'integer', minimum: 1 },
    },
  }) as const

const entries = pageQuery('Entries', 'entry', PAGE_DEFAULT, PAGE_MAX)

const itemSchema = {
  params: {
    type: 'object',
    properties: { id: { type: 'string', minLength: 1, maxLength: NAME_MAX } },
    required: ['id'],
  },
  querystring: entries,
} as const

const scriptSchema = {
  params: {
    type: 'object',
    properties: { id: { type: 'integer', minimum: 1, maximum: Number.MAX_SAFE_INTEGER } },
    required: ['id'],
  },
  querystring: entries,
} as const

/** An entry as the API shows it; times in the check's zone. */
function entryView({ seq, signal, output }: LogEntry, tz: string | undefined) {
  return {
    seq,
    kind: signal.kind,
    time: isoIn(signal.at, tz),
    rid: signal.rid ?? null,
    exit_status: signal.exitStatus ?? null,
    duration_seconds: signal.duration ?? null,
    address: signal.source?.address ?? null,
    user_agent: signal.source?.userAgent || null,
    // The size sent, and what is kept of it: cut at Ping-Body-Limit, or deleted by retention.
    output_bytes: signal.bytes ?? null,
    output: output?.text ?? null,
    output_cut: output === undefined ? null : Buffer.byteLength(output.text) < output.bytes,
    // Reached the check while it was paused with manual_resume: logged, nothing else.
    ignored: signal.ignored === true,
  }
}

/** A page of a log as the API gives it: newest first, and where the next page starts. */
function pageView(id: string | number, page: readonly LogEntry[], limit: number, tz: string | undefined) {
  return {
    id,
    runs: page.map((e) => entryView(e, tz)),
    // A full page may have more below it; the next one is then empty at worst.
    next_before: page.length === limit ? page.at(-1)!.seq : null,
  }
}

const runLogRoutes: FastifyPluginAsyncJsonSchemaToTs = async (app) => {
  const { monitor } = app
  guardWithToken(app, { scope: 'read' })

  /** The log of the item `id` (what: how a 404 names it). */
  const itemLog = (what: 'check' | 'item') => async (request: FastifyRequest<{ Params: { id: string }; Querystring: { limit?: number; before?: number } }>) => {
    const { id } = request.params
    const { limit = PAGE_DEFAULT, before } = request.query
    const items = monitor.config.itemsById.get(id)
    if (items === undefined) throw new NotFoundError(`id: no ${what} has the id ${JSON.stringify(id)}`)
    requireTags(request, id, () => items.flatMap((item) => item.tags))
    const page = await monitor.runLog(id, { keep: monitor.config.runLog.keep, before, limit })
    return pageView(id, page, limit, zoneOf(items[0]!.check.schedule))
  }
  // A check of the checks API is an item: /api/v1/checks/:id/runs is the same log.
  app.get('/api/v1/checks/:id/runs', { schema: { ...itemSchema, summary: "A page of a check's run log", tags: ['checks'] } }, itemLog('check'))
  app.get(
    '/api/v1/items/:id/runs',
    { schema: { ...itemSchema, summary: "A page of an item's run log (as /api/v1/checks/:id/runs)", tags: ['checks'] } },
    itemLog('item'),
  )

  app.get('/api/v1/script/:id/runs', { schema: { ...scriptSchema, summary: "A page of a script's run log", tags: ['scripto'] } }, async (request) => {
    const { id } = request.params
    const { limit = PAGE_DEFAULT, before } = request.query
    if (!monitor.config.scripto.enabled) throw new NotFoundError('the script API is disabled (scripto.enabled: false)')
    requireTags(request, String(id), [])
    const script = monitor.getScript(id)
    if (script === undefined) throw new NotFoundError(`id: no script with id ${id}`)
    const page = await monitor.scriptRunLog(id, { keep: monitor.config.runLog.keep, before, limit })
    return pageView(id, page, limit, zoneOf(monitor.scriptStatus(script).check.schedule))
  })
}

export default runLogRoutes
