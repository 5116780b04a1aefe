import t from 'tap'
import { checkStatus, dueAfter, secondsToDeadline, timingFault, type CheckSpec, type Due } from '../../src/domain/check.js'
import { NO_WINDOWS } from '../../src/domain/maintenance.js'
import { DEFAULT_LIMITS, NO_RUNS, NO_STREAK } from '../../src/domain/run.js'
import { formatDuration, parseDuration } from '../../src/domain/duration.js'
import { cronSchedule, describeSchedule, type Schedule } from '../../src/domain/schedule.js'

const now = Date.UTC(2026, 0, 1)
const every = (seconds: number, grace = 0): CheckSpec => ({
  schedule: { kind: 'interval', seconds },
  grace,
  limits: DEFAULT_LIMITS,
  maintenance: NO_WINDOWS,
  manualResume: false,
})
/** The status of a check with no runs: signalled at due.last, or never. */
const checkState = (due: Due | undefined, succeeded: boolean, at: number) =>
  checkStatus(every(1), due, NO_RUNS, succeeded ? NO_STREAK : { ...NO_STREAK, failures: 1, failing: true }, at)
const cron = (expression: string, tz: string, grace = 3600): CheckSpec => {
  const schedule = cronSchedule(expression, tz, Date.UTC(2020, 0, 1))
  if ('error' in schedule) throw new Error(schedule.error)
  return { schedule, grace, limits: DEFAULT_LIMITS, maintenance: NO_WINDOWS, manualResume: false }
}
const iso = (ms: number | undefined) => (ms === undefined ? undefined : new Date(ms).toISOString())

t.test('an interval check is up until its interval has passed, and at the boundary itself', async (t) => {
  const state = (ago: number) => checkState(dueAfter(every(600), now - ago), true, now)
  t.equal(state(599_999), 'up', 'just inside')
  t.equal(state(600_000), 'up', 'exactly at the boundary')
  t.equal(state(600_001), 'late', 'one millisecond late')
  t.equal(state(0), 'up', 'just refreshed')
})

t.test('grace moves the deadline past the due time', async (t) => {
  const due = dueAfter(every(600, 90), now - 650_000)!
  t.same([due.nextDue, due.deadline], [now - 50_000, now + 40_000])
  t.equal(checkState(due, true, now), 'up')
  t.equal(secondsToDeadline(due, now), 40)
})

t.test('a check never reported is never, with no deadline; late wins over failed', async (t) => {
  t.equal(checkState(undefined, true, now), 'never')
  t.equal(secondsToDeadline(undefined, now), null)
  t.equal(checkState(dueAfter(every(60), now - 61_000), false, now), 'late')
  t.equal(checkState(dueAfter(every(60), now - 1000), false, now), 'failed')
})

t.test('seconds to the deadline count down to 0 and go negative once late', async (t) => {
  const at = (ago: number) => secondsToDeadline(dueAfter(every(600), now - ago), now)
  t.same([at(0), at(600_000), at(600_500), at(1_200_000)], [600, 0, -1, -600])
})

t.test('a cron check is due at the first occurrence strictly after its last check-in, in its zone', async (t) => {
  const spec = cron('30 2 * * *', 'Europe/Berlin')
  const due = dueAfter(spec, Date.UTC(2026, 0, 15, 1, 30))!
  t.equal(iso(due.nextDue), '2026-01-16T01:30:00.000Z', 'a check-in exactly at 02:30 is due the next night')
  t.equal(iso(due.deadline), '2026-01-16T02:30:00.000Z', 'one hour of grace')
})

t.test('a check-in before the cached due time computes no new occurrence', async (t) => {
  const spec = cron('0 * * * *', 'UTC')
  const first = dueAfter(spec, Date.UTC(2026, 0, 1, 10, 5))!
  const again = dueAfter(spec, Date.UTC(2026, 0, 1, 10, 50), first)!
  t.equal(again.nextDue, first.nextDue)
  t.equal(again.last, Date.UTC(2026, 0, 1, 10, 50))
  const later = dueAfter(spec, Date.UTC(2026, 0, 1, 11, 0), again)!
  t.equal(iso(later.nextDue), '2026-01-01T12:00:00.000Z', 'at the due time itself, the next one is computed')
})

// The daylight-saving cases, as cronsim (Healthchecks, Sentry Crons) decides them.
const DST: [string, string, string, string, string][] = [
  [
    'spring forward: a time in the gap runs at the first instant after it',
    '30 2 * * *',
    'America/New_York',
    '2025-03-08T12:00:00Z',
    '2025-03-09T07:00:00.000Z',
  ],
  ['fall back: a fixed time runs at its first pass', '30 1 * * *', 'America/New_York', '2025-11-02T04:00:00Z', '2025-11-02T05:30:00.000Z'],
  ['fall back: ... and not again at the second pass', '30 1 * * *', 'America/New_York', '2025-11-02T05:30:00Z', '2025-11-03T06:30:00.000Z'],
  ['fall back: a wildcard hour runs in both passes', '30 * * * *', 'America/New_York', '2025-11-02T05:30:00Z', '2025-11-02T06:30:00.000Z'],
  ['Berlin spring forward', '30 2 * * *', 'Europe/Berlin', '2025-03-29T12:00:00Z', '2025-03-30T01:00:00.000Z'],
  ['Berlin fall back: first pass only', '30 2 * * *', 'Europe/Berlin', '2025-10-26T00:30:00Z', '2025-10-27T01:30:00.000Z'],
  ['Lord Howe: a 30-minute gap', '15 2 * * *', 'Australia/Lord_Howe', '2025-10-04T12:00:00Z', '2025-10-04T15:30:00.000Z'],
  ['Lord Howe: a 30-minute fall back, first pass only', '45 1 * * *', 'Australia/Lord_Howe', '2026-04-04T14:45:00Z', '2026-04-05T15:15:00.000Z'],
  ['Kolkata: +05:30 and no daylight saving', '0 9 * * 1-5', 'Asia/Kolkata', '2025-03-08T12:00:00Z', '2025-03-10T03:30:00.000Z'],
]
for (const [what, expression, tz, last, expected] of DST) {
  t.test(`${what} (${expression}, ${tz})`, async (t) => {
    t.equal(iso(dueAfter(cron(expression, tz), Date.parse(last))!.nextDue), expected)
  })
}

t.test('nicknames, L, W, #, names and the OR of day-of-month and day-of-week all work', async (t) => {
  const from = Date.parse('2025-01-01T12:00:00Z')
  const next = (e: string) => iso(dueAfter(cron(e, 'UTC'), from)!.nextDue)
  t.equal(next('@hourly'), '2025-01-01T13:00:00.000Z')
  t.equal(next('@daily'), '2025-01-02T00:00:00.000Z')
  t.equal(next('@weekly'), '2025-01-05T00:00:00.000Z')
  t.equal(next('@monthly'), '2025-02-01T00:00:00.000Z')
  t.equal(next('@yearly'), '2026-01-01T00:00:00.000Z')
  t.equal(next('0 0 L * *'), '2025-01-31T00:00:00.000Z', 'last day of the month')
  t.equal(next('0 0 15W * *'), '2025-01-15T00:00:00.000Z', 'nearest weekday')
  t.equal(next('0 0 * * MON#2'), '2025-01-13T00:00:00.000Z', 'second Monday')
  t.equal(next('0 9 * JAN-MAR MON-FRI'), '2025-01-02T09:00:00.000Z')
  t.equal(next('0 0 20 * MON'), '2025-01-06T00:00:00.000Z', 'day 20 or a Monday, as in Vixie cron')
  t.equal(next('30 0 0 * * *'), '2025-01-02T00:00:30.000Z', 'six fields: seconds first')
})

t.test('a bad expression or zone is refused with what is wrong', async (t) => {
  const error = (e: string, tz = 'UTC') => {
    const r = cronSchedule(e, tz)
    return 'error' in r ? r.error : 'accepted'
  }
  t.equal(error('61 * * * *'), "'61 * * * *': minute 61 is out of range 0-59")
  t.equal(error('0 25 * * *'), "'0 25 * * *': hour 25 is out of range 0-23")
  t.equal(
    error('* * * *'),
    "'* * * *': must have 5 fields (minute hour day month weekday), or 6 with seconds first, or be @hourly, @daily, @weekly, @monthly or @yearly",
  )
  t.equal(error('0 0 31 2 *'), "'0 0 31 2 *': never matches a date")
  t.equal(error('0 0 * * *', 'Mars/Base'), "'Mars/Base' is not a known IANA time zone (such as Europe/Berlin or UTC)")
})

t.test('schedules read in words, with their zone', async (t) => {
  t.equal(describeSchedule(cron('30 2 * * *', 'Europe/Berlin').schedule), 'At 02:30 (Europe/Berlin)')
  t.equal(describeSchedule({ kind: 'interval', seconds: 5400 } as Schedule), 'every 1h30m')
})

t.test('durations are seconds or Prometheus duration strings', async (t) => {
  const cases: [number | string, number | undefined][] = [
    [90, 90],
    [0.5, 0.5],
    ['90s', 90],
    ['15m', 900],
    ['2h', 7200],
    ['1d', 86_400],
    ['1w', 604_800],
    ['1h30m', 5400],
    ['1y', 31_536_000],
    ['500ms', 0.5],
    ['', undefined],
    ['1.5h', undefined],
    ['30m1h', undefined],
    ['2 days', undefined],
    ['h', undefined],
    [-1, undefined],
    [Infinity, undefined],
  ]
  for (const [text, seconds] of cases) t.equal(parseDuration(text), seconds, JSON.stringify(text))
  t.same([5400, 90, 604_800 + 7200, 0.5].map(formatDuration), ['1h30m', '1m30s', '1w2h', '0.5s'])
})

t.test('timing fields: a schedule or a period, not both; a zone only with a schedule', async (t) => {
  const fault = (schedule: boolean, period: boolean, tz: boolean) => timingFault({ schedule, period, tz })
  t.same([fault(true, false, true), fault(false, true, false), fault(false, false, false)], [undefined, undefined, undefined])
  t.equal(fault(true, true, false), 'both')
  t.equal(fault(true, true, true), 'both')
  t.equal(fault(false, true, true), 'tz without schedule')
  t.equal(fault(false, false, true), 'tz without schedule')
})
