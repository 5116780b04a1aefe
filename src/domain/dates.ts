// Scripto's last_exec values: its SQL keywords, or an ISO 8601 date or date-time; and the instants
// that statuspage can show.

/**
 * The first and last instants that fall within the years 1970 to 9999 in every time zone (UTC-12
 * to UTC+14): every instant a date formatter is given must lie between them, or it shows null.
 */
const TIME_MIN = Date.UTC(1970, 0, 1, 12)
const TIME_MAX = Date.UTC(9999, 11, 31, 10) - 1

/** Whether `ms` is an instant that every zone writes with a four-digit year from 1970 to 9999. */
export const isShowable = (ms: number): boolean => ms >= TIME_MIN && ms <= TIME_MAX

/** What a date outside TIME_MIN..TIME_MAX is told, for 4xx messages. */
export const TIME_RANGE = 'must lie within the years 1970 to 9999 in every time zone (1970-01-01T12:00:00Z to 9999-12-31T09:59:59Z)'

const ISO = /^(\d{4})-(\d{2})-(\d{2})(?:[T ](\d{2}):(\d{2})(?::(\d{2})(\.\d{1,9})?)?(Z|[+-]\d{2}:?\d{2})?)?$/i

/**
 * ms since the epoch, or undefined when the text is neither a keyword nor a real calendar date.
 * The caller refuses one that is not showable (isShowable).
 * CURRENT_TIMESTAMP and LOCALTIMESTAMP are `now`; CURRENT_DATE is today at 00:00 UTC; a date-time
 * without an offset is UTC, as Scripto stored it.
 */
export function parseScriptoDate(text: string, now: number): number | undefined {
  switch (text) {
    case 'CURRENT_TIMESTAMP':
    case 'LOCALTIMESTAMP':
      return now
    case 'CURRENT_DATE':
      return now - (now % 86_400_000)
  }
  const m = ISO.exec(text)
  if (m === null) return undefined
  const [, y, mo, d, h = '00', mi = '00', s = '00', frac = '', zone = 'Z'] = m
  const offset = zone.toUpperCase() === 'Z' ? 'Z' : `${zone.slice(0, 3)}:${zone.slice(-2)}`
  const ms = Date.parse(`${y}-${mo}-${d}T${h}:${mi}:${s}${frac.slice(0, 4)}${offset}`)
  if (Number.isNaN(ms)) return undefined
  // Date.parse rolls 2026-02-30 over into March; a date that does not exist is refused instead.
  const check = new Date(Date.UTC(Number(y), Number(mo) - 1, Number(d)))
  if (check.getUTCMonth() !== Number(mo) - 1 || check.getUTCDate() !== Number(d) || Number(h) > 23) return undefined
  return ms
}
