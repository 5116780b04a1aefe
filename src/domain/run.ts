// Runs: a job starts, runs for a while, and succeeds or fails. What a signal does to a check's
// runs, and how finished runs count against its limits. Pure: every time is a parameter.
import { formatDuration } from './duration.js'

/**
 * `log` records what a client sent and changes nothing (Healthchecks' /log). `pause` holds the
 * check (neither up nor down) until `resume` or, unless the signal is ignored, any other signal.
 */
export type SignalKind = 'start' | 'success' | 'failure' | 'log' | 'pause' | 'resume'

/** Where a signal came from, for the run log. */
export interface Source {
  readonly address: string
  /** '' when the client sent none. */
  readonly userAgent: string
}

/** What a client sent with a signal: its job's output, kept up to OUTPUT_MAX bytes. */
export interface Output {
  readonly text: string
  /** The bytes the client sent: more than `text` holds when it was cut. */
  readonly bytes: number
}

/** The bytes of a signal's body that are kept (Healthchecks keeps 10,000; its clients read the limit from a header). */
export const OUTPUT_MAX = 10_240

export interface Signal {
  readonly kind: SignalKind
  /** ms since the epoch. */
  readonly at: number
  /** The run id the client gave (?rid=), to pair a finish with its start. */
  readonly rid?: string | undefined
  /** The request's Idempotency-Key: a retry of a signal with the same key changes nothing. */
  readonly key?: string | undefined
  /** The job's exit status, when the signal carried one (/refresh/:id/<status>, exit_code). */
  readonly exitStatus?: number | undefined
  /** Seconds the client says the run took: it replaces the measured one, as Sentry's does. */
  readonly duration?: number | undefined
  readonly source?: Source | undefined
  readonly output?: Output | undefined
  /** Logged and otherwise ignored: it reached a paused check that resumes only by hand (manual_resume). */
  readonly ignored?: boolean | undefined
}

export interface OpenRun {
  readonly rid: string | undefined
  /** ms since the epoch. */
  readonly start: number
}

/**
 * What a check's signals say, whatever limits it is judged by: the same for every item that
 * shares an id.
 */
export interface Runs {
  /** The last signal of any kind (ms): the check's last arrival, for its schedule. */
  readonly lastSignal: number | undefined
  /** Runs started and not finished, oldest first; at most MAX_OPEN_RUNS. */
  readonly open: readonly OpenRun[]
  /**
   * Starts with a rid that more starts pushed out of `open`, oldest first, at most DROPPED_KEPT: no
   * longer running nor timed, but a finish with their rid still gets its duration.
   */
  readonly dropped: readonly OpenRun[]
  /** Runs finished with a rid in the last RETRY_MS, oldest first, at most KEYS_KEPT: a finish of one is a retry. */
  readonly finished: readonly { readonly rid: string; readonly at: number }[]
  /** The keys (Idempotency-Key) of the signals in the last KEY_MS, oldest first, at most KEYS_KEPT: a signal with one of them is a retry. */
  readonly keys: readonly { readonly key: string; readonly at: number }[]
  readonly lastStart: number | undefined
  /** Seconds of the last run that had a start (or a duration of its own). */
  readonly lastDuration: number | undefined
  /**
   * The finished runs judged by the default limits. A check with those limits (most of them) reads
   * its streak here; only one with its own thresholds or min_runtime recounts its history.
   */
  readonly streak: Streak
  /** ms of the pause that holds the check; undefined when it is not paused. */
  readonly paused: number | undefined
  /** ms of the last resume: an arrival (scripts, whose last_exec is the client's, count it). */
  readonly lastResume: number | undefined
}

/** Overlapping runs tracked at once; a start beyond that drops the oldest (see Runs.dropped). */
export const MAX_OPEN_RUNS = 16
/** Dropped starts kept for their finishes: with the open ones, as many as the signals an id keeps. */
const DROPPED_KEPT = 240
/** Finished rids and signal keys kept to recognise a retry. */
const KEYS_KEPT = 64
/**
 * A start or a finish with the rid of one less than this before (ms) is a retry of it: a client
 * retries within seconds, and one that gives every run the same rid starts a run less often.
 */
const RETRY_MS = 60_000
/**
 * An Idempotency-Key is recognised this long (ms): keys are unique, so only the size of what each
 * write stores bounds it; an hour covers the longest outage a client retries through.
 */
const KEY_MS = 3_600_000

/** `list` with `entry` added and what is older than `window` (ms) before it dropped, at most KEYS_KEPT. */
const recent = <T extends { readonly at: number }>(list: readonly T[], entry: T, window: number): T[] =>
  [...list.filter((e) => entry.at - e.at < window), entry].slice(-KEYS_KEPT)

/** A run that has ended: what the thresholds count. */
export interface Finish {
  readonly at: number
  /** What the signal said: success or failure. */
  readonly succeeded: boolean
  readonly exitStatus: number | undefined
  /** Seconds; undefined when the finish matched no start and carried no duration. */
  readonly duration: number | undefined
}

/**
 * The runs after `signal`, the run it finished (none for a start), the start it dropped, and
 * whether it was a retry of a signal already applied (then nothing changes). A start replaces the
 * open run without a rid (as Healthchecks does); beyond MAX_OPEN_RUNS it drops the oldest. A finish
 * ends the run with its rid (an open one, else a dropped one), else, without a rid, the latest open
 * run; one that matches none is a check-in without a duration. A retry is a start with the rid of
 * a run started less than RETRY_MS before and still open, a finish with the rid of a run finished
 * less than RETRY_MS before (and not started again), or any signal with the key of one less than
 * KEY_MS before (of the last KEYS_KEPT). A log signal, or an ignored one, changes
 * nothing. A pause holds the check; a resume releases it and counts as an arrival, so that its
 * schedule starts again from there (a resume of a check that is not paused changes nothing); any
 * other signal releases it too.
 */
/** `runs` after a pause or a resume: its arrival, its pause and its last resume change, and the keys. */
const held = (runs: Runs, keys: Runs['keys'], lastSignal: number | undefined, paused: number | undefined, lastResume: number | undefined): Runs => ({
  lastSignal,
  open: runs.open,
  dropped: runs.dropped,
  finished: runs.finished,
  keys,
  lastStart: runs.lastStart,
  lastDuration: runs.lastDuration,
  streak: runs.streak,
  paused,
  lastResume,
})

export function applySignal(runs: Runs, signal: Signal): { runs: Runs; finish?: Finish; dropped?: OpenRun; retry?: true } {
  // Object literals of one shape, not spreads: this runs for every check-in.
  const { at, rid, key } = signal
  if (signal.kind === 'log' || signal.ignored === true) return { runs }
  if (key !== undefined && runs.keys.some((k) => k.key === key && at - k.at < KEY_MS)) return { runs, retry: true }
  const keys = key === undefined ? runs.keys : recent(runs.keys, { key, at }, KEY_MS)
  if (signal.kind === 'pause') return { runs: held(runs, keys, runs.lastSignal, runs.paused ?? at, runs.lastResume) }
  if (signal.kind === 'resume') {
    if (runs.paused === undefined) return { runs }
    return { runs: held(runs, keys, at, undefined, at) }
  }
  if (signal.kind === 'start') {
    if (rid !== undefined && runs.open.some((r) => r.rid === rid && at - r.start < RETRY_MS)) return { runs, retry: true }
    const open = runs.open.filter((r) => r.rid !== rid)
    open.push({ rid, start: at })
    const dropped = open.length > MAX_OPEN_RUNS ? open.shift() : undefined
    const kept = dropped?.rid === undefined ? runs.dropped : [...runs.dropped, dropped].slice(-DROPPED_KEPT)
    // A rid started again is a new run: its finish is not a retry of the last one.
    const finished = rid !== undefined && runs.finished.some((r) => r.rid === rid) ? runs.finished.filter((r) => r.rid !== rid) : runs.finished
    const next: Runs = {
      lastSignal: at,
      open,
      dropped: kept,
      finished,
      keys,
      lastStart: at,
      lastDuration: runs.lastDuration,
      streak: runs.streak,
      paused: undefined,
      lastResume: runs.lastResume,
    }
    return dropped === undefined ? { runs: next } : { runs: next, dropped }
  }
  let k = rid === undefined ? runs.open.length - 1 : runs.open.findIndex((r) => r.rid === rid)
  let started = k >= 0 ? runs.open[k] : undefined
  let { open, dropped, finished } = runs
  if (started !== undefined) open = open.filter((_, i) => i !== k)
  else if (rid !== undefined) {
    k = dropped.findIndex((r) => r.rid === rid)
    started = k >= 0 ? dropped[k] : undefined
    if (started !== undefined) dropped = dropped.filter((_, i) => i !== k)
    else if (finished.some((r) => r.rid === rid && at - r.at < RETRY_MS)) return { runs, retry: true }
  }
  if (rid !== undefined)
    finished = recent(
      finished.filter((r) => r.rid !== rid),
      { rid, at },
      RETRY_MS,
    )
  const duration = signal.duration ?? (started === undefined ? undefined : Math.max(0, at - started.start) / 1000)
  const finish: Finish = { at, succeeded: signal.kind === 'success', exitStatus: signal.exitStatus, duration }
  return {
    runs: {
      lastSignal: at,
      open,
      dropped,
      finished,
      keys,
      lastStart: runs.lastStart,
      lastDuration: duration ?? runs.lastDuration,
      streak: countRun(runs.streak, finish, DEFAULT_LIMITS),
      paused: undefined,
      lastResume: runs.lastResume,
    },
    finish,
  }
}

/**
 * `signal` at `at`, marked `ignored` or not. One object of one shape, not a spread: this runs for
 * every check-in, and a field of Signal is copied here and nowhere else.
 */
export const signalAt = (signal: Omit<Signal, 'at'>, at: number, ignored: boolean | undefined): Signal => ({
  kind: signal.kind,
  at,
  rid: signal.rid,
  key: signal.key,
  exitStatus: signal.exitStatus,
  duration: signal.duration,
  source: signal.source,
  output: signal.output,
  ignored,
})

/** A check's limits on its runs; seconds. Off (undefined) by default, thresholds 1. */
export interface RunLimits {
  /** A run still open this long after its start is a timeout. */
  readonly maxRuntime: number | undefined
  /** A successful run shorter than this counts as a failure: too fast. */
  readonly minRuntime: number | undefined
  /** Failures in a row before the check is failed (down). */
  readonly failureThreshold: number
  /** Successes in a row, once failed, before the check is up again. */
  readonly recoveryThreshold: number
}

export const DEFAULT_LIMITS: RunLimits = Object.freeze({ maxRuntime: undefined, minRuntime: undefined, failureThreshold: 1, recoveryThreshold: 1 })

/** The largest threshold: streaks are rebuilt from the last signals kept, which must hold them. */
export const THRESHOLD_MAX = 100
/** Signals kept per item id: enough to rebuild streaks up to THRESHOLD_MAX, and the longest run log. */
export const SIGNALS_KEPT = 256

/** A signal as the run log reads it back: the size of the body it came with, without the body. */
export type StoredSignalOf = Signal & { readonly bytes: number | undefined }

/** A signal in a check's run log, with its output while that is kept. */
export interface LogEntry {
  readonly seq: number
  readonly signal: StoredSignalOf
  readonly output: Output | undefined
}

/** How finished runs have gone, judged by one check's limits. */
export interface Streak {
  /** Failed runs in a row, up to the last one. */
  readonly failures: number
  /** Successful runs in a row, up to the last one; counted up to THRESHOLD_MAX. */
  readonly successes: number
  /** The failure threshold was reached and the recovery threshold not yet since. */
  readonly failing: boolean
  /** ms of the last failed run. */
  readonly lastFailure: number | undefined
  /** Why that run failed: "exit status 3", "too fast: ran 0.1s, min_runtime 1s"... */
  readonly lastFailureReason: string | undefined
}

export const NO_STREAK: Streak = Object.freeze({ failures: 0, successes: 0, failing: false, lastFailure: undefined, lastFailureReason: undefined })

export const NO_RUNS: Runs = Object.freeze({
  lastSignal: undefined,
  open: Object.freeze([]),
  dropped: Object.freeze([]),
  finished: Object.freeze([]),
  keys: Object.freeze([]),
  lastStart: undefined,
  lastDuration: undefined,
  streak: NO_STREAK,
  paused: undefined,
  lastResume: undefined,
})

/** Whether `limits` judge runs as the defaults do (max_runtime aside): then Runs.streak is the streak. */
export const judgedByDefaults = (limits: RunLimits) => limits.minRuntime === undefined && limits.failureThreshold === 1 && limits.recoveryThreshold === 1

/** A span of seconds for people: 0.1s, 9.5s, 42s, 1h30m. */
export function humanSeconds(seconds: number): string {
  return seconds < 10 ? `${Math.round(seconds * 10) / 10}s` : formatDuration(Math.round(seconds))
}

/** Why a finished run counts as a failure under `limits`; undefined when it counts as a success. */
function failureReason(finish: Finish, limits: RunLimits): string | undefined {
  if (!finish.succeeded) return finish.exitStatus === undefined ? 'reported a failure' : `exit status ${finish.exitStatus}`
  const { minRuntime } = limits
  if (minRuntime !== undefined && finish.duration !== undefined && finish.duration < minRuntime) {
    return `too fast: ran ${humanSeconds(finish.duration)}, min_runtime ${humanSeconds(minRuntime)}`
  }
  return undefined
}

/** The streak after one more finished run. */
export function countRun(streak: Streak, finish: Finish, limits: RunLimits): Streak {
  const reason = failureReason(finish, limits)
  if (reason === undefined) {
    // Counted up to THRESHOLD_MAX, the most any recovery needs: from there on a success changes
    // nothing, and the streak is not copied again.
    const successes = Math.min(streak.successes + 1, THRESHOLD_MAX)
    const failing = streak.failing && successes < limits.recoveryThreshold
    if (successes === streak.successes && failing === streak.failing && streak.failures === 0) return streak
    return { failures: 0, successes, failing, lastFailure: streak.lastFailure, lastFailureReason: streak.lastFailureReason }
  }
  const failures = streak.failures + 1
  return {
    failures,
    successes: 0,
    failing: streak.failing || failures >= limits.failureThreshold,
    lastFailure: finish.at,
    lastFailureReason: reason,
  }
}

/** The streak of a history of finished runs, oldest first, counted from a check that was up. */
export const countRuns = (finishes: Iterable<Finish>, limits: RunLimits): Streak => {
  let streak = NO_STREAK
  for (const finish of finishes) streak = countRun(streak, finish, limits)
  return streak
}

/**
 * Whether a signal of `kind` is logged and otherwise ignored: its check is paused and resumes only
 * by hand (manual_resume). Judged by the runs committed when it arrives, for items and scripts alike.
 */
export const heldByPause = (runs: Runs | undefined, manualResume: boolean, kind: SignalKind): boolean =>
  manualResume && runs?.paused !== undefined && kind !== 'log' && kind !== 'pause' && kind !== 'resume'

/**
 * A signal applied to `runs`, with its time kept from going back: replicas' clocks differ, and
 * the last refresh must never move back (a late batch of one, a clock stepped back on another).
 */
export function applyInOrder(runs: Runs, signal: Signal) {
  const last = runs.lastSignal
  const inOrder: Signal = last !== undefined && signal.at < last ? signalAt(signal, last, signal.ignored) : signal
  return { signal: inOrder, ...applySignal(runs, inOrder) }
}
