// The SQLite store (better-sqlite3, WAL): every check's signals and definitions in one file, the
// core's copy in memory loaded from it at open. The driver runs the core's batches (batch.ts) in the
// group commit, and notices when writes stop committing (a full disk).
import { applyInOrder, NO_RUNS } from '../../domain/run.js'
import type { Store, StoreOptions } from '../contract.js'
import { keyOf, Memory } from '../core.js'
import { signalsOf, storedFromRow, type CheckDefRow, type SignalRow } from '../rows.js'
import { failWrites, storeOver, Writes, type Write } from '../writes.js'
import { batchRunner } from './batch.js'
import { checkpointer as walCheckpointer } from './checkpointer.js'
import { openDatabase } from './file.js'
import { sqliteFlips } from './flips.js'
import { groupCommit } from './group-commit.js'
import { sqliteReads } from './reads.js'

/** Between attempts to write while writes fail. */
const PROBE_MS = 1000
/** signal_body's id for the probe's row: no check has it. */
const PROBE_ID = '\u0001probe'

export function openSqliteStore(path: string, { onError = () => {}, onAvailability = () => {}, maxPages }: StoreOptions = {}): Store {
  const db = openDatabase(path, maxPages)
  // Checkpoints off the event loop once the WAL grows (checkpointer.ts); an in-memory database has no WAL.
  const checkpointer = path === ':memory:' ? undefined : walCheckpointer(db, path, (err) => onError(err, 'a WAL checkpoint failed'))
  // Whether writes commit: false from a batch that failed as a whole (a full disk) until one
  // commits, which a probe tries every PROBE_MS meanwhile.
  let up = true
  let probe: NodeJS.Timeout | undefined
  const batches = groupCommit(db, (end) => {
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
  // Every stored check has its key (migration 11); a row without one is no check of this version's.
  for (const row of db.prepare('SELECT * FROM check_def WHERE key IS NOT NULL ORDER BY id').all() as CheckDefRow[]) {
    const stored = storedFromRow(row)
    memory.put(keyOf(stored), row.id, stored)
  }

  const runBatch = batchRunner(db, memory, nextSeq, onError)
  // The core's writes queued since the last batch began run as one write of the group commit.
  let scheduled = false
  const writes = new Writes(() => {
    if (scheduled) return
    scheduled = true
    let taken: Write[] | undefined
    // Each step of the batch that may fail alone has a savepoint of its own (batch.ts).
    write(
      () => {
        scheduled = false
        taken = writes.take()
        try {
          return runBatch(taken)
        } finally {
          writes.settled(taken)
        }
      },
      { ownSavepoints: true },
    ).catch((err: unknown) => {
      if (taken !== undefined) failWrites(taken, err, onError)
      else {
        // The batch failed before this write ran: what is queued fails with it.
        scheduled = false
        writes.failAll(err)
      }
    })
  })

  return storeOver({
    memory,
    writes,
    // SQLite queues every write: while writes fail, the probe's batches find out when they commit again.
    refusal: () => undefined,
    reads: {
      ...sqliteReads(db, write),
      ...sqliteFlips(db, write),
      // SQLite has no other writer.
      onSignals: () => {},
      onDefinitions: () => {},
    },
    get up() {
      return up
    },
    get lockRetries() {
      return batches.lockRetries
    },
    remoteRows: 0,
    async close() {
      clearTimeout(probe)
      batches.drain()
      await checkpointer?.close()
      db.close()
    },
  })
}
