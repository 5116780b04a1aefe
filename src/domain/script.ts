// A script's periodicity: Scripto's names for periods, or seconds. Its state comes from the check model.
import type { Periodicity } from '../config/schema.js'

export type ScriptState = 'ok' | 'failed' | 'late' | 'never'

const HOURS: Record<string, number> = { hourly: 1, daily: 24, weekly: 168, monthly: 730 }

export function periodSeconds(periodicity: Periodicity): number {
  return typeof periodicity === 'number' ? periodicity : HOURS[periodicity]! * 3600
}
