// WAL checkpoints on a thread of their own. SQLite checkpoints by itself inside the commit that
// takes the WAL past wal_autocheckpoint pages, and syncs the database file there: on the event
// loop, in a check-in's commit. Measured with better-sqlite3 (a commit of two 16-signal rows, 20,000
// in a row): 90-107 µs a commit with the automatic checkpoint, 48 µs without it. Here a worker
// thread, on its own connection, copies the WAL back while the event loop goes on writing (PASSIVE:
// it never blocks the writer), and restarts the WAL once it holds RESTART_PAGES pages (RESTART waits
// a moment for the writer to finish, so that the next commit writes the WAL from its start and the
// file keeps its size). No library does this for better-sqlite3: it is a handful of pragmas.
import { statSync } from 'node:fs'
import { createRequire } from 'node:module'
import { Worker } from 'node:worker_threads'
import type { Database } from 'better-sqlite3'

/** Between checkpoints; one that finds nothing new to copy costs a few microseconds. */
const CHECKPOINT_MS = 25
/**
 * Once the WAL holds this many pages (8 MiB of 4 KiB pages), the checkpoint restarts it: the file
 * stays within the 16 MiB the store sets as journal_size_limit, at up to ~200 MiB/s of writes.
 */
const RESTART_PAGES = 2048
/** How long a restarting checkpoint waits for the writer's transaction to end. */
const RESTART_BUSY_MS = 50

/** The WAL size at which the thread starts: a store that writes little never needs one. */
const START_BYTES = 1024 * 1024

export interface Checkpointer {
  /** After each commit: starts the thread once the WAL has grown past START_BYTES. */
  committed(): void
  /** Whether the thread has started. */
  readonly started: boolean
  /** Stops the thread, after a last checkpoint; its connection closes with it. */
  close(): Promise<void>
}

// A script, not a module file: it runs the same from src (under the tests' TypeScript loader) and
// from dist, and needs nothing but better-sqlite3.
const WORKER = `
const { parentPort, workerData } = require('node:worker_threads')
const Database = require(workerData.driver)
const db = new Database(workerData.path)
// A failure is told once, not every CHECKPOINT_MS while it lasts (a full disk): again only after
// a checkpoint has gone through.
let failing = false
const checkpoint = (mode) => {
  try {
    const done = db.pragma('wal_checkpoint(' + mode + ')')[0]
    failing = false
    return done
  } catch (err) {
    if (!failing) parentPort.postMessage({ error: String(err && err.message || err) })
    failing = true
  }
}
db.pragma('busy_timeout = 0')
parentPort.postMessage({ ready: true })
const timer = setInterval(() => {
  const done = checkpoint('PASSIVE')
  if (done && done.log >= workerData.restartPages) {
    db.pragma('busy_timeout = ' + workerData.restartBusyMs)
    checkpoint('RESTART')
    db.pragma('busy_timeout = 0')
  }
}, workerData.everyMs)
parentPort.on('message', () => {
  clearInterval(timer)
  checkpoint('PASSIVE')
  db.close()
  parentPort.close()
})
`

/**
 * Checkpoints the WAL of the database of `db` (at `path`, in WAL mode) on a worker thread, once the
 * WAL file has grown past START_BYTES; from then on `db` checkpoints no more by itself (SQLite's
 * own checkpoint comes due at 1,000 pages, 4 MiB, past that). `onError` hears a checkpoint that
 * failed, once until one goes through again (the next one tries again).
 */
export function checkpointer(db: Database, path: string, onError: (err: unknown) => void): Checkpointer {
  const wal = `${path}-wal`
  let worker: Worker | undefined
  let exited: Promise<void> | undefined
  return {
    committed() {
      if (worker !== undefined || (statSync(wal, { throwIfNoEntry: false })?.size ?? 0) < START_BYTES) return
      worker = new Worker(WORKER, {
        eval: true,
        workerData: {
          path,
          driver: createRequire(import.meta.url).resolve('better-sqlite3'),
          everyMs: CHECKPOINT_MS,
          restartPages: RESTART_PAGES,
          restartBusyMs: RESTART_BUSY_MS,
        },
      })
      worker.unref()
      worker.on('message', (message: { ready?: true; error?: string }) => {
        // From here the thread checkpoints; until then SQLite's own checkpoint stays due.
        if (message.ready && db.open) db.pragma('wal_autocheckpoint = 0')
        if (message.error !== undefined) onError(new Error(message.error))
      })
      worker.on('error', onError)
      exited = new Promise<void>((resolve) => worker!.once('exit', () => resolve()))
    },
    get started() {
      return worker !== undefined
    },
    async close() {
      if (worker === undefined) return
      // Held until it has exited: the process must not end between its last checkpoint and ours.
      worker.ref()
      worker.postMessage('close')
      await exited
    },
  }
}
