// GET|POST|HEAD /refresh/:id[/start|/fail|/log|/<exit status>][?rid=][&create=1] with the token: a signal for
// every item with that id, in every group, with the body as its output. /refresh/:id alone is the
// original statuspage's refresh; /log only adds to the run log.
import type { FastifyPluginAsyncJsonSchemaToTs } from '@fastify/type-provider-json-schema-to-ts'
import { NAME_MAX } from '../config/schema.js'
import { BadRequestError, NotFoundError } from '../errors.js'
import { guardWithToken, requireTags } from './auth.js'
import { provision } from './checks.js'
import { acceptAnyBody, signalOf, tellBodyLimit } from './signals.js'

const schema = {
  summary: 'A check-in with the token: a success, or /start, /fail, /log, /<exit status>',
  tags: ['check-ins'],
  params: {
    type: 'object',
    properties: {
      id: { type: 'string', minLength: 1, maxLength: NAME_MAX },
      signal: { type: 'string', description: 'start, fail, log, or the exit status 0-255; none: success.' },
    },
    required: ['id'],
  },
  response: {
    '2xx': {
      type: 'object',
      properties: { refreshed: { type: 'integer', description: 'How many items (over all groups) have this id.' } },
      required: ['refreshed'],
    },
  },
} as const

const refreshRoutes: FastifyPluginAsyncJsonSchemaToTs = async (app) => {
  acceptAnyBody(app)
  guardWithToken(app, { scope: 'ping', onRejected: () => app.metrics.refreshRejected() })

  // /refresh/:id and /refresh/:id/:signal, as two routes (not an optional parameter) so that the OpenAPI document can say both.
  for (const url of ['/refresh/:id', '/refresh/:id/:signal'])
    app.route({
      method: ['GET', 'POST'],
      url,
      schema: url.endsWith(':signal') ? schema : { ...schema, params: { ...schema.params, properties: { id: schema.params.properties.id } } },
      // Byte for byte what the original sent: Python's json.dumps puts a space after the colon.
      serializerCompiler: () => (data) => `{"refreshed": ${(data as { refreshed: number }).refreshed}}`,
      handler: async (request, reply) => {
        tellBodyLimit(reply)
        const { id, signal: word } = request.params as { id: string; signal?: string }
        const signal = signalOf(word, request)
        if (typeof signal === 'string') throw new BadRequestError(signal)
        const known = app.monitor.config.itemsById.get(id)
        const create = (request.query as { create?: string }).create === '1' && known === undefined
        requireTags(request, id, () => known?.flatMap((item) => item.tags) ?? (create ? (app.monitor.config.autoProvision?.fields.tags ?? []) : []))
        // ?create=1 (statuspage.auto_provision): an unknown id becomes a check, answered 201.
        if (create) {
          const outcome = await provision(app.monitor, id)
          if (outcome === 'full') throw new NotFoundError(`id: ${JSON.stringify(id)} is new, and auto_provision.max_checks checks exist already`)
          if (outcome === 'created') reply.code(201)
        }
        const items = await app.monitor.signal(id, signal)
        if (items.length > 0) {
          if (signal.kind !== 'log') app.metrics.refreshed(items)
        } else {
          app.metrics.refreshUnknown()
          if (app.logLimit.due(`refresh:unknown:${id}`)) request.log.warn({ id }, 'refresh of an id that no check has (more of it this minute are not logged)')
        }
        return { refreshed: items.length }
      },
    })
}

export default refreshRoutes
