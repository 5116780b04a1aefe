// Another process's hold on the database, and waiting for a condition instead of for time.
import Database from 'better-sqlite3'
import type { FastifyInstance } from 'fastify'
import type { Store } from '../../src/store/contract.js'
import { TOKEN } from './app.js'

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
export async function waitUntil(condition: () => boolean | Promise<boolean>, what: string, timeoutMs = 10_000): Promise<void> {
  const until = Date.now() + timeoutMs
  while (!(await condition())) {
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

/**
 * Sends a refresh of `id` while another connection holds the write lock, and resolves once its
 * batch is queued behind the lock: whatever the test does next lands between request and commit.
 * `release` lets the batch commit; `answer` is the response.
 */
export async function refreshHeldByLock(app: FastifyInstance, dbPath: string, id: string) {
  const lock = holdWriteLock(dbPath)
  const answer = app.inject({ url: `/refresh/${id}`, headers: { 'x-token': TOKEN } })
  await waitUntil(() => app.monitor.storeHealth.lockRetries > 0, 'queued behind the lock')
  return { answer, release: lock.release }
}

/** The rows of check_signal that are items' signals (scripts' keys start with scripto:). */
const ITEM_SIGNALS = "(SELECT * FROM check_signal WHERE id NOT LIKE 'scripto:%')"

/** Each check's last signal on disk (an item's id, a script's key), as a table (id, last_refresh): what a restart sees. */
export const LAST_REFRESH = `(SELECT s.id, max(s.at + (j.value ->> 0)) AS last_refresh FROM check_signal s, json_each(s.signals) j GROUP BY s.id)`

/** Every item signal on disk, one row each, in order: id, seq, at, kind, rid, exit_status, duration. */
export const SIGNALS = `(SELECT s.id, s.seq + j.key AS seq, s.at + (j.value ->> 0) AS at, j.value ->> 1 AS kind, j.value ->> 2 AS rid,
  j.value ->> 3 AS exit_status, j.value ->> 4 AS duration FROM ${ITEM_SIGNALS} s, json_each(s.signals) j)`

/** The last signal (ms) of every check (an item's id, a script's key), as the store holds it. */
export const lastSignals = (store: Pick<Store, 'runs'>): Map<string, number> => new Map([...store.runs()].map(([id, runs]) => [id, runs.lastSignal!]))

/** Plain refreshes (successes) of `ids` at `at`; resolves to the ids written. */
export async function refreshIds(store: Store, ids: readonly string[], at: number): Promise<Set<string>> {
  const records = await Promise.all(ids.map((id) => store.recordSignal(id, { kind: 'success', at })))
  return new Set(ids.filter((_, i) => records[i] !== undefined))
}
