// Events per key over the key's current minute, in a bounded LRU map, on the app's clock: what the
// failed-token limiter and the log-line limiter both count.
import { LruMap } from 'toad-cache'
import type { Clock } from '../monitor.js'

const WINDOW_MS = 60_000

export class PerMinute {
  // No TTL of the map's own: it would run on the wall clock, not on the app's. A flood of distinct
  // keys forgets the oldest.
  readonly #windows = new LruMap<{ count: number; until: number }>(10_000)

  constructor(readonly now: Clock) {}

  /** Counts one event of `key`; returns how many its current minute has had, this one included. */
  count(key: string): number {
    const now = this.now()
    let window = this.#windows.get(key)
    if (window === undefined || now >= window.until) {
      window = { count: 0, until: now + WINDOW_MS }
      this.#windows.set(key, window)
    }
    return ++window.count
  }
}
