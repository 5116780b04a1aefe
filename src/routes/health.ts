// Liveness and readiness, under the paths Prometheus and Alertmanager use.
import type { FastifyPluginAsync } from 'fastify'
import { errorBody } from '../errors.js'

const healthRoutes: FastifyPluginAsync = async (app) => {
  let closing = false
  app.addHook('preClose', async () => {
    closing = true
  })
  app.get('/-/healthy', { schema: { summary: 'Liveness', tags: ['health'] } }, async (_req, reply) => reply.type('text/plain').send('statuspage is healthy.\n'))
  // Not ready while the database does not answer: a load balancer sends check-ins to a replica
  // that can record them. Alive all the same: a restart would not bring the database back.
  app.get(
    '/-/ready',
    { schema: { summary: 'Readiness: 503 while the database does not answer or while shutting down', tags: ['health'] } },
    async (_req, reply) => {
      if (closing || app.connections.draining) return reply.code(503).send(errorBody(503, 'SP_ERR_SHUTTING_DOWN', 'statuspage is shutting down'))
      if (!app.monitor.storeHealth.up) return reply.code(503).send(errorBody(503, 'SP_ERR_STORE_UNAVAILABLE', 'the database is unreachable'))
      return reply.type('text/plain').send('statuspage is ready.\n')
    },
  )
}

export default healthRoutes
