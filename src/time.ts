// Times in the server's time zone (the TZ variable) with their offset. Date has no such formatter
// and Intl gives no offset in this form, so they are assembled here.
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
export function isoLocal(ms: number): string {
  const { date, time, offset } = localParts(ms)
  return `${date}T${time}${offset}`
}

/** For people: 2026-11-21 05:00:00 +01:00 */
export function localTime(ms: number): string {
  const { date, time, offset } = localParts(ms)
  return `${date} ${time} ${offset}`
}
