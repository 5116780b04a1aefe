// Decorates the app with a limiter of repeated log lines: a flood of the same mistake (pings of an
// unknown id, pings while no ping key is set) logs one line a minute per kind and key, not one
// per request. Driven by the app's clock.
import fp from 'fastify-plugin'
import { LruMap } from 'toad-cache'
import type { Clock } from '../monitor.js'

const WINDOW_MS = 60_000

class LogLimit {
  // The keys' windows, bounded: a flood of distinct keys forgets the oldest, and logs them again.
  readonly #until = new LruMap<number>(10_000)

  constructor(readonly now: Clock) {}

  /** Whether a line about `key` is due: true at most once a minute per key. */
  due(key: string): boolean {
    const now = this.now()
    const until = this.#until.get(key)
    if (until !== undefined && now < until) return false
    this.#until.set(key, now + WINDOW_MS)
    return true
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
