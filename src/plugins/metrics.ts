// Decorates the app with its Metrics (its own registries: tests and instances stay isolated).
import fp from 'fastify-plugin'
import { MAX_OPEN_RUNS } from '../domain/run.js'
import { Metrics } from '../metrics/metrics.js'
import { isoLocal } from '../time.js'

declare module 'fastify' {
  interface FastifyInstance {
    metrics: Metrics
  }
}

export default fp<{ cacheMs?: number | undefined }>(
  async (app, { cacheMs }) => {
    const metrics = new Metrics(app.monitor, { cacheMs })
    app.decorate('metrics', metrics)
    app.monitor.events.onRunDropped(({ item, script, run }) => {
      metrics.runDropped()
      app.log.warn(
        { ...(item === undefined ? { script } : { item }), rid: run.rid ?? null, started: isoLocal(run.start) },
        `run dropped: more than ${MAX_OPEN_RUNS} runs open at once; it is no longer running nor timed, and a finish with its rid still gets its duration`,
      )
    })
  },
  { name: 'metrics', dependencies: ['monitor'] },
)
