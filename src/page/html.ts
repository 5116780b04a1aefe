// Small pure helpers for the page and the badges: escaping and human times.
import { isShowable } from '../domain/dates.js'
import { localTime } from '../time.js'

const ESCAPES: Record<string, string> = { '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' }

/** Escapes text for HTML and XML, in content and in quoted attributes alike. */
export const escapeHtml = (s: string) => s.replace(/[&<>"']/g, (c) => ESCAPES[c]!)

/**
 * "just now", "42 s ago", "3 min ago", "5 h ago", "2 d ago" ("in …" for a time ahead of now), and
 * past 30 days the date itself ("on 2020-01-01"), which says more than a count of days.
 */
export function relativeTime(ms: number, now: number): string {
  if (!isShowable(ms)) return ms > now ? 'after the year 9999' : 'before 1970'
  const seconds = Math.round((now - ms) / 1000)
  const abs = Math.abs(seconds)
  if (abs < 10) return 'just now'
  if (abs >= 30 * 86_400) return `on ${localTime(ms)!.slice(0, 10)}`
  const amount =
    abs < 60 ? `${abs} s` : abs < 3600 ? `${Math.floor(abs / 60)} min` : abs < 86_400 ? `${Math.floor(abs / 3600)} h` : `${Math.floor(abs / 86_400)} d`
  return seconds >= 0 ? `${amount} ago` : `in ${amount}`
}
