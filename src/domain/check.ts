// The one check model. Items and scripts are two doors into it: a check has a schedule and a
// grace, and a history of reports; its state at `now` and its deadline are pure functions of them.
import { nextDue, type Schedule } from './schedule.js'

export interface CheckSpec {
  readonly schedule: Schedule
  /** Seconds after the due time during which a check-in is still on time. */
  readonly grace: number
}

/** When a check that has reported is due again, and when it turns late. ms since the epoch. */
export interface Due {
  /** The last report this was computed from. */
  readonly last: number
  /** The first due time after `last` (Infinity: never again). */
  readonly nextDue: number
  /** nextDue + grace: the instant after which the check is late. */
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
  return { last, nextDue: next, deadline: next + spec.grace * 1000 }
}

export type CheckState = 'up' | 'late' | 'failed' | 'never'

/**
 * never: no report yet; late: `now` is past the deadline (the boundary is still on time, as in
 * the original statuspage); failed: the last report said the run failed; up otherwise.
 */
export function checkState(due: Due | undefined, succeeded: boolean, now: number): CheckState {
  if (due === undefined) return 'never'
  if (now > due.deadline) return 'late'
  return succeeded ? 'up' : 'failed'
}

/** Whole seconds until the deadline: 0 at it, negative once late, null before the first report. */
export function secondsToDeadline(due: Due | undefined, now: number): number | null {
  return due === undefined ? null : Number.isFinite(due.deadline) ? Math.floor((due.deadline - now) / 1000) : null
}
