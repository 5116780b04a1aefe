// Availability from a check's kept signals: the share of time it was up over a span, judged by
// the same rules as its status now (checkStatus), replayed signal by signal. Pure.
import { checkStatus, dueAfter, isUp, type CheckSpec } from './check.js'
import { applySignal, countRun, NO_RUNS, NO_STREAK, type Runs, type Signal, type Streak } from './run.js'

export interface Availability {
  /** The share of the judged time that the check was up: 0 to 1; null when no time was judged. */
  readonly ratio: number | null
  /** ms of the span the signals cover: from the oldest kept signal (or the span's start) to `now`. */
  readonly covered: number
}

/** Boundaries a status can change at inside a stretch with no signal: the deadline, timeouts, windows. */
function changesBetween(spec: CheckSpec, runs: Runs, deadline: number | undefined, from: number, to: number): number[] {
  const at = [from, to]
  if (deadline !== undefined && deadline > from && deadline < to) at.push(deadline)
  const { maxRuntime } = spec.limits
  if (maxRuntime !== undefined) for (const r of runs.open) at.push(r.start + maxRuntime * 1000)
  for (const w of spec.maintenance) {
    // Every start and end of a window within the stretch, bounded for windows every minute.
    let start = w.schedule.cron.nextRun(new Date(from - w.seconds * 1000))?.getTime()
    for (let n = 0; start !== undefined && start < to && n < 2000; n++) {
      at.push(start, start + w.seconds * 1000)
      start = w.schedule.cron.nextRun(new Date(start))?.getTime()
    }
  }
  return at.filter((t) => t >= from && t <= to).sort((a, b) => a - b)
}

/**
 * How much of [now - span, now] the check was up, for each of `spans`, from `signals` (oldest
 * first), in one replay. Time before the first signal is not judged (the log does not say), nor
 * time paused or in maintenance.
 */
export function availability(spec: CheckSpec, signals: readonly Signal[], now: number, spans: readonly number[]): Availability[] {
  const begins = spans.map((span) => now - span)
  const earliest = Math.min(...begins)
  const up = spans.map(() => 0)
  const judged = spans.map(() => 0)
  let runs = NO_RUNS
  let streak: Streak = NO_STREAK
  const judge = (from: number, to: number) => {
    if (to <= earliest || from >= to) return
    const due = dueAfter(spec, runs.lastSignal)
    const points = changesBetween(spec, runs, due?.deadline, Math.max(from, earliest), to)
    for (let i = 0; i + 1 < points.length; i++) {
      const [a, b] = [points[i]!, points[i + 1]!]
      if (b <= a) continue
      const status = checkStatus(spec, due, runs, streak, (a + b) / 2)
      if (status === 'paused' || status === 'maintenance' || status === 'never') continue
      begins.forEach((begin, k) => {
        const length = b - Math.max(a, begin)
        if (length <= 0) return
        judged[k]! += length
        if (isUp(status)) up[k]! += length
      })
    }
  }
  signals.forEach((signal, i) => {
    if (i > 0) judge(signals[i - 1]!.at, signal.at)
    const applied = applySignal(runs, signal)
    runs = applied.runs
    if (applied.finish !== undefined) streak = countRun(streak, applied.finish, spec.limits)
  })
  const first = signals[0]?.at
  if (first !== undefined) judge(signals.at(-1)!.at, now)
  return begins.map((begin, k) => ({
    ratio: judged[k] === 0 ? null : up[k]! / judged[k]!,
    covered: first === undefined ? 0 : now - Math.max(first, begin),
  }))
}
