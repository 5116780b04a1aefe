// A script's state, a pure function of its last report, its period and `now`.
import type { Periodicity } from '../config/schema.js'

export type ScriptState = 'ok' | 'failed' | 'late' | 'never'

const HOURS: Record<string, number> = { hourly: 1, daily: 24, weekly: 168, monthly: 730 }

export function periodSeconds(periodicity: Periodicity): number {
  return typeof periodicity === 'number' ? periodicity : HOURS[periodicity]! * 3600
}

/**
 * never: no last_exec; late: `now` is past last_exec + period; failed: the last report said so;
 * ok otherwise. Only ok counts as up. Times in milliseconds.
 */
export function scriptState(lastExec: number | null, status: boolean, period: number, now: number): ScriptState {
  if (lastExec === null) return 'never'
  if (now > lastExec + period * 1000) return 'late'
  return status ? 'ok' : 'failed'
}
