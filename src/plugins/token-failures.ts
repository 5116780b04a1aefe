// Decorates the app with the one counter of failed token checks per client address, shared by
// every route the token guards, and driven by the app's clock.
import fp from 'fastify-plugin'
import type { Clock } from '../monitor.js'
import { PerMinute } from './per-minute.js'

/** Failed attempts a client address may make per minute before it gets 429s. */
export const FAILED_AUTH_PER_MINUTE = 30

/**
 * Failed attempts per client address over its current minute. Written here rather than with
 * @fastify/rate-limit: that plugin must look at every request, so each check-in paid for it (5% of
 * refresh throughput, measured), while only failures need counting.
 */
class FailureCounter {
  readonly #perMinute: PerMinute

  constructor(now: Clock) {
    this.#perMinute = new PerMinute(now)
  }

  /**
   * Counts one failure of `address`: whether it is over the limit for its current minute, and
   * whether this is the first failure of that minute or the one that passed the limit (the two
   * worth a log line: one or two lines per address a minute, however hard it tries).
   */
  fail(address: string): { over: boolean; first: boolean; passed: boolean } {
    const count = this.#perMinute.count(address)
    return { over: count > FAILED_AUTH_PER_MINUTE, first: count === 1, passed: count === FAILED_AUTH_PER_MINUTE + 1 }
  }
}

declare module 'fastify' {
  interface FastifyInstance {
    tokenFailures: FailureCounter
  }
}

export default fp(
  async (app) => {
    app.decorate('tokenFailures', new FailureCounter(app.monitor.now))
  },
  { name: 'token-failures', dependencies: ['monitor'] },
)
