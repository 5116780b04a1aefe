// The evaluator: compares each check's state now with its last flip and records the changes. The
// Monitor has it judge a check after each signal it commits or hears of (a recovery, a failure, a
// pause, at the signal's time), and every check whose next change has come on a timer (a deadline
// or max_runtime passing, a maintenance window, at the time it happened). Recording never holds a
// check-in: a check-in only starts it.
import { setImmediate } from 'node:timers/promises'
import type { Config } from './config/load.js'
import { checkStatus, nextChange, scriptKey, statusReason, type CheckSpec, type Due } from './domain/check.js'
import { flipState, flipTime, NO_FLIP, type Flip } from './domain/flip.js'
import type { Runs, Streak } from './domain/run.js'
import type { Script } from './domain/script.js'
import { scriptStatus, type ItemRuns } from './domain/snapshot.js'
import type { Store } from './store/contract.js'

/** What the evaluator reads of the Monitor: the config in force, and each item's due times and runs, index-aligned with its items. */
export interface Checks {
  readonly config: Pick<Config, 'items' | 'itemsById' | 'scriptDefaults'>
  readonly dues: readonly (Due | undefined)[]
  readonly runs: readonly ItemRuns[]
}

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
/** Items a tick judges between turns of the event loop. */
const EVALUATE_SLICE = 2048
/** A lateness is told as it began, not as it stands when judged. */
const LATE_REASON = 'no check-in by the deadline'

export class Evaluator {
  /** Checks whose flip is being recorded: judged again only once that is done. */
  readonly #pending = new Set<string>()
  readonly #listeners: ((flip: Flip) => void)[] = []

  /**
   * When a tick must judge each item again (ms; 0: at the next tick, Infinity: only after a
   * signal), index-aligned with the items: at rest a tick looks at none of 100,000 items.
   */
  #wakes: Float64Array = new Float64Array(0)
  /** The same for scripts, by the stored object: each write makes a new one, judged at once. */
  #scriptWakes = new WeakMap<Script, number>()

  constructor(
    readonly store: Pick<Store, 'flipHeads' | 'recordFlips' | 'scripts'>,
    readonly checks: Checks,
    readonly now: () => number,
  ) {}

  /** A config was put in force with `count` items: every one is judged at the next tick. */
  judgeAllNext(count: number): void {
    this.#wakes = new Float64Array(count)
    // The scripts' defaults may have changed with the config.
    this.#scriptWakes = new WeakMap()
  }

  /**
   * Judges every check whose next change has come, and records the
   * flips found; resolves to those this replica recorded. A slice of items at a time, its flips
   * recorded before the next: when 100,000 checks go late at once, judging them all at once held
   * the event loop for a few hundred ms.
   */
  async evaluate(): Promise<Flip[]> {
    const recorded: Flip[] = []
    const wakes = this.#wakes
    for (let from = 0; from < wakes.length; from += EVALUATE_SLICE) {
      // A reload or a redefinition meanwhile judges every item again at the next tick.
      if (this.#wakes !== wakes) return recorded
      if (from > 0) await setImmediate()
      recorded.push(...(await this.#recorded(this.#judgeSlice(from, Math.min(wakes.length, from + EVALUATE_SLICE)))))
    }
    const now = this.now()
    const flips: Flip[] = []
    const scriptWakes = this.#scriptWakes
    for (const script of this.store.scripts()) {
      if ((scriptWakes.get(script) ?? 0) > now) continue
      scriptWakes.set(script, this.#judgeScript(flips, script, now))
    }
    recorded.push(...(await this.#recorded(flips)))
    return recorded
  }

  /** The flips of items [from, to) whose next change has come; each one's next wake-up set. */
  #judgeSlice(from: number, to: number): Flip[] {
    const now = this.now()
    const flips: Flip[] = []
    const { config } = this.checks
    const wakes = this.#wakes
    for (let i = from; i < to; i++) {
      if (wakes[i]! > now) continue
      const item = config.items[i]!
      // An id shared by items in several groups is one check in the store: judged by its first item.
      if (config.itemsById.get(item.id)![0] !== item) {
        wakes[i] = Infinity
        continue
      }
      wakes[i] = this.#judgeItem(flips, i, now)
    }
    return flips
  }

  /** #judge of a script, by its key. */
  #judgeScript(into: Flip[], script: Script, now: number): number {
    const s = scriptStatus(script, this.checks.config.scriptDefaults, now)
    return this.#judge(into, scriptKey(script.id), s.check, s.due, s.runs, s.streak, now)
  }

  /** #judge of the item at index `i` of the config in force, by its id. */
  #judgeItem(into: Flip[], i: number, now: number, missed?: Due): number {
    const { config, dues, runs } = this.checks
    const item = config.items[i]!
    return this.#judge(into, item.id, item.check, dues[i], runs[i]!.runs, runs[i]!.streak, now, missed)
  }

  /**
   * After a signal of item `id` committed: its flip, if it made one, at once (and a lateness
   * before it that the timer missed: `missed`, its due times before the signal). A failure to
   * record is the next tick's to retry.
   */
  afterSignal(id: string, missed: Due | undefined): void {
    const item = this.checks.config.itemsById.get(id)?.[0]
    if (item === undefined) return
    const flips: Flip[] = []
    this.#wakes[item.index] = this.#judgeItem(flips, item.index, this.now(), missed)
    if (flips.length > 0) this.#recorded(flips).catch(() => {})
  }

  /** After a write to a script: its flip, if it made one. */
  afterScript(script: Script): void {
    const flips: Flip[] = []
    this.#scriptWakes.set(script, this.#judgeScript(flips, script, this.now()))
    if (flips.length > 0) this.#recorded(flips).catch(() => {})
  }

  /** Records `flips`; when that fails, every item is judged again at the next tick. */
  #recorded(flips: Flip[]): Promise<Flip[]> {
    return this.#record(flips).catch((err: unknown) => {
      this.#wakes.fill(0)
      this.#scriptWakes = new WeakMap()
      throw err
    })
  }

  /**
   * Adds to `into` the flip of check `key` if its state at `now` is not its last flip's: from
   * that state, at the time it changed (domain/flip.ts flipTime), with its reason. Returns when to
   * judge it again unless a signal comes first: a tick need not look at a check before then.
   */
  #judge(into: Flip[], key: string, spec: CheckSpec, due: Due | undefined, runs: Runs, streak: Streak, now: number, missed?: Due): number {
    if (this.#pending.has(key)) return 0
    let head = this.store.flipHeads().get(key) ?? NO_FLIP
    // A signal that arrived past the deadline before it (`missed`) ends a lateness the timer has
    // not recorded yet (the event loop was busy, the process was down): recorded first, as it was.
    if (missed !== undefined && runs.lastSignal !== undefined && missed.deadline < runs.lastSignal && head.at <= missed.deadline && head.to === 'up') {
      const late: Flip = { key, seq: head.seq + 1, at: missed.deadline, from: head.to, to: 'late', reason: LATE_REASON }
      into.push(late)
      head = late
    }
    const status = checkStatus(spec, due, runs, streak, now)
    const to = flipState(status)
    if (to !== head.to) {
      const at = flipTime(status, spec, due, runs, head.at, now, head.to)
      if ((to === 'late' || to === 'timeout') && now - at < SETTLE_MS) return at + SETTLE_MS
      const reason = to === 'late' ? LATE_REASON : statusReason(status, spec, due, runs, streak, now)
      into.push({ key, seq: head.seq + 1, at, from: head.to, to, reason })
    }
    return nextChange(spec, due, runs, now)
  }

  /**
   * Records `flips` (from #judge); resolves to those recorded here, which each listener is told
   * of. A flip that another replica recorded first is not: its head is then theirs.
   */
  async #record(flips: Flip[]): Promise<Flip[]> {
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
