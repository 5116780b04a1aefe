// An independent oracle for cron due times: a minute-by-minute walk over real instants that reads
// each instant's wall time in the zone (Intl, not croner) and applies cronsim's daylight-saving
// rules itself. Random expressions, near real transitions, must get the same due time from both.
import fc from 'fast-check'
import t from 'tap'
import { nextDue } from '../../src/domain/schedule.js'
import { cronSchedule } from '../../src/domain/schedule.js'

const MINUTE = 60_000

interface Wall {
  minute: number
  hour: number
  day: number
  month: number
  weekday: number
  /** Minutes east of UTC. */
  offset: number
}

const formats = new Map<string, Intl.DateTimeFormat>()
function wall(ms: number, tz: string): Wall {
  let f = formats.get(tz)
  if (f === undefined) {
    f = new Intl.DateTimeFormat('en-US', {
      timeZone: tz,
      hourCycle: 'h23',
      year: 'numeric',
      month: 'numeric',
      day: 'numeric',
      hour: 'numeric',
      minute: 'numeric',
      weekday: 'short',
      timeZoneName: 'longOffset',
    })
    formats.set(tz, f)
  }
  const p = Object.fromEntries(f.formatToParts(ms).map(({ type, value }) => [type, value]))
  const m = /GMT(?:([+-])(\d\d):(\d\d))?/.exec(p.timeZoneName!)!
  const offset = m[1] === undefined ? 0 : (m[1] === '-' ? -1 : 1) * (Number(m[2]) * 60 + Number(m[3]))
  const weekday = ['Sun', 'Mon', 'Tue', 'Wed', 'Thu', 'Fri', 'Sat'].indexOf(p.weekday!)
  return { minute: Number(p.minute), hour: Number(p.hour), day: Number(p.day), month: Number(p.month), weekday, offset }
}

/** The values a field allows: *, a value, a list, a range, a step over * or over a range. */
function values(field: string, min: number, max: number): Set<number> {
  const out = new Set<number>()
  for (const part of field.split(',')) {
    const [range, step = '1'] = part.split('/')
    const [lo, hi] = range === '*' ? [min, max] : range!.includes('-') ? range!.split('-').map(Number) : [Number(range), step === '1' ? Number(range) : max]
    for (let v = lo!; v <= hi!; v += Number(step)) out.add(v)
  }
  return out
}

interface Expr {
  text: string
  minutes: Set<number>
  hours: Set<number>
  days: Set<number> | undefined
  weekdays: Set<number> | undefined
  /** No wildcard or step in minute and hour: cronsim's fixed-time job. */
  fixed: boolean
}

function parse(text: string): Expr {
  const [mi, h, dom, , dow] = text.split(' ') as [string, string, string, string, string]
  const weekdays = dow === '*' ? undefined : new Set([...values(dow, 0, 7)].map((d) => d % 7))
  return {
    text,
    minutes: values(mi, 0, 59),
    hours: values(h, 0, 23),
    days: dom === '*' ? undefined : values(dom, 1, 31),
    weekdays,
    fixed: !/[*/]/.test(mi + h),
  }
}

/** Day-of-month and day-of-week: either one when both are restricted, as in Vixie cron. */
const dayMatches = (e: Expr, w: Pick<Wall, 'day' | 'weekday'>) =>
  e.days !== undefined && e.weekdays !== undefined
    ? e.days.has(w.day) || e.weekdays.has(w.weekday)
    : (e.days?.has(w.day) ?? true) && (e.weekdays?.has(w.weekday) ?? true)
const matches = (e: Expr, w: Wall) => e.minutes.has(w.minute) && e.hours.has(w.hour) && dayMatches(e, w)

/** The wall time `k` minutes before `w`, on the wall clock (no zone): for the times a gap skips. */
function wallMinus(w: Wall, ms: number, k: number): Wall {
  const local = new Date(ms + w.offset * MINUTE - k * MINUTE)
  return {
    minute: local.getUTCMinutes(),
    hour: local.getUTCHours(),
    day: local.getUTCDate(),
    month: local.getUTCMonth() + 1,
    weekday: local.getUTCDay(),
    offset: w.offset,
  }
}

/** The first instant strictly after `last` at which the job runs, by cronsim's rules. */
function oracle(e: Expr, tz: string, last: number): number {
  let t = Math.floor(last / MINUTE) * MINUTE + MINUTE
  let previous = wall(t - MINUTE, tz)
  for (let n = 0; n < 60 * 24 * 40; n++, t += MINUTE) {
    const w = wall(t, tz)
    const jump = w.offset - previous.offset
    previous = w
    if (matches(e, w)) {
      // Fall back: a wall time seen before, `shift` minutes earlier. A fixed-time job runs once.
      const secondPass = e.fixed && [30, 60].some((shift) => wall(t - shift * MINUTE, tz).offset - w.offset === shift)
      if (!secondPass) return t
    }
    // Spring forward: wall times that never happen. A fixed-time job due in the gap runs now.
    if (jump > 0 && e.fixed) {
      for (let k = 1; k <= jump; k++) if (matches(e, wallMinus(w, t, k))) return t
    }
  }
  throw new Error(`no run within 40 days of ${new Date(last).toISOString()} for ${e.text} in ${tz}`)
}

// The 2025 transitions of each zone (Kolkata has none: any instant will do), as UTC instants.
const ZONES: Record<string, number[]> = {
  'America/New_York': [Date.parse('2025-03-09T07:00:00Z'), Date.parse('2025-11-02T06:00:00Z')],
  'Europe/Berlin': [Date.parse('2025-03-30T01:00:00Z'), Date.parse('2025-10-26T01:00:00Z')],
  'Australia/Lord_Howe': [Date.parse('2025-04-05T15:00:00Z'), Date.parse('2025-10-04T15:30:00Z')],
  'Asia/Kolkata': [Date.parse('2025-06-01T00:00:00Z')],
}

const value = (max: number) => fc.integer({ min: 0, max })
const field = (max: number) =>
  fc.oneof(
    value(max).map(String),
    fc.tuple(value(max), value(max)).map(([a, b]) => (a === b ? String(a) : `${Math.min(a, b)},${Math.max(a, b)}`)),
    fc.tuple(value(max), value(max)).map(([a, b]) => `${Math.min(a, b)}-${Math.max(a, b)}`),
    fc.integer({ min: 2, max: Math.min(max, 30) }).map((k) => `*/${k}`),
    fc.constant('*'),
  )
// Hours near the transitions (1 to 3 at night) are drawn more often: that is where the rules differ.
const hour = fc.oneof(field(23), fc.constantFrom('1', '2', '3', '2,3', '1-3', '2-4', '0,2'))
const minute = fc.oneof(field(59), fc.constantFrom('0', '15', '30', '45', '59'))
const days = fc.oneof(
  fc.constant(['*', '*']),
  fc.tuple(fc.integer({ min: 1, max: 28 }), fc.integer({ min: 0, max: 6 })).map(([d, w]) => [String(d), String(w)]),
  fc.constantFrom(['*', '1-5'], ['*', '0'], ['*', '6,0']),
)
const expression = fc.tuple(minute, hour, days).map(([mi, h, [dom, dow]]) => `${mi} ${h} ${dom} * ${dow}`)
const zone = fc.constantFrom(...Object.keys(ZONES))

t.test('croner with the no-wildcard rule gives the due time an independent minute-by-minute search gives', async (t) => {
  let compared = 0
  await fc.assert(
    fc.property(
      expression,
      zone,
      fc.integer({ min: -36 * 60, max: 36 * 60 }),
      fc.integer({ min: 0, max: 59 }),
      fc.nat(),
      (text, tz, minutes, seconds, pick) => {
        const transitions = ZONES[tz]!
        const last = transitions[pick % transitions.length]! + minutes * MINUTE + seconds * 1000
        const schedule = cronSchedule(text, tz, last)
        if ('error' in schedule) throw new Error(`${text}: ${schedule.error}`)
        const expected = oracle(parse(text), tz, last)
        const actual = nextDue(schedule, last)
        compared++
        if (actual !== expected) {
          throw new Error(
            `${text} in ${tz} after ${new Date(last).toISOString()}: croner ${new Date(actual).toISOString()}, oracle ${new Date(expected).toISOString()}`,
          )
        }
      },
    ),
    { numRuns: 300 },
  )
  t.equal(compared, 300)
})

t.test("the oracle itself keeps the rules: the issue's cases", async (t) => {
  const at = (text: string, tz: string, last: string) => new Date(oracle(parse(text), tz, Date.parse(last))).toISOString()
  t.equal(at('30 2 * * *', 'America/New_York', '2025-03-08T12:00:00Z'), '2025-03-09T07:00:00.000Z', 'spring forward: at the end of the gap')
  t.equal(at('30 1 * * *', 'America/New_York', '2025-11-02T05:30:00Z'), '2025-11-03T06:30:00.000Z', 'fall back: fixed time once')
  t.equal(at('30 * * * *', 'America/New_York', '2025-11-02T05:30:00Z'), '2025-11-02T06:30:00.000Z', 'fall back: wildcard hour twice')
  t.equal(at('*/15 2 * * *', 'America/New_York', '2025-03-09T06:50:00Z'), '2025-03-10T06:00:00.000Z', 'a stepped minute in the gap is skipped')
})
