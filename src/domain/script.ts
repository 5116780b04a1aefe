// A script, as the Scripto API reports it: one of the two doors into the check model. Its schedule
// is a periodicity (Scripto's named periods, or seconds) or a cron expression with a zone.
import type { CheckSpec } from './check.js'
import type { MaintenanceWindow } from './maintenance.js'
import { applySignal, countRun, DEFAULT_LIMITS, NO_RUNS, NO_STREAK, type RunLimits, type Runs, type Signal, type Streak } from './run.js'
import { isShowable } from './dates.js'
import { DURATION_MAX } from './duration.js'
import { cronSchedule } from './schedule.js'

export type Periodicity = 'hourly' | 'daily' | 'weekly' | 'monthly' | number

export interface Script {
  readonly id: number
  readonly name: string
  readonly server: string
  readonly status: boolean
  /** Milliseconds since the epoch; null until the first report with a date. */
  readonly lastExec: number | null
  /** null: the config's default_periodicity applies, unless the script has a schedule. */
  readonly periodicity: Periodicity | null
  /** A cron expression, instead of a periodicity. */
  readonly schedule: string | null
  /** The zone of the schedule; null: statuspage.tz. */
  readonly tz: string | null
  /** Seconds of grace; null: statuspage.grace, else 0 for a periodicity and 1 h for a schedule. */
  readonly grace: number | null
  /** Limits on its runs, in seconds and counts; null: off (runtimes), 1 (thresholds). */
  readonly maxRuntime: number | null
  readonly minRuntime: number | null
  readonly failureThreshold: number | null
  readonly recoveryThreshold: number | null
  /** While paused, its reports are logged and ignored: only a resume releases it. */
  readonly manualResume: boolean
  /** Its open runs and last run, as its starts and reports left them. */
  readonly runs: Runs
  /** How its reports have gone, judged by its limits. */
  readonly streak: Streak
}

export type ScriptFields = Omit<Script, 'id'>

export type ScriptState = 'ok' | 'running' | 'failed' | 'late' | 'timeout' | 'never' | 'paused' | 'maintenance'

/** What the config in force says of scripts that say nothing themselves. */
export interface ScriptDefaults {
  readonly periodicity: Periodicity
  readonly tz: string
  readonly grace: number | undefined
  /** The config's maintenance windows (statuspage.maintenance). */
  readonly maintenance: readonly MaintenanceWindow[]
}

const HOURS: Record<string, number> = { hourly: 1, daily: 24, weekly: 168, monthly: 730 }

export function periodSeconds(periodicity: Periodicity): number {
  return typeof periodicity === 'number' ? periodicity : HOURS[periodicity]! * 3600
}

/** A script before anything is reported of it: what a created script has before its body applies. */
export const NEW_SCRIPT: ScriptFields = Object.freeze({
  name: '',
  server: '',
  status: true,
  lastExec: null,
  periodicity: null,
  schedule: null,
  tz: null,
  grace: null,
  ...runFieldsOf(true, null),
})

/**
 * The run fields of a script that has not had a start, whose last report said `status`: a failed
 * report is one failure. (Scripts stored before runs, and scripts in tests.)
 */
export function runFieldsOf(
  status: boolean,
  lastExec: number | null,
): Pick<Script, 'maxRuntime' | 'minRuntime' | 'failureThreshold' | 'recoveryThreshold' | 'manualResume' | 'runs' | 'streak'> {
  return {
    manualResume: false,
    maxRuntime: null,
    minRuntime: null,
    failureThreshold: null,
    recoveryThreshold: null,
    runs: NO_RUNS,
    streak: status ? NO_STREAK : { ...NO_STREAK, failures: 1, failing: true, lastFailure: lastExec ?? undefined, lastFailureReason: 'reported a failure' },
  }
}

function scriptLimits(script: Script | ScriptFields): RunLimits {
  return {
    maxRuntime: script.maxRuntime ?? DEFAULT_LIMITS.maxRuntime,
    minRuntime: script.minRuntime ?? DEFAULT_LIMITS.minRuntime,
    failureThreshold: script.failureThreshold ?? DEFAULT_LIMITS.failureThreshold,
    recoveryThreshold: script.recoveryThreshold ?? DEFAULT_LIMITS.recoveryThreshold,
  }
}

/**
 * The run fields of a script after a start or a report (a finish), the report judged by the
 * limits the script has once the report's own fields apply.
 */
export function scriptSignal(script: ScriptFields, signal: Signal): Pick<Script, 'runs' | 'streak'> {
  const { runs, finish } = applySignal(script.runs, signal)
  return { runs, streak: finish === undefined ? script.streak : countRun(script.streak, finish, scriptLimits(script)) }
}

/**
 * When the script last arrived, for its schedule: its last_exec (the client's clock), its last
 * start or its last resume, whichever is latest.
 */
export function scriptArrival(script: Script): number | undefined {
  let arrival: number | undefined
  for (const at of [script.lastExec ?? undefined, script.runs.lastStart, script.runs.lastResume]) {
    if (at !== undefined && (arrival === undefined || at > arrival)) arrival = at
  }
  return arrival
}

/**
 * The script's check: its cron schedule, else its periodicity (or the default) as an interval. A
 * schedule that no longer compiles (a zone this Node no longer knows) falls back on the period.
 */
export function scriptCheck(script: Script, defaults: ScriptDefaults): CheckSpec & { periodicity: Periodicity; period: number } {
  const periodicity = script.periodicity ?? defaults.periodicity
  const period = periodSeconds(periodicity)
  const limits = scriptLimits(script)
  const { maintenance } = defaults
  const { manualResume } = script
  if (script.schedule !== null) {
    const schedule = cronSchedule(script.schedule, script.tz ?? defaults.tz)
    if (!('error' in schedule)) return { schedule, grace: script.grace ?? defaults.grace ?? 3600, limits, maintenance, manualResume, periodicity, period }
  }
  return { schedule: { kind: 'interval', seconds: period }, grace: script.grace ?? defaults.grace ?? 0, limits, maintenance, manualResume, periodicity, period }
}

/**
 * The fields of a stored script that are out of the ranges the API takes (written before it
 * checked them): they are shown as null where a time is derived from them, and should be written again.
 */
export function fieldsOutOfRange(script: Script): string[] {
  const out: string[] = []
  if (script.lastExec !== null && !isShowable(script.lastExec)) out.push('last_exec')
  if (typeof script.periodicity === 'number' && !(script.periodicity > 0 && script.periodicity <= DURATION_MAX)) out.push('periodicity')
  for (const [field, seconds] of [
    ['grace', script.grace],
    ['max_runtime', script.maxRuntime],
    ['min_runtime', script.minRuntime],
  ] as const) {
    if (seconds !== null && !(seconds >= 0 && seconds <= DURATION_MAX)) out.push(field)
  }
  return out
}

/** The fields a query of scripts (Scripto's `q`) filters and orders on. */
export const SCRIPT_FIELDS = ['id', 'last_exec', 'name', 'server', 'status', 'periodicity'] as const
export type ScriptField = (typeof SCRIPT_FIELDS)[number]

export interface ScriptFilter {
  readonly field: ScriptField
  readonly op: '==' | '!=' | '<' | '>' | '<=' | '>=' | 'like' | 'in' | 'is_null' | 'is_not_null'
  /** Already in storage form: booleans as 0/1, dates as milliseconds, periodicity as text. */
  readonly value?: unknown
}

export interface ScriptQuery {
  readonly filters: readonly ScriptFilter[]
  readonly orderBy: readonly { field: ScriptField; direction: 'asc' | 'desc' }[]
  readonly limit: number
  readonly offset: number
}
