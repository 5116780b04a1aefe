// PostgreSQL's flips, over the pool: apart from the batches of check-ins, which never wait for
// them. Replicas that judge the same change both insert it; ON CONFLICT on (key, seq) keeps one,
// and the other replica reads the row that won.
import type { Flip } from '../../domain/flip.js'
import { FlipMemory, flipOf, RECENT_MS, type FlipMethods, type FlipRow } from '../flips.js'
import type { Link } from './link.js'

/** The largest seq the integer column holds. */
const SEQ_MAX = 2 ** 31 - 1

export async function postgresFlips(link: Link): Promise<FlipMethods> {
  const { pool } = link
  const memory = new FlipMemory()
  const newest = async (keys: readonly string[]) =>
    (
      await pool.query<FlipRow>(
        keys.length === 0
          ? 'SELECT DISTINCT ON (key) * FROM check_flip ORDER BY key, seq DESC'
          : 'SELECT DISTINCT ON (key) * FROM check_flip WHERE key = ANY($1) ORDER BY key, seq DESC',
        keys.length === 0 ? [] : [keys],
      )
    ).rows.map(flipOf)
  for (const row of (await pool.query<FlipRow>('SELECT * FROM check_flip WHERE at >= $1 ORDER BY key, seq', [Date.now() - RECENT_MS])).rows) {
    memory.put(flipOf(row))
  }
  // A key's newest flip, however old: its state.
  for (const flip of await newest([])) if (!memory.heads.has(flip.key)) memory.put(flip)
  return {
    flipHeads: () => memory.heads,
    recentFlips: () => memory.recent,
    recordFlips: (flips) =>
      link.reading(async () => {
        if (flips.length === 0) return []
        const column = <T>(f: (flip: Flip) => T) => flips.map(f)
        const { rows } = await pool.query<{ key: string; seq: number }>(
          `INSERT INTO check_flip (key, seq, at, from_state, to_state, reason)
             SELECT * FROM unnest($1::text[], $2::integer[], $3::bigint[], $4::text[], $5::text[], $6::text[])
             ON CONFLICT DO NOTHING RETURNING key, seq`,
          [column((f) => f.key), column((f) => f.seq), column((f) => f.at), column((f) => f.from), column((f) => f.to), column((f) => f.reason)],
        )
        const won = new Set(rows.map((r) => `${r.key}\0${r.seq}`))
        const recorded = flips.filter((f) => won.has(`${f.key}\0${f.seq}`))
        const lost = flips.filter((f) => !won.has(`${f.key}\0${f.seq}`)).map((f) => f.key)
        for (const flip of [...recorded, ...(lost.length === 0 ? [] : await newest(lost))]) memory.put(flip)
        return recorded
      }),
    flipLog: (key, { before, since, limit }) =>
      link.reading(async () => {
        // seq is an integer column: a `before` past its range (the API takes any) is past every seq.
        const { rows } = await pool.query<FlipRow>('SELECT * FROM check_flip WHERE key = $1 AND seq < $2 AND at >= $3 ORDER BY seq DESC LIMIT $4', [
          key,
          Math.min(before ?? SEQ_MAX, SEQ_MAX),
          since ?? 0,
          limit,
        ])
        return rows.map(flipOf)
      }),
    pruneFlips: ({ before, keep, limit }) =>
      link.reading(async () => {
        // A key's newest flip stays, however old: it is the check's state and the seq its next flip follows.
        const old = await pool.query(
          `DELETE FROM check_flip WHERE (key, seq) IN (
             SELECT key, seq FROM check_flip f WHERE at < $1 AND seq < (SELECT max(seq) FROM check_flip g WHERE g.key = f.key) ORDER BY at LIMIT $2)`,
          [before, limit],
        )
        let deleted = old.rowCount ?? 0
        const { rows } = await pool.query<{ key: string; below: number }>(
          'SELECT key, max(seq) - $1 AS below FROM check_flip GROUP BY key HAVING count(*) > $1 LIMIT $2',
          [keep, limit],
        )
        for (const { key, below } of rows) {
          if (deleted >= limit) break
          deleted += (await pool.query('DELETE FROM check_flip WHERE key = $1 AND seq <= $2', [key, below])).rowCount ?? 0
        }
        return deleted
      }),
  }
}
