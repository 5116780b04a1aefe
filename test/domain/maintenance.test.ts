import t from 'tap'
import { deadlinePastWindows, nextWindow, windowAt, windowNow, type MaintenanceWindow } from '../../src/domain/maintenance.js'
import { cronSchedule } from '../../src/domain/schedule.js'

const window = (expression: string, seconds: number, tz = 'UTC'): MaintenanceWindow => {
  const schedule = cronSchedule(expression, tz, Date.UTC(2020, 0, 1))
  if ('error' in schedule) throw new Error(schedule.error)
  return { schedule: schedule as MaintenanceWindow['schedule'], seconds, key: `${expression}\0${tz}\0${seconds}` }
}
const at = (h: number, m = 0, day = 15) => Date.UTC(2026, 0, day, h, m)

t.test('a window is [start, start + duration): its start is in it, its end is not', async (t) => {
  const nightly = [window('0 2 * * *', 2 * 3600)]
  t.equal(windowAt(nightly, at(1, 59)), undefined)
  t.same(windowAt(nightly, at(2)), { start: at(2), end: at(4) })
  t.same(windowAt(nightly, at(3, 59)), { start: at(2), end: at(4) })
  t.equal(windowAt(nightly, at(4)), undefined)
})

t.test('the next window is the one now is in, else the first to start', async (t) => {
  const windows = [window('0 2 * * *', 3600), window('30 12 * * *', 600)]
  t.same(nextWindow(windows, at(10)), { start: at(12, 30), end: at(12, 40) })
  t.same(nextWindow(windows, at(12, 35)), { start: at(12, 30), end: at(12, 40) })
  t.same(nextWindow(windows, at(12, 40)), { start: at(2, 0, 16), end: at(3, 0, 16) })
  t.equal(nextWindow([], at(10)), undefined)
})

t.test('windowNow gives what windowAt does, as time moves on and back', async (t) => {
  const windows = [window('*/10 * * * *', 120)]
  for (const ms of [at(1, 0), at(1, 1), at(1, 2), at(1, 5), at(1, 10), at(1, 11), at(0, 59), at(1, 0)]) {
    t.same(windowNow(windows, ms), windowAt(windows, ms), new Date(ms).toISOString())
  }
})

t.test('a deadline inside a window moves to its end plus grace, again if that is inside one', async (t) => {
  const windows = [window('0 2 * * *', 3600), window('0 3 * * *', 1800)]
  t.equal(deadlinePastWindows(windows, at(1, 30), 600_000), at(1, 30), 'outside: unchanged')
  t.equal(deadlinePastWindows(windows, at(2, 15), 0), at(3, 30), 'the end of the first window falls in the second')
  t.equal(deadlinePastWindows(windows, at(2, 15), 45 * 60_000), at(3, 45))
  t.equal(deadlinePastWindows([window('* * * * *', 120)], at(2), 0) > at(2), true, 'windows that leave no gap end the search')
  t.equal(deadlinePastWindows(windows, Infinity, 0), Infinity)
})

t.test("a window's schedule keeps its zone across daylight saving", async (t) => {
  // 02:00 in Berlin: 01:00 UTC in winter, 00:00 UTC in summer.
  const berlin = [window('0 2 * * SUN', 7200, 'Europe/Berlin')]
  t.same(nextWindow(berlin, Date.UTC(2026, 0, 15)), { start: Date.UTC(2026, 0, 18, 1), end: Date.UTC(2026, 0, 18, 3) })
  t.same(nextWindow(berlin, Date.UTC(2026, 6, 1)), { start: Date.UTC(2026, 6, 5, 0), end: Date.UTC(2026, 6, 5, 2) })
})
