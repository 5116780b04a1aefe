// Times in the server's time zone (the TZ variable) with their offset. Date has no such formatter
// and Intl gives no offset in this form, so they are assembled here. Each gives null for an instant
// that is not showable (isShowable): a value stored before ranges were checked, or a due time that
// a long interval puts past the year 9999, is shown as null, never as NaN nor as a RangeError.
import { isShowable } from './domain/dates.js'

const pad = (n: number) => String(Math.abs(n)).padStart(2, '0')

function localParts(ms: number) {
  const d = new Date(ms)
  const offset = -d.getTimezoneOffset()
  return {
    date: `${d.getFullYear()}-${pad(d.getMonth() + 1)}-${pad(d.getDate())}`,
    time: `${pad(d.getHours())}:${pad(d.getMinutes())}:${pad(d.getSeconds())}`,
    offset: `${offset >= 0 ? '+' : '-'}${pad(Math.trunc(offset / 60))}:${pad(offset % 60)}`,
  }
}

/** ISO 8601: 2026-11-21T05:00:00+01:00 */
export function isoLocal(ms: number): string | null {
  if (!isShowable(ms)) return null
  const { date, time, offset } = localParts(ms)
  return `${date}T${time}${offset}`
}

/** For people: 2026-11-21 05:00:00 +01:00 */
export function localTime(ms: number): string | null {
  if (!isShowable(ms)) return null
  const { date, time, offset } = localParts(ms)
  return `${date} ${time} ${offset}`
}

const zoned = new Map<string, Intl.DateTimeFormat>()

/**
 * ISO 8601 in the IANA zone `tz`, with that zone's offset at that instant:
 * isoIn(ms, 'America/New_York') -> 2025-03-09T03:00:00-04:00. Without a zone, the server's (isoLocal).
 */
export function isoIn(ms: number, tz: string | undefined): string | null {
  if (tz === undefined || !isShowable(ms)) return isoLocal(ms)
  let format = zoned.get(tz)
  if (format === undefined) {
    format = new Intl.DateTimeFormat('en-US', {
      timeZone: tz,
      hourCycle: 'h23',
      year: 'numeric',
      month: '2-digit',
      day: '2-digit',
      hour: '2-digit',
      minute: '2-digit',
      second: '2-digit',
      timeZoneName: 'longOffset',
    })
    zoned.set(tz, format)
  }
  const p = Object.fromEntries(format.formatToParts(ms).map(({ type, value }) => [type, value]))
  // longOffset reads "GMT+05:30", or plain "GMT" at +00:00.
  const offset = p.timeZoneName === 'GMT' ? '+00:00' : p.timeZoneName!.slice(3)
  return `${p.year}-${p.month}-${p.day}T${p.hour}:${p.minute}:${p.second}${offset}`
}

/** Scripto's date form: YYYY-MM-DDTHH:MM:SS in UTC, no offset, no fraction; null for none. */
export const scriptoDate = (ms: number | null | undefined): string | null =>
  ms === null || ms === undefined || !isShowable(ms) ? null : new Date(ms).toISOString().slice(0, 19)

/** For people, in the IANA zone `tz` (the server's without one): 2026-11-21 05:00:00 +01:00 */
export function timeIn(ms: number, tz: string | undefined): string | null {
  const iso = isoIn(ms, tz)
  return iso === null ? null : `${iso.slice(0, 10)} ${iso.slice(11, 19)} ${iso.slice(19)}`
}
