// How both stores write what they keep: every check defined in the store (a script, a check of
// the checks API or of a first ping) as a check_def row with its fields as JSON, runs as JSON, and
// signals as compact JSON rows. One codec, so that SQLite and PostgreSQL read each other's rows alike.
import {
  NO_RUNS,
  NO_STREAK,
  SIGNALS_KEPT,
  type Finish,
  type LogEntry,
  type StoredSignalOf,
  type Runs,
  type Signal,
  type SignalKind,
  type Source,
  type Streak,
} from '../domain/run.js'
import { runFieldsOf, SCRIPT_FIELD_NAMES, type Periodicity, type Script, type ScriptFields, type StoredScriptField } from '../domain/script.js'
import type { CheckDefinition, DefinedSource, DefinedSpec } from '../domain/definition.js'
import { scriptKey } from '../domain/check.js'
import type { Stored } from './core.js'

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
 * Its source is left out (null) when it is the one of the signal before it in the row, as it
 * mostly is, so that rows stay under a page; '' is no source. `bytes` is the size of the body the
 * client sent, whose kept part is a signal_body row; `ignored` is 1 for a signal that a paused
 * check logged and ignored (manual_resume); `key` its Idempotency-Key.
 */
type StoredSignal = [
  after: number,
  kind: StoredKind,
  rid?: string | null,
  exitStatus?: number | null,
  duration?: number | null,
  address?: string | null,
  userAgent?: string | null,
  bytes?: number | null,
  ignored?: 1 | null,
  key?: string | null,
]
type StoredKind = 'start' | 'ok' | 'fail' | 'log' | 'pause' | 'resume'
const STORED_KIND = { start: 'start', success: 'ok', failure: 'fail', log: 'log', pause: 'pause', resume: 'resume' } as const satisfies Record<
  SignalKind,
  StoredKind
>
const SIGNAL_KIND = { start: 'start', ok: 'success', fail: 'failure', log: 'log', pause: 'pause', resume: 'resume' } as const satisfies Record<
  StoredKind,
  SignalKind
>
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
  let address = ''
  let userAgent = ''
  return JSON.stringify(
    row.map(({ signal, duration }) => {
      const source = signal.source ?? NO_SOURCE
      const entry: StoredSignal = [
        signal.at - rowAt,
        STORED_KIND[signal.kind],
        signal.rid ?? null,
        signal.exitStatus ?? null,
        duration ?? null,
        source.address === address ? null : source.address,
        source.userAgent === userAgent ? null : source.userAgent,
        signal.output?.bytes ?? null,
        signal.ignored === true ? 1 : null,
        signal.key ?? null,
      ]
      address = source.address
      userAgent = source.userAgent
      while (entry.length > 2 && entry[entry.length - 1] === null) entry.pop()
      return entry
    }),
  )
}

const NO_SOURCE: Source = Object.freeze({ address: '', userAgent: '' })

/** The signals of a row, each with its seq. */
export function signalsOf(row: SignalRow): { seq: number; signal: StoredSignalOf }[] {
  let address = ''
  let userAgent = ''
  return (JSON.parse(row.signals) as StoredSignal[]).map(([after, kind, rid, exitStatus, duration, a, u, bytes, ignored, key], i) => {
    address = a ?? address
    userAgent = u ?? userAgent
    return {
      seq: row.seq + i,
      signal: {
        kind: SIGNAL_KIND[kind],
        at: row.at + after,
        rid: rid ?? undefined,
        exitStatus: exitStatus ?? undefined,
        duration: duration ?? undefined,
        source: address === '' && userAgent === '' ? undefined : { address, userAgent },
        bytes: bytes ?? undefined,
        ignored: ignored === 1 ? true : undefined,
        key: key ?? undefined,
      },
    }
  })
}

/** A signal_body row, as the run log reads it. */
export interface BodyRow {
  seq: number
  body: string
}

/** How many of a check's newest signals its run log shows: `keep`, up to the SIGNALS_KEPT that every check keeps. */
export const logKeep = (page: { keep: number }) => Math.min(page.keep, SIGNALS_KEPT)

/** A page of the run log from `rows` (newest first, at least the newest logKeep signals): see Store.runLog. */
export function logPage(rows: readonly SignalRow[], page: { keep: number; before: number | undefined; limit: number }) {
  const { before, limit } = page
  return rows
    .flatMap((row) => signalsOf(row).reverse())
    .slice(0, logKeep(page))
    .filter((s) => before === undefined || s.seq < before)
    .slice(0, limit)
}

/** The seqs that the outputs of `signals` lie between: [lo, hi], or undefined when none carried one. */
export function outputRange(signals: readonly { seq: number; signal: StoredSignalOf }[]): [number, number] | undefined {
  const seqs = signals.filter((s) => s.signal.bytes !== undefined).map((s) => s.seq)
  return seqs.length === 0 ? undefined : [Math.min(...seqs), Math.max(...seqs)]
}

/** Run log entries: `signals` with the outputs in `bodies` (those of outputRange). */
export function logEntries(signals: readonly { seq: number; signal: StoredSignalOf }[], bodies: readonly BodyRow[]): LogEntry[] {
  const text = new Map(bodies.map((b) => [Number(b.seq), b.body]))
  return signals.map(({ seq, signal }) => {
    const kept = text.get(seq)
    return { seq, signal, output: kept === undefined || signal.bytes === undefined ? undefined : { text: kept, bytes: signal.bytes } }
  })
}

/** The finished runs of some rows, in their order. */
export const finishesOf = (rows: readonly SignalRow[]): (Finish & { readonly seq: number })[] =>
  rows.flatMap((row) =>
    signalsOf(row)
      .filter(({ signal }) => (signal.kind === 'success' || signal.kind === 'failure') && signal.ignored !== true)
      .map(({ seq, signal }) => ({ seq, at: signal.at, succeeded: signal.kind === 'success', exitStatus: signal.exitStatus, duration: signal.duration })),
  )

/** Runs as JSON: undefined values are left out, and come back from the empty values. */
export const runsText = (runs: Runs): string => JSON.stringify(runs)

export function runsFromText(text: string): Runs {
  const runs = JSON.parse(text) as Partial<Runs>
  return Object.freeze({ ...NO_RUNS, ...runs, streak: fullStreak(runs.streak) })
}

const fullStreak = (s: Streak | undefined): Streak => Object.freeze({ ...NO_STREAK, ...s })

/**
 * A field of a script in its definition's spec, both ways: `write` refuses a value of the wrong
 * type (JSON has no column types to refuse it, and a NaN would be written as null), `read` takes
 * what the spec holds, including what a migration moved from the columns of earlier schemas.
 */
interface FieldCodec<T> {
  write(value: T, field: string): unknown
  read(stored: never): T
}
/** A script whose field is not of its type: the write fails alone, as one the database refuses. */
export class ScriptFieldError extends TypeError {}
const refuse = (field: string, value: unknown, what: string): never => {
  throw new ScriptFieldError(
    `script field ${field} must be ${what}, not ${typeof value === 'number' ? String(value) : (JSON.stringify(value) ?? String(value))}`,
  )
}
const text: FieldCodec<string> = {
  write: (value, field) => (typeof value === 'string' ? value : refuse(field, value, 'text')),
  read: (stored: string) => stored,
}
const maybeText: FieldCodec<string | null> = {
  write: (value, field) => (value === null || typeof value === 'string' ? value : refuse(field, value, 'text or null')),
  read: (stored: string | null) => stored ?? null,
}
const maybeNumber: FieldCodec<number | null> = {
  write: (value, field) => (value === null || (typeof value === 'number' && Number.isFinite(value)) ? value : refuse(field, value, 'a finite number or null')),
  read: (stored: number | null) => stored ?? null,
}
const flag: FieldCodec<boolean> = {
  write: (value, field) => (typeof value === 'boolean' ? (value ? 1 : 0) : refuse(field, value, 'true or false')),
  read: (stored: number | boolean | null) => stored === 1 || stored === true,
}
/** Named periods are words; anything else was written from a number (String(1e21) is "1e+21"). */
const period: FieldCodec<Periodicity | null> = {
  write: (value, field) =>
    value === null
      ? null
      : (typeof value === 'number' && Number.isFinite(value)) || typeof value === 'string'
        ? String(value)
        : refuse(field, value, 'a period'),
  read: (stored: string | null): Periodicity | null =>
    stored === null || stored === undefined ? null : Number.isNaN(Number(stored)) ? (stored as Periodicity) : Number(stored),
}

/**
 * Each stored field of a script, its value both ways, under its name in the spec, Scripto's
 * (SCRIPT_FIELD_NAMES): with the migrations, the only place below the domain that names them. A
 * script's streak is in run_state (JSON), read apart below; its runs are its signals'.
 */
const SCRIPT_CODEC = {
  name: text,
  server: text,
  status: flag,
  lastExec: maybeNumber,
  periodicity: period,
  schedule: maybeText,
  tz: maybeText,
  grace: maybeNumber,
  maxRuntime: maybeNumber,
  minRuntime: maybeNumber,
  failureThreshold: maybeNumber,
  recoveryThreshold: maybeNumber,
  manualResume: flag,
} as const satisfies { readonly [F in StoredScriptField]: FieldCodec<ScriptFields[F]> }
const CODEC_FIELDS = Object.keys(SCRIPT_CODEC) as StoredScriptField[]

/**
 * A row of check_def, the checks defined in the store, whatever their source: its key (a
 * definition's id, a script's scriptKey), its source, and its fields as JSON (`spec`). A script
 * is numbered by its row's id and keeps its streak in run_state; a definition keeps when it was
 * created and last changed.
 */
export interface CheckDefRow {
  id: number
  source: string
  key: string | null
  spec: string
  created: number | null
  updated: number | null
  run_state: string | null
}

/** The check in `row`, in the view its source names. */
export function storedFromRow(row: CheckDefRow): Stored {
  if (row.source === SCRIPTO) return { source: SCRIPTO, script: fromRow(row) }
  const definition: CheckDefinition = Object.freeze({
    id: row.key!,
    source: row.source as DefinedSource,
    spec: Object.freeze(JSON.parse(row.spec) as DefinedSpec),
    created: Number(row.created),
    updated: Number(row.updated),
  })
  return { source: definition.source, definition }
}

/** The columns a check's row is written with (all of them), in the order of storedValues. */
export const CHECK_DEF_COLUMNS = ['id', 'key', 'source', 'spec', 'created', 'updated', 'run_state'] as const
/** The columns an update writes: a row keeps its id, its key and when it was created. */
export const UPDATED_COLUMNS = ['source', 'spec', 'updated', 'run_state'] as const

/**
 * The row of check `stored`, numbered `row` (null: by the database, as it is written), by column; throws a ScriptFieldError naming a field of
 * a script whose value is not of its type.
 */
export function storedRow<R extends number | null>(row: R, stored: Stored): Omit<CheckDefRow, 'id'> & { id: R } {
  if (stored.source === SCRIPTO) return { id: row, key: scriptKey(stored.script.id), created: null, updated: null, ...toRow(stored.script) }
  const d = stored.definition
  return { id: row, key: d.id, source: d.source, spec: JSON.stringify(d.spec), created: d.created, updated: d.updated, run_state: null }
}

/** Script `row` (of source SCRIPTO) as the domain has it, its runs until its key's signals give them. */
function fromRow(row: CheckDefRow): Script {
  const spec = JSON.parse(row.spec) as Record<string, unknown>
  const script: Record<string, unknown> = { id: Number(row.id), ...runState(row, spec) }
  for (const field of CODEC_FIELDS) {
    script[field] = SCRIPT_CODEC[field].read(spec[SCRIPT_FIELD_NAMES[field]] as never)
  }
  return Object.freeze(script as unknown as Script)
}

/**
 * A script's streak, from run_state; for a row from before runs, what its last status says. Its
 * runs are its key's signals' (Memory.put): a row written before that also holds them, and
 * they stand for a script of which no signal is kept.
 */
function runState(r: CheckDefRow, spec: Record<string, unknown>): { runs: Runs; streak: Streak } {
  if (r.run_state === null) return runFieldsOf(flag.read(spec.status as never), maybeNumber.read(spec.last_exec as never))
  const { runs, streak } = JSON.parse(r.run_state) as { runs?: Runs; streak: Streak }
  return { runs: runs === undefined ? NO_RUNS : Object.freeze({ ...NO_RUNS, ...runs, streak: fullStreak(runs.streak) }), streak: fullStreak(streak) }
}

/** A script's row, without its id and key; throws a ScriptFieldError naming a field whose value is not of its type. */
function toRow(script: ScriptFields): Pick<CheckDefRow, 'source' | 'spec' | 'run_state'> {
  const spec: Record<string, unknown> = {}
  for (const field of CODEC_FIELDS) {
    const name = SCRIPT_FIELD_NAMES[field]
    spec[name] = (SCRIPT_CODEC[field].write as (value: unknown, field: string) => unknown)(script[field], name)
  }
  // The streak only: the runs are the fold's, kept with the key's signals.
  return { source: SCRIPTO, spec: JSON.stringify(spec), run_state: JSON.stringify({ streak: script.streak }) }
}

/** The source of Scripto's scripts in check_def. */
const SCRIPTO = 'scripto'
