// Flips in the store (check_flip; see domain/flip.ts): the row codec both drivers share, the heads
// each keeps in memory, and SQLite's half. PostgreSQL's is postgres/flips.ts.
import type { Database } from 'better-sqlite3'
import type { Flip, FlipHead, FlipState } from '../domain/flip.js'
import type { GroupCommit } from './group-commit.js'
import type { Store } from './store.js'

export interface FlipRow {
  key: string
  seq: number | string
  at: number | string
  from_state: string
  to_state: string
  reason: string | null
}

/** PostgreSQL gives bigint columns as strings; every number here fits a double. */
export const flipOf = (row: FlipRow): Flip => ({
  key: row.key,
  seq: Number(row.seq),
  at: Number(row.at),
  from: row.from_state as FlipState,
  to: row.to_state as FlipState,
  reason: row.reason,
})

const headOf = (flip: Flip): FlipHead => ({ seq: flip.seq, at: flip.at, to: flip.to })

const flipValues = (f: Flip) => [f.key, f.seq, f.at, f.from, f.to, f.reason] as const

export type FlipMethods = Pick<Store, 'flipHeads' | 'recordFlips' | 'flipLog' | 'recentFlips' | 'pruneFlips'>

/** How far back a store keeps each check's flips in memory (recentFlips): the page's strips show 24 h of them. */
export const RECENT_MS = 25 * 3_600_000

/**
 * Each key's flips in memory: its newest (the head, what the evaluator compares the state now with)
 * and those of its last RECENT_MS, oldest first, for the history strips. Both are what this
 * replica recorded or read (another replica's, after a conflict, or at open).
 */
export class FlipMemory {
  readonly heads = new Map<string, FlipHead>()
  readonly recent = new Map<string, Flip[]>()

  /** Keeps `flip` unless a newer one of its key is known. */
  put(flip: Flip): void {
    const known = this.heads.get(flip.key)
    if (known !== undefined && known.seq >= flip.seq) return
    this.heads.set(flip.key, headOf(flip))
    const list = this.recent.get(flip.key)
    if (list === undefined) {
      this.recent.set(flip.key, [flip])
      return
    }
    list.push(flip)
    // The key's flips more than RECENT_MS before its newest go: a flapping check keeps a day's.
    let old = 0
    while (old < list.length - 1 && list[old]!.at < flip.at - RECENT_MS) old++
    if (old > 0) list.splice(0, old)
  }
}

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
