// A script as Scripto's clients see it: Scripto's keys in Scripto's order, then ours.
import type { ScriptStatus } from '../domain/snapshot.js'

/** Scripto's date form: YYYY-MM-DDTHH:MM:SS in UTC, no offset, no fraction. */
export const scriptoDate = (ms: number | null): string | null => (ms === null ? null : new Date(ms).toISOString().slice(0, 19))

export function scriptView({ script, periodicity, state }: ScriptStatus) {
  return {
    id: script.id,
    last_exec: scriptoDate(script.lastExec),
    name: script.name,
    server: script.server,
    status: script.status,
    periodicity,
    state,
  }
}
