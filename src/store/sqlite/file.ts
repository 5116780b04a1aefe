// The SQLite file: its folder, its pragmas and its schema, before the store reads it (store.ts).
import { existsSync, mkdirSync, statSync } from 'node:fs'
import { dirname } from 'node:path'
import Database from 'better-sqlite3'
import { migrate } from './migrations.js'

/**
 * Creates the missing folders of `dir`, outermost first. Not mkdirSync's `recursive` option: on
 * some filesystems (/proc) it loops forever instead of failing, and start-up would hang.
 */
function makeFolders(dir: string): void {
  if (existsSync(dir)) {
    if (!statSync(dir).isDirectory()) throw new Error(`${dir} is not a folder`)
    return
  }
  const parent = dirname(dir)
  if (parent !== dir) makeFolders(parent)
  mkdirSync(dir)
}

const AUTO_VACUUM_INCREMENTAL = 2
const WAL_LIMIT_BYTES = 16 * 1024 * 1024

/**
 * Opens the database at `path` (creating the file and its folders if needed), sets its pragmas and
 * brings its schema up to date; `maxPages` caps it, as a full disk would (tests of write failures).
 */
export function openDatabase(path: string, maxPages: number | undefined): Database.Database {
  if (path !== ':memory:') makeFolders(dirname(path))
  const db = new Database(path)
  // Deleted outputs give their pages back to the file (pruneOutputs frees them a step at a time);
  // without it the file kept the size of its largest day. A new file takes the mode as it is; one
  // written before is rewritten once.
  if (db.pragma('auto_vacuum', { simple: true }) !== AUTO_VACUUM_INCREMENTAL) {
    db.pragma('auto_vacuum = INCREMENTAL')
    if ((db.pragma('page_count', { simple: true }) as number) > 0) db.exec('VACUUM')
  }
  db.pragma('journal_mode = WAL')
  // After a checkpoint the WAL is cut back to this: a burst of writes leaves no large file behind.
  db.pragma(`journal_size_limit = ${WAL_LIMIT_BYTES}`)
  // NORMAL in WAL mode: a commit survives a crash of this process (kill -9); only a power loss
  // can take back the last commits.
  db.pragma('synchronous = NORMAL')
  // Migrations run once, at start-up, before anything is served: they may wait for the lock.
  db.pragma('busy_timeout = 5000')
  migrate(db)
  if (maxPages !== undefined) db.pragma(`max_page_count = ${maxPages}`)
  return db
}
