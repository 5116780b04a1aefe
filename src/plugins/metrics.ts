// Decorates the app with its Metrics (its own registries: tests and instances stay isolated).
import fp from 'fastify-plugin'
import { Metrics } from '../metrics/metrics.js'

declare module 'fastify' {
  interface FastifyInstance {
    metrics: Metrics
  }
}

export default fp<{ cacheMs?: number | undefined }>(
  async (app, { cacheMs }) => {
    app.decorate('metrics', new Metrics(app.monitor, { cacheMs }))
  },
  { name: 'metrics', dependencies: ['monitor'] },
)
