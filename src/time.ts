// ISO 8601 in the server's time zone with its offset (2026-11-21T05:00:00+01:00). Date has no
// such formatter and Intl gives no offset in this form, so it is assembled here.
const pad = (n: number, width = 2) => String(Math.abs(n)).padStart(width, '0')

export function isoLocal(ms: number): string {
  const d = new Date(ms)
  const offset = -d.getTimezoneOffset()
  const sign = offset >= 0 ? '+' : '-'
  return (
    `${d.getFullYear()}-${pad(d.getMonth() + 1)}-${pad(d.getDate())}` +
    `T${pad(d.getHours())}:${pad(d.getMinutes())}:${pad(d.getSeconds())}` +
    `${sign}${pad(Math.trunc(offset / 60))}:${pad(offset % 60)}`
  )
}
