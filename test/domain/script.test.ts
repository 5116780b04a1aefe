import t from 'tap'
import { NO_WINDOWS } from '../../src/domain/maintenance.js'
import { parseScriptoDate } from '../../src/domain/dates.js'
import { periodSeconds, runFieldsOf } from '../../src/domain/script.js'
import { scriptStatus } from '../../src/domain/snapshot.js'

const now = Date.UTC(2026, 0, 15, 12, 30, 45, 500)

t.test("the named periods are Scripto's 1, 24, 168 and 730 hours; a number is seconds", async (t) => {
  t.same(
    ['hourly', 'daily', 'weekly', 'monthly', 90].map((p) => periodSeconds(p as never)),
    [3600, 86_400, 604_800, 2_628_000, 90],
  )
})

const DEFAULTS = { periodicity: 'daily', tz: 'UTC', grace: undefined, maintenance: NO_WINDOWS } as const
const status = (lastExec: number | null, ok: boolean, periodicity: 'daily' | 'hourly') =>
  scriptStatus(
    { id: 1, name: 's', server: 'h', status: ok, lastExec, periodicity, schedule: null, tz: null, grace: null, ...runFieldsOf(ok, lastExec) },
    DEFAULTS,
    now,
  ).state

t.test('a script is late only once now is past last_exec + period', async (t) => {
  const day = 86_400_000
  t.equal(status(now - day, true, 'daily'), 'ok', 'exactly one period ago')
  t.equal(status(now - day - 1, true, 'daily'), 'late', 'one millisecond more')
  t.equal(status(now - day - 1, false, 'daily'), 'late', 'late wins over failed')
})

t.test('a script that never ran is never; a failed report is failed until it is late', async (t) => {
  t.equal(status(null, true, 'hourly'), 'never')
  t.equal(status(null, false, 'hourly'), 'never')
  t.equal(status(now - 1000, false, 'hourly'), 'failed')
  t.equal(status(now - 1000, true, 'hourly'), 'ok')
})

t.test('Scripto date keywords mean now and today', async (t) => {
  t.equal(parseScriptoDate('CURRENT_TIMESTAMP', now), now)
  t.equal(parseScriptoDate('LOCALTIMESTAMP', now), now)
  t.equal(parseScriptoDate('CURRENT_DATE', now), Date.UTC(2026, 0, 15))
  t.equal(parseScriptoDate('current_timestamp', now), undefined, 'matched exactly, as Scripto did')
})

t.test('ISO 8601 dates and date-times are read as UTC unless they carry an offset', async (t) => {
  const cases: [string, number][] = [
    ['2017-08-02T14:16:25', Date.UTC(2017, 7, 2, 14, 16, 25)],
    ['2017-08-02 14:16:25', Date.UTC(2017, 7, 2, 14, 16, 25)],
    ['2017-08-02T14:16', Date.UTC(2017, 7, 2, 14, 16)],
    ['2017-08-02', Date.UTC(2017, 7, 2)],
    ['2017-08-02T14:16:25.25Z', Date.UTC(2017, 7, 2, 14, 16, 25, 250)],
    ['2017-08-02T14:16:25+02:00', Date.UTC(2017, 7, 2, 12, 16, 25)],
    ['2017-08-02T14:16:25-0330', Date.UTC(2017, 7, 2, 17, 46, 25)],
  ]
  for (const [text, ms] of cases) t.equal(parseScriptoDate(text, now), ms, text)
})

t.test('anything else is refused, dates that do not exist included', async (t) => {
  for (const text of ['', 'yesterday', '2026-02-30', '2026-13-01', '2026-01-01T24:00:00', '2026-1-1', '1501682185', '2017-08-02T14:16:25+2']) {
    t.equal(parseScriptoDate(text, now), undefined, JSON.stringify(text))
  }
})
