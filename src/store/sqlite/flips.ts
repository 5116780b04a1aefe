// SQLite's half of flips (check_flip): the codec and the memory are the core's (../flips.ts).
import type { Database } from 'better-sqlite3'
import type { Flip } from '../../domain/flip.js'
import { FlipMemory, flipOf, flipValues, RECENT_MS, type FlipMethods, type FlipRow } from '../flips.js'
import type { GroupCommit } from './group-commit.js'

/** SQLite's flips: each record a write of the group commit, as a check-in is (a WAL commit, no fsync). */
export function sqliteFlips(db: Database, write: GroupCommit['write']): FlipMethods {
  const memory = new FlipMemory()
  for (const row of db.prepare('SELECT * FROM check_flip WHERE at >= ? ORDER BY key, seq').iterate(Date.now() - RECENT_MS) as IterableIterator<FlipRow>) {
    memory.put(flipOf(row))
  }
  // A key's newest flip, however old: its state.
  for (const row of db
    .prepare('SELECT key, max(seq) AS seq, at, from_state, to_state, reason FROM check_flip GROUP BY key')
    .iterate() as IterableIterator<FlipRow>) {
    if (!memory.heads.has(row.key)) memory.put(flipOf(row))
  }
  const insert = db.prepare('INSERT INTO check_flip (key, seq, at, from_state, to_state, reason) VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT DO NOTHING')
  const newest = db.prepare('SELECT * FROM check_flip WHERE key = ? ORDER BY seq DESC LIMIT 1')
  const page = db.prepare('SELECT * FROM check_flip WHERE key = ? AND seq < ? AND at >= ? ORDER BY seq DESC LIMIT ?')
  // A key's newest flip stays, however old: it is the check's state and the seq its next flip follows.
  const pruneOld = db.prepare(
    `DELETE FROM check_flip WHERE (key, seq) IN (
       SELECT key, seq FROM check_flip f WHERE at < ? AND seq < (SELECT max(seq) FROM check_flip g WHERE g.key = f.key) ORDER BY at LIMIT ?)`,
  )
  // Keys with more than `keep` flips, and the seq below which theirs go: a few at a time.
  const crowded = db.prepare('SELECT key, max(seq) - ? AS below FROM check_flip GROUP BY key HAVING count(*) > ? LIMIT ?')
  const pruneKey = db.prepare('DELETE FROM check_flip WHERE key = ? AND seq <= ?')
  return {
    flipHeads: () => memory.heads,
    recentFlips: () => memory.recent,
    recordFlips: (flips) =>
      write(() => {
        const recorded: Flip[] = []
        const found: Flip[] = []
        for (const flip of flips) {
          if (insert.run(...flipValues(flip)).changes === 1) recorded.push(flip)
          else found.push(flipOf(newest.get(flip.key) as FlipRow))
        }
        return {
          result: recorded,
          apply: () => {
            for (const flip of [...recorded, ...found]) memory.put(flip)
          },
        }
      }),
    flipLog: async (key, { before, since, limit }) => (page.all(key, before ?? Number.MAX_SAFE_INTEGER, since ?? 0, limit) as FlipRow[]).map(flipOf),
    pruneFlips: ({ before, keep, limit }) =>
      write(() => {
        let deleted = pruneOld.run(before, limit).changes
        for (const { key, below } of crowded.all(keep, keep, limit) as { key: string; below: number }[]) {
          if (deleted >= limit) break
          deleted += pruneKey.run(key, below).changes
        }
        return { result: deleted }
      }),
  }
}
