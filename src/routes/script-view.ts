// A check as the API shows it: an item (/api/v1/status, the checks API), and a script as Scripto's
// clients see it: Scripto's keys in Scripto's order, then ours.
import { isUp, scriptKey, secondsToDeadline, statusReason, type CheckSpec, type CheckStatus, type Due } from '../domain/check.js'
import { nextWindow } from '../domain/maintenance.js'
import type { Runs, Streak } from '../domain/run.js'
import { zoneOf } from '../domain/schedule.js'
import { scriptArrival } from '../domain/script.js'
import type { ItemStatus, ScriptStatus } from '../domain/snapshot.js'
import { isoIn, scriptoDate } from '../time.js'

/**
 * The run fields that items and scripts both show: why the check has its status, the limits in
 * force, the last run, the pause that holds it and its current or next maintenance window. `time` writes an instant in the view's form.
 */
export function runView(
  { check, status, due, runs, streak }: { check: CheckSpec; status: CheckStatus; due: Due | undefined; runs: Runs; streak: Streak },
  now: number,
  time: (ms: number | undefined) => string | null,
) {
  const { limits } = check
  const window = nextWindow(check.maintenance, now)
  return {
    reason: statusReason(status, check, due, runs, streak, now),
    max_runtime: limits.maxRuntime ?? null,
    min_runtime: limits.minRuntime ?? null,
    failure_threshold: limits.failureThreshold,
    recovery_threshold: limits.recoveryThreshold,
    last_start: time(runs.lastStart),
    last_duration: runs.lastDuration ?? null,
    consecutive_failures: streak.failures,
    last_failure: time(streak.lastFailure),
    paused_since: time(runs.paused),
    manual_resume: check.manualResume,
    maintenance: window === undefined ? null : { start: time(window.start), end: time(window.end), now: window.start <= now },
  }
}

export function scriptView(scriptStatus: ScriptStatus, now: number) {
  const { script, periodicity, check, state, due } = scriptStatus
  return {
    id: script.id,
    last_exec: scriptoDate(script.lastExec),
    name: script.name,
    server: script.server,
    status: script.status,
    // The periodicity in force; none for a script on a schedule.
    periodicity: script.schedule === null ? periodicity : null,
    schedule: script.schedule,
    tz: zoneOf(check.schedule) ?? null,
    grace: check.grace,
    state,
    next_due: scriptoDate(due?.nextDue),
    deadline: scriptoDate(due?.deadline),
    ...runView(scriptStatus, now, scriptoDate),
  }
}

/** A time in ISO 8601 with the offset of the check's zone (the server's for interval checks), or null. */
export const at = (ms: number | undefined, tz: string | undefined) => (ms === undefined ? null : isoIn(ms, tz))

/** An item's state, as /api/v1/status and the checks API give it: every time with the offset of its zone. */
export function itemView(s: ItemStatus, now: number) {
  const { item, lastRefresh, state, status, dueIn, due, runs, streak } = s
  const { schedule, grace } = item.check
  const tz = zoneOf(schedule)
  const time = (ms: number | undefined) => at(ms, tz)
  return {
    id: item.id,
    name: item.name,
    interval: item.interval ?? null,
    schedule: schedule.kind === 'cron' ? schedule.expression : null,
    tz: tz ?? null,
    grace,
    last_refresh: time(lastRefresh),
    next_due: time(due?.nextDue),
    deadline: time(due?.deadline),
    state,
    status,
    due_in_seconds: dueIn,
    ...runView({ check: item.check, status, due, runs, streak }, now, time),
  }
}

/**
 * A Scripto script as the checks API lists it: a check whose id is its key (scripto:<n>), in the
 * group Scripts, with no tags, read-only there (Scripto's API writes it).
 */
export function scriptCheckView(s: ScriptStatus, now: number) {
  const { script, check, status, due } = s
  const tz = zoneOf(check.schedule)
  const time = (ms: number | undefined) => at(ms, tz)
  return {
    id: scriptKey(script.id),
    name: script.name,
    interval: check.schedule.kind === 'interval' ? check.schedule.seconds : null,
    schedule: check.schedule.kind === 'cron' ? check.schedule.expression : null,
    tz: tz ?? null,
    grace: check.grace,
    last_refresh: time(scriptArrival(script)),
    next_due: time(due?.nextDue),
    deadline: time(due?.deadline),
    state: isUp(status) ? 'up' : 'down',
    status,
    due_in_seconds: secondsToDeadline(due, now),
    ...runView(s, now, time),
    group: SCRIPTS_GROUP,
    tags: [] as string[],
    source: 'scripto' as const,
  }
}

/** The group the checks API lists Scripto's scripts in. */
export const SCRIPTS_GROUP = 'Scripts'
