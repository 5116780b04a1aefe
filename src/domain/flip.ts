// Flips: a check's changes of state, recorded as they happen (the evaluator in monitor/, the
// check_flip table in the store). A flip's state is a check's status with `running` folded into
// `up`: a start and its finish are runs, not changes of state. Availability and downtimes are
// pure functions of a check's flips.
import { runningNow, type CheckSpec, type CheckStatus, type Due } from './check.js'
import { windowNow } from './maintenance.js'
import type { Runs } from './run.js'

export type FlipState = Exclude<CheckStatus, 'running'>

export const flipState = (status: CheckStatus): FlipState => (status === 'running' ? 'up' : status)

/** The states counted as down: what alerts and availability see. Never having reported is not. */
export const isDownState = (state: FlipState): boolean => state === 'late' || state === 'failed' || state === 'timeout'

/** A recorded change of state of the check with `key` (an item's id, a script's scriptKey). */
export interface Flip {
  readonly key: string
  /** 1 for a check's first flip, then one more for each: the compare-and-set that records each flip once. */
  readonly seq: number
  /** ms since the epoch of the change. */
  readonly at: number
  readonly from: FlipState
  readonly to: FlipState
  /** Why, for people (the status reason then); null when there is nothing to tell. */
  readonly reason: string | null
}

/** What a store keeps of each check's last flip, to compare the state now with. */
export interface FlipHead {
  readonly seq: number
  readonly at: number
  readonly to: FlipState
}

/** Before its first flip a check is taken as never having reported. */
export const NO_FLIP: FlipHead = Object.freeze({ seq: 0, at: 0, to: 'never' })

/**
 * When a check changed into `status` from its last flip (to `from`, at `since`), as well as its
 * records tell: the deadline it passed, the moment a run outlived max_runtime, a window's start,
 * the pause; out of a window, the window's end; else its last signal or resume; `now` when none of
 * them is after the last flip. Never before `since`, never after `now`.
 */
export function flipTime(status: CheckStatus, spec: CheckSpec, due: Due | undefined, runs: Runs, since: number, now: number, from?: FlipState): number {
  let at: number | undefined
  if (from === 'maintenance' && status !== 'maintenance') {
    const end = windowNow(spec.maintenance, since)?.end
    if (end !== undefined && end <= now) return Math.max(since, end)
  }
  switch (status) {
    case 'late':
      at = due?.deadline
      break
    case 'timeout': {
      const { maxRuntime } = spec.limits
      if (maxRuntime === undefined) break
      // The earliest open run past max_runtime: the check timed out when it did.
      const run = runs.open.find((r) => r.start + maxRuntime * 1000 < now)
      if (run !== undefined) at = run.start + maxRuntime * 1000
      break
    }
    case 'maintenance':
      at = windowNow(spec.maintenance, now)?.start
      break
    case 'paused':
      at = runs.paused
      break
    case 'running':
      at = runningNow(runs, spec.limits, now)?.start
      break
    default:
      at = Math.max(runs.lastSignal ?? -Infinity, runs.lastResume ?? -Infinity)
  }
  if (at === undefined || !Number.isFinite(at) || at < since) return Math.max(since, now)
  return Math.min(at, now)
}

export interface Uptime {
  /** The share of the judged time that the check was up, 0 to 1; null when no time was judged. */
  readonly ratio: number | null
  /** ms of the span that flips cover: from the span's start, or from the first flip inside it. */
  readonly covered: number
  /** ms down within the span. */
  readonly down: number
}

/**
 * How much of [now - span, now] the check was up, for each of `spans`, from its flips: `before`,
 * the last flip before the earliest span (if any), then `flips`, oldest first. Time before the
 * first flip, paused, in maintenance or never reported is not judged.
 */
export function uptime(before: Flip | undefined, flips: readonly Flip[], now: number, spans: readonly number[]): Uptime[] {
  return spans.map((span) => {
    const from = now - span
    let state: FlipState | undefined = before?.to
    let t = from
    let up = 0
    let down = 0
    let first: number | undefined = before === undefined ? undefined : from
    const judge = (until: number) => {
      if (state === undefined || until <= t) return
      if (state === 'paused' || state === 'maintenance' || state === 'never') return
      if (isDownState(state)) down += until - t
      else up += until - t
    }
    for (const flip of flips) {
      if (flip.at > now) break
      if (flip.at <= from) {
        state = flip.to
        first ??= from
        continue
      }
      judge(flip.at)
      t = flip.at
      state = flip.to
      first ??= flip.at
    }
    judge(now)
    return { ratio: up + down === 0 ? null : up / (up + down), covered: first === undefined ? 0 : now - first, down }
  })
}

export interface Downtime {
  /** ms since the epoch of the period's start (a month's first midnight, in the check's zone). */
  readonly start: number
  readonly end: number
  /** Times the check went down in the period (a down spell that began before it is not counted again). */
  readonly count: number
  /** ms down within the period. */
  readonly total: number
}

/**
 * Downtime per period (`bounds`: ascending start times, the last one the end), from flips
 * oldest first, as Healthchecks shows a check's monthly downtimes. A change between down states
 * (late to timeout) continues one spell.
 */
export function downtimes(before: Flip | undefined, flips: readonly Flip[], bounds: readonly number[], now: number): Downtime[] {
  const periods: Downtime[] = []
  for (let i = 0; i + 1 < bounds.length; i++) {
    const start = bounds[i]!
    const end = Math.min(bounds[i + 1]!, now)
    let down = before !== undefined && isDownState(before.to)
    let t = start
    let count = 0
    let total = 0
    for (const flip of flips) {
      if (flip.at >= end) break
      if (flip.at < start) {
        down = isDownState(flip.to)
        continue
      }
      if (down) total += flip.at - t
      t = flip.at
      const next = isDownState(flip.to)
      if (next && !down) count++
      down = next
    }
    if (down && end > t) total += end - t
    periods.push({ start, end: bounds[i + 1]!, count, total })
  }
  return periods
}

export interface Segment {
  readonly from: number
  readonly to: number
  readonly state: FlipState
}

/**
 * A check's states over [from, to], oldest first: `start` (its state at `from`), then each of
 * `flips` (oldest first; those before `from` only set the start). Empty stretches are left out.
 */
export function segments(start: FlipState, flips: readonly Flip[], from: number, to: number): Segment[] {
  const out: Segment[] = []
  let state = start
  let t = from
  for (const flip of flips) {
    if (flip.at >= to) break
    if (flip.at > t) {
      out.push({ from: t, to: flip.at, state })
      t = flip.at
    }
    state = flip.to
  }
  if (to > t) out.push({ from: t, to, state })
  return out
}
