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

export const headOf = (flip: Flip): FlipHead => ({ seq: flip.seq, at: flip.at, to: flip.to })

const flipValues = (f: Flip) => [f.key, f.seq, f.at, f.from, f.to, f.reason] as const

type FlipMethods = Pick<Store, 'flipHeads' | 'recordFlips' | 'flipLog' | 'recentFlips' | 'pruneFlips'>

/** The newest of each key's flips, in memory: what the evaluator compares each check's state with. */
export class FlipHeads {
  readonly map = new Map<string, FlipHead>()

  /** Keeps `head` unless a newer one is known (another replica's, read after a conflict). */
  put(key: string, head: FlipHead): void {
    const known = this.map.get(key)
    if (known === undefined || known.seq < head.seq) this.map.set(key, head)
  }
}

/** SQLite's flips: each record a write of the group commit, as a check-in is (a WAL commit, no fsync). */
export function sqliteFlips(db: Database, write: GroupCommit['write']): FlipMethods {
  const heads = new FlipHeads()
  for (const row of db
    .prepare('SELECT key, max(seq) AS seq, at, from_state, to_state, reason FROM check_flip GROUP BY key')
    .iterate() as IterableIterator<FlipRow>) {
    heads.put(row.key, headOf(flipOf(row)))
  }
  const insert = db.prepare('INSERT INTO check_flip (key, seq, at, from_state, to_state, reason) VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT DO NOTHING')
  const newest = db.prepare('SELECT * FROM check_flip WHERE key = ? ORDER BY seq DESC LIMIT 1')
  const page = db.prepare('SELECT * FROM check_flip WHERE key = ? AND seq < ? AND at >= ? ORDER BY seq DESC LIMIT ?')
  const recent = db.prepare('SELECT * FROM check_flip WHERE at >= ? ORDER BY key, seq')
  // A key's newest flip stays, however old: it is the check's state and the seq its next flip follows.
  const pruneOld = db.prepare(
    `DELETE FROM check_flip WHERE (key, seq) IN (
       SELECT key, seq FROM check_flip f WHERE at < ? AND seq < (SELECT max(seq) FROM check_flip g WHERE g.key = f.key) ORDER BY at LIMIT ?)`,
  )
  // Keys with more than `keep` flips, and the seq below which theirs go: a few at a time.
  const crowded = db.prepare('SELECT key, max(seq) - ? AS below FROM check_flip GROUP BY key HAVING count(*) > ? LIMIT ?')
  const pruneKey = db.prepare('DELETE FROM check_flip WHERE key = ? AND seq <= ?')
  return {
    flipHeads: () => heads.map,
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
            for (const flip of [...recorded, ...found]) heads.put(flip.key, headOf(flip))
          },
        }
      }),
    flipLog: async (key, { before, since, limit }) => (page.all(key, before ?? Number.MAX_SAFE_INTEGER, since ?? 0, limit) as FlipRow[]).map(flipOf),
    async recentFlips(since) {
      const byKey = new Map<string, Flip[]>()
      for (const row of recent.iterate(since) as IterableIterator<FlipRow>) {
        const flip = flipOf(row)
        const list = byKey.get(flip.key)
        if (list === undefined) byKey.set(flip.key, [flip])
        else list.push(flip)
      }
      return byKey
    },
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
