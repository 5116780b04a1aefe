// SQLite's half of a batch: the rows it writes (see batchSteps in ../writes.ts), in the transaction
// the group commit runs it in. The forgotten ids' rows, the items' signals and the changes of
// stored checks each run in a savepoint of their own; the batch's memory changes and answers wait
// for the commit.
import type { Database } from 'better-sqlite3'
import { NO_RUNS } from '../../domain/run.js'
import { SIGNALS_KEPT, TRIM_SLACK } from '../contract.js'
import { foldBatch, foldChanges, KeyFolds, recordOf, type Done, type IdBase, type IdBatch, type Memory } from '../core.js'
import { CHECK_DEF_COLUMNS, ROW_SIGNALS_MAX, ScriptFieldError, signalsText, storedRow, UPDATED_COLUMNS } from '../rows.js'
import { batchSteps, type ChangeWrite, type Write } from '../writes.js'

/** An id's runs and how many signals it keeps. */
type Kept = IdBase<number>

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
  // Positional parameters: better-sqlite3 binds them faster than named ones.
  const insertRow = db.prepare(`INSERT INTO check_def (${CHECK_DEF_COLUMNS.join(', ')}) VALUES (${CHECK_DEF_COLUMNS.map(() => '?').join(', ')})`)
  const updateRow = db.prepare(`UPDATE check_def SET ${UPDATED_COLUMNS.map((c) => `${c} = ?`).join(', ')} WHERE id = ?`)
  const deleteRow = db.prepare('DELETE FROM check_def WHERE id = ?')
  // A row's id is never given again (AUTOINCREMENT): above the highest the table ever had.
  const nextRow = db.prepare(
    "SELECT max(coalesce((SELECT seq FROM sqlite_sequence WHERE name = 'check_def'), 0), coalesce((SELECT max(id) FROM check_def), 0)) + 1 AS n",
  )

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
    const { forget: gone, signals, changes } = batchSteps(writes)
    const applies: (() => void)[] = []
    /** Runs and kept counts once committed. */
    const keep = (kept: ReadonlyMap<string, Kept>) => {
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

    // What the items' signals left, for the changes' signals after them.
    let runsOf: ReadonlyMap<string, Kept> = new Map()
    if (signals.length > 0) {
      const live = signals.filter((q) => memory.isLive(q))
      try {
        const folded = foldBatch(live, (key) => memory.base(key, 0))
        runsOf = inSavepoint(() => writeFolded(folded.latest))
        keep(runsOf)
        applies.push(() => {
          for (const q of signals) q.resolve(folded.placed.has(q) ? recordOf(folded, q) : undefined)
        })
      } catch (err) {
        if (!db.inTransaction) throw err
        for (const q of signals) q.reject(err)
      }
    }

    if (changes.length > 0) change(changes, runsOf, keep, applies)
    return {
      result: undefined,
      apply: () => {
        for (const apply of applies) apply()
      },
    }
  }

  /**
   * The changes of stored checks (foldChanges): each row written once, for its last change; a row
   * the database refuses fails that change alone, and the others are written again without it.
   */
  function change(queue: readonly ChangeWrite[], runsOf: ReadonlyMap<string, Kept>, keep: (kept: ReadonlyMap<string, Kept>) => void, applies: (() => void)[]) {
    let changes = queue
    for (;;) {
      let writing: ChangeWrite | undefined
      try {
        const { batch, kept } = inSavepoint(() => {
          const folds = new KeyFolds<Kept>((key) => runsOf.get(key) ?? memory.base(key, 0), { runs: NO_RUNS, state: 0 })
          let next: number | undefined
          const number = () => {
            next ??= (nextRow.get() as { n: number }).n
            return next++
          }
          const batch = foldChanges(changes, (key) => memory.check(key), folds, number)
          for (const [key, row] of batch.rows) {
            writing = row.last
            const { found, after } = row
            if (found !== undefined && (after === undefined || row.deleted)) {
              deleteRow.run(found.row)
              forget([key])
            }
            if (after === undefined || (!row.deleted && after === found?.stored)) continue
            const values = storedRow(row.row!, after)
            if (found === undefined || row.deleted) insertRow.run(CHECK_DEF_COLUMNS.map((c) => values[c]))
            else updateRow.run([...UPDATED_COLUMNS.map((c) => values[c]), values.id])
          }
          writing = undefined
          return { batch, kept: writeFolded(folds.latest) }
        })
        for (const [c, answer] of batch.answers) if ('error' in answer) c.reject(answer.error)
        // The rows first: a deleted check's runs go with it, and the runs its signals folded to since come after.
        applies.push(() => {
          for (const [key, { found, deleted, row, after }] of batch.rows) {
            if (found !== undefined && (after === undefined || deleted)) memory.put(key, found.row, undefined)
            if (after !== undefined) memory.put(key, row!, after)
          }
          for (const [c, answer] of batch.answers) if (!('error' in answer)) c.resolve(answer)
        })
        keep(kept)
        return
      } catch (err) {
        // A row the database refused, a field the codec could not write: its change fails alone,
        // its savepoint rolled back. A failure of the whole transaction fails the batch.
        if (writing === undefined || !refused(err)) {
          if (!db.inTransaction) throw err
          for (const c of changes) c.reject(err)
          return
        }
        writing.reject(err)
        changes = changes.filter((c) => c !== writing)
      }
    }
  }
}
