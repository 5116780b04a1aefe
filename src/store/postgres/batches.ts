// PostgreSQL's writes. A batch of signals alone is folded on the copy in memory and written in one
// call (statuspage_append), which refuses when another replica moved one of its ids meanwhile; it
// then runs in the locked path, as every batch with other writes does: a transaction that runs the
// core's steps (batchSteps), locks what it reads, catches up with the other replicas, folds again
// and notifies them.
import type { PoolClient } from 'pg'
import type { CheckDefinition } from '../../domain/definition.js'
import { scriptKey } from '../../domain/check.js'
import { NO_RUNS } from '../../domain/run.js'
import type { Script } from '../../domain/script.js'
import { StoreUnavailableError } from '../../errors.js'
import { foldBatch, KeyFolds, recordOf, type Done, type Folded, type IdBase } from '../core.js'
import {
  batchSteps,
  failWrites,
  writesOf,
  type AwaitedWrite,
  type CreateWrite,
  type DefineWrite,
  type DeleteWrite,
  type SignalWrite,
  type UpdateWrite,
  type Write,
} from '../writes.js'
import { fromRow, IS_SCRIPT, ROW_SIGNALS_MAX, runsText, signalsText, type CheckDefRow } from '../rows.js'
import { SIGNALS_KEPT, TRIM_SLACK } from '../contract.js'
import { CHANNEL, isRetryable, isUnavailable, sqlState, type Link, type Queryable } from './link.js'
import { NO_STATE, NOTE_MAX, type Caught, type IdState, type Note, type Replication, type SignalStateRow } from './replication.js'

/** A step's view of its transaction (scripts.ts). */
export interface Tx {
  readonly client: PoolClient
  /** The scripts that this batch's updates and deletes name, as locked, then as written. */
  readonly scripts: Map<number, Script | undefined>
  /** change_seq values the batch's script writes took. */
  readonly seqs: number[]
  /** check_def rows deleted (scripts and definitions). */
  readonly deleted: number[]
  /** The definitions that this batch's writes read, as locked, then as written; by id. */
  readonly definitions: Map<string, { row: number | undefined; definition: CheckDefinition | undefined }>
  /** The signals of the batch's script writes, folded per key: written with the batch as any check's signals are, after the script writes. */
  readonly folds: KeyFolds<Base>
}

/**
 * Writes updates next to each other in a batch, in its transaction: what each did, or the error
 * its patch threw. `writing` is told of the update whose row a statement writes, which fails alone
 * when the database refuses it.
 */
export type UpdateWriter = (
  tx: Tx,
  updates: readonly UpdateWrite[],
  writing: (update: UpdateWrite) => void,
) => Promise<{ done: Map<UpdateWrite, Done>; failed: Map<UpdateWrite, unknown> }>

/** The create, delete and definition writes of a batch, each a step of its transaction (scripts.ts). */
export interface StepWriter {
  create(tx: Tx, write: CreateWrite): Promise<Done>
  remove(tx: Tx, write: DeleteWrite): Promise<Done>
  define(tx: Tx, write: DefineWrite): Promise<Done>
}

type Outcome = { kind: 'done' } | { kind: 'retry' } | { kind: 'without'; op: AwaitedWrite; err: unknown } | { kind: 'failed'; err: unknown }

/** What a batch folds an id's signals on: its runs, and the state (the token) they were at. */
export type Base = IdBase<IdState>

export class Batches {
  /** Batches that deadlocked and ran again. */
  lockRetries = 0
  readonly #link: Link
  readonly #replication: Replication
  readonly #onError: (err: unknown, what: string) => void
  readonly #updates: UpdateWriter
  readonly #steps: StepWriter
  #writes = 0

  constructor(link: Link, replication: Replication, updates: UpdateWriter, steps: StepWriter, onError: (err: unknown, what: string) => void) {
    this.#link = link
    this.#replication = replication
    this.#updates = updates
    this.#steps = steps
    this.#onError = onError
  }

  /** A token no other write has: this replica's id and a count. */
  #nextToken(): string {
    return `${this.#replication.replica.slice(0, 13)}${(++this.#writes).toString(36)}`
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
  async signals(ops: readonly SignalWrite[]): Promise<() => void> {
    const signals: SignalWrite[] = []
    for (const op of ops) {
      if (this.#replication.memory.isLive(op)) signals.push(op)
      else op.resolve(undefined)
    }
    const none = () => {}
    if (signals.length === 0) return none
    const { memory } = this.#replication
    const folded = foldBatch(signals, (id): Base => memory.base(id, NO_STATE))
    const token = this.#nextToken()
    try {
      // The link is up when a batch starts: its connection is there.
      if (folded.latest.size > 0) await this.#append(this.#link.connection!, folded, token, true)
    } catch (err) {
      if (sqlState(err) === 'SP001' || isRetryable(err)) {
        await this.run(signals)
        return none
      }
      if (isUnavailable(err)) this.#link.markDown(err)
      for (const op of signals) op.reject(isUnavailable(err) ? new StoreUnavailableError() : err)
      return none
    }
    return this.#settle(signals, folded, token, this.#forgottenSince(signals))
  }

  /** Any batch, in the locked path; again after a deadlock, and without a write the database refused. */
  async run(ops: Write[]): Promise<void> {
    for (;;) {
      const outcome = await this.#locked(ops)
      if (outcome.kind === 'done') return
      if (outcome.kind === 'retry') {
        this.lockRetries++
        continue
      }
      if (outcome.kind === 'without') {
        // A write the database refused (a constraint): it fails alone, and the others run again.
        outcome.op.reject(outcome.err)
        ops = ops.filter((op) => op !== outcome.op)
        if (ops.length === 0) return
        continue
      }
      const err = outcome.err
      if (isUnavailable(err)) this.#link.markDown(err)
      // Callers hear a 503 for a database that does not answer; the log has what it said.
      failWrites(ops, isUnavailable(err) ? new StoreUnavailableError() : err, (_, what) => this.#onError(err, what))
      return
    }
  }

  /**
   * Writes the folded signals with statuspage_append, which refuses (SP001) when an id has moved
   * on since the token it was folded on; gives each signal its seq. Returns the seq range the rows took.
   */
  async #append(db: Queryable, { latest }: Folded<SignalWrite, Base>, token: string, notify: boolean): Promise<{ lo: number; hi: number }> {
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
        states.map(([, state]) => state.base.state.token),
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
        notify ? this.#replication.replica : null,
      ],
    })
    // Ascending, as the rows were given: each id's rows in order, a row's signals seq, seq + 1...
    const seqs = rows[0]!.seqs.map(Number)
    let k = 0
    for (const [, state] of states) {
      for (let i = 0; i < state.signals.length; i += ROW_SIGNALS_MAX, k++) {
        for (let j = i; j < Math.min(i + ROW_SIGNALS_MAX, state.signals.length); j++) state.signals[j]!.seq = seqs[k]! + j - i
      }
    }
    return { lo: seqs[0]!, hi: seqs.at(-1)! + ROW_SIGNALS_MAX - 1 }
  }

  /**
   * The ids that keepOnlyItems forgot while the batch ran: their signals are not kept in memory
   * (a forget op queued behind the batch deletes their rows).
   */
  #forgottenSince(signals: readonly SignalWrite[]): Set<string> {
    return new Set(signals.filter((op) => !this.#replication.memory.isLive(op)).map((op) => op.id))
  }

  /** After the commit: the batch's signals in memory; returns what answers each. */
  #settle(signals: readonly SignalWrite[], folded: Folded<SignalWrite, Base>, token: string, stale: ReadonlySet<string>): () => void {
    const { memory } = this.#replication
    for (const [id, state] of folded.latest) if (!stale.has(id)) memory.set(id, state.runs, { seq: state.signals.at(-1)!.seq, token })
    return () => {
      for (const op of signals) op.resolve(stale.has(op.id) ? undefined : recordOf(folded, op))
    }
  }

  /** The batch in a transaction that locks what it reads: scripts, and item ids caught up first. */
  async #locked(ops: readonly Write[]): Promise<Outcome> {
    let client: PoolClient
    try {
      client = await this.#link.pool.connect()
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
    const replication = this.#replication
    let current: AwaitedWrite | undefined
    const { forget, signals: queued, steps } = batchSteps(ops)
    try {
      await client.query('BEGIN')
      // The rows of forgotten ids go first: a live signal of one came after its forget.
      if (forget.length > 0) {
        await client.query('DELETE FROM check_signal WHERE id = ANY($1::text[])', [forget])
        await client.query('DELETE FROM signal_body WHERE id = ANY($1::text[])', [forget])
        await client.query('DELETE FROM item_state WHERE id = ANY($1::text[])', [forget])
      }
      // Locks are taken in one order by every replica (scripts by id, then item ids in byte
      // order), so two batches can wait for each other but never deadlock.
      const lockIds = [...new Set(ops.flatMap((op) => (op.kind === 'update' || op.kind === 'delete' ? [op.id] : [])))].sort((a, b) => a - b)
      const base = new Map<string, Base>()
      const tx: Tx = {
        client,
        scripts: new Map(),
        seqs: [],
        deleted: [],
        definitions: new Map(),
        // A new script's key has no state yet: statuspage_append makes it.
        folds: new KeyFolds((key) => base.get(key) ?? { runs: NO_RUNS, state: NO_STATE }),
      }
      const locked: CheckDefRow[] = []
      if (lockIds.length > 0) {
        const { rows } = await client.query<CheckDefRow>(`SELECT * FROM check_def WHERE id = ANY($1::bigint[]) AND ${IS_SCRIPT} ORDER BY id FOR UPDATE`, [
          lockIds,
        ])
        for (const id of lockIds) tx.scripts.set(id, undefined)
        locked.push(...rows)
      }
      const signals = queued.filter((op) => replication.memory.isLive(op))
      // The locked scripts' keys are caught up with the item ids: their runs are their signals'.
      const ids = [...new Set([...signals.map((op) => op.id), ...locked.map((row) => scriptKey(Number(row.id)))])]
      const caught = new Map<string, Caught>()
      if (ids.length > 0) {
        // Creates the rows of new ids and locks every row; DO UPDATE (of nothing) returns them all.
        const { rows } = await client.query<SignalStateRow>(
          `INSERT INTO item_state (id, seq, kept, token, runs) SELECT id, 0, 0, '', '{}' FROM unnest($1::text[]) AS u(id) ORDER BY id COLLATE "C"
             ON CONFLICT (id) DO UPDATE SET id = excluded.id RETURNING id, seq, token, runs`,
          [ids],
        )
        const stale = rows.filter((row) => row.seq !== replication.knownSeq(row.id))
        for (const [id, c] of await replication.catchUp(client, stale)) caught.set(id, c)
        for (const row of rows) {
          const runs = caught.get(row.id)?.runs ?? replication.memory.base(row.id, NO_STATE).runs
          base.set(row.id, { runs, state: { seq: row.seq, token: row.token } })
        }
      }
      for (const row of locked) {
        const script = fromRow(row)
        tx.scripts.set(script.id, Object.freeze({ ...script, runs: base.get(scriptKey(script.id))!.runs }))
      }
      const folded = foldBatch(signals, (id) => base.get(id)!)
      const token = this.#nextToken()
      const range = folded.latest.size > 0 ? await this.#append(client, folded, token, false) : undefined

      const done = new Map<AwaitedWrite, Done>()
      const failed = new Map<AwaitedWrite, unknown>()
      for (const step of steps) {
        if (step.kind === 'updates') {
          current = undefined
          const written = await this.#updates(tx, step.updates, (update) => {
            current = update
          })
          for (const [update, outcome] of written.done) done.set(update, outcome)
          for (const [update, err] of written.failed) failed.set(update, err)
          continue
        }
        current = step
        try {
          done.set(
            step,
            await (step.kind === 'create'
              ? this.#steps.create(tx, step)
              : step.kind === 'delete'
                ? this.#steps.remove(tx, step)
                : this.#steps.define(tx, step)),
          )
        } catch (err) {
          // The database's refusals end the transaction; a change that throws ran no SQL.
          if (sqlState(err) !== undefined || isUnavailable(err)) throw err
          failed.set(step, err)
        }
      }
      current = undefined
      const scriptFolded: Folded<SignalWrite, Base> = { latest: tx.folds.latest, placed: new Map() }
      const scriptRange = scriptFolded.latest.size > 0 ? await this.#append(client, scriptFolded, token, false) : undefined
      const taken = [...[range, scriptRange].flatMap((r) => (r === undefined ? [] : [r.lo, r.hi])), ...tx.seqs]
      if (taken.length > 0 || tx.deleted.length > 0) {
        const { replica } = replication
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

      const stale = this.#forgottenSince(signals)
      for (const [id, c] of caught) if (!stale.has(id)) replication.applyRemote(id, c)
      this.#settle(signals, folded, token, stale)()
      this.#settle([], scriptFolded, token, stale)
      // Those folded were answered by #settle; the others' ids were forgotten before the batch.
      for (const op of queued) if (!folded.placed.has(op)) op.resolve(undefined)
      for (const step of steps) {
        for (const op of writesOf(step)) {
          const outcome = done.get(op)
          if (outcome !== undefined) {
            outcome.apply?.()
            ;(op.resolve as (value: unknown) => void)(outcome.result)
          } else op.reject(failed.get(op))
        }
      }
      return { kind: 'done' }
    } catch (err) {
      const broken = isUnavailable(err)
      if (!broken) await client.query('ROLLBACK').catch(() => {})
      // A connection in an unknown state is not given back to the pool.
      release(broken ? (err as Error) : undefined)
      if (isRetryable(err)) return { kind: 'retry' }
      if (current !== undefined && !broken) return { kind: 'without', op: current, err }
      return { kind: 'failed', err }
    }
  }
}
