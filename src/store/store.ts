// The only SQL in the service. SQLite (better-sqlite3, WAL) holds item signals and script reports;
// reads that run on every scrape come from an in-memory copy kept in step with each write.
import { existsSync, mkdirSync, statSync } from 'node:fs'
import { dirname } from 'node:path'
import Database from 'better-sqlite3'
import { applySignal, NO_RUNS, NO_STREAK, type Finish, type Runs, type Signal, type SignalKind, type Streak } from '../domain/run.js'
import { runFieldsOf, type Periodicity, type Script, type ScriptFields } from '../domain/script.js'
import { groupCommit } from './group-commit.js'
import { migrate } from './migrations.js'

export type { Script, ScriptFields } from '../domain/script.js'

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

/**
 * Writes are group-committed: each returns a promise that settles once its transaction has
 * committed, so a caller that answers after awaiting it never acknowledges what a crash could take
 * back. The writes of one event-loop turn share one transaction (each in its own savepoint, so one
 * failing write fails alone). Reads see a write once its promise has resolved.
 */
export interface Store {
  /** The runs of every item id that has had a signal. */
  runs(): ReadonlyMap<string, Runs>
  /**
   * Appends a signal of item `id`, after those queued before it. Resolves, once committed, to what
   * it did: the id's runs after it and the run it finished; undefined when keepOnlyItems forgot
   * the id before the commit (the signal is then not written).
   */
  recordSignal(id: string, signal: Signal): Promise<SignalRecord | undefined>
  /**
   * The runs that item `id`'s kept signals finished, oldest first (the last SIGNALS_KEPT signals
   * of each id are kept); for rebuilding a streak under other limits.
   */
  finishes(id: string): (Finish & { readonly seq: number })[]
  /**
   * Forgets, at once, the signals of ids not in `ids` (start and reload), including ones queued and
   * not yet committed; their rows are deleted with the next batch.
   */
  keepOnlyItems(ids: ReadonlySet<string>): void

  /** Every script, in id order. */
  scripts(): readonly Script[]
  getScript(id: number): Script | undefined
  createScript(fields: ScriptFields): Promise<Script>
  /**
   * Applies the fields that `patch` gives for the script as it stands when the write runs (after
   * the writes queued before it); undefined when there is no such script. When `patch` throws,
   * the write fails with that error and changes nothing.
   */
  updateScript(id: number, patch: (current: Script) => Partial<ScriptFields>): Promise<Script | undefined>
  deleteScript(id: number): Promise<boolean>
  /** The scripts matching `query`, and how many match without limit and offset. */
  queryScripts(query: ScriptQuery): { total: number; scripts: Script[] }

  /** Batches that found the database locked by another process and were tried again later. */
  readonly lockRetries: number
  /** Commits what is queued, then closes the database. */
  close(): void
}

export interface SignalRecord {
  /** Its place in the order of all signals: later signals have larger ones. */
  readonly seq: number
  readonly runs: Runs
  readonly finish?: Finish & { readonly seq: number }
}

interface QueuedSignal {
  readonly id: string
  readonly signal: Signal
  /** forgotten.get(id) when it was queued: a change means keepOnlyItems dropped the id since. */
  readonly generation: number | undefined
  readonly resolve: (record: SignalRecord | undefined) => void
  readonly reject: (err: unknown) => void
}

/** Signals kept per item id: enough to rebuild streaks up to THRESHOLD_MAX (domain/run.ts). */
export const SIGNALS_KEPT = 256
/** Trimming waits for this many signals over SIGNALS_KEPT, so that it runs once per many writes; a row is dropped whole. */
const TRIM_SLACK = 64

export interface StoreOptions {
  /** Told of a write that no caller awaits (the deletes of keepOnlyItems) when it fails. */
  onError?: (err: unknown, what: string) => void
  /** Caps the database at this many pages, as a full disk would; for tests of write failures. */
  maxPages?: number
}

interface ScriptRow {
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

interface SignalRow {
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
const ROW_SIGNALS_MAX = 16

function stored(signal: Signal, rowAt: number, duration: number | undefined): StoredSignal {
  const entry: StoredSignal = [signal.at - rowAt, STORED_KIND[signal.kind], signal.rid ?? null, signal.exitStatus ?? null, duration ?? null]
  while (entry.length > 2 && entry[entry.length - 1] === null) entry.pop()
  return entry
}

const COLUMN: Record<ScriptField, string> = {
  id: 'id',
  last_exec: 'last_exec',
  name: 'name',
  server: 'server',
  status: 'status',
  periodicity: 'periodicity',
}

const fromRow = (r: ScriptRow): Script =>
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
  // JSON leaves out undefined: the keys come back from the empty values.
  const { runs, streak } = JSON.parse(r.run_state) as { runs: Runs; streak: Streak }
  const fullStreak = (s: Streak) => Object.freeze({ ...NO_STREAK, ...s })
  return { runs: Object.freeze({ ...NO_RUNS, ...runs, streak: fullStreak(runs.streak) }), streak: fullStreak(streak) }
}

/** The signals of a row, each with its seq. */
const signalsOf = (row: SignalRow) =>
  (JSON.parse(row.signals) as StoredSignal[]).map(([after, kind, rid, exitStatus, duration], i) => ({
    seq: row.seq + i,
    signal: { kind: SIGNAL_KIND[kind], at: row.at + after, rid: rid ?? undefined, exitStatus: exitStatus ?? undefined, duration: duration ?? undefined } as Signal,
  }))

/** Named periods are words; anything else was written from a number (String(1e21) is "1e+21"). */
const periodicityFromText = (text: string): Periodicity => (Number.isNaN(Number(text)) ? (text as Periodicity) : Number(text))

const toRow = (s: ScriptFields) => ({
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

/**
 * Creates the missing folders of `dir`, outermost first. Not mkdirSync's `recursive` option: on
 * some filesystems (/proc) it loops forever instead of failing, and start-up would hang.
 */
function makeFolders(dir: string): void {
  if (existsSync(dir)) {
    if (!statSync(dir).isDirectory()) throw new Error(`${dir} is not a folder`)
    return
  }
  const parent = dirname(dir)
  if (parent !== dir) makeFolders(parent)
  mkdirSync(dir)
}

/** Opens (creating the file and its folder if needed) and migrates the database at `path`. */
export function openStore(path: string, { onError = () => {}, maxPages }: StoreOptions = {}): Store {
  if (path !== ':memory:') makeFolders(dirname(path))
  const db = new Database(path)
  db.pragma('journal_mode = WAL')
  // NORMAL in WAL mode: a commit survives a crash of this process (kill -9); only a power loss
  // can take back the last commits.
  db.pragma('synchronous = NORMAL')
  // Migrations run once, at start-up, before anything is served: they may wait for the lock.
  db.pragma('busy_timeout = 5000')
  migrate(db)
  if (maxPages !== undefined) db.pragma(`max_page_count = ${maxPages}`)
  // Scripts written earlier in the batch under way, for the writes after them in the same batch.
  const DELETED = Symbol('deleted')
  const pendingScripts = new Map<number, Script | typeof DELETED>()
  // Runs and kept-signal counts written earlier in the batch under way, likewise.
  const pendingRuns = new Map<string, { runs: Runs; kept: number }>()
  const batches = groupCommit(db, () => (pendingScripts.clear(), pendingRuns.clear()))
  const { write } = batches

  const insertSignals = db.prepare('INSERT INTO item_signal (id, seq, at, n, signals) VALUES (?, ?, ?, ?, ?)')
  // Drops the rows of an id older than the newest ones that hold SIGNALS_KEPT signals; returns their n.
  const trimSignals = db.prepare(
    `DELETE FROM item_signal WHERE id = @id AND seq < (
       SELECT seq FROM (SELECT seq, sum(n) OVER (ORDER BY seq DESC) AS newer FROM item_signal WHERE id = @id) WHERE newer >= @keep ORDER BY seq DESC LIMIT 1
     ) RETURNING n`,
  )
  const deleteSignals = db.prepare('DELETE FROM item_signal WHERE id = ?')
  const rowsOf = db.prepare('SELECT * FROM item_signal WHERE id = ? ORDER BY seq')
  const insertScript = db.prepare(
    `INSERT INTO script (name, server, status, last_exec, periodicity, schedule, tz, grace, max_runtime, min_runtime, failure_threshold, recovery_threshold, run_state)
     VALUES (@name, @server, @status, @last_exec, @periodicity, @schedule, @tz, @grace, @max_runtime, @min_runtime, @failure_threshold, @recovery_threshold, @run_state) RETURNING *`,
  )
  const updateScriptRow = db.prepare(
    `UPDATE script SET name = @name, server = @server, status = @status, last_exec = @last_exec, periodicity = @periodicity, schedule = @schedule, tz = @tz,
       grace = @grace, max_runtime = @max_runtime, min_runtime = @min_runtime, failure_threshold = @failure_threshold,
       recovery_threshold = @recovery_threshold, run_state = @run_state WHERE id = @id`,
  )
  const deleteScriptRow = db.prepare('DELETE FROM script WHERE id = ?')

  // Each id's runs, folded from its kept signals in order; and how many signals it keeps.
  const runs = new Map<string, Runs>()
  const kept = new Map<string, number>()
  // In key order (each id's signals in their order): no sort of the whole table.
  let nextSeq = 1
  for (const row of db.prepare('SELECT * FROM item_signal ORDER BY id, seq').iterate() as IterableIterator<SignalRow>) {
    let r = runs.get(row.id) ?? NO_RUNS
    for (const { signal } of signalsOf(row)) r = applySignal(r, signal).runs
    runs.set(row.id, r)
    kept.set(row.id, (kept.get(row.id) ?? 0) + row.n)
    nextSeq = Math.max(nextSeq, row.seq + row.n)
  }
  // Bumped when keepOnlyItems forgets an id: a signal queued before that is then not written.
  const forgotten = new Map<string, number>()
  // Signals queued and not yet run, per id.
  const queued = new Map<string, number>()
  const dequeue = (id: string) => {
    const n = queued.get(id)! - 1
    if (n === 0) queued.delete(id)
    else queued.set(id, n)
  }
  const scripts = new Map<number, Script>()
  for (const row of db.prepare('SELECT * FROM script ORDER BY id').all() as ScriptRow[]) scripts.set(row.id, fromRow(row))
  let scriptList: readonly Script[] | undefined

  // The signals queued since the last batch began are one write, applied in order, in one
  // savepoint: a savepoint per signal cost a fifth of a check-in.
  let signalOp: { queue: QueuedSignal[] } | undefined
  const scriptsChanged = () => {
    scriptList = undefined
  }

  return {
    runs: () => runs,
    recordSignal(id, signal) {
      if (signalOp === undefined) {
        const queue: QueuedSignal[] = []
        write(() => {
          // Signals from here on go to the next write; this one's are final.
          if (signalOp?.queue === queue) signalOp = undefined
          for (const q of queue) dequeue(q.id)
          // Each id's signals of this write, for its rows.
          const latest = new Map<string, { runs: Runs; kept: number; signals: { seq: number; signal: Signal; duration: number | undefined }[] }>()
          const records = queue.map(({ id, signal, generation }): SignalRecord | undefined => {
            if (forgotten.get(id) !== generation) return undefined
            let state = latest.get(id)
            if (state === undefined) {
              const before = pendingRuns.get(id) ?? { runs: runs.get(id) ?? NO_RUNS, kept: kept.get(id) ?? 0 }
              state = { runs: before.runs, kept: before.kept, signals: [] }
              latest.set(id, state)
            }
            const { runs: next, finish } = applySignal(state.runs, signal)
            // A seq of a batch that rolls back is not handed out again: the order only needs to grow.
            const seq = nextSeq++
            state.signals.push({ seq, signal, duration: finish?.duration })
            state.runs = next
            if (finish === undefined) return { seq, runs: next }
            return { seq, runs: next, finish: { at: finish.at, succeeded: finish.succeeded, exitStatus: finish.exitStatus, duration: finish.duration, seq } }
          })
          for (const [id, state] of latest) {
            for (let i = 0; i < state.signals.length; i += ROW_SIGNALS_MAX) {
              const row = state.signals.slice(i, i + ROW_SIGNALS_MAX)
              const { seq, signal: first } = row[0]!
              insertSignals.run(id, seq, first.at, row.length, JSON.stringify(row.map((r) => stored(r.signal, first.at, r.duration))))
            }
            state.kept += state.signals.length
            if (state.kept > SIGNALS_KEPT + TRIM_SLACK) {
              for (const { n } of trimSignals.all({ id, keep: SIGNALS_KEPT }) as { n: number }[]) state.kept -= n
            }
          }
          for (const [id, state] of latest) pendingRuns.set(id, state)
          return {
            result: undefined,
            apply: () => {
              latest.forEach((state, id) => (runs.set(id, state.runs), kept.set(id, state.kept)))
              queue.forEach((q, i) => q.resolve(records[i]))
            },
          }
        }).catch((err: unknown) => queue.forEach((q) => q.reject(err)))
        signalOp = { queue }
      }
      const { queue } = signalOp
      queued.set(id, (queued.get(id) ?? 0) + 1)
      // Each signal is answered by the write's apply, once committed: no promise chained per signal.
      return new Promise((resolve, reject) => queue.push({ id, signal, generation: forgotten.get(id), resolve, reject }))
    },
    finishes: (id) =>
      (rowsOf.all(id) as SignalRow[]).flatMap((row) =>
        signalsOf(row)
          .filter(({ signal }) => signal.kind !== 'start')
          .map(({ seq, signal }) => ({ seq, at: signal.at, succeeded: signal.kind === 'success', exitStatus: signal.exitStatus, duration: signal.duration })),
      ),
    keepOnlyItems(ids) {
      const gone = [...runs.keys()].filter((id) => !ids.has(id))
      for (const id of gone) {
        runs.delete(id)
        kept.delete(id)
      }
      // Signals queued and not yet written, of ids no longer kept, are dropped when their turn comes;
      // a signal after this call must be written after the deletes below, not before them.
      for (const id of queued.keys()) if (!ids.has(id)) forgotten.set(id, (forgotten.get(id) ?? 0) + 1)
      signalOp = undefined
      if (gone.length > 0) {
        write(() => {
          for (const id of gone) deleteSignals.run(id)
          return { result: undefined }
        }).catch((err: unknown) => onError(err, `deleting the signals of ${gone.length} removed item(s)`))
      }
    },

    scripts: () => (scriptList ??= Object.freeze([...scripts.values()])),
    getScript: (id) => scripts.get(id),
    createScript: (fields) =>
      write(() => {
        const script = fromRow(insertScript.get(toRow(fields)) as ScriptRow)
        pendingScripts.set(script.id, script)
        return { result: script, apply: () => (scripts.set(script.id, script), scriptsChanged()) }
      }),
    // The current row is read when the batch runs, so updates queued together apply in order.
    updateScript: (id, patch) =>
      write(() => {
        const current = pendingScripts.get(id) ?? scripts.get(id)
        if (current === undefined || current === DELETED) return { result: undefined }
        const next: Script = Object.freeze({ ...current, ...patch(current), id })
        updateScriptRow.run({ ...toRow(next), id })
        pendingScripts.set(id, next)
        return { result: next, apply: () => (scripts.set(id, next), scriptsChanged()) }
      }),
    deleteScript: (id) =>
      write(() => {
        if (deleteScriptRow.run(id).changes === 0) return { result: false }
        pendingScripts.set(id, DELETED)
        return { result: true, apply: () => (scripts.delete(id), scriptsChanged()) }
      }),
    queryScripts(query) {
      const { where, params } = whereClause(query.filters)
      const total = (db.prepare(`SELECT count(*) AS n FROM script ${where}`).get(params) as { n: number }).n
      const order = [...query.orderBy.map((o) => `${COLUMN[o.field]} ${o.direction === 'desc' ? 'DESC' : 'ASC'}`), 'id ASC'].join(', ')
      const rows = db
        .prepare(`SELECT * FROM script ${where} ORDER BY ${order} LIMIT ? OFFSET ?`)
        .all(...params, query.limit, query.offset) as ScriptRow[]
      return { total, scripts: rows.map(fromRow) }
    },

    get lockRetries() {
      return batches.lockRetries
    },
    close() {
      batches.drain()
      db.close()
    },
  }
}

// Field names come from a fixed list and values are bound parameters: nothing from the
// request is spliced into the SQL text.
function whereClause(filters: readonly ScriptFilter[]): { where: string; params: unknown[] } {
  const params: unknown[] = []
  const terms = filters.map(({ field, op, value }) => {
    const col = COLUMN[field]
    switch (op) {
      case 'is_null':
        return `${col} IS NULL`
      case 'is_not_null':
        return `${col} IS NOT NULL`
      case 'in': {
        const values = value as unknown[]
        params.push(...values)
        return values.length === 0 ? '0' : `${col} IN (${values.map(() => '?').join(', ')})`
      }
      case 'like':
        params.push(value)
        return `${col} LIKE ?`
      case '==':
        params.push(value)
        return `${col} IS ?`
      case '!=':
        params.push(value)
        return `${col} IS NOT ?`
      default:
        params.push(value)
        return `${col} ${op} ?`
    }
  })
  return { where: terms.length === 0 ? '' : `WHERE ${terms.join(' AND ')}`, params }
}
