// PostgreSQL's changes of stored checks (a step of a locked batch, see batches.ts: the core folds
// them, this writes each row once) and its reads over the pool: the run log of any check,
// finishes and output retention.
import type { PoolClient } from 'pg'
import { foldChanges, type ChangeBatch, type IdBase, type InRow, type KeyFolds } from '../core.js'
import { CHECK_DEF_COLUMNS, finishesOf, logEntries, logKeep, logPage, outputRange, storedRow, UPDATED_COLUMNS, type BodyRow, type SignalRow } from '../rows.js'
import type { Store } from '../contract.js'
import type { ChangeWrite } from '../writes.js'
import type { Link } from './link.js'
import type { IdState, Replication } from './replication.js'

/** The changes' view of their transaction (batches.ts runs it). */
export interface Tx {
  readonly client: PoolClient
  /** The stored checks that this batch's changes name, as locked, by key. */
  readonly found: Map<string, InRow>
  /** change_seq values the batch's row writes took. */
  readonly seqs: number[]
  /** check_def rows deleted. */
  readonly deleted: number[]
  /** The signals of the batch's changes, folded per key: written with the batch as any check's signals are, after the rows. */
  readonly folds: KeyFolds<IdBase<IdState>>
}

/** A new row: its id given (a script's) or the sequence's. */
const INSERT = `INSERT INTO check_def (${CHECK_DEF_COLUMNS.join(', ')}, seq) VALUES (coalesce($1, nextval('check_def_id_seq')), ${CHECK_DEF_COLUMNS.slice(1)
  .map((_, i) => `$${i + 2}`)
  .join(', ')}, nextval('change_seq') * 16)
  ON CONFLICT (key) DO NOTHING RETURNING id, seq`
const UPDATE = `UPDATE check_def SET ${UPDATED_COLUMNS.map((c, i) => `${c} = $${i + 1}`).join(', ')}, seq = nextval('change_seq') * 16
  WHERE id = $${UPDATED_COLUMNS.length + 1} RETURNING id, seq`

/** A key that another replica gave a row after this batch looked for it: the batch runs again, and finds it. */
export class KeyTaken extends Error {}

/**
 * Writes the changes of a batch, in its transaction, on the checks as locked (`tx.found`): what each
 * change answers, and what to apply to memory once committed. `writing` is told of the change whose
 * row a statement writes, which fails alone when the database refuses it.
 */
export type ChangeWriter = (
  tx: Tx,
  changes: readonly ChangeWrite[],
  writing: (change: ChangeWrite | undefined) => void,
) => Promise<{ answers: ChangeBatch<ChangeWrite>['answers']; apply: () => void }>

/** Deletes what the checks with `keys` keep beside their rows: their signals, outputs and state (forgotten items, deleted checks). */
export async function deleteSignals(client: PoolClient, keys: readonly string[]): Promise<void> {
  await client.query('DELETE FROM check_signal WHERE id = ANY($1::text[])', [keys])
  await client.query('DELETE FROM signal_body WHERE id = ANY($1::text[])', [keys])
  await client.query('DELETE FROM item_state WHERE id = ANY($1::text[])', [keys])
}

export function changeWriter(replication: Replication): ChangeWriter {
  return async (tx, changes, writing) => {
    const { client } = tx
    // A new script's id, taken before the fold (which is synchronous) for each change that makes one:
    // its view shows it. The database numbers the other new rows as it writes them.
    const wanted = changes.filter((c) => c.key === undefined).length
    const ids =
      wanted === 0
        ? []
        : (await client.query<{ n: string }>("SELECT nextval('check_def_id_seq') AS n FROM generate_series(1, $1)", [wanted])).rows.map((r) => Number(r.n))
    const batch = foldChanges(
      changes,
      (key) => tx.found.get(key),
      tx.folds,
      () => ids.shift()!,
      false,
    )
    const applies: (() => void)[] = []
    for (const [key, { found, deleted, row, after, last }] of batch.rows) {
      writing(last)
      if (found !== undefined && (after === undefined || deleted)) {
        await client.query('DELETE FROM check_def WHERE id = $1', [found.row])
        await deleteSignals(client, [key])
        tx.deleted.push(found.row)
        applies.push(() => replication.dropRow(found.row))
      }
      if (after === undefined) continue
      const values = storedRow(row ?? null, after)
      const fresh = found === undefined || deleted
      if (!fresh && after === found.stored) continue
      const { rows } = await (fresh
        ? client.query<{ id: string; seq: number }>(
            INSERT,
            CHECK_DEF_COLUMNS.map((c) => values[c]),
          )
        : client.query<{ id: string; seq: number }>(UPDATE, [...UPDATED_COLUMNS.map((c) => values[c]), row]))
      if (rows[0] === undefined) throw new KeyTaken(`check ${key} was made by another replica meanwhile`)
      const written = Number(rows[0].id)
      const { seq } = rows[0]
      tx.seqs.push(seq)
      applies.push(() => replication.setRow(written, after, seq))
    }
    writing(undefined)
    return {
      answers: batch.answers,
      apply: () => {
        for (const apply of applies) apply()
      },
    }
  }
}

export function poolReads(link: Link): Pick<Store, 'finishes' | 'runLog' | 'pruneOutputs'> {
  const { pool } = link
  return {
    finishes: (id) =>
      link.reading(async () =>
        finishesOf((await pool.query<SignalRow>('SELECT id, seq, at, n, signals FROM check_signal WHERE id = $1 ORDER BY seq', [id])).rows),
      ),
    runLog: (key, page) =>
      link.reading(async () => {
        // A row holds one signal at least: `keep` rows hold the newest `keep` signals.
        const { rows } = await pool.query<SignalRow>('SELECT id, seq, at, n, signals FROM check_signal WHERE id = $1 ORDER BY seq DESC LIMIT $2', [
          key,
          logKeep(page),
        ])
        const signals = logPage(rows, page)
        const range = outputRange(signals)
        const bodies =
          range === undefined
            ? []
            : (await pool.query<BodyRow>('SELECT seq, body FROM signal_body WHERE id = $1 AND seq BETWEEN $2 AND $3', [key, ...range])).rows
        return logEntries(signals, bodies)
      }),
    pruneOutputs: ({ before, maxBytes, downTo, limit }) =>
      link.reading(async () => {
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
  }
}
