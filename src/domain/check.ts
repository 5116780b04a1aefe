// The one check model. Items and scripts are two doors into it: a check has a schedule, a grace
// and limits on its runs, and a history of signals; its status at `now` and its deadline are pure
// functions of them.
import { deadlinePastWindows, nextWindow, windowNow, type MaintenanceWindow } from './maintenance.js'
import { humanSeconds, type OpenRun, type RunLimits, type Runs, type Streak } from './run.js'
import { nextDue, type Schedule } from './schedule.js'

/**
 * Where the store keeps a check's signals: under its key, one log for every check. An item's key
 * is its id; a Scripto script's is this prefix and its number, which no item id may start with.
 */
export const SCRIPT_KEY_PREFIX = 'scripto:'
export const scriptKey = (id: number): string => `${SCRIPT_KEY_PREFIX}${id}`
export const isScriptKey = (key: string): boolean => key.startsWith(SCRIPT_KEY_PREFIX)

export interface CheckSpec {
  readonly schedule: Schedule
  /** Seconds after the due time during which a check-in is still on time. */
  readonly grace: number
  readonly limits: RunLimits
  /** Its maintenance windows: its own, its group's and the config's. */
  readonly maintenance: readonly MaintenanceWindow[]
  /** A signal to it while it is paused is logged and ignored: only a resume releases it. */
  readonly manualResume: boolean
}

/** When a check that has reported is due again, and when it turns late. ms since the epoch. */
export interface Due {
  /** The last report this was computed from. */
  readonly last: number
  /** The first due time after `last` (Infinity: never again). */
  readonly nextDue: number
  /** nextDue + grace, past any maintenance window it falls in: the instant after which the check is late. */
  readonly deadline: number
}

/**
 * The due times after a report at `last`; undefined when there is none. `previous`, the Due of an
 * earlier report, is kept when no due time has passed since it (a cron schedule then has no
 * occurrence between the two reports), so a check-in computes no occurrence on the hot path.
 */
export function dueAfter(spec: CheckSpec, last: number | undefined, previous?: Due): Due | undefined {
  if (last === undefined) return undefined
  if (previous !== undefined && previous.last <= last && last < previous.nextDue && spec.schedule.kind === 'cron') {
    return previous.last === last ? previous : { ...previous, last }
  }
  const next = nextDue(spec.schedule, last)
  const grace = spec.grace * 1000
  return { last, nextDue: next, deadline: deadlinePastWindows(spec.maintenance, next + grace, grace) }
}

export type CheckStatus = 'up' | 'running' | 'late' | 'failed' | 'timeout' | 'never' | 'paused' | 'maintenance'

/** The statuses that are not down: a running job is on time, a paused one or one in maintenance is not judged. */
export const isUp = (status: CheckStatus) => status === 'up' || status === 'running' || status === 'paused' || status === 'maintenance'

/**
 * The open run that has outlived max_runtime with no signal since: a timeout lasts until the
 * next signal. The boundary itself is still in time, as for lateness.
 */
function timedOut(runs: Runs, limits: RunLimits, now: number): OpenRun | undefined {
  const { maxRuntime } = limits
  if (maxRuntime === undefined) return undefined
  return runs.open.find((r) => {
    const end = r.start + maxRuntime * 1000
    return now > end && (runs.lastSignal ?? 0) <= end
  })
}

/** The latest open run still within max_runtime. */
export function runningNow(runs: Runs, limits: RunLimits, now: number): OpenRun | undefined {
  const { maxRuntime } = limits
  for (let i = runs.open.length - 1; i >= 0; i--) {
    const r = runs.open[i]!
    if (maxRuntime === undefined || now <= r.start + maxRuntime * 1000) return r
  }
  return undefined
}

/**
 * The status at `now`, in this order: paused (until a resume, or a signal unless manual_resume);
 * maintenance (inside a window); never (no signal yet); timeout (a run outlived max_runtime);
 * late (past the deadline; a start counts as an arrival); failed (failure_threshold failures in a
 * row, until recovery_threshold successes); running (a run is open); up. Lateness and timeouts
 * take effect at once; only finished runs count against the thresholds.
 */
export function checkStatus(spec: CheckSpec, due: Due | undefined, runs: Runs, streak: Streak, now: number): CheckStatus {
  if (runs.paused !== undefined) return 'paused'
  if (spec.maintenance.length > 0 && windowNow(spec.maintenance, now) !== undefined) return 'maintenance'
  if (due === undefined) return 'never'
  if (runs.open.length > 0 && timedOut(runs, spec.limits, now) !== undefined) return 'timeout'
  if (now > due.deadline) return 'late'
  if (streak.failing) return 'failed'
  if (runs.open.length > 0 && runningNow(runs, spec.limits, now) !== undefined) return 'running'
  return 'up'
}

/**
 * The first instant after `now` at which the status may change with no signal: just past the
 * deadline or an open run's max_runtime, a maintenance window's start or end. Infinity when
 * nothing but a signal can change it (paused, or late with no window to come).
 */
export function nextChange(spec: CheckSpec, due: Due | undefined, runs: Runs, now: number): number {
  if (runs.paused !== undefined) return Infinity
  let next = Infinity
  if (due !== undefined && due.deadline >= now) next = due.deadline + 1
  const { maxRuntime } = spec.limits
  if (maxRuntime !== undefined) {
    for (const r of runs.open) {
      const end = r.start + maxRuntime * 1000 + 1
      if (end > now && end < next) next = end
    }
  }
  if (spec.maintenance.length > 0) {
    const w = nextWindow(spec.maintenance, now)
    if (w !== undefined) next = Math.min(next, w.start > now ? w.start : w.end + 1)
  }
  return next
}

const times = (n: number, one: string, many = `${one}s`) => `${n} ${n === 1 ? one : many}`

/** Why the check has `status`, for people; null when it is up with nothing to tell. */
export function statusReason(status: CheckStatus, spec: CheckSpec, due: Due | undefined, runs: Runs, streak: Streak, now: number): string | null {
  const { limits } = spec
  switch (status) {
    case 'paused':
      return spec.manualResume ? 'paused: only a resume releases it' : 'paused until its next signal or a resume'
    case 'maintenance':
      return `in a maintenance window for ${humanSeconds((windowNow(spec.maintenance, now)!.end - now) / 1000)} more`
    case 'never':
      return 'no check-in yet'
    case 'timeout': {
      const run = timedOut(runs, limits, now)!
      return `running for ${humanSeconds((now - run.start) / 1000)}, longer than max_runtime ${humanSeconds(limits.maxRuntime!)}`
    }
    case 'late':
      return `late by ${humanSeconds((now - due!.deadline) / 1000)}: no check-in by the deadline`
    case 'failed':
      if (streak.failures === 1) return streak.lastFailureReason!
      return streak.failures > 1
        ? `${streak.lastFailureReason}; ${streak.failures} failures in a row`
        : `${streak.lastFailureReason}; ${streak.successes} of ${times(limits.recoveryThreshold, 'success', 'successes')} in a row needed to recover`
    case 'running':
      return `running for ${humanSeconds((now - runningNow(runs, limits, now)!.start) / 1000)}`
    case 'up':
      return streak.failures > 0 ? `${streak.lastFailureReason}; ${streak.failures} of ${times(limits.failureThreshold, 'failure')} in a row before down` : null
  }
}

/** Whole seconds until the deadline: 0 at it, negative once late, null before the first report. */
export function secondsToDeadline(due: Due | undefined, now: number): number | null {
  return due === undefined ? null : Number.isFinite(due.deadline) ? Math.floor((due.deadline - now) / 1000) : null
}

/**
 * What is wrong with the timing fields a check was given, by the one rule for items and scripts: a
 * cron schedule or a period (an interval, a periodicity), not both; a zone only with a schedule.
 * Each caller words it with its own field names.
 */
export function timingFault(given: { schedule: boolean; period: boolean; tz: boolean }): 'both' | 'tz without schedule' | undefined {
  if (given.schedule && given.period) return 'both'
  if (!given.schedule && given.tz) return 'tz without schedule'
  return undefined
}
