// SQLite's reads over the database, and output retention: the run log of any check, the finishes
// that rebuild a streak; each a statement on the connection, none kept in memory.
import type { Database } from 'better-sqlite3'
import type { GroupCommit } from './group-commit.js'
import { finishesOf, logEntries, logKeep, logPage, outputRange, type BodyRow, type SignalRow } from '../rows.js'
import type { Store } from '../contract.js'

/** Free pages given back to the file per retention step: more than the outputs of a step hold. */
const RECLAIM_PAGES = 4096

export function sqliteReads(db: Database, write: GroupCommit['write']): Pick<Store, 'finishes' | 'runLog' | 'pruneOutputs'> {
  const rowsOf = db.prepare('SELECT * FROM check_signal WHERE id = ? ORDER BY seq')
  const newestRows = db.prepare('SELECT * FROM check_signal WHERE id = ? ORDER BY seq DESC LIMIT ?')
  const bodiesOf = db.prepare('SELECT seq, body FROM signal_body WHERE id = ? AND seq BETWEEN ? AND ?')
  const pruneOld = db.prepare('DELETE FROM signal_body WHERE rowid IN (SELECT rowid FROM signal_body WHERE at < ? ORDER BY at LIMIT ?)')
  const outputBytes = db.prepare('SELECT coalesce(sum(kept), 0) AS bytes FROM signal_body')
  // The oldest outputs, up to @limit, that hold @over bytes (the one that passes it included).
  const pruneOldest = db.prepare(
    `DELETE FROM signal_body WHERE rowid IN (
       SELECT rowid FROM (SELECT rowid, kept, sum(kept) OVER (ORDER BY at, rowid) AS upto FROM signal_body ORDER BY at, rowid LIMIT @limit) WHERE upto - kept < @over
     )`,
  )

  return {
    finishes: async (id) => finishesOf(rowsOf.all(id) as SignalRow[]),
    async runLog(key, page) {
      // A row holds one signal at least: `keep` rows hold the newest `keep` signals.
      const signals = logPage(newestRows.all(key, logKeep(page)) as SignalRow[], page)
      const range = outputRange(signals)
      return logEntries(signals, range === undefined ? [] : (bodiesOf.all(key, ...range) as BodyRow[]))
    },
    async pruneOutputs({ before, maxBytes, downTo, limit }) {
      // Each step its own write, queued behind the check-ins like any other.
      return write(() => {
        let deleted = pruneOld.run(before, limit).changes
        if (deleted === 0) {
          const { bytes } = outputBytes.get() as { bytes: number }
          if (bytes > maxBytes) deleted = pruneOldest.run({ limit, over: bytes - downTo }).changes
        }
        db.pragma(`incremental_vacuum(${RECLAIM_PAGES})`)
        return { result: deleted }
      })
    },
  }
}
