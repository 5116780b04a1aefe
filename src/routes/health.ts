// Liveness and readiness, under the paths Prometheus and Alertmanager use.
import type { FastifyPluginAsync } from 'fastify'
import { errorBody } from '../errors.js'

const healthRoutes: FastifyPluginAsync = async (app) => {
  let closing = false
  app.addHook('preClose', async () => {
    closing = true
  })
  app.get('/-/healthy', async (_req, reply) => reply.type('text/plain').send('statuspage is healthy.\n'))
  app.get('/-/ready', async (_req, reply) =>
    closing
      ? reply.code(503).send(errorBody(503, 'SP_ERR_SHUTTING_DOWN', 'statuspage is shutting down'))
      : reply.type('text/plain').send('statuspage is ready.\n'),
  )
}

export default healthRoutes
