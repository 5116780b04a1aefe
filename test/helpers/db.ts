// Another process's hold on the database, and waiting for a condition instead of for time.
import Database from 'better-sqlite3'

/** Takes the write lock of the database at `path` on a second connection, as the sqlite3 shell or a backup would. */
export function holdWriteLock(path: string): { release: () => void; count: (sql: string) => number } {
  const other = new Database(path, { timeout: 0 })
  other.exec('BEGIN IMMEDIATE')
  return {
    release: () => {
      other.exec('ROLLBACK')
      other.close()
    },
    count: (sql) => (other.prepare(sql).get() as { n: number }).n,
  }
}

/** Resolves once `condition()` holds, checking every few milliseconds; rejects after `timeoutMs`. */
export async function waitUntil(condition: () => boolean, what: string, timeoutMs = 10_000): Promise<void> {
  const until = Date.now() + timeoutMs
  while (!condition()) {
    if (Date.now() > until) throw new Error(`still not ${what} after ${timeoutMs} ms`)
    await new Promise((resolve) => setTimeout(resolve, 2))
  }
}

/** Rows of `sql` on a fresh connection to the file: what a restart would see. */
export function onDisk<T>(path: string, sql: string): T[] {
  const db = new Database(path, { readonly: true })
  try {
    return db.prepare(sql).all() as T[]
  } finally {
    db.close()
  }
}
