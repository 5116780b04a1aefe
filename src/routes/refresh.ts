// GET|POST /refresh/:id with the token: every item with that id, in every group, is refreshed now.
import type { FastifyPluginAsyncJsonSchemaToTs } from '@fastify/type-provider-json-schema-to-ts'
import { NAME_MAX } from '../config/schema.js'
import { guardWithToken } from './auth.js'

const schema = {
  params: {
    type: 'object',
    properties: { id: { type: 'string', minLength: 1, maxLength: NAME_MAX } },
    required: ['id'],
  },
  response: {
    200: {
      type: 'object',
      properties: { refreshed: { type: 'integer', description: 'How many items (over all groups) have this id.' } },
      required: ['refreshed'],
    },
  },
} as const

const refreshRoutes: FastifyPluginAsyncJsonSchemaToTs = async (app) => {
  // Check-in clients POST whatever body their tool sends by default (none, a form, JSON, a log
  // file), under whatever Content-Type: as Healthchecks does, any body is taken and none refused.
  // It carries nothing yet, so it is read and dropped rather than held in memory.
  app.removeAllContentTypeParsers()
  app.addContentTypeParser('*', (_request, payload, done) => {
    payload.on('data', () => {})
    payload.once('end', () => done(null, undefined))
    payload.once('error', (err) => done(err, undefined))
  })
  guardWithToken(app, { onRejected: () => app.metrics.refreshRejected() })

  app.route({
    method: ['GET', 'POST'],
    url: '/refresh/:id',
    schema,
    // Byte for byte what the original sent: Python's json.dumps puts a space after the colon.
    serializerCompiler: () => (data) => `{"refreshed": ${(data as { refreshed: number }).refreshed}}`,
    handler: async (request) => {
      const { id } = request.params
      const items = await app.monitor.refresh(id)
      if (items.length > 0) app.metrics.refreshed(items)
      else {
        app.metrics.refreshUnknown()
        request.log.warn({ id }, 'refresh of an id that no item has')
      }
      return { refreshed: items.length }
    },
  })
}

export default refreshRoutes
