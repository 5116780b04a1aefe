// The PostgreSQL store (node-postgres): the same contract as SQLite's, for replicas that share one
// database. Each replica keeps the whole state in memory for /metrics and the page, as SQLite's
// store does, and learns of the other replicas' writes by LISTEN/NOTIFY: each batch notifies the
// range of change_seq it took, and the others read the rows in that range (see pg-migrations.ts).
//
// Written here rather than taken from a library: the group commit, the per-id fold and the
// catch-up are this service's own rules; pg gives the connections, the pool and the notifications.
import { randomUUID } from 'node:crypto'
import { setImmediate as endOfTurn } from 'node:timers/promises'
import pg, { type Notification, type PoolClient, type PoolConfig } from 'pg'
import { applySignal, NO_RUNS, type Finish, type OpenRun, type Runs, type Signal } from '../domain/run.js'
import type { Script } from '../domain/script.js'
import { StoreTimeoutError, StoreUnavailableError } from '../errors.js'
import { migratePostgres } from './pg-migrations.js'
import { whereClause, type Dialect } from './script-filters.js'
import {
  applyInOrder,
  finishesOf,
  fromRow,
  ROW_SIGNALS_MAX,
  runsFromText,
  runsText,
  SCRIPT_COLUMNS,
  logEntries,
  logPage,
  outputRange,
  SCRIPT_OUTPUTS,
  scriptLogText,
  trimEvery,
  signalsOf,
  signalsText,
  toRow,
  type BodyRow,
  type ScriptRow,
  type SignalRow,
} from './rows.js'
import { finishRecord, SIGNALS_KEPT, TRIM_SLACK, type SignalRecord, type Store, type StoreOptions } from './store.js'

/** The channel every replica listens on; a payload is a Note. */
const CHANNEL = 'statuspage_changes'
/** NOTIFY payloads must stay under 8000 bytes; a batch that would say more asks for a resync. */
const NOTE_MAX = 7000
/** Rows of each table read for one note at most (a batch of 4,096 ids); a note naming more asks for a resync. */
const NOTE_ROWS = 4096
/** Between attempts to reach a database that stopped answering. */
const PROBE_MS = 500
/** The listening connection is checked this often: a silent one would miss notifications. */
const HEARTBEAT_MS = 5000
/**
 * How long a write may wait on the database before it is answered 503: with the check's period,
 * within the 2 s that clients' retry loops allow (statuspage-run's --timeout, Healthchecks' 10 s).
 */
const WRITE_DEADLINE_MS = 1500
/** The same for writes that wait behind a read of other replicas' changes. */
const READ_DEADLINE_MS = 5000
const DEADLINE_CHECK_MS = 250
const NO_OPS: readonly Op[] = Object.freeze([])

/** What a batch tells the other replicas: the seq range it took, and the scripts it deleted. */
export interface Note {
  /** The replica that wrote it. */
  r: string
  lo?: number
  hi?: number
  /** Deleted script ids. */
  d?: number[]
  /** Too much to say: read everything again. */
  all?: true
}

type SignalStateRow = { id: string; seq: number; token: string; runs: string }
type LinkedRow = SignalRow & { prev: number; token: string }

interface SignalOp {
  readonly kind: 'signal'
  readonly id: string
  readonly signal: Signal
  /** forgotten.get(id) when it was queued: a change means keepOnlyItems dropped the id since. */
  readonly generation: number | undefined
  readonly resolve: (record: SignalRecord | undefined) => void
  readonly reject: (err: unknown) => void
}

interface Tx {
  readonly client: PoolClient
  /** The scripts that this batch's updates and deletes name, as locked, then as written. */
  readonly scripts: Map<number, Script | undefined>
  /** change_seq values the batch's script writes took. */
  readonly seqs: number[]
  readonly deleted: number[]
}

interface Done {
  result: unknown
  apply?: () => void
}

interface ScriptOp {
  readonly kind: 'script'
  /** The script the write reads, locked first (in id order) so that replicas apply in one order. */
  readonly lock?: number
  readonly run: (tx: Tx) => Promise<Done>
  readonly resolve: (value: unknown) => void
  readonly reject: (err: unknown) => void
}

interface ForgetOp {
  readonly kind: 'forget'
  readonly ids: readonly string[]
}

type Op = SignalOp | ScriptOp | ForgetOp

/** An error the database server raised (it has a SQLSTATE), as opposed to one on the way to it. */
const sqlState = (err: unknown): string | undefined => {
  const code = (err as { code?: unknown } | undefined)?.code
  return typeof code === 'string' && /^[0-9A-Z]{5}$/.test(code) ? code : undefined
}

/**
 * Whether `err` says the database cannot be reached: a refused or lost connection, a timeout, or
 * a server that is shutting down or out of resources (SQLSTATE classes 08, 53, 57, 58).
 */
function isUnavailable(err: unknown): boolean {
  const state = sqlState(err)
  if (state !== undefined) return /^(08|53|57|58)/.test(state)
  if (!(err instanceof Error)) return false
  const code = (err as { code?: unknown }).code
  return (typeof code === 'string' && code.startsWith('E')) || /connection|terminated|timeout|timed out|not queryable/i.test(err.message)
}

const isSeq = (value: unknown): value is number => Number.isSafeInteger(value)

/**
 * The note in a payload; undefined for one that is not a note. Any session on the database can
 * NOTIFY on the channel, and syncRange writes the seqs into its SQL: each field is checked.
 */
export function noteOf(payload: string): Note | undefined {
  let value: unknown
  try {
    value = JSON.parse(payload)
  } catch {
    return undefined
  }
  if (typeof value !== 'object' || value === null) return undefined
  const { r, lo, hi, d, all } = value as Record<string, unknown>
  if (typeof r !== 'string') return undefined
  if ((lo !== undefined || hi !== undefined) && !(isSeq(lo) && isSeq(hi) && lo <= hi)) return undefined
  if (d !== undefined && !(Array.isArray(d) && d.every(isSeq))) return undefined
  if (all !== undefined && all !== true) return undefined
  return { r, ...(isSeq(lo) && isSeq(hi) ? { lo, hi } : {}), ...(d === undefined ? {} : { d: d as number[] }), ...(all ? { all } : {}) }
}

/** A deadlock or a serialization failure: the batch may simply run again. */
const isRetryable = (err: unknown) => sqlState(err) === '40P01' || sqlState(err) === '40001'

/** Signals of several ids and batches, grouped by id in their order. */
function byId<R extends { id: string }>(rows: readonly R[]): Map<string, R[]> {
  const out = new Map<string, R[]>()
  for (const row of rows) {
    const list = out.get(row.id)
    if (list === undefined) out.set(row.id, [row])
    else list.push(row)
  }
  return out
}

/** An id caught up with what other replicas wrote: its runs, last seq and token, and what each signal did. */
interface Caught {
  readonly runs: Runs
  readonly seq: number
  readonly token: string
  readonly records: SignalRecord[]
}

/** Queries for the catch-up, on a pool or on a batch's connection. */
type Queryable = Pick<pg.Pool, 'query'>

export async function openPostgresStore(url: string, { onError = () => {}, onAvailability = () => {} }: StoreOptions = {}): Promise<Store> {
  const config: PoolConfig = {
    connectionString: url,
    application_name: 'statuspage',
    max: 4,
    connectionTimeoutMillis: 2000,
    query_timeout: 10_000,
    keepAlive: true,
    // ms since the epoch and seqs are bigint: read as numbers (exact below 2^53).
    types: {
      getTypeParser: ((oid: number, format?: 'text' | 'binary') =>
        oid === 20 ? Number : pg.types.getTypeParser(oid, format)) as typeof pg.types.getTypeParser,
    },
  }
  const pool = new pg.Pool(config)
  // An idle connection that the server ends emits here; unhandled, it would end the process.
  pool.on('error', (err) => markDown(err))
  const replica = randomUUID()

  const runs = new Map<string, Runs>()
  /** The seq of the last signal of each id that runs() has folded, and the token of its write. */
  const known = new Map<string, number>()
  const tokens = new Map<string, string>()
  let writes = 0
  /** A token no other write has: this replica's id and a count. */
  const nextToken = () => `${replica.slice(0, 13)}${(++writes).toString(36)}`
  const scripts = new Map<number, Script>()
  /** The change_seq of each script's last write that `scripts` has. */
  const scriptSeq = new Map<number, number>()
  let scriptList: readonly Script[] | undefined
  const listeners: ((id: string, record: SignalRecord) => void)[] = []
  const forgotten = new Map<string, number>()

  let up = true
  let closing = false
  let lockRetries = 0
  /** Rows read of other replicas' writes. */
  let remoteRows = 0
  const queue: Op[] = []
  /** The item ids of the batch under way. */
  let inFlight: ReadonlySet<string> = new Set()
  /** Listens, and writes the batches of signals (see connect). */
  let connection: pg.Client | undefined
  /** The server process of `connection`: the notifications it sends are this replica's own. */
  let connectionPid: number | undefined
  let probe: NodeJS.Timeout | undefined
  let heartbeat: NodeJS.Timeout | undefined
  // Other replicas' changes not yet read: a seq range and deleted scripts, or everything.
  let range: { lo: number; hi: number } | undefined
  const deletedElsewhere = new Set<number>()
  let resyncWanted = false
  let pumping: Promise<void> | undefined
  /** The step the pump awaits: since when, and the writes it carries (none for a read). */
  let busy: { since: number; ops: readonly Op[] } | undefined
  const deadline = setInterval(checkDeadline, DEADLINE_CHECK_MS).unref()

  const unavailable = () => new StoreUnavailableError()

  function setScript(script: Script, seq: number) {
    scripts.set(script.id, script)
    scriptSeq.set(script.id, seq)
    scriptList = undefined
  }
  function dropScript(id: number) {
    scripts.delete(id)
    scriptSeq.delete(id)
    scriptList = undefined
  }

  /** Folds what another replica wrote into runs(), and tells the listeners. */
  function applyRemote(id: string, next: Runs, seq: number, token: string, records: readonly SignalRecord[]) {
    runs.set(id, next)
    known.set(id, seq)
    tokens.set(id, token)
    for (const record of records) for (const listener of listeners) listener(id, record)
  }

  /**
   * Reads what other replicas appended to the ids of `states` (item_state rows whose seq this
   * replica has not folded) and folds it on the copy in memory. When the rows no longer link up
   * to what this replica knows (trimmed meanwhile), the stored runs are taken as they are.
   */
  async function catchUp(db: Queryable, states: readonly SignalStateRow[]): Promise<Map<string, Caught>> {
    const out = new Map<string, Caught>()
    if (states.length === 0) return out
    const { rows } = await db.query<LinkedRow>(
      `SELECT s.id, s.seq, s.prev, s.token, s.at, s.n, s.signals FROM item_signal s
         JOIN unnest($1::text[], $2::bigint[]) AS k(id, known) ON s.id = k.id AND s.seq > k.known ORDER BY s.id, s.seq`,
      [states.map((s) => s.id), states.map((s) => known.get(s.id) ?? 0)],
    )
    remoteRows += rows.length
    const rowsOf = byId(rows)
    for (const state of states) {
      const folded = fold(state.id, rowsOf.get(state.id) ?? [])
      out.set(
        state.id,
        folded !== undefined && folded.seq === state.seq
          ? folded
          : { runs: runsFromText(state.runs), seq: state.seq, token: state.token, records: [{ seq: state.seq, runs: runsFromText(state.runs) }] },
      )
    }
    return out
  }

  /** `rows` of `id` (seq order) folded on its copy; undefined when they do not link up to it. */
  function fold(id: string, rows: readonly LinkedRow[]): Caught | undefined {
    let next = runs.get(id) ?? NO_RUNS
    let seq = known.get(id) ?? 0
    let token = tokens.get(id) ?? ''
    const records: SignalRecord[] = []
    for (const row of rows) {
      if (row.prev !== seq) return undefined
      for (const { seq: s, signal } of signalsOf(row)) {
        const { runs: after, finish } = applyInOrder(next, signal)
        next = after
        records.push(finish === undefined ? { seq: s, runs: after } : { seq: s, runs: after, finish: finishRecord(finish, s) })
        seq = s
      }
      token = row.token
    }
    return { runs: next, seq, token, records }
  }

  /**
   * Reads the changes that other replicas notified: at most NOTE_ROWS rows of each table. A note
   * is a hint, which any session on the database can send: one that names more asks for a resync,
   * which reads only what this replica does not have (item_state, then the rows of stale ids).
   */
  async function syncRange(lo: number, hi: number): Promise<void> {
    // Both reads in one round trip (the simple protocol takes no parameters: the bounds are
    // integers, checked as the note was read); a replica under load runs one for each batch that
    // another one writes. The inner LIMIT walks the seq index and stops there.
    const [{ rows }, { rows: scriptRows }] = (await pool.query(
      `SELECT * FROM (SELECT id, seq, prev, token, at, n, signals FROM item_signal WHERE seq BETWEEN ${lo} AND ${hi} ORDER BY seq LIMIT ${NOTE_ROWS + 1}) r ORDER BY id, seq;
       SELECT * FROM script WHERE seq BETWEEN ${lo} AND ${hi} ORDER BY seq LIMIT ${NOTE_ROWS + 1}`,
    )) as unknown as [pg.QueryResult<LinkedRow>, pg.QueryResult<ScriptRow & { seq: number }>]
    remoteRows += rows.length + scriptRows.length
    if (rows.length > NOTE_ROWS || scriptRows.length > NOTE_ROWS) {
      resyncWanted = true
      return
    }
    const gaps: string[] = []
    for (const [id, list] of byId(rows)) {
      const mine = known.get(id) ?? 0
      const fresh = list.filter((row) => row.seq > mine)
      if (fresh.length === 0) continue
      const folded = fold(id, fresh)
      if (folded === undefined) gaps.push(id)
      else applyRemote(id, folded.runs, folded.seq, folded.token, folded.records)
    }
    if (gaps.length > 0) {
      const { rows: states } = await pool.query<SignalStateRow>('SELECT id, seq, token, runs FROM item_state WHERE id = ANY($1::text[])', [gaps])
      for (const [id, c] of await catchUp(pool, states)) applyRemote(id, c.runs, c.seq, c.token, c.records)
    }
    for (const row of scriptRows) if (row.seq > (scriptSeq.get(row.id) ?? 0)) setScript(fromRow(row), row.seq)
  }

  /** Forgets the scripts of a note's `d` that the table no longer has: only the table is believed. */
  async function syncDeleted(ids: readonly number[]): Promise<void> {
    if (ids.length > NOTE_ROWS) {
      resyncWanted = true
      return
    }
    const { rows } = await pool.query<ScriptRow & { seq: number }>('SELECT * FROM script WHERE id = ANY($1::bigint[])', [ids])
    remoteRows += rows.length
    const stored = new Map(rows.map((row) => [row.id, row]))
    for (const id of ids) {
      const row = stored.get(id)
      if (row === undefined) dropScript(id)
      else if (row.seq > (scriptSeq.get(id) ?? 0)) setScript(fromRow(row), row.seq)
    }
  }

  /** Reads everything again: after the database or the notifications were lost for a while. */
  async function resync(): Promise<void> {
    const { rows: states } = await pool.query<SignalStateRow>('SELECT id, seq, token, runs FROM item_state')
    const stale = states.filter((s) => s.seq !== (known.get(s.id) ?? 0))
    for (const [id, c] of await catchUp(pool, stale)) applyRemote(id, c.runs, c.seq, c.token, c.records)
    const stored = new Set(states.map((s) => s.id))
    for (const id of [...runs.keys()]) if (!stored.has(id)) applyRemote(id, NO_RUNS, 0, '', [{ seq: 0, runs: NO_RUNS }])
    const { rows } = await pool.query<ScriptRow & { seq: number }>('SELECT * FROM script ORDER BY id')
    scripts.clear()
    scriptSeq.clear()
    for (const row of rows) setScript(fromRow(row), row.seq)
  }

  function onNotification(msg: Notification) {
    // Every batch of signals notifies on the connection that listens: its own note, read unparsed.
    if (msg.channel !== CHANNEL || msg.payload === undefined || msg.processId === connectionPid) return
    const note = noteOf(msg.payload)
    if (note === undefined || note.r === replica) return
    if (note.all) resyncWanted = true
    if (note.lo !== undefined && note.hi !== undefined)
      range = range === undefined ? { lo: note.lo, hi: note.hi } : { lo: Math.min(range.lo, note.lo), hi: Math.max(range.hi, note.hi) }
    for (const id of note.d ?? []) deletedElsewhere.add(id)
    void pump()
  }

  /**
   * The connection that listens, and that signal batches go out on; its loss marks the database
   * down. One kept for the batches, as measured, gives a refresh through PostgreSQL 0.39-0.49 of
   * bare Fastify, against 0.31-0.36 through the pool (a checkout, a release and an idle timer per
   * batch). Listening on it too, a batch's own notification comes back with its answer, where a
   * second listening connection would wake another server process on every batch.
   */
  async function connect(): Promise<void> {
    const client = new pg.Client(config)
    const lost = (err: unknown) => {
      if (connection === client) markDown(err)
    }
    client.on('error', lost)
    client.on('end', () => lost(new Error('the listening connection ended')))
    client.on('notification', onNotification)
    let pid: number
    try {
      await client.connect()
      await client.query(`LISTEN ${CHANNEL}`)
      pid = (await client.query<{ pid: number }>('SELECT pg_backend_pid() AS pid')).rows[0]!.pid
    } catch (err) {
      client.end().catch(() => {})
      throw err
    }
    connection = client
    connectionPid = pid
    heartbeat = setInterval(() => void client.query('SELECT 1').catch(lost), HEARTBEAT_MS).unref()
  }

  function disconnect() {
    clearInterval(heartbeat)
    connection?.end().catch(() => {})
    connection = undefined
    connectionPid = undefined
  }

  /** The database stopped answering: fail what waits, and try to reach it again until it does. */
  function markDown(err: unknown) {
    if (closing || !up) return
    up = false
    onError(err, 'the database stopped answering; writes fail with 503 until it is back')
    onAvailability(false)
    disconnect()
    for (const op of queue.splice(0)) if (op.kind !== 'forget') op.reject(unavailable())
    probe = setTimeout(tryToRecover, PROBE_MS)
  }

  async function tryToRecover() {
    probe = undefined
    if (closing) return
    try {
      await connect()
      await pool.query('SELECT 1')
    } catch {
      disconnect()
      probe = setTimeout(tryToRecover, PROBE_MS)
      return
    }
    up = true
    // Whatever was missed meanwhile, including a commit whose answer was lost, is read again
    // before the next batch; a batch folds what it finds newer in any case.
    resyncWanted = true
    onAvailability(true)
    void pump()
  }

  // Once close() has begun, only the queue is drained: reads of other replicas' changes would
  // start a run that does nothing, again and again.
  const hasWork = () => (closing ? queue.length > 0 : resyncWanted || range !== undefined || deletedElsewhere.size > 0 || queue.length > 0)

  /**
   * Runs queued batches and reads of other replicas' changes, one at a time, while up. The
   * promise of the run under way; a new run starts if work arrived as the last one ended.
   */
  function pump(): Promise<void> {
    pumping ??= drain().finally(() => {
      pumping = undefined
      if (up && hasWork()) void pump()
    })
    return pumping
  }

  async function drain(): Promise<void> {
    // The answers of the last batch of signals, held until the next batch has gone out: the
    // database writes one while this process writes the other's responses (see signalBatch).
    let answer: (() => void) | undefined
    const flush = () => {
      const a = answer
      answer = undefined
      a?.()
    }
    try {
      while (up && hasWork()) {
        busy = { since: Date.now(), ops: NO_OPS }
        if (!closing && resyncWanted) {
          flush()
          resyncWanted = false
          range = undefined
          deletedElsewhere.clear()
          await guarded(resync, 'reading the database again')
        } else if (!closing && (range !== undefined || deletedElsewhere.size > 0)) {
          flush()
          const r = range
          const deleted = [...deletedElsewhere]
          range = undefined
          deletedElsewhere.clear()
          if (deleted.length > 0) await guarded(() => syncDeleted(deleted), 'reading the scripts other replicas deleted')
          if (r !== undefined) await guarded(() => syncRange(r.lo, r.hi), 'reading the changes of other replicas')
        } else {
          // The batch takes every write that this turn of the event loop reads: requests that
          // arrived together, and those that a database answer found waiting behind it. Sent at
          // once, it went out with the first of them alone (a third of the batches held one
          // signal under 32 connections; see bench/RESULTS.md).
          if (queue.every((op) => op.kind === 'signal')) {
            await endOfTurn()
            if (!up) continue
          }
          const ops = queue.splice(0)
          busy = { since: Date.now(), ops }
          inFlight = new Set(ops.flatMap((op) => (op.kind === 'signal' ? [op.id] : [])))
          try {
            if (ops.every((op) => op.kind === 'signal')) {
              // signalBatch sends its call before its first await.
              const written = signalBatch(ops as SignalOp[])
              flush()
              answer = await written
            } else {
              flush()
              await runBatch(ops)
            }
          } finally {
            inFlight = new Set()
          }
        }
      }
    } finally {
      busy = undefined
      flush()
    }
  }

  /**
   * Writes waiting on the database past WRITE_DEADLINE_MS: it is taken as down (what is queued
   * fails at once, with nothing recorded), and the writes under way are answered with a
   * StoreTimeoutError: they may yet commit, and a retry with the same rid or key is recognised.
   */
  function checkDeadline() {
    if (!up || busy === undefined) return
    const waiting = busy.ops.filter((op) => op.kind !== 'forget')
    // Writes queued behind a read (a resync after a reconnect reads every id) give it longer.
    if (Date.now() - busy.since < (waiting.length > 0 ? WRITE_DEADLINE_MS : READ_DEADLINE_MS)) return
    if (waiting.length === 0 && !queue.some((op) => op.kind !== 'forget')) return
    markDown(new Error(`the database did not answer within ${WRITE_DEADLINE_MS} ms`))
    for (const op of waiting) op.reject(new StoreTimeoutError())
  }

  /**
   * A batch of signals only, folded on the copy in memory and written in one call; when another
   * replica has written to one of its ids since this one last heard (the call then writes
   * nothing), it runs again in the locked path. Resolves, once committed and in memory, to the
   * answers of its signals, which the caller gives after sending the next batch.
   *
   * One batch at a time. Measured with two under way: on two connections, the second often
   * reached the row locks first, found the state it was folded on not yet written, and ran
   * again locked (20 times slower); on one connection in pg's pipeline mode, batches came out
   * half as large and the rate fell from 0.45 to 0.35 of bare Fastify.
   */
  async function signalBatch(ops: readonly SignalOp[]): Promise<() => void> {
    const signals = ops.filter(live)
    for (const op of ops) if (forgotten.get(op.id) !== op.generation) op.resolve(undefined)
    const none = () => {}
    if (signals.length === 0) return none
    const folded = foldBatch(signals, (id) => ({ runs: runs.get(id) ?? NO_RUNS, token: tokens.get(id) ?? '' }))
    const token = nextToken()
    try {
      if (folded.latest.size > 0) await append(connection!, folded, token, true)
    } catch (err) {
      if (sqlState(err) === 'SP001' || isRetryable(err)) {
        await runBatch(signals)
        return none
      }
      if (isUnavailable(err)) markDown(err)
      for (const op of signals) op.reject(isUnavailable(err) ? unavailable() : err)
      return none
    }
    return settleSignals(signals, folded, token, forgottenSince(signals))
  }

  async function guarded(read: () => Promise<void>, what: string) {
    try {
      await read()
    } catch (err) {
      if (isUnavailable(err)) markDown(err)
      else onError(err, what)
    }
  }

  async function runBatch(ops: Op[]): Promise<void> {
    for (;;) {
      const outcome = await lockedBatch(ops)
      if (outcome.kind === 'done') return
      if (outcome.kind === 'retry') {
        lockRetries++
        continue
      }
      if (outcome.kind === 'without' && outcome.op.kind !== 'forget') {
        // A write the database refused (a constraint): it fails alone, and the others run again.
        outcome.op.reject(outcome.err)
        ops = ops.filter((op) => op !== outcome.op)
        if (ops.length === 0) return
        continue
      }
      const err = outcome.err
      if (isUnavailable(err)) markDown(err)
      for (const op of ops) {
        if (op.kind === 'forget') onError(err, `deleting the signals of ${op.ids.length} removed item(s)`)
        else op.reject(isUnavailable(err) ? unavailable() : err)
      }
      return
    }
  }

  type Outcome = { kind: 'done' } | { kind: 'retry' } | { kind: 'without'; op: Op; err: unknown } | { kind: 'failed'; err: unknown }

  /** Each id's signals of a batch, folded on what the id was at (its runs, and the token of that state). */
  interface Folded {
    readonly latest: Map<string, { runs: Runs; expect: string; signals: { signal: Signal; duration: number | undefined }[]; seqs: number[] }>
    /** Where each signal went: its id's list, at `index`, and what it did. */
    readonly placed: Map<SignalOp, { index: number; runs: Runs; finish: Finish | undefined; dropped: OpenRun | undefined }>
  }

  function foldBatch(signals: readonly SignalOp[], base: (id: string) => { runs: Runs; token: string }): Folded {
    const latest: Folded['latest'] = new Map()
    const placed: Folded['placed'] = new Map()
    for (const op of signals) {
      let state = latest.get(op.id)
      if (state === undefined) {
        const b = base(op.id)
        state = { runs: b.runs, expect: b.token, signals: [], seqs: [] }
        latest.set(op.id, state)
      }
      const { runs: next, finish, dropped, retry, signal } = applyInOrder(state.runs, op.signal)
      // A retry of a signal already recorded is answered as it was, and not written again.
      if (retry) {
        placed.set(op, { index: -1, runs: next, finish: undefined, dropped: undefined })
        continue
      }
      placed.set(op, { index: state.signals.length, runs: next, finish, dropped })
      state.signals.push({ signal, duration: finish?.duration })
      state.runs = next
    }
    // An id whose signals were all retries is not written.
    for (const [id, state] of latest) if (state.signals.length === 0) latest.delete(id)
    return { latest, placed }
  }

  /**
   * Writes the folded signals with statuspage_append, which refuses (SP001) when an id has moved
   * on since `expect`; gives each signal its seq. Returns the seq range the rows took.
   */
  async function append(db: Queryable, { latest }: Folded, token: string, notify: boolean): Promise<{ lo: number; hi: number }> {
    const r: { ids: string[]; at: number[]; n: number[]; text: string[] } = { ids: [], at: [], n: [], text: [] }
    const b: { row: number[]; off: number[]; at: number[]; body: string[] } = { row: [], off: [], at: [], body: [] }
    for (const [id, state] of latest) {
      for (let i = 0; i < state.signals.length; i += ROW_SIGNALS_MAX) {
        const chunk = state.signals.slice(i, i + ROW_SIGNALS_MAX)
        r.ids.push(id)
        r.at.push(chunk[0]!.signal.at)
        r.n.push(chunk.length)
        r.text.push(signalsText(chunk))
        chunk.forEach(({ signal }, off) => {
          if (signal.output === undefined) return
          b.row.push(r.ids.length)
          b.off.push(off)
          b.at.push(signal.at)
          b.body.push(signal.output.text)
        })
      }
    }
    const states = [...latest]
    const { rows } = await db.query<{ seqs: string[] }>({
      // Prepared once per connection: this runs for every batch.
      name: 'statuspage_append',
      text: `SELECT statuspage_append($1::text[], $2::text[], $3::text[], $4::integer[], $5::text[], $6::bigint[], $7::integer[], $8::text[],
               $9::integer[], $10::integer[], $11::bigint[], $12::text[], $13, $14, $15, $16) AS seqs`,
      values: [
        states.map(([id]) => id),
        states.map(([, state]) => state.expect),
        states.map(([, state]) => runsText(state.runs)),
        states.map(([, state]) => state.signals.length),
        r.ids,
        r.at,
        r.n,
        r.text,
        b.row,
        b.off,
        b.at,
        b.body,
        token,
        SIGNALS_KEPT,
        TRIM_SLACK,
        notify ? replica : null,
      ],
    })
    // Ascending, as the rows were given: each id's rows in order.
    const seqs = rows[0]!.seqs.map(Number)
    let k = 0
    for (const [, state] of states) {
      for (let i = 0; i < state.signals.length; i += ROW_SIGNALS_MAX, k++) {
        for (let j = 0; j < Math.min(ROW_SIGNALS_MAX, state.signals.length - i); j++) state.seqs.push(seqs[k]! + j)
      }
    }
    return { lo: seqs[0]!, hi: seqs.at(-1)! + ROW_SIGNALS_MAX - 1 }
  }

  /**
   * The ids that keepOnlyItems forgot while the batch ran: their signals are not kept in memory
   * (a forget op queued behind the batch deletes their rows).
   */
  const forgottenSince = (signals: readonly SignalOp[]) => new Set(signals.filter((op) => forgotten.get(op.id) !== op.generation).map((op) => op.id))

  /** After the commit: the batch's signals in memory; returns what answers each. */
  function settleSignals(signals: readonly SignalOp[], { latest, placed }: Folded, token: string, stale: ReadonlySet<string>): () => void {
    for (const [id, state] of latest) {
      if (stale.has(id)) continue
      runs.set(id, state.runs)
      known.set(id, state.seqs.at(-1)!)
      tokens.set(id, token)
    }
    return () => {
      for (const op of signals) {
        if (stale.has(op.id)) {
          op.resolve(undefined)
          continue
        }
        const { index, runs: after, finish, dropped } = placed.get(op)!
        const seq = index === -1 ? 0 : latest.get(op.id)!.seqs[index]!
        op.resolve({ seq, runs: after, finish: finish === undefined ? undefined : finishRecord(finish, seq), dropped })
      }
    }
  }

  const live = (op: Op): op is SignalOp => op.kind === 'signal' && forgotten.get(op.id) === op.generation

  /** The batch in a transaction that locks what it reads: scripts, and item ids caught up first. */
  async function lockedBatch(ops: readonly Op[]): Promise<Outcome> {
    let client: PoolClient
    try {
      client = await pool.connect()
    } catch (err) {
      return { kind: 'failed', err }
    }
    // A connection lost between two queries errs here (unhandled, it would end the process);
    // the next query fails with it all the same.
    const lost = () => {}
    client.on('error', lost)
    const release = (err?: Error) => {
      client.off('error', lost)
      client.release(err)
    }
    let current: Op | undefined
    try {
      await client.query('BEGIN')
      // Locks are taken in one order by every replica (scripts by id, then item ids in byte
      // order), so two batches can wait for each other but never deadlock.
      const lockIds = [...new Set(ops.flatMap((op) => (op.kind === 'script' && op.lock !== undefined ? [op.lock] : [])))].sort((a, b) => a - b)
      const tx: Tx = { client, scripts: new Map(), seqs: [], deleted: [] }
      if (lockIds.length > 0) {
        const { rows } = await client.query<ScriptRow>('SELECT * FROM script WHERE id = ANY($1::bigint[]) ORDER BY id FOR UPDATE', [lockIds])
        for (const id of lockIds) tx.scripts.set(id, undefined)
        for (const row of rows) tx.scripts.set(row.id, fromRow(row))
      }
      const signals = ops.filter(live)
      const ids = [...new Set(signals.map((op) => op.id))]
      const base = new Map<string, { runs: Runs; token: string }>()
      const caught = new Map<string, Caught>()
      if (ids.length > 0) {
        // Creates the rows of new ids and locks every row; DO UPDATE (of nothing) returns them all.
        const { rows } = await client.query<SignalStateRow>(
          `INSERT INTO item_state (id, seq, kept, token, runs) SELECT id, 0, 0, '', '{}' FROM unnest($1::text[]) AS u(id) ORDER BY id COLLATE "C"
             ON CONFLICT (id) DO UPDATE SET id = excluded.id RETURNING id, seq, token, runs`,
          [ids],
        )
        const stale = rows.filter((row) => row.seq !== (known.get(row.id) ?? 0))
        for (const [id, c] of await catchUp(client, stale)) caught.set(id, c)
        for (const row of rows) base.set(row.id, { runs: caught.get(row.id)?.runs ?? runs.get(row.id) ?? NO_RUNS, token: row.token })
      }
      const folded = foldBatch(signals, (id) => base.get(id)!)
      const token = nextToken()
      const range = folded.latest.size > 0 ? await append(client, folded, token, false) : undefined

      const done = new Map<Op, Done>()
      const failed = new Map<Op, unknown>()
      for (const op of ops) {
        current = op
        if (op.kind === 'script') {
          try {
            done.set(op, await op.run(tx))
          } catch (err) {
            // The database's refusals end the transaction; a patch that throws ran no SQL.
            if (sqlState(err) !== undefined || isUnavailable(err)) throw err
            failed.set(op, err)
          }
        } else if (op.kind === 'forget') {
          await client.query('DELETE FROM item_signal WHERE id = ANY($1::text[])', [op.ids])
          await client.query('DELETE FROM signal_body WHERE id = ANY($1::text[])', [op.ids])
          await client.query('DELETE FROM item_state WHERE id = ANY($1::text[])', [op.ids])
        }
      }
      current = undefined
      const taken = [...(range === undefined ? [] : [range.lo, range.hi]), ...tx.seqs]
      if (taken.length > 0 || tx.deleted.length > 0) {
        let note: Note = {
          r: replica,
          ...(taken.length > 0 ? { lo: Math.min(...taken), hi: Math.max(...taken) } : {}),
          ...(tx.deleted.length > 0 ? { d: tx.deleted } : {}),
        }
        if (JSON.stringify(note).length > NOTE_MAX) note = { r: replica, all: true }
        await client.query('SELECT pg_notify($1, $2)', [CHANNEL, JSON.stringify(note)])
      }
      await client.query('COMMIT')
      release()

      const stale = forgottenSince(signals)
      for (const [id, c] of caught) if (!stale.has(id)) applyRemote(id, c.runs, c.seq, c.token, c.records)
      settleSignals(signals, folded, token, stale)()
      const written = new Set(signals)
      for (const op of ops) {
        if (op.kind === 'signal') {
          if (!written.has(op)) op.resolve(undefined)
          continue
        }
        if (op.kind === 'forget') continue
        const outcome = done.get(op)
        if (outcome !== undefined) {
          outcome.apply?.()
          op.resolve(outcome.result)
        } else op.reject(failed.get(op))
      }
      return { kind: 'done' }
    } catch (err) {
      const broken = isUnavailable(err)
      if (!broken) await client.query('ROLLBACK').catch(() => {})
      // A connection in an unknown state is not given back to the pool.
      release(broken ? (err as Error) : undefined)
      if (isRetryable(err)) return { kind: 'retry' }
      if (current !== undefined && current.kind === 'script' && !broken) return { kind: 'without', op: current, err }
      return { kind: 'failed', err }
    }
  }

  function enqueue(op: Op) {
    queue.push(op)
    void pump()
  }

  /** A script write, or a StoreUnavailableError at once while the database does not answer. */
  const scriptWrite = <T>(lock: number | undefined, run: (tx: Tx) => Promise<Done>) =>
    up
      ? new Promise<T>((resolve, reject) => enqueue({ kind: 'script', lock, run, resolve: resolve as (value: unknown) => void, reject }))
      : Promise.reject<T>(unavailable())

  const scriptLogTrimDue = trimEvery(TRIM_SLACK)
  /** Within a script write: `signal` in script `id`'s log, whose runs were `before`; now and then the oldest entries beyond the kept ones dropped. */
  async function logScriptSignal(client: PoolClient, id: number, before: Runs, signal: Signal | undefined) {
    if (signal === undefined || applySignal(before, signal).retry) return
    const { rows } = await client.query<{ seq: number }>(
      "INSERT INTO script_log (script_id, seq, at, signals) VALUES ($1, nextval('change_seq') * 16, $2, $3) RETURNING seq",
      [id, signal.at, scriptLogText(before, signal)],
    )
    if (signal.output !== undefined) {
      await client.query('INSERT INTO signal_body (id, seq, at, kept, body) VALUES ($1, $2, $3, octet_length($4), $4)', [
        SCRIPT_OUTPUTS,
        rows[0]!.seq,
        signal.at,
        signal.output.text,
      ])
    }
    if (scriptLogTrimDue(id)) await dropScriptLog(client, id, SIGNALS_KEPT)
  }

  /** Script `id`'s log beyond its newest `keep` entries (all of it with 0): outputs first, then entries. */
  async function dropScriptLog(client: PoolClient, id: number, keep: number) {
    const beyond = 'SELECT seq FROM script_log WHERE script_id = $1 ORDER BY seq DESC OFFSET $2'
    await client.query(`DELETE FROM signal_body WHERE id = '${SCRIPT_OUTPUTS}' AND seq IN (${beyond})`, [id, keep])
    await client.query(`DELETE FROM script_log WHERE script_id = $1 AND seq IN (${beyond})`, [id, keep])
  }

  /** A page of a run log: its rows by `sql` ($1 `key`, $2 how many), with the outputs kept under `bodyId`. */
  const logRead = (sql: string, key: string | number, bodyId: string, page: { keep: number; before: number | undefined; limit: number }) =>
    reading(async () => {
      const { rows } = await pool.query<SignalRow>(sql, [key, page.keep])
      const signals = logPage(rows, page)
      const range = outputRange(signals)
      const bodies =
        range === undefined
          ? []
          : (await pool.query<BodyRow>('SELECT seq, body FROM signal_body WHERE id = $1 AND seq BETWEEN $2 AND $3', [bodyId, ...range])).rows
      return logEntries(signals, bodies)
    })

  /** A query on the pool: a StoreUnavailableError at once while the database does not answer, or when it stops. */
  async function reading<T>(query: () => Promise<T>): Promise<T> {
    if (!up) throw unavailable()
    try {
      return await query()
    } catch (err) {
      if (isUnavailable(err)) {
        markDown(err)
        throw unavailable()
      }
      throw err
    }
  }

  const scriptValues = (script: Parameters<typeof toRow>[0]) => {
    const row = toRow(script)
    return SCRIPT_COLUMNS.map((c) => row[c])
  }
  const placeholders = SCRIPT_COLUMNS.map((_, i) => `$${i + 1}`).join(', ')
  const assignments = SCRIPT_COLUMNS.map((c, i) => `${c} = $${i + 1}`).join(', ')

  // Start-up: the schema, then the listening connection (before the state is read, so that no
  // change falls between the two), then the state.
  try {
    const client = await pool.connect()
    try {
      await migratePostgres(client)
    } finally {
      client.release()
    }
    await connect()
    const { rows: states } = await pool.query<SignalStateRow>('SELECT id, seq, token, runs FROM item_state')
    for (const s of states) {
      runs.set(s.id, runsFromText(s.runs))
      known.set(s.id, s.seq)
      tokens.set(s.id, s.token)
    }
    const { rows } = await pool.query<ScriptRow & { seq: number }>('SELECT * FROM script ORDER BY id')
    for (const row of rows) setScript(fromRow(row), row.seq)
  } catch (err) {
    disconnect()
    await pool.end()
    throw err
  }

  return {
    runs: () => runs,
    recordSignal(id, signal) {
      if (!up) return Promise.reject(unavailable())
      return new Promise((resolve, reject) => enqueue({ kind: 'signal', id, signal, generation: forgotten.get(id), resolve, reject }))
    },
    onSignals: (listener) => void listeners.push(listener),
    finishes: (id) =>
      reading(async () => finishesOf((await pool.query<SignalRow>('SELECT id, seq, at, n, signals FROM item_signal WHERE id = $1 ORDER BY seq', [id])).rows)),
    keepOnlyItems(ids) {
      const gone = [...runs.keys()].filter((id) => !ids.has(id))
      for (const id of gone) {
        runs.delete(id)
        known.delete(id)
        tokens.delete(id)
      }
      // Signals queued and not yet written, of ids no longer kept, are dropped when their turn comes.
      const pending = new Set([...inFlight, ...queue.flatMap((op) => (op.kind === 'signal' ? [op.id] : []))])
      for (const id of pending) if (!ids.has(id)) forgotten.set(id, (forgotten.get(id) ?? 0) + 1)
      if (gone.length > 0 && up) enqueue({ kind: 'forget', ids: gone })
    },

    // A row holds one signal at least: `keep` rows hold the newest `keep` signals.
    runLog: (id, page) => logRead('SELECT id, seq, at, n, signals FROM item_signal WHERE id = $1 ORDER BY seq DESC LIMIT $2', id, id, page),
    pruneOutputs: ({ before, maxBytes, downTo, limit }) =>
      reading(async () => {
        // Outputs are written by statuspage_append and read by id: deleting them locks no row a check-in waits for.
        const old = await pool.query('DELETE FROM signal_body WHERE ctid = ANY(ARRAY(SELECT ctid FROM signal_body WHERE at < $1 ORDER BY at LIMIT $2))', [
          before,
          limit,
        ])
        if (old.rowCount! > 0) return old.rowCount!
        const { rows } = await pool.query<{ bytes: number }>('SELECT coalesce(sum(kept), 0)::bigint AS bytes FROM signal_body')
        if (rows[0]!.bytes <= maxBytes) return 0
        const oldest = `SELECT ctid FROM (SELECT ctid, kept, sum(kept) OVER (ORDER BY at, ctid) AS upto FROM signal_body ORDER BY at, ctid LIMIT $1) t WHERE upto - kept < $2`
        return (await pool.query(`DELETE FROM signal_body WHERE ctid = ANY(ARRAY(${oldest}))`, [limit, rows[0]!.bytes - downTo])).rowCount!
      }),

    scripts: () => (scriptList ??= Object.freeze([...scripts.values()].sort((a, b) => a.id - b.id))),
    getScript: (id) => scripts.get(id),
    createScript: (fields, signal) =>
      scriptWrite(undefined, async (tx) => {
        const { rows } = await tx.client.query<ScriptRow & { seq: number }>(
          `INSERT INTO script (${SCRIPT_COLUMNS.join(', ')}, seq) VALUES (${placeholders}, nextval('change_seq') * 16) RETURNING *`,
          scriptValues(fields),
        )
        const script = fromRow(rows[0]!)
        const { seq } = rows[0]!
        tx.seqs.push(seq)
        tx.scripts.set(script.id, script)
        await logScriptSignal(tx.client, script.id, NO_RUNS, signal)
        return { result: script, apply: () => setScript(script, seq) }
      }),
    updateScript: (id, patch, signal) =>
      scriptWrite(id, async (tx) => {
        // The row as locked (another replica's write included), after this batch's writes before it.
        const current = tx.scripts.get(id)
        if (current === undefined) return { result: undefined }
        const next: Script = Object.freeze({ ...current, ...patch(current), id })
        const { rows } = await tx.client.query<{ seq: number }>(
          `UPDATE script SET ${assignments}, seq = nextval('change_seq') * 16 WHERE id = $${SCRIPT_COLUMNS.length + 1} RETURNING seq`,
          [...scriptValues(next), id],
        )
        const { seq } = rows[0]!
        tx.seqs.push(seq)
        tx.scripts.set(id, next)
        await logScriptSignal(tx.client, id, current.runs, signal)
        return { result: next, apply: () => setScript(next, seq) }
      }),
    deleteScript: (id) =>
      scriptWrite(id, async (tx) => {
        if (tx.scripts.get(id) === undefined) return { result: false }
        await tx.client.query('DELETE FROM script WHERE id = $1', [id])
        await dropScriptLog(tx.client, id, 0)
        tx.scripts.set(id, undefined)
        tx.deleted.push(id)
        return { result: true, apply: () => dropScript(id) }
      }),
    scriptRunLog: (id, page) =>
      logRead('SELECT script_id AS id, seq, at, 1 AS n, signals FROM script_log WHERE script_id = $1 ORDER BY seq DESC LIMIT $2', id, SCRIPT_OUTPUTS, {
        ...page,
        keep: Math.min(page.keep, SIGNALS_KEPT),
      }),
    queryScripts(query) {
      const { where, params } = whereClause(query.filters, POSTGRES)
      const order = [
        ...query.orderBy.map((o) => `${POSTGRES.column(o.field)} ${o.direction === 'desc' ? 'DESC NULLS LAST' : 'ASC NULLS FIRST'}`),
        'id ASC',
      ].join(', ')
      return reading(async () => {
        const [{ rows: counted }, { rows }] = await Promise.all([
          pool.query<{ n: number }>(`SELECT count(*) AS n FROM script ${where}`, params),
          pool.query<ScriptRow>(`SELECT * FROM script ${where} ORDER BY ${order} LIMIT $${params.length + 1} OFFSET $${params.length + 2}`, [
            ...params,
            query.limit,
            query.offset,
          ]),
        ])
        return { total: counted[0]!.n, scripts: rows.map(fromRow) }
      })
    },

    get up() {
      return up
    },
    get lockRetries() {
      return lockRetries
    },
    get remoteRows() {
      return remoteRows
    },
    async close() {
      closing = true
      clearTimeout(probe)
      clearInterval(deadline)
      while (pumping !== undefined || (up && queue.length > 0)) await pump()
      for (const op of queue.splice(0)) if (op.kind !== 'forget') op.reject(unavailable())
      disconnect()
      await pool.end()
    },
  }
}

/** What SQLite's operators mean, in PostgreSQL: text compares and orders in byte order, as there. */
const POSTGRES: Dialect = {
  param: (n) => `$${n}`,
  column: (field) => (field === 'name' || field === 'server' || field === 'periodicity' ? `${field} COLLATE "C"` : field),
  never: 'FALSE',
  is: 'IS NOT DISTINCT FROM',
  isNot: 'IS DISTINCT FROM',
  like: (field, param) => `${field} ILIKE ${param} ESCAPE ''`,
}
