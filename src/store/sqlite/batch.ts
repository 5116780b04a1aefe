// SQLite's half of a batch: the rows each step of it writes (see batchSteps in ../writes.ts), in
// the transaction the group commit runs it in. Each step that may fail alone (a report, a script
// created or deleted, a definition changed) runs in a savepoint of its own; the batch's memory
// changes and answers wait for the commit.
import type { Database } from 'better-sqlite3'
import { scriptKey } from '../../domain/check.js'
import type { CheckDefinition } from '../../domain/definition.js'
import type { Script } from '../../domain/script.js'
import { SIGNALS_KEPT, TRIM_SLACK } from '../contract.js'
import { foldBatch, foldScriptUpdates, KeyFolds, recordOf, type Done, type IdBase, type IdBatch, type Memory } from '../core.js'
import {
  DEFINITION_COLUMNS,
  definitionValues,
  fromRow,
  IS_SCRIPT,
  ROW_SIGNALS_MAX,
  SCRIPT_COLUMNS,
  ScriptFieldError,
  signalsText,
  toRow,
  type CheckDefRow,
} from '../rows.js'
import { batchSteps, writesOf, type CreateWrite, type DefineWrite, type DeleteWrite, type UpdateWrite, type Write } from '../writes.js'

/** An id's runs and how many signals it keeps. */
type Kept = IdBase<number>

/** A script that an earlier step of the batch deleted. */
const DELETED = Symbol('deleted')

/** Runs a batch's writes: returns what to apply once it has committed. */
export type BatchRunner = (writes: readonly Write[]) => Done<undefined>

/** `nextSeq`: above every seq in check_signal. */
export function batchRunner(db: Database, memory: Memory<number>, nextSeq: number, onError: (err: unknown, what: string) => void): BatchRunner {
  // One log for every check, under its key (an item's id, a script's scriptKey).
  const insertSignals = db.prepare('INSERT INTO check_signal (id, seq, at, n, signals) VALUES (?, ?, ?, ?, ?)')
  // Drops the rows of a key older than the newest ones that hold @keep signals; returns their n.
  const trimSignals = db.prepare(
    `DELETE FROM check_signal WHERE id = @id AND seq < (
       SELECT seq FROM (SELECT seq, sum(n) OVER (ORDER BY seq DESC) AS newer FROM check_signal WHERE id = @id) WHERE newer >= @keep ORDER BY seq DESC LIMIT 1
     ) RETURNING n`,
  )
  const deleteSignals = db.prepare('DELETE FROM check_signal WHERE id = ?')
  const insertBody = db.prepare('INSERT INTO signal_body (id, seq, at, kept, body) VALUES (?, ?, ?, ?, ?)')
  const trimBodies = db.prepare('DELETE FROM signal_body WHERE id = @id AND seq < (SELECT min(seq) FROM check_signal WHERE id = @id)')
  const deleteBodies = db.prepare('DELETE FROM signal_body WHERE id = ?')
  const insertScript = db.prepare(`INSERT INTO check_def (${SCRIPT_COLUMNS.join(', ')}) VALUES (${SCRIPT_COLUMNS.map((c) => `@${c}`).join(', ')}) RETURNING *`)
  const updateScriptRow = db.prepare(`UPDATE check_def SET ${SCRIPT_COLUMNS.map((c) => `${c} = @${c}`).join(', ')} WHERE id = @id AND ${IS_SCRIPT}`)
  const deleteScriptRow = db.prepare(`DELETE FROM check_def WHERE id = ? AND ${IS_SCRIPT}`)
  // A definition keeps its row, and when it was created, across updates.
  const putDefinitionRow = db.prepare(
    `INSERT INTO check_def (${DEFINITION_COLUMNS.join(', ')}) VALUES (${DEFINITION_COLUMNS.map(() => '?').join(', ')})
       ON CONFLICT (key) DO UPDATE SET ${DEFINITION_COLUMNS.filter((c) => c !== 'key' && c !== 'created')
         .map((c) => `${c} = excluded.${c}`)
         .join(', ')} RETURNING id`,
  )
  const deleteDefinitionRow = db.prepare('DELETE FROM check_def WHERE key = ?')

  /** An id's signals of a batch in its rows, and its oldest rows beyond the kept signals dropped; what it keeps then. */
  const writeSignals = (id: string, { base, runs, signals }: IdBatch<Kept>): Kept => {
    for (let i = 0; i < signals.length; i += ROW_SIGNALS_MAX) {
      const row = signals.slice(i, i + ROW_SIGNALS_MAX)
      insertSignals.run(id, row[0]!.seq, row[0]!.signal.at, row.length, signalsText(row))
    }
    for (const { seq, signal } of signals) {
      if (signal.output !== undefined) insertBody.run(id, seq, signal.at, Buffer.byteLength(signal.output.text), signal.output.text)
    }
    let kept = base.state + signals.length
    if (kept > SIGNALS_KEPT + TRIM_SLACK) {
      for (const { n } of trimSignals.all({ id, keep: SIGNALS_KEPT }) as { n: number }[]) kept -= n
      trimBodies.run({ id })
    }
    return { runs, state: kept }
  }
  /**
   * The folded signals written, each key's seqs in a row, as its rows store them (a row's signals
   * are seq, seq + 1...); what each key keeps then. A seq of a batch that rolls back is not handed
   * out again: the order only needs to grow.
   */
  const writeFolded = (latest: ReadonlyMap<string, IdBatch<Kept>>): Map<string, Kept> => {
    for (const state of latest.values()) for (const s of state.signals) s.seq = nextSeq++
    const kept = new Map<string, Kept>()
    for (const [id, state] of latest) kept.set(id, writeSignals(id, state))
    return kept
  }
  const forget = (ids: readonly string[]) => {
    for (const id of ids) {
      deleteSignals.run(id)
      deleteBodies.run(id)
    }
  }
  // Savepoints: called inside the batch's transaction, a better-sqlite3 transaction function runs as one.
  const savepoint = db.transaction((step: () => unknown) => step())
  const inSavepoint = <T>(step: () => T): T => savepoint(step) as T
  /** Whether `err`, thrown by a step, is a refusal of that step alone (its savepoint rolled back, the transaction still open). */
  const refused = (err: unknown): boolean =>
    db.inTransaction && (err instanceof ScriptFieldError || String((err as { code?: unknown }).code).startsWith('SQLITE_CONSTRAINT'))

  return (writes) => {
    const { forget: gone, signals, steps } = batchSteps(writes)
    // What the batch's earlier steps wrote, for the steps after them.
    const runsOf = new Map<string, Kept>()
    const scriptsOf = new Map<number, Script | typeof DELETED>()
    const definitionsOf = new Map<string, { row: number | undefined; definition: CheckDefinition | undefined }>()
    const base = (key: string) => runsOf.get(key) ?? memory.base(key, 0)
    const scriptOf = (id: number) => {
      const script = scriptsOf.get(id) ?? memory.script(id)
      return script === DELETED ? undefined : script
    }
    const applies: (() => void)[] = []
    /** A step's runs, once it has run: for the steps after it, and memory once committed. */
    const keep = (kept: ReadonlyMap<string, Kept>) => {
      for (const [key, next] of kept) runsOf.set(key, next)
      applies.push(() => {
        for (const [key, next] of kept) memory.set(key, next.runs, next.state)
      })
    }

    if (gone.length > 0) {
      try {
        inSavepoint(() => forget(gone))
      } catch (err) {
        if (!db.inTransaction) throw err
        onError(err, `deleting the signals of ${gone.length} removed item(s)`)
      }
    }

    if (signals.length > 0) {
      const live = signals.filter((q) => memory.isLive(q))
      try {
        const folded = foldBatch(live, base)
        keep(inSavepoint(() => writeFolded(folded.latest)))
        applies.push(() => {
          for (const q of signals) q.resolve(folded.placed.has(q) ? recordOf(folded, q) : undefined)
        })
      } catch (err) {
        if (!db.inTransaction) throw err
        for (const q of signals) q.reject(err)
      }
    }

    /** Reports next to each other: each script's row written once; a report whose row is refused fails alone, and the others are written again without it. */
    const update = (queue: readonly UpdateWrite[]) => {
      let updates = queue
      for (;;) {
        let writing: UpdateWrite | undefined
        try {
          const { batch, kept } = inSavepoint(() => {
            const folds = new KeyFolds<Kept>(base)
            const batch = foldScriptUpdates(updates, scriptOf, folds)
            // Each script's row is written for its last update, whose answer it is.
            const lastOf = new Map<number, UpdateWrite>()
            for (const [u, answer] of batch.answers) if (answer !== undefined && !('error' in answer)) lastOf.set(u.id, u)
            const kept = writeFolded(folds.latest)
            for (const [id, script] of batch.scripts) {
              writing = lastOf.get(id)!
              updateScriptRow.run({ ...toRow(script), id })
            }
            return { batch, kept }
          })
          keep(kept)
          for (const [id, script] of batch.scripts) scriptsOf.set(id, script)
          for (const [u, answer] of batch.answers) if (answer !== undefined && 'error' in answer) u.reject(answer.error)
          applies.push(() => {
            for (const [id, script] of batch.scripts) memory.putScript(id, script)
            for (const [u, answer] of batch.answers) if (answer === undefined || !('error' in answer)) u.resolve(answer)
          })
          return
        } catch (err) {
          if (writing === undefined || !refused(err)) throw err
          writing.reject(err)
          updates = updates.filter((u) => u !== writing)
        }
      }
    }
    const create = ({ fields, signal, resolve }: CreateWrite) => {
      const { script, kept } = inSavepoint(() => {
        const row = fromRow(insertScript.get(toRow(fields)) as CheckDefRow)
        const folds = new KeyFolds<Kept>(base)
        const script = Object.freeze({ ...row, runs: folds.fold(scriptKey(row.id), row.runs, signal) })
        return { script, kept: writeFolded(folds.latest) }
      })
      keep(kept)
      scriptsOf.set(script.id, script)
      applies.push(() => {
        memory.putScript(script.id, script)
        resolve(script)
      })
    }
    const remove = ({ id, resolve }: DeleteWrite) => {
      const deleted = inSavepoint(() => {
        if (deleteScriptRow.run(id).changes === 0) return false
        deleteSignals.run(scriptKey(id))
        deleteBodies.run(scriptKey(id))
        return true
      })
      if (deleted) {
        scriptsOf.set(id, DELETED)
        runsOf.delete(scriptKey(id))
      }
      applies.push(() => {
        if (deleted) memory.putScript(id, undefined)
        resolve(deleted)
      })
    }
    // The definition as it stands when the step runs, so that changes queued together apply in order.
    const define = ({ id, change, resolve }: DefineWrite) => {
      const { row, definition: current } = definitionsOf.get(id) ?? { row: memory.definitionRow(id), definition: memory.definitions().get(id) }
      const next = change(current)
      if (next === current) {
        applies.push(() => resolve(current))
        return
      }
      if (next !== undefined && next.id !== id) throw new Error(`a change of definition ${id} gave one of ${next.id}`)
      const written = inSavepoint(() => {
        if (next !== undefined) return (putDefinitionRow.get(...definitionValues(next)) as { id: number }).id
        deleteDefinitionRow.run(id)
        return undefined
      })
      definitionsOf.set(id, { row: written, definition: next })
      applies.push(() => {
        if (written !== undefined) memory.putDefinition(written, next)
        else if (row !== undefined) memory.putDefinition(row, undefined)
        resolve(next)
      })
    }

    for (const step of steps) {
      try {
        if (step.kind === 'updates') update(step.updates)
        else if (step.kind === 'create') create(step)
        else if (step.kind === 'delete') remove(step)
        else define(step)
      } catch (err) {
        // A row the database refused, a field the codec could not write, a change that threw: that
        // step fails alone, its savepoint rolled back. A failure of the whole transaction fails the batch.
        if (!db.inTransaction) throw err
        for (const write of writesOf(step)) write.reject(err)
      }
    }
    return {
      result: undefined,
      apply: () => {
        for (const apply of applies) apply()
      },
    }
  }
}
