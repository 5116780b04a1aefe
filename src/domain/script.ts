// A script, as the Scripto API reports it: one of the two doors into the check model. Its schedule
// is a periodicity (Scripto's named periods, or seconds) or a cron expression with a zone.
import type { CheckSpec } from './check.js'
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
}

export type ScriptFields = Omit<Script, 'id'>

export type ScriptState = 'ok' | 'failed' | 'late' | 'never'

/** What the config in force says of scripts that say nothing themselves. */
export interface ScriptDefaults {
  readonly periodicity: Periodicity
  readonly tz: string
  readonly grace: number | undefined
}

const HOURS: Record<string, number> = { hourly: 1, daily: 24, weekly: 168, monthly: 730 }

export function periodSeconds(periodicity: Periodicity): number {
  return typeof periodicity === 'number' ? periodicity : HOURS[periodicity]! * 3600
}

/**
 * The script's check: its cron schedule, else its periodicity (or the default) as an interval. A
 * schedule that no longer compiles (a zone this Node no longer knows) falls back on the period.
 */
export function scriptCheck(script: Script, defaults: ScriptDefaults): CheckSpec & { periodicity: Periodicity; period: number } {
  const periodicity = script.periodicity ?? defaults.periodicity
  const period = periodSeconds(periodicity)
  if (script.schedule !== null) {
    const schedule = cronSchedule(script.schedule, script.tz ?? defaults.tz)
    if (!('error' in schedule)) return { schedule, grace: script.grace ?? defaults.grace ?? 3600, periodicity, period }
  }
  return { schedule: { kind: 'interval', seconds: period }, grace: script.grace ?? defaults.grace ?? 0, periodicity, period }
}
