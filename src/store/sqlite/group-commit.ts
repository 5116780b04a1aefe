// Group commit over one better-sqlite3 connection: the writes queued in one event-loop turn run in
// one transaction, each in its own savepoint, and each settles once that transaction has committed
// (or failed). Written here because no SQLite library batches across callers this way.
//
// The driver is synchronous, so SQLite's busy handler would stall the whole event loop while
// another process holds the write lock (the sqlite3 shell, a backup). The transaction is begun with
// a busy timeout of a few milliseconds instead; when the lock is taken the batch goes back to the
// queue and is tried again on a later turn, unacknowledged until it commits.
import type { Database } from 'better-sqlite3'
import type { Done } from '../core.js'

interface Op {
  run: () => Done<unknown>
  /** Runs in the transaction itself, not in a savepoint of its own (see WriteOptions). */
  bare: boolean
  resolve: (value: unknown) => void
  reject: (err: unknown) => void
}

/** How long one attempt may wait for the write lock, blocking the event loop meanwhile. */
const BUSY_TIMEOUT_MS = 10
/** Waits between attempts while the lock is taken: doubling from the first to the last. */
const RETRY_FIRST_MS = 5
const RETRY_MAX_MS = 200
/** At close, the last batch may wait this long for the lock: nothing else is served by then. */
const CLOSE_BUSY_TIMEOUT_MS = 5000

const isBusy = (err: unknown) => {
  const code = (err as { code?: unknown }).code
  return code === 'SQLITE_BUSY' || code === 'SQLITE_LOCKED'
}

export interface GroupCommit {
  /** Queues `run` for the next batch; settles with its result once the batch commits. */
  write<T>(run: () => Done<T>, options?: WriteOptions): Promise<T>
  /** Batches that found the write lock taken and were put back to be tried again. */
  readonly lockRetries: number
  /** Commits what is queued now, waiting for the lock if it must; for close. */
  drain(): void
}

interface WriteOptions {
  /**
   * `run` keeps each of its parts that may fail alone in a savepoint of its own, and writes nothing
   * outside them: it runs in the transaction itself. A savepoint around it would make SQLite keep,
   * until it ends, a copy of every page its parts change (the statement journal): 100,000
   * definitions written in one batch took twice as long in one.
   */
  readonly ownSavepoints?: boolean
}

/** How a batch ended: committed, put back (the lock was taken), or failed as a whole (a full disk, an I/O error). */
export type BatchEnd = 'committed' | 'busy' | { failed: unknown }

/** `afterBatch` runs when a batch has ended, however it ended. */
export function groupCommit(db: Database, afterBatch: (end: BatchEnd) => void = () => {}): GroupCommit {
  db.pragma(`busy_timeout = ${BUSY_TIMEOUT_MS}`)
  const begin = db.prepare('BEGIN IMMEDIATE')
  const commit = db.prepare('COMMIT')
  const rollback = db.prepare('ROLLBACK')
  // Called inside the batch's transaction, a better-sqlite3 transaction function runs as a savepoint.
  const savepoint = db.transaction((op: Op) => op.run())

  let queue: Op[] = []
  let scheduled: NodeJS.Immediate | NodeJS.Timeout | undefined
  let retryDelay = RETRY_FIRST_MS
  let lockRetries = 0

  const schedule = (delay: number) => {
    scheduled = delay === 0 ? setImmediate(flush) : setTimeout(flush, delay)
  }
  const cancel = () => {
    clearImmediate(scheduled as NodeJS.Immediate)
    clearTimeout(scheduled as NodeJS.Timeout)
    scheduled = undefined
  }

  /** What failed the batch under way as a whole, if anything did. */
  let failure: unknown

  /** Runs the queued ops in one transaction; false when the write lock was taken. */
  function attempt(): boolean {
    const ops = queue
    queue = []
    try {
      begin.run()
    } catch (err) {
      if (isBusy(err)) {
        queue = ops
        return false
      }
      failure = err
      for (const op of ops) op.reject(err)
      return true
    }
    const done: { op: Op; outcome: Done<unknown> }[] = []
    const failed: { op: Op; err: unknown }[] = []
    let i = 0
    for (; i < ops.length; i++) {
      const op = ops[i]!
      try {
        done.push({ op, outcome: op.bare ? op.run() : savepoint(op) })
      } catch (err) {
        failed.push({ op, err })
        // SQLITE_FULL, IOERR and the like may roll back the whole transaction, not only the
        // savepoint. The next savepoint would then run as a transaction of its own and commit
        // alone: stop here, fail what ran, and leave the rest for the next batch. A write without
        // a savepoint of its own that throws may have left rows behind: the same.
        if (!db.inTransaction || op.bare) {
          if (db.inTransaction) rollback.run()
          failure = err
          for (const d of done) d.op.reject(err)
          for (const f of failed) f.op.reject(f.err)
          queue = ops.slice(i + 1)
          return true
        }
      }
    }
    try {
      commit.run()
    } catch (err) {
      if (db.inTransaction) rollback.run()
      failure = err
      for (const op of ops) op.reject(err)
      return true
    }
    for (const { op, outcome } of done) {
      outcome.apply?.()
      op.resolve(outcome.result)
    }
    for (const { op, err } of failed) op.reject(err)
    return true
  }

  const attemptBatch = () => {
    failure = undefined
    let ended = false
    try {
      ended = attempt()
      return ended
    } finally {
      afterBatch(!ended ? 'busy' : failure === undefined ? 'committed' : { failed: failure })
    }
  }

  function flush() {
    scheduled = undefined
    if (attemptBatch()) retryDelay = RETRY_FIRST_MS
    else {
      lockRetries++
      schedule(retryDelay)
      retryDelay = Math.min(retryDelay * 2, RETRY_MAX_MS)
      return
    }
    if (queue.length > 0) schedule(0)
  }

  return {
    write: <T>(run: () => Done<T>, options: WriteOptions = {}) =>
      new Promise<T>((resolve, reject) => {
        queue.push({ run, bare: options.ownSavepoints === true, resolve: resolve as (value: unknown) => void, reject })
        if (scheduled === undefined) schedule(0)
      }),
    get lockRetries() {
      return lockRetries
    },
    drain() {
      cancel()
      db.pragma(`busy_timeout = ${CLOSE_BUSY_TIMEOUT_MS}`)
      while (queue.length > 0) {
        if (!attemptBatch()) {
          const err = Object.assign(new Error('the database stayed locked by another process; these writes were not committed'), { code: 'SQLITE_BUSY' })
          for (const op of queue.splice(0)) op.reject(err)
        }
      }
    },
  }
}
