// The SQLite store (better-sqlite3, WAL): item signals and script reports in one file. Reads that
// run on every scrape come from an in-memory copy kept in step with each write.
import { applyInOrder, NO_RUNS } from '../../domain/run.js'
import { scriptKey } from '../../domain/check.js'
import type { CheckDefinition } from '../../domain/definition.js'
import type { Script } from '../../domain/script.js'
import { foldBatch, foldScriptUpdates, KeyFolds, Memory, recordOf, type Done, type IdBase, type IdBatch, type Queued, type ScriptUpdate } from '../core.js'
import { checkpointer as walCheckpointer } from './checkpointer.js'
import { sqliteFlips } from './flips.js'
import { groupCommit } from './group-commit.js'
import { openDatabase } from './file.js'
import { sqliteReads } from './reads.js'
import {
  DEFINITION_COLUMNS,
  definitionFromRow,
  definitionValues,
  fromRow,
  IS_DEFINITION,
  IS_SCRIPT,
  ROW_SIGNALS_MAX,
  SCRIPT_COLUMNS,
  ScriptFieldError,
  signalsOf,
  signalsText,
  toRow,
  type CheckDefRow,
  type SignalRow,
} from '../rows.js'
import { SIGNALS_KEPT, TRIM_SLACK, type SignalRecord, type Store, type StoreOptions } from '../contract.js'

interface QueuedUpdate extends ScriptUpdate {
  readonly resolve: (script: Script | undefined) => void
  readonly reject: (err: unknown) => void
}

interface QueuedSignal extends Queued {
  readonly resolve: (record: SignalRecord | undefined) => void
  readonly reject: (err: unknown) => void
}

/** An id's runs and how many signals it keeps. */
type Kept = IdBase<number>

/** Between attempts to write while writes fail. */
const PROBE_MS = 1000
/** signal_body's id for the probe's row: no check has it. */
const PROBE_ID = '\u0001probe'

export function openSqliteStore(path: string, { onError = () => {}, onAvailability = () => {}, maxPages }: StoreOptions = {}): Store {
  const db = openDatabase(path, maxPages)
  // Checkpoints off the event loop once the WAL grows (checkpointer.ts); an in-memory database has no WAL.
  const checkpointer = path === ':memory:' ? undefined : walCheckpointer(db, path, (err) => onError(err, 'a WAL checkpoint failed'))
  // Scripts written earlier in the batch under way, for the writes after them in the same batch.
  const DELETED = Symbol('deleted')
  const pendingScripts = new Map<number, Script | typeof DELETED>()
  // Runs and kept-signal counts written earlier in the batch under way, likewise; and definitions.
  const pendingRuns = new Map<string, Kept>()
  const pendingDefinitions = new Map<string, { row: number | undefined; definition: CheckDefinition | undefined }>()
  // Whether writes commit: false from a batch that failed as a whole (a full disk) until one
  // commits, which a probe tries every PROBE_MS meanwhile.
  let up = true
  let probe: NodeJS.Timeout | undefined
  const batches = groupCommit(db, (end) => {
    pendingScripts.clear()
    pendingRuns.clear()
    pendingDefinitions.clear()
    if (end === 'busy') return
    if (end === 'committed') {
      checkpointer?.committed()
      if (!up) {
        up = true
        onAvailability(true)
      }
      return
    }
    if (up) {
      up = false
      onError(end.failed, 'a write failed as a whole (a full disk?)')
      onAvailability(false)
    }
    probe ??= setTimeout(tryWriting, PROBE_MS)
  })
  const { write } = batches
  // A write that needs a page of its own, as a check-in's does, and leaves nothing behind.
  const probeInsert = db.prepare(`INSERT INTO signal_body (id, seq, at, kept, body) VALUES ('${PROBE_ID}', 0, 0, 0, ?)`)
  const probeDelete = db.prepare(`DELETE FROM signal_body WHERE id = '${PROBE_ID}'`)
  const tryWriting = () => {
    probe = undefined
    // Its failure schedules the next attempt (afterBatch).
    write(() => {
      probeInsert.run('x'.repeat(4096))
      probeDelete.run()
      return { result: undefined }
    }).catch(() => {})
  }

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

  // Each check's runs (an item's, a script's), folded from its kept signals in order; and how
  // many signals it keeps.
  const memory = new Memory<number>()
  // In key order (each id's signals in their order): no sort of the whole table.
  let nextSeq = 1
  for (const row of db.prepare('SELECT * FROM check_signal ORDER BY id, seq').iterate() as IterableIterator<SignalRow>) {
    nextSeq = Math.max(nextSeq, row.seq + row.n)
    let r = memory.runs.get(row.id) ?? NO_RUNS
    for (const { signal } of signalsOf(row)) r = applyInOrder(r, signal).runs
    memory.set(row.id, r, (memory.state.get(row.id) ?? 0) + row.n)
  }
  // Signals queued and not yet run, per id.
  const queued = new Map<string, number>()
  const dequeue = (id: string) => {
    const n = queued.get(id)! - 1
    if (n === 0) queued.delete(id)
    else queued.set(id, n)
  }
  for (const row of db.prepare(`SELECT * FROM check_def WHERE ${IS_SCRIPT} ORDER BY id`).all() as CheckDefRow[]) memory.putScript(row.id, fromRow(row))
  for (const row of db.prepare(`SELECT * FROM check_def WHERE ${IS_DEFINITION}`).all() as CheckDefRow[]) memory.putDefinition(row.id, definitionFromRow(row))

  // The signals queued since the last batch began are one write, applied in order, in one
  // savepoint: a savepoint per signal cost a fifth of a check-in.
  let signalOp: { queue: QueuedSignal[] } | undefined
  /** Within a write: an id's signals of a batch in its rows, and its oldest rows beyond the kept signals dropped; what it keeps then. */
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
  /** What a write's script signals fold on: each key as this batch, else memory, has it. */
  const scriptFolds = () => new KeyFolds<Kept>((key) => pendingRuns.get(key) ?? memory.base(key, 0))
  /**
   * Within a write: the script signals it folded, written as any check's signals are; returns
   * what to apply once committed.
   */
  const writeFolds = (folds: KeyFolds<Kept>): Map<string, Kept> => {
    const kept = new Map<string, Kept>()
    for (const state of folds.latest.values()) for (const s of state.signals) s.seq = nextSeq++
    for (const [key, state] of folds.latest) kept.set(key, writeSignals(key, state))
    return kept
  }

  // The script updates queued since the last batch began are one write, as signals are: each
  // script's row written once, its key's signals in rows of ROW_SIGNALS_MAX.
  let scriptOp: { queue: QueuedUpdate[] } | undefined
  /** The updates in a savepoint of their own; `writing` is told of the update whose script's row a statement writes. */
  const writeUpdates = db.transaction((queue: readonly QueuedUpdate[], writing: (update: QueuedUpdate) => void) => {
    const folds = scriptFolds()
    const batch = foldScriptUpdates(
      queue,
      (id) => {
        const script = pendingScripts.get(id) ?? memory.script(id)
        return script === DELETED ? undefined : script
      },
      folds,
    )
    // Each script's row is written for its last update, whose answer it is.
    const lastOf = new Map<number, QueuedUpdate>()
    for (const [update, answer] of batch.answers) {
      if (answer !== undefined && 'error' in answer) update.reject(answer.error)
      else if (answer !== undefined) lastOf.set(update.id, update)
    }
    const kept = writeFolds(folds)
    for (const [id, script] of batch.scripts) {
      writing(lastOf.get(id)!)
      updateScriptRow.run({ ...toRow(script), id })
    }
    return { batch, kept }
  })
  const updateScripts = (queue: QueuedUpdate[]): Done<undefined> => {
    if (scriptOp?.queue === queue) scriptOp = undefined
    let updates: readonly QueuedUpdate[] = queue
    for (;;) {
      let writing: QueuedUpdate | undefined
      try {
        const { batch, kept } = writeUpdates(updates, (update) => {
          writing = update
        })
        for (const [key, next] of kept) pendingRuns.set(key, next)
        for (const [id, script] of batch.scripts) pendingScripts.set(id, script)
        return {
          result: undefined,
          apply: () => {
            for (const [key, next] of kept) memory.set(key, next.runs, next.state)
            for (const [id, script] of batch.scripts) memory.putScript(id, script)
            for (const [update, answer] of batch.answers) if (answer === undefined || !('error' in answer)) update.resolve(answer)
          },
        }
      } catch (err) {
        // A row the database refused (a constraint) or the codec could not write, its savepoint
        // rolled back: that report fails alone, and the others are written again without it.
        // Anything else fails them all.
        const refused =
          writing !== undefined &&
          db.inTransaction &&
          (err instanceof ScriptFieldError || String((err as { code?: unknown }).code).startsWith('SQLITE_CONSTRAINT'))
        if (!refused) throw err
        writing!.reject(err)
        updates = updates.filter((update) => update !== writing)
      }
    }
  }

  return {
    runs: () => memory.runs,
    recordSignal(id, signal) {
      if (signalOp === undefined) {
        const queue: QueuedSignal[] = []
        write(() => {
          // Signals from here on go to the next write; this one's are final.
          if (signalOp?.queue === queue) signalOp = undefined
          for (const q of queue) dequeue(q.id)
          const live = queue.filter((q) => memory.isLive(q))
          const folded = foldBatch(live, (id) => pendingRuns.get(id) ?? memory.base(id, 0))
          // Each id's signals of the write take seqs in a row, as its rows store them (a row's
          // signals are seq, seq + 1...). A seq of a batch that rolls back is not handed out
          // again: the order only needs to grow.
          for (const state of folded.latest.values()) for (const s of state.signals) s.seq = nextSeq++
          const after = new Map<string, Kept>()
          for (const [id, state] of folded.latest) after.set(id, writeSignals(id, state))
          for (const [id, next] of after) pendingRuns.set(id, next)
          return {
            result: undefined,
            apply: () => {
              for (const [id, next] of after) memory.set(id, next.runs, next.state)
              for (const q of queue) q.resolve(folded.placed.has(q) ? recordOf(folded, q) : undefined)
            },
          }
        }).catch((err: unknown) => {
          for (const q of queue) q.reject(err)
        })
        signalOp = { queue }
      }
      const { queue } = signalOp
      queued.set(id, (queued.get(id) ?? 0) + 1)
      // Each signal is answered by the write's apply, once committed: no promise chained per signal.
      return new Promise((resolve, reject) => queue.push({ id, signal, generation: memory.generation(id), resolve, reject }))
    },
    // SQLite has no other writer.
    onSignals: () => {},
    keepOnlyItems(ids) {
      // Signals queued and not yet written, of ids no longer kept, are dropped when their turn comes;
      // a signal after this call must be written after the deletes below, not before them.
      const gone = memory.keepOnly(ids, queued.keys())
      signalOp = undefined
      if (gone.length > 0) {
        write(() => {
          for (const id of gone) {
            deleteSignals.run(id)
            deleteBodies.run(id)
          }
          return { result: undefined }
        }).catch((err: unknown) => onError(err, `deleting the signals of ${gone.length} removed item(s)`))
      }
    },

    ...sqliteReads(db, write),
    ...sqliteFlips(db, write),
    definitions: () => memory.definitions(),
    // The definition as it stands when the batch runs, so that changes queued together apply in order.
    changeDefinition: (id, change) =>
      write(() => {
        const { row, definition: current } = pendingDefinitions.get(id) ?? { row: memory.definitionRow(id), definition: memory.definitions().get(id) }
        const next = change(current)
        if (next === current) return { result: current }
        if (next === undefined) {
          deleteDefinitionRow.run(id)
          pendingDefinitions.set(id, { row: undefined, definition: undefined })
          return { result: undefined, apply: () => row !== undefined && memory.putDefinition(row, undefined) }
        }
        if (next.id !== id) throw new Error(`a change of definition ${id} gave one of ${next.id}`)
        const { id: written } = putDefinitionRow.get(...definitionValues(next)) as { id: number }
        pendingDefinitions.set(id, { row: written, definition: next })
        return { result: next, apply: () => memory.putDefinition(written, next) }
      }),
    // SQLite has no other writer.
    onDefinitions: () => {},

    scripts: () => memory.scripts(),
    getScript: (id) => memory.script(id),
    createScript(fields, signal) {
      // Updates after this write run after it.
      scriptOp = undefined
      return write(() => {
        const row = fromRow(insertScript.get(toRow(fields)) as CheckDefRow)
        const folds = scriptFolds()
        const script = Object.freeze({ ...row, runs: folds.fold(scriptKey(row.id), row.runs, signal) })
        const kept = writeFolds(folds)
        for (const [key, next] of kept) pendingRuns.set(key, next)
        pendingScripts.set(script.id, script)
        return {
          result: script,
          apply: () => {
            for (const [key, next] of kept) memory.set(key, next.runs, next.state)
            memory.putScript(script.id, script)
          },
        }
      })
    },
    updateScript(id, patch, signal) {
      if (scriptOp === undefined) {
        const queue: QueuedUpdate[] = []
        write(() => updateScripts(queue)).catch((err: unknown) => {
          for (const u of queue) u.reject(err)
        })
        scriptOp = { queue }
      }
      const { queue } = scriptOp
      return new Promise((resolve, reject) => queue.push({ id, patch, signal, resolve, reject }))
    },
    deleteScript(id) {
      scriptOp = undefined
      return write(() => {
        if (deleteScriptRow.run(id).changes === 0) return { result: false }
        deleteSignals.run(scriptKey(id))
        deleteBodies.run(scriptKey(id))
        pendingScripts.set(id, DELETED)
        pendingRuns.delete(scriptKey(id))
        return { result: true, apply: () => memory.putScript(id, undefined) }
      })
    },

    get up() {
      return up
    },
    get lockRetries() {
      return batches.lockRetries
    },
    // SQLite has no other writer.
    remoteRows: 0,
    async close() {
      clearTimeout(probe)
      batches.drain()
      await checkpointer?.close()
      db.close()
    },
  }
}
