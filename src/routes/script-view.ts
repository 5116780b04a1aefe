// A script as Scripto's clients see it: Scripto's keys in Scripto's order, then ours.
import { zoneOf } from '../domain/schedule.js'
import type { ScriptStatus } from '../domain/snapshot.js'

/** Scripto's date form: YYYY-MM-DDTHH:MM:SS in UTC, no offset, no fraction. */
export const scriptoDate = (ms: number | null | undefined): string | null =>
  ms === null || ms === undefined || !Number.isFinite(ms) ? null : new Date(ms).toISOString().slice(0, 19)

export function scriptView({ script, periodicity, check, state, due }: ScriptStatus) {
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
  }
}
