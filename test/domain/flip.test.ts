// Flips as a pure model: when a change happened, availability and monthly downtimes from them.
import t from 'tap'
import { dueAfter, type CheckSpec } from '../../src/domain/check.js'
import { downtimes, flipState, flipTime, uptime, type Flip, type FlipState } from '../../src/domain/flip.js'
import { NO_WINDOWS } from '../../src/domain/maintenance.js'
import { applySignal, DEFAULT_LIMITS, NO_RUNS, type Runs, type Signal } from '../../src/domain/run.js'

const T0 = Date.UTC(2026, 0, 1)
const MIN = 60_000
const HOUR = 60 * MIN
const DAY = 24 * HOUR
const spec = (more: Partial<CheckSpec> = {}): CheckSpec => ({
  schedule: { kind: 'interval', seconds: 60 },
  grace: 0,
  limits: DEFAULT_LIMITS,
  maintenance: NO_WINDOWS,
  manualResume: false,
  ...more,
})
const runsOf = (...signals: Signal[]): Runs => signals.reduce((runs, s) => applySignal(runs, s).runs, NO_RUNS)
let seq = 0
const flip = (at: number, from: FlipState, to: FlipState): Flip => ({ key: 'k', seq: ++seq, at, from, to, reason: null })

t.test('running is up for flips: a start and its finish are runs, not changes of state', async (t) => {
  t.equal(flipState('running'), 'up')
  t.equal(flipState('late'), 'late')
  t.equal(flipState('maintenance'), 'maintenance')
})

t.test('a change is dated when it happened, not when it was judged', async (t) => {
  const runs = runsOf({ kind: 'success', at: T0 })
  const due = dueAfter(spec(), T0)
  t.equal(flipTime('late', spec(), due, runs, 0, T0 + 5 * MIN), T0 + MIN, 'late: at the deadline it passed')
  t.equal(flipTime('up', spec(), due, runs, 0, T0 + 5 * MIN), T0, 'up: at the signal that made it so')
  t.equal(flipTime('up', spec(), due, runs, T0 + 2 * MIN, T0 + 5 * MIN), T0 + 5 * MIN, 'a signal before the last flip did not make this one: now')
  const started = runsOf({ kind: 'start', at: T0 })
  const limited = spec({ limits: { ...DEFAULT_LIMITS, maxRuntime: 30 } })
  t.equal(flipTime('timeout', limited, dueAfter(limited, T0), started, 0, T0 + 5 * MIN), T0 + 30_000, 'timeout: when the run outlived max_runtime')
  const paused = runsOf({ kind: 'success', at: T0 }, { kind: 'pause', at: T0 + 7000 })
  t.equal(flipTime('paused', spec(), due, paused, 0, T0 + MIN), T0 + 7000, 'paused: at the pause')
  t.equal(flipTime('late', spec(), due, runs, T0 + 3 * MIN, T0 + 5 * MIN), T0 + 5 * MIN, 'never before the last flip')
  t.equal(flipTime('late', spec(), due, runs, T0 + 9 * MIN, T0 + 5 * MIN), T0 + 9 * MIN, 'nor before it when the clock is behind it')
})

t.test('availability over 30 days of a check that pinged every minute is exact, whatever the run log keeps', async (t) => {
  const now = T0 + 30 * DAY
  // Up from 40 days ago; late for 2 h 30 min 10 days ago; failed for 10 min 2 days ago; paused 1 h (not judged).
  const flips = [
    flip(now - 40 * DAY, 'never', 'up'),
    flip(now - 10 * DAY, 'up', 'late'),
    flip(now - 10 * DAY + 150 * MIN, 'late', 'up'),
    flip(now - 2 * DAY, 'up', 'failed'),
    flip(now - 2 * DAY + 10 * MIN, 'failed', 'up'),
    flip(now - DAY + HOUR, 'up', 'paused'),
    flip(now - DAY + 2 * HOUR, 'paused', 'up'),
  ]
  const [day, month] = uptime(undefined, flips, now, [DAY, 30 * DAY])
  t.same(day, { ratio: 1, covered: DAY, down: 0 }, 'the last day: up, the hour paused not judged')
  const judged = 30 * DAY - HOUR
  t.equal(month!.down, 160 * MIN)
  t.equal(month!.ratio, (judged - 160 * MIN) / judged, 'exactly: 160 minutes down in 30 days less the pause')
  t.equal(month!.covered, 30 * DAY)

  const [fromBefore] = uptime(flips[0], flips.slice(1), now, [30 * DAY])
  t.same(fromBefore, month, 'the flip before the span gives the state it began in')
  const [young] = uptime(undefined, [flip(now - HOUR, 'never', 'up'), flip(now - 30 * MIN, 'up', 'late')], now, [DAY])
  t.same(young, { ratio: 0.5, covered: HOUR, down: 30 * MIN }, 'a check an hour old is judged over its hour')
  t.same(uptime(undefined, [], now, [DAY])[0], { ratio: null, covered: 0, down: 0 }, 'no flip: nothing judged')
})

t.test('monthly downtimes count each spell once, and split one that spans two months', async (t) => {
  const jan = Date.UTC(2026, 0, 1)
  const feb = Date.UTC(2026, 1, 1)
  const mar = Date.UTC(2026, 2, 1)
  const now = Date.UTC(2026, 2, 10)
  const flips = [
    flip(jan + DAY, 'up', 'late'),
    flip(jan + DAY + HOUR, 'late', 'up'),
    flip(feb - HOUR, 'up', 'late'),
    // late to timeout continues the spell
    flip(feb + HOUR, 'late', 'timeout'),
    flip(feb + 2 * HOUR, 'timeout', 'up'),
    flip(feb + 3 * DAY, 'up', 'failed'),
    flip(feb + 3 * DAY + 30 * MIN, 'failed', 'paused'),
  ]
  const [j, f, m] = downtimes(flip(jan - DAY, 'never', 'up'), flips, [jan, feb, mar, Date.UTC(2026, 3, 1)], now)
  t.same(j, { start: jan, end: feb, count: 2, total: 2 * HOUR })
  t.same(f, { start: feb, end: mar, count: 1, total: 2 * HOUR + 30 * MIN }, 'the spell from January counted there, its February hours here')
  t.same(m, { start: mar, end: Date.UTC(2026, 3, 1), count: 0, total: 0 }, 'paused is not down')
  const [open] = downtimes(undefined, [flip(mar + DAY, 'up', 'late')], [mar, Date.UTC(2026, 3, 1)], now)
  t.same(open, { start: mar, end: Date.UTC(2026, 3, 1), count: 1, total: now - mar - DAY }, 'a spell still going counts up to now')
})
