// The evaluator: compares each check's state now with its last flip and records the changes. The
// Monitor asks it to judge a check after each signal it commits or hears of (a recovery, a
// failure, a pause, at the signal's time), and every check on a timer (a deadline or max_runtime
// passing, a maintenance window, at the time it happened). Recording never holds a check-in: a
// check-in only starts it.
import { checkStatus, nextChange, statusReason, type CheckSpec, type Due } from './domain/check.js'
import { flipState, flipTime, NO_FLIP, type Flip } from './domain/flip.js'
import type { Runs, Streak } from './domain/run.js'
import type { Store } from './store/store.js'

/**
 * A change that time alone made (a deadline or max_runtime passed) is recorded once it is this
 * old: a signal that arrived just in time on another replica is heard of by then, so a replica
 * never records a lateness that the database already contradicts.
 */
const SETTLE_MS = 1000
/**
 * Flips per write: when 100,000 checks go late at once, each write of theirs is a short one that
 * check-ins queued meanwhile wait for, not one long one.
 */
const FLIPS_PER_WRITE = 250

export class Evaluator {
  /** Checks whose flip is being recorded: judged again only once that is done. */
  readonly #pending = new Set<string>()
  readonly #listeners: ((flip: Flip) => void)[] = []

  constructor(readonly store: Pick<Store, 'flipHeads' | 'recordFlips'>) {}

  /**
   * Adds to `into` the flip of check `key` if its state at `now` is not its last flip's: from
   * that state, at the time it changed (domain/flip.ts flipTime), with its reason. Returns when to
   * judge it again unless a signal comes first: a tick need not look at a check before then.
   */
  judge(into: Flip[], key: string, spec: CheckSpec, due: Due | undefined, runs: Runs, streak: Streak, now: number, missed?: Due): number {
    if (this.#pending.has(key)) return 0
    let head = this.store.flipHeads().get(key) ?? NO_FLIP
    // A signal that arrived past the deadline before it (`missed`) ends a lateness the timer has
    // not recorded yet (the event loop was busy, the process was down): recorded first, as it was.
    if (missed !== undefined && runs.lastSignal !== undefined && missed.deadline < runs.lastSignal && head.at <= missed.deadline && head.to === 'up') {
      const late: Flip = { key, seq: head.seq + 1, at: missed.deadline, from: head.to, to: 'late', reason: 'no check-in by the deadline' }
      into.push(late)
      head = late
    }
    const status = checkStatus(spec, due, runs, streak, now)
    const to = flipState(status)
    if (to !== head.to) {
      const at = flipTime(status, spec, due, runs, head.at, now)
      if ((to === 'late' || to === 'timeout') && now - at < SETTLE_MS) return at + SETTLE_MS
      // A lateness is told as it began, not as it stands when judged.
      const reason = to === 'late' ? 'no check-in by the deadline' : statusReason(status, spec, due, runs, streak, now)
      into.push({ key, seq: head.seq + 1, at, from: head.to, to, reason })
    }
    return nextChange(spec, due, runs, now)
  }

  /**
   * Records `flips` (from judge); resolves to those recorded here, which each listener is told
   * of. A flip that another replica recorded first is not: its head is then theirs.
   */
  async record(flips: Flip[]): Promise<Flip[]> {
    if (flips.length === 0) return flips
    for (const flip of flips) this.#pending.add(flip.key)
    try {
      const recorded: Flip[] = []
      for (let i = 0; i < flips.length; i += FLIPS_PER_WRITE) {
        const written = await this.store.recordFlips(flips.slice(i, i + FLIPS_PER_WRITE))
        for (const flip of written) for (const listener of this.#listeners) listener(flip)
        recorded.push(...written)
      }
      return recorded
    } finally {
      for (const flip of flips) this.#pending.delete(flip.key)
    }
  }

  /** Tells `listener` of each flip this replica records. */
  onFlip(listener: (flip: Flip) => void): void {
    this.#listeners.push(listener)
  }
}
