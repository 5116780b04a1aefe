// Decorates the app with a limiter of repeated log lines: a flood of the same mistake (pings of an
// unknown id, pings while no ping key is set) logs one line a minute per kind and key, not one
// per request. Driven by the app's clock.
import fp from 'fastify-plugin'
import type { Clock } from '../monitor.js'
import { PerMinute } from './per-minute.js'

class LogLimit {
  readonly #perMinute: PerMinute

  constructor(now: Clock) {
    this.#perMinute = new PerMinute(now)
  }

  /** Whether a line about `key` is due: true at most once a minute per key. */
  due(key: string): boolean {
    return this.#perMinute.count(key) === 1
  }
}

declare module 'fastify' {
  interface FastifyInstance {
    logLimit: LogLimit
  }
}

export default fp(
  async (app) => {
    app.decorate('logLimit', new LogLimit(app.monitor.now))
  },
  { name: 'log-limit', dependencies: ['monitor'] },
)
