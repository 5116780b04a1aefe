// PostgreSQL's writes. A batch of signals alone is folded on the copy in memory and written in one
// call (statuspage_append), which refuses when another replica moved one of its ids meanwhile; it
// then runs in the locked path, as every batch with other writes does: a transaction that runs the
// core's steps (batchSteps), locks what it reads, catches up with the other replicas, folds again
// and notifies them.
import type { PoolClient } from 'pg'
import { NO_RUNS } from '../../domain/run.js'
import { StoreUnavailableError } from '../../errors.js'
import { foldBatch, keyOf, KeyFolds, recordOf, withRuns, type Folded, type IdBase, type Stored } from '../core.js'
import { batchSteps, failWrites, type AwaitedWrite, type SignalWrite, type Write } from '../writes.js'
import { ROW_SIGNALS_MAX, runsText, signalsText, storedFromRow, type CheckDefRow } from '../rows.js'
import { SIGNALS_KEPT, TRIM_SLACK } from '../contract.js'
import { deleteSignals, KeyTaken, type ChangeWriter, type Tx } from './checks.js'
import { CHANNEL, isRetryable, isUnavailable, sqlState, type Link, type Queryable } from './link.js'
import { NO_STATE, NOTE_MAX, type Caught, type IdState, type Note, type Replication, type SignalStateRow } from './replication.js'

type Outcome = { kind: 'done' } | { kind: 'retry' } | { kind: 'without'; op: AwaitedWrite; err: unknown } | { kind: 'failed'; err: unknown }

/** What a batch folds an id's signals on: its runs, and the state (the token) they were at. */
export type Base = IdBase<IdState>

export class Batches {
  /** Batches that deadlocked, or found a key that another replica had just made, and ran again. */
  lockRetries = 0
  readonly #link: Link
  readonly #replication: Replication
  readonly #onError: (err: unknown, what: string) => void
  readonly #changes: ChangeWriter
  #writes = 0

  constructor(link: Link, replication: Replication, changes: ChangeWriter, onError: (err: unknown, what: string) => void) {
    this.#link = link
    this.#replication = replication
    this.#changes = changes
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
    const { forget, signals: queued, changes } = batchSteps(ops)
    try {
      await client.query('BEGIN')
      // The rows of forgotten ids go first: a live signal of one came after its forget.
      if (forget.length > 0) await deleteSignals(client, forget)
      // Locks are taken in one order by every replica (stored checks, then item ids, each in byte
      // order), so two batches can wait for each other but never deadlock.
      const keys = [...new Set(changes.flatMap((c) => (c.key === undefined ? [] : [c.key])))]
      const base = new Map<string, Base>()
      const tx: Tx = {
        client,
        found: new Map(),
        seqs: [],
        deleted: [],
        // A new check's key has no state yet: statuspage_append makes it.
        folds: new KeyFolds((key) => base.get(key) ?? { runs: NO_RUNS, state: NO_STATE }, { runs: NO_RUNS, state: NO_STATE }),
      }
      const locked: { row: number; stored: Stored }[] = []
      if (keys.length > 0) {
        const { rows } = await client.query<CheckDefRow>('SELECT * FROM check_def WHERE key = ANY($1::text[]) ORDER BY key COLLATE "C" FOR UPDATE', [keys])
        for (const row of rows) locked.push({ row: Number(row.id), stored: storedFromRow(row) })
      }
      const signals = queued.filter((op) => replication.memory.isLive(op))
      // The locked scripts' keys are caught up with the item ids: a script's view shows its runs, its signals'.
      const scriptKeys = locked.flatMap(({ stored }) => (stored.source === 'scripto' ? [keyOf(stored)] : []))
      const ids = [...new Set([...signals.map((op) => op.id), ...scriptKeys])]
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
      for (const { row, stored } of locked) {
        const key = keyOf(stored)
        const runs = base.get(key)?.runs
        tx.found.set(key, { row, stored: runs === undefined ? stored : withRuns(stored, runs) })
      }
      const folded = foldBatch(signals, (id) => base.get(id)!)
      const token = this.#nextToken()
      const range = folded.latest.size > 0 ? await this.#append(client, folded, token, false) : undefined

      const written =
        changes.length === 0
          ? undefined
          : await this.#changes(tx, changes, (change) => {
              current = change
            })
      const keyFolded: Folded<SignalWrite, Base> = { latest: tx.folds.latest, placed: new Map() }
      const keyRange = keyFolded.latest.size > 0 ? await this.#append(client, keyFolded, token, false) : undefined
      const taken = [...[range, keyRange].flatMap((r) => (r === undefined ? [] : [r.lo, r.hi])), ...tx.seqs]
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
      // Those folded were answered by #settle; the others' ids were forgotten before the batch.
      for (const op of queued) if (!folded.placed.has(op)) op.resolve(undefined)
      // The rows after the items' signals and before the changes' own: a deleted check's runs go with it.
      written?.apply()
      this.#settle([], keyFolded, token, stale)
      for (const [change, answer] of written?.answers ?? []) {
        if ('error' in answer) change.reject(answer.error)
        else change.resolve(answer)
      }
      return { kind: 'done' }
    } catch (err) {
      const broken = isUnavailable(err)
      if (!broken) await client.query('ROLLBACK').catch(() => {})
      // A connection in an unknown state is not given back to the pool.
      release(broken ? (err as Error) : undefined)
      if (isRetryable(err) || err instanceof KeyTaken) return { kind: 'retry' }
      if (current !== undefined && !broken) return { kind: 'without', op: current, err }
      return { kind: 'failed', err }
    }
  }
}
