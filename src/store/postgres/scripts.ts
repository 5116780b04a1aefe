// PostgreSQL's script and definition writes (each a step of a locked batch, see batches.ts) and its reads over the
// pool: the run log of any check, finishes and output retention.
import { scriptKey } from '../../domain/check.js'
import type { Script } from '../../domain/script.js'
import { foldScriptUpdates, type Done } from '../core.js'
import {
  DEFINITION_COLUMNS,
  definitionFromRow,
  definitionValues,
  finishesOf,
  fromRow,
  IS_SCRIPT,
  logEntries,
  logKeep,
  logPage,
  outputRange,
  SCRIPT_COLUMNS,
  toRow,
  type BodyRow,
  type CheckDefRow,
  type SignalRow,
} from '../rows.js'
import type { Store } from '../contract.js'
import type { DefineWrite, UpdateWrite } from '../writes.js'
import type { StepWriter, Tx, UpdateWriter } from './batches.js'
import type { Link } from './link.js'
import type { Replication } from './replication.js'

const scriptValues = (script: Parameters<typeof toRow>[0]) => {
  const row = toRow(script)
  return SCRIPT_COLUMNS.map((c) => row[c])
}
const placeholders = SCRIPT_COLUMNS.map((_, i) => `$${i + 1}`).join(', ')
const assignments = SCRIPT_COLUMNS.map((c, i) => `${c} = $${i + 1}`).join(', ')

/** A definition keeps its row, its key and when it was created across updates: the columns an update writes. */
const UPDATED = DEFINITION_COLUMNS.map((column, i) => ({ column, i })).filter(({ column }) => column !== 'key' && column !== 'created')
const definitionAssignments = UPDATED.map(({ column }, n) => `${column} = $${n + 1}`).join(', ')

/** The create, delete and definition steps of a locked batch. */
export function stepWriter(replication: Replication): StepWriter {
  return {
    async create(tx, { fields, signal }) {
      const { rows } = await tx.client.query<CheckDefRow & { seq: number }>(
        `INSERT INTO check_def (${SCRIPT_COLUMNS.join(', ')}, seq) VALUES (${placeholders}, nextval('change_seq') * 16) RETURNING *`,
        scriptValues(fields),
      )
      const row = fromRow(rows[0]!)
      const script: Script = Object.freeze({ ...row, runs: tx.folds.fold(scriptKey(row.id), row.runs, signal) })
      const { seq } = rows[0]!
      tx.seqs.push(seq)
      tx.scripts.set(script.id, script)
      return { result: script, apply: () => replication.setScript(script, seq) }
    },
    // Its script was locked with the batch's (Batches).
    async remove(tx, { id }) {
      if (tx.scripts.get(id) === undefined) return { result: false }
      const key = scriptKey(id)
      await tx.client.query(`DELETE FROM check_def WHERE id = $1 AND ${IS_SCRIPT}`, [id])
      await tx.client.query('DELETE FROM signal_body WHERE id = $1', [key])
      await tx.client.query('DELETE FROM check_signal WHERE id = $1', [key])
      await tx.client.query('DELETE FROM item_state WHERE id = $1', [key])
      tx.scripts.set(id, undefined)
      tx.deleted.push(id)
      return { result: true, apply: () => replication.dropRow(id) }
    },
    define: (tx, { id, change }) => define(tx, id, change),
  }

  /** The definition of `id` as this batch has it: as locked, or as an earlier write of the batch left it. */
  async function locked(tx: Tx, id: string) {
    const known = tx.definitions.get(id)
    if (known !== undefined) return known
    const { rows } = await tx.client.query<CheckDefRow>('SELECT * FROM check_def WHERE key = $1 FOR UPDATE', [id])
    const found = rows[0] === undefined ? { row: undefined, definition: undefined } : { row: Number(rows[0].id), definition: definitionFromRow(rows[0]) }
    tx.definitions.set(id, found)
    return found
  }

  async function define(tx: Tx, id: string, change: DefineWrite['change']): Promise<Done> {
    // Twice at most: a first write of `id` on another replica, committed while this one looked, is read again.
    for (let attempt = 0; ; attempt++) {
      const { row, definition: current } = await locked(tx, id)
      const next = change(current)
      if (next === current) return { result: current }
      if (next === undefined) {
        await tx.client.query('DELETE FROM check_def WHERE id = $1', [row])
        tx.deleted.push(row!)
        tx.definitions.set(id, { row: undefined, definition: undefined })
        return { result: undefined, apply: () => replication.dropRow(row!) }
      }
      if (next.id !== id) throw new Error(`a change of definition ${id} gave one of ${next.id}`)
      const values = definitionValues(next)
      const { rows } = await (row === undefined
        ? tx.client.query<{ id: number; seq: number }>(
            `INSERT INTO check_def (${DEFINITION_COLUMNS.join(', ')}, seq) VALUES (${values.map((_, i) => `$${i + 1}`).join(', ')}, nextval('change_seq') * 16)
               ON CONFLICT (key) DO NOTHING RETURNING id, seq`,
            values,
          )
        : tx.client.query<{ id: number; seq: number }>(
            `UPDATE check_def SET ${definitionAssignments}, seq = nextval('change_seq') * 16 WHERE id = $${UPDATED.length + 1} RETURNING id, seq`,
            [...UPDATED.map(({ i }) => values[i]), row],
          ))
      if (rows[0] === undefined) {
        if (attempt === 1) throw new Error(`definition ${id} changed twice while it was written`)
        tx.definitions.delete(id)
        continue
      }
      const written = Number(rows[0].id)
      const { seq } = rows[0]
      tx.seqs.push(seq)
      tx.definitions.set(id, { row: written, definition: next })
      return { result: next, apply: () => replication.setDefinition(written, next, seq) }
    }
  }
}

/**
 * The reports to scripts next to each other in a batch (see UpdatesStep), folded by the core's one rule
 * (foldScriptUpdates) on the scripts as locked: each script's row written once.
 */
export function updateWriter(replication: Replication): UpdateWriter {
  return async (tx, updates, writing) => {
    const batch = foldScriptUpdates(updates, (id) => tx.scripts.get(id), tx.folds)
    const done = new Map<UpdateWrite, Done>()
    const failed = new Map<UpdateWrite, unknown>()
    // Each script's row is written for its last update, whose answer it is.
    const lastOf = new Map<number, UpdateWrite>()
    for (const [update, answer] of batch.answers) {
      if (answer !== undefined && 'error' in answer) failed.set(update, answer.error)
      else {
        done.set(update, { result: answer })
        if (answer !== undefined) lastOf.set(update.id, update)
      }
    }
    for (const [id, script] of batch.scripts) {
      const last = lastOf.get(id)!
      writing(last)
      const { rows } = await tx.client.query<{ seq: number }>(
        `UPDATE check_def SET ${assignments}, seq = nextval('change_seq') * 16 WHERE id = $${SCRIPT_COLUMNS.length + 1} AND ${IS_SCRIPT} RETURNING seq`,
        [...scriptValues(script), id],
      )
      const { seq } = rows[0]!
      tx.seqs.push(seq)
      tx.scripts.set(id, script)
      done.set(last, { result: script, apply: () => replication.setScript(script, seq) })
    }
    return { done, failed }
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
