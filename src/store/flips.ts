// Flips in the store (check_flip; see domain/flip.ts): the row codec both drivers share, and the
// heads each keeps in memory. The drivers' halves are sqlite/flips.ts and postgres/flips.ts.
import type { Flip, FlipHead, FlipState } from '../domain/flip.js'
import type { Store } from './contract.js'

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

export const flipValues = (f: Flip) => [f.key, f.seq, f.at, f.from, f.to, f.reason] as const

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
