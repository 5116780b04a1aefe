// How a replica learns what the others wrote. Each replica keeps the whole state in memory (the
// core's Memory), as SQLite's store does; each batch notifies the range of change_seq it took
// (a Note), and the others read the rows in that range and fold them on their copy. When the rows
// do not link up to what a replica knows, or a note says too much, it reads the ids again.
import { applyInOrder, NO_RUNS, type Runs } from '../../domain/run.js'
import { keyOf, Memory, type Stored } from '../core.js'
import { runsFromText, signalsOf, storedFromRow, type CheckDefRow as DefRow, type SignalRow } from '../rows.js'
import { finishRecord, type SignalRecord } from '../contract.js'
import type { Queryable } from './link.js'

/** NOTIFY payloads must stay under 8000 bytes; a batch that would say more asks for a resync. */
export const NOTE_MAX = 7000
/** Rows of each table read for one note at most (a batch of 4,096 ids); a note naming more asks for a resync. */
const NOTE_ROWS = 4096

/** What a batch tells the other replicas: the seq range it took, and the check_def rows it deleted. */
export interface Note {
  /** The replica that wrote it. */
  r: string
  lo?: number
  hi?: number
  /** Deleted check_def rows (a script's row is its id). */
  d?: number[]
  /** Too much to say: read everything again. */
  all?: true
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

/** An item_state row: an id's runs after its last signal (seq), and the token of the write that left it so. */
export type SignalStateRow = { id: string; seq: number; token: string; runs: string }
type LinkedRow = SignalRow & { prev: number; token: string }
/** A check_def row, with the change_seq of its last write. */
type CheckDefRow = DefRow & { seq: number }
/** What the copy keeps of an id beside its runs: its last seq, and the token of that write. */
export type IdState = { readonly seq: number; readonly token: string }
export const NO_STATE: IdState = { seq: 0, token: '' }

/** An id caught up with what other replicas wrote: its runs, last seq and token, and what each signal did. */
export interface Caught {
  readonly runs: Runs
  readonly seq: number
  readonly token: string
  readonly records: SignalRecord[]
}

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

export class Replication {
  readonly memory = new Memory<IdState>()
  /** Rows read of other replicas' writes. */
  remoteRows = 0
  readonly replica: string
  readonly #pool: Queryable
  /** The change_seq of each check_def row's last write that the copy has (scripts and definitions). */
  readonly #rowSeq = new Map<number, number>()
  readonly #listeners: ((id: string, record: SignalRecord) => void)[] = []
  readonly #definitionListeners: (() => void)[] = []
  // Other replicas' changes not yet read: a seq range and deleted scripts, or everything.
  #range: { lo: number; hi: number } | undefined
  readonly #deleted = new Set<number>()
  #resyncWanted = false

  constructor(replica: string, pool: Queryable) {
    this.replica = replica
    this.#pool = pool
  }

  onSignals(listener: (id: string, record: SignalRecord) => void): void {
    this.#listeners.push(listener)
  }

  onDefinitions(listener: () => void): void {
    this.#definitionListeners.push(listener)
  }

  /** The state at start-up; listening has begun, so that no change falls between the two. */
  async load(): Promise<void> {
    const { rows: states } = await this.#pool.query<SignalStateRow>('SELECT id, seq, token, runs FROM item_state')
    for (const s of states) this.memory.set(s.id, runsFromText(s.runs), { seq: s.seq, token: s.token })
    this.#putRows((await this.#pool.query<CheckDefRow>('SELECT * FROM check_def ORDER BY id')).rows)
  }

  /** A check_def row written, its check as `stored`, and the change_seq of that write. */
  setRow(row: number, stored: Stored, seq: number): void {
    this.memory.put(keyOf(stored), row, stored)
    this.#rowSeq.set(row, seq)
  }

  /** Forgets a deleted check_def row, and its key's runs. */
  dropRow(row: number): void {
    const key = this.memory.keyIn(row)
    if (key !== undefined) this.memory.put(key, row, undefined)
    this.#rowSeq.delete(row)
  }

  /** check_def rows read from the database, newer than the copy's; whether a definition changed. */
  #putRows(rows: readonly CheckDefRow[]): boolean {
    let definitions = false
    for (const row of rows) {
      const id = Number(row.id)
      const known = this.#rowSeq.get(id)
      // Every stored check has its key (migration 9); a row without one is no check of this version's.
      if ((known !== undefined && row.seq <= known) || row.key === null) continue
      const stored = storedFromRow(row)
      // A row of another key (a definition made again) replaces the one its key had.
      const before = this.memory.check(keyOf(stored))
      if (before !== undefined && before.row !== id) this.#rowSeq.delete(before.row)
      this.setRow(id, stored, row.seq)
      definitions ||= stored.source !== 'scripto'
    }
    return definitions
  }

  #definitionsChanged(): void {
    for (const listener of this.#definitionListeners) listener()
  }

  /** Folds what another replica wrote into the copy, and tells the listeners. */
  applyRemote(id: string, { runs, seq, token, records }: Caught): void {
    this.memory.set(id, runs, { seq, token })
    for (const record of records) for (const listener of this.#listeners) listener(id, record)
  }

  /** A notification's payload: what it asks to read. Notes this replica wrote itself are ignored. */
  heard(payload: string): void {
    const note = noteOf(payload)
    if (note === undefined || note.r === this.replica) return
    if (note.all) this.#resyncWanted = true
    if (note.lo !== undefined && note.hi !== undefined) {
      const r = this.#range
      this.#range = r === undefined ? { lo: note.lo, hi: note.hi } : { lo: Math.min(r.lo, note.lo), hi: Math.max(r.hi, note.hi) }
    }
    for (const id of note.d ?? []) this.#deleted.add(id)
  }

  /** After the database or the notifications were lost for a while. */
  wantResync(): void {
    this.#resyncWanted = true
  }

  /** Whether something is to be read. */
  get pending(): boolean {
    return this.#resyncWanted || this.#range !== undefined || this.#deleted.size > 0
  }

  /**
   * One step of reading what the other replicas wrote: everything again when a resync is wanted,
   * else what the notes named. `guarded` runs each read and deals with its failure.
   */
  async read(guarded: (read: () => Promise<void>, what: string) => Promise<void>): Promise<void> {
    const resync = this.#resyncWanted
    const range = this.#range
    const deleted = [...this.#deleted]
    this.#resyncWanted = false
    this.#range = undefined
    this.#deleted.clear()
    if (resync) return guarded(() => this.#resync(), 'reading the database again')
    if (deleted.length > 0) await guarded(() => this.#syncDeleted(deleted), 'reading the scripts other replicas deleted')
    if (range !== undefined) await guarded(() => this.#syncRange(range.lo, range.hi), 'reading the changes of other replicas')
  }

  /**
   * Reads what other replicas appended to the ids of `states` (item_state rows whose seq this
   * replica has not folded) and folds it on the copy in memory. When the rows no longer link up
   * to what this replica knows (trimmed meanwhile), the stored runs are taken as they are.
   */
  async catchUp(db: Queryable, states: readonly SignalStateRow[]): Promise<Map<string, Caught>> {
    const out = new Map<string, Caught>()
    if (states.length === 0) return out
    const { rows } = await db.query<LinkedRow>(
      `SELECT s.id, s.seq, s.prev, s.token, s.at, s.n, s.signals FROM check_signal s
         JOIN unnest($1::text[], $2::bigint[]) AS k(id, known) ON s.id = k.id AND s.seq > k.known ORDER BY s.id, s.seq`,
      [states.map((s) => s.id), states.map((s) => this.knownSeq(s.id))],
    )
    this.remoteRows += rows.length
    const rowsOf = byId(rows)
    for (const state of states) {
      const folded = this.#fold(state.id, rowsOf.get(state.id) ?? [])
      out.set(
        state.id,
        folded !== undefined && folded.seq === state.seq
          ? folded
          : { runs: runsFromText(state.runs), seq: state.seq, token: state.token, records: [{ seq: state.seq, runs: runsFromText(state.runs) }] },
      )
    }
    return out
  }

  /** The seq of the last signal of `id` that the copy has folded. */
  knownSeq(id: string): number {
    return this.memory.state.get(id)?.seq ?? 0
  }

  /** `rows` of `id` (seq order) folded on its copy; undefined when they do not link up to it. */
  #fold(id: string, rows: readonly LinkedRow[]): Caught | undefined {
    const base = this.memory.base(id, NO_STATE)
    let next = base.runs
    let { seq, token } = base.state
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
  async #syncRange(lo: number, hi: number): Promise<void> {
    // Both reads in one round trip (the simple protocol takes no parameters: the bounds are
    // integers, checked as the note was read); a replica under load runs one for each batch that
    // another one writes. The inner LIMIT walks the seq index and stops there.
    const [{ rows }, { rows: scriptRows }] = (await this.#pool.query(
      `SELECT * FROM (SELECT id, seq, prev, token, at, n, signals FROM check_signal WHERE seq BETWEEN ${lo} AND ${hi} ORDER BY seq LIMIT ${NOTE_ROWS + 1}) r ORDER BY id, seq;
       SELECT * FROM check_def WHERE seq BETWEEN ${lo} AND ${hi} ORDER BY seq LIMIT ${NOTE_ROWS + 1}`,
    )) as unknown as [{ rows: LinkedRow[] }, { rows: CheckDefRow[] }]
    this.remoteRows += rows.length + scriptRows.length
    if (rows.length > NOTE_ROWS || scriptRows.length > NOTE_ROWS) {
      this.#resyncWanted = true
      return
    }
    const gaps: string[] = []
    for (const [id, list] of byId(rows)) {
      const mine = this.knownSeq(id)
      const fresh = list.filter((row) => row.seq > mine)
      if (fresh.length === 0) continue
      const folded = this.#fold(id, fresh)
      if (folded === undefined) gaps.push(id)
      else this.applyRemote(id, folded)
    }
    if (gaps.length > 0) {
      const { rows: states } = await this.#pool.query<SignalStateRow>('SELECT id, seq, token, runs FROM item_state WHERE id = ANY($1::text[])', [gaps])
      for (const [id, c] of await this.catchUp(this.#pool, states)) this.applyRemote(id, c)
    }
    if (this.#putRows(scriptRows)) this.#definitionsChanged()
  }

  /** Forgets the check_def rows of a note's `d` that the table no longer has: only the table is believed. */
  async #syncDeleted(ids: readonly number[]): Promise<void> {
    if (ids.length > NOTE_ROWS) {
      this.#resyncWanted = true
      return
    }
    const { rows } = await this.#pool.query<CheckDefRow>('SELECT * FROM check_def WHERE id = ANY($1::bigint[])', [ids])
    this.remoteRows += rows.length
    const stored = new Set(rows.map((row) => Number(row.id)))
    let definitions = this.#putRows(rows)
    for (const id of ids) {
      if (stored.has(id)) continue
      const key = this.memory.keyIn(id)
      definitions ||= key !== undefined && this.memory.check(key)?.stored.source !== 'scripto'
      this.dropRow(id)
    }
    if (definitions) this.#definitionsChanged()
  }

  /** Reads everything again: after the database or the notifications were lost for a while. */
  async #resync(): Promise<void> {
    const { rows: states } = await this.#pool.query<SignalStateRow>('SELECT id, seq, token, runs FROM item_state')
    const stale = states.filter((s) => s.seq !== this.knownSeq(s.id))
    for (const [id, c] of await this.catchUp(this.#pool, stale)) this.applyRemote(id, c)
    const stored = new Set(states.map((s) => s.id))
    for (const id of [...this.memory.runs.keys()])
      if (!stored.has(id)) this.applyRemote(id, { runs: NO_RUNS, seq: 0, token: '', records: [{ seq: 0, runs: NO_RUNS }] })
    const { rows } = await this.#pool.query<CheckDefRow>('SELECT * FROM check_def ORDER BY id')
    this.memory.clearChecks()
    this.#rowSeq.clear()
    this.#putRows(rows)
    this.#definitionsChanged()
  }
}
