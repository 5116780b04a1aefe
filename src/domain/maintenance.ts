// Maintenance windows: a cron schedule of starts, each opening a window of a fixed length. Inside
// one a check is in maintenance (not down), and a deadline that falls inside one moves past it.
// Pure: every time is a parameter; the memo below only saves work.
import type { Schedule } from './schedule.js'

export interface MaintenanceWindow {
  /** When windows start. */
  readonly schedule: Extract<Schedule, { kind: 'cron' }>
  /** Seconds each window lasts. */
  readonly seconds: number
  /** The same for windows that are the same: expression, zone and length. */
  readonly key: string
}

/** One window: [start, end) in ms since the epoch. */
export interface Span {
  readonly start: number
  readonly end: number
}

export const NO_WINDOWS: readonly MaintenanceWindow[] = Object.freeze([])

/** The first window of `w` that ends after `t`, whether `t` is in it or before it. */
function upcoming(w: MaintenanceWindow, t: number): Span | undefined {
  // A window that contains t started less than its length before it: the first start strictly
  // after t - length is that one, else the next.
  const start = w.schedule.cron.nextRun(new Date(t - w.seconds * 1000))?.getTime()
  return start === undefined ? undefined : { start, end: start + w.seconds * 1000 }
}

// Status is asked for every check on every scrape; a cron occurrence costs tens of microseconds.
// The first window ending after `from` stays the first one ending after any later time before
// its end, so each window object is computed again only once its window is over.
const memo = new WeakMap<MaintenanceWindow, { from: number; span: Span | undefined }>()

function upcomingNow(w: MaintenanceWindow, now: number): Span | undefined {
  const known = memo.get(w)
  if (known !== undefined && known.from <= now && (known.span === undefined || now < known.span.end)) return known.span
  const span = upcoming(w, now)
  memo.set(w, { from: now, span })
  return span
}

/** The window `t` is in (the one that ends last, when several overlap); undefined outside them. */
export function windowAt(windows: readonly MaintenanceWindow[], t: number, find = upcoming): Span | undefined {
  let found: Span | undefined
  for (const w of windows) {
    const span = find(w, t)
    if (span !== undefined && span.start <= t && (found === undefined || span.end > found.end)) found = span
  }
  return found
}

/** The window the check is in at `now`, for its status. */
export const windowNow = (windows: readonly MaintenanceWindow[], now: number) => (windows.length === 0 ? undefined : windowAt(windows, now, upcomingNow))

/** The window `now` is in, else the next one to start; undefined when there is none. */
export function nextWindow(windows: readonly MaintenanceWindow[], now: number): Span | undefined {
  let next: Span | undefined
  for (const w of windows) {
    const span = upcomingNow(w, now)
    if (span !== undefined && (next === undefined || span.start < next.start)) next = span
  }
  return next
}

/**
 * A deadline that falls inside a window moves to the window's end plus `grace` (ms), and again if
 * that falls inside a window: the check gets its grace back once maintenance is over. Bounded,
 * for windows that leave no gap.
 */
export function deadlinePastWindows(windows: readonly MaintenanceWindow[], deadline: number, grace: number): number {
  for (let i = 0; i < 100 && windows.length > 0 && Number.isFinite(deadline); i++) {
    const span = windowAt(windows, deadline)
    if (span === undefined) break
    deadline = span.end + grace
  }
  return deadline
}
