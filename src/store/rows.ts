// How both stores write what they keep: a script as a row, runs as JSON, and item signals as
// compact JSON rows. One codec, so that SQLite and PostgreSQL read each other's rows alike.
import { applySignal, NO_RUNS, NO_STREAK, type Finish, type Runs, type Signal, type SignalKind, type Streak } from '../domain/run.js'
import { runFieldsOf, type Periodicity, type Script, type ScriptFields } from '../domain/script.js'

export interface ScriptRow {
  id: number
  name: string
  server: string
  status: number
  last_exec: number | null
  periodicity: string | null
  schedule: string | null
  tz: string | null
  grace: number | null
  max_runtime: number | null
  min_runtime: number | null
  failure_threshold: number | null
  recovery_threshold: number | null
  run_state: string | null
}

export interface SignalRow {
  id: string
  seq: number
  at: number
  n: number
  signals: string
}

/**
 * A signal as a row stores it: ms after the row's `at`, then what it carries, trailing nulls left
 * out. A finish keeps the duration it was given, which may have come from a start no longer kept.
 */
type StoredSignal = [after: number, kind: StoredKind, rid?: string | null, exitStatus?: number | null, duration?: number | null]
type StoredKind = 'start' | 'ok' | 'fail'
const STORED_KIND = { start: 'start', success: 'ok', failure: 'fail' } as const satisfies Record<SignalKind, StoredKind>
const SIGNAL_KIND = { start: 'start', ok: 'success', fail: 'failure' } as const satisfies Record<StoredKind, SignalKind>
/** Signals per row at most: 16 with run ids stay well under the 1 KB a b-tree page holds locally. */
export const ROW_SIGNALS_MAX = 16

/** A signal with its place in the order, and the duration of the run it finished. */
export interface Sequenced {
  readonly seq: number
  readonly signal: Signal
  readonly duration: number | undefined
}

/** The `signals` text of a row holding `row` (at most ROW_SIGNALS_MAX), whose `at` is the first's. */
export function signalsText(row: readonly Pick<Sequenced, 'signal' | 'duration'>[]): string {
  const rowAt = row[0]!.signal.at
  return JSON.stringify(
    row.map(({ signal, duration }) => {
      const entry: StoredSignal = [signal.at - rowAt, STORED_KIND[signal.kind], signal.rid ?? null, signal.exitStatus ?? null, duration ?? null]
      while (entry.length > 2 && entry[entry.length - 1] === null) entry.pop()
      return entry
    }),
  )
}

/** The signals of a row, each with its seq. */
export const signalsOf = (row: SignalRow) =>
  (JSON.parse(row.signals) as StoredSignal[]).map(([after, kind, rid, exitStatus, duration], i) => ({
    seq: row.seq + i,
    signal: { kind: SIGNAL_KIND[kind], at: row.at + after, rid: rid ?? undefined, exitStatus: exitStatus ?? undefined, duration: duration ?? undefined } as Signal,
  }))

/** The finished runs of some rows, in their order. */
export const finishesOf = (rows: readonly SignalRow[]): (Finish & { readonly seq: number })[] =>
  rows.flatMap((row) =>
    signalsOf(row)
      .filter(({ signal }) => signal.kind !== 'start')
      .map(({ seq, signal }) => ({ seq, at: signal.at, succeeded: signal.kind === 'success', exitStatus: signal.exitStatus, duration: signal.duration })),
  )

/** Runs as JSON: undefined values are left out, and come back from the empty values. */
export const runsText = (runs: Runs): string => JSON.stringify(runs)

export function runsFromText(text: string): Runs {
  const runs = JSON.parse(text) as Partial<Runs>
  return Object.freeze({ ...NO_RUNS, ...runs, streak: fullStreak(runs.streak) })
}

const fullStreak = (s: Streak | undefined): Streak => Object.freeze({ ...NO_STREAK, ...s })

export const fromRow = (r: ScriptRow): Script =>
  Object.freeze({
    id: r.id,
    name: r.name,
    server: r.server,
    status: r.status === 1,
    lastExec: r.last_exec,
    periodicity: r.periodicity === null ? null : periodicityFromText(r.periodicity),
    schedule: r.schedule,
    tz: r.tz,
    grace: r.grace,
    ...runState(r),
    maxRuntime: r.max_runtime,
    minRuntime: r.min_runtime,
    failureThreshold: r.failure_threshold,
    recoveryThreshold: r.recovery_threshold,
  })

/** A script's run state; for a row from before runs, what its last status says. */
function runState(r: ScriptRow): { runs: Runs; streak: Streak } {
  if (r.run_state === null) return runFieldsOf(r.status === 1, r.last_exec)
  const { runs, streak } = JSON.parse(r.run_state) as { runs: Runs; streak: Streak }
  return { runs: Object.freeze({ ...NO_RUNS, ...runs, streak: fullStreak(runs.streak) }), streak: fullStreak(streak) }
}

/** Named periods are words; anything else was written from a number (String(1e21) is "1e+21"). */
const periodicityFromText = (text: string): Periodicity => (Number.isNaN(Number(text)) ? (text as Periodicity) : Number(text))

/** A script's row, without its id. */
export const toRow = (s: ScriptFields) => ({
  name: s.name,
  server: s.server,
  status: s.status ? 1 : 0,
  last_exec: s.lastExec,
  periodicity: s.periodicity === null ? null : String(s.periodicity),
  schedule: s.schedule,
  tz: s.tz,
  grace: s.grace,
  max_runtime: s.maxRuntime,
  min_runtime: s.minRuntime,
  failure_threshold: s.failureThreshold,
  recovery_threshold: s.recoveryThreshold,
  // undefined is left out: a run that matched no start keeps no duration key.
  run_state: JSON.stringify({ runs: s.runs, streak: s.streak }),
})

/** The script columns a row is written with, in toRow's order. */
export const SCRIPT_COLUMNS = [
  'name', 'server', 'status', 'last_exec', 'periodicity', 'schedule', 'tz', 'grace',
  'max_runtime', 'min_runtime', 'failure_threshold', 'recovery_threshold', 'run_state',
] as const satisfies readonly (keyof ReturnType<typeof toRow>)[]

/**
 * A signal applied to `runs`, with its time kept from going back: replicas' clocks differ, and
 * the last refresh must never move back (a late batch of one, a clock stepped back on another).
 */
export function applyInOrder(runs: Runs, signal: Signal) {
  const last = runs.lastSignal
  const inOrder = last !== undefined && signal.at < last ? { kind: signal.kind, at: last, rid: signal.rid, exitStatus: signal.exitStatus, duration: signal.duration } : signal
  return { signal: inOrder, ...applySignal(runs, inOrder) }
}
