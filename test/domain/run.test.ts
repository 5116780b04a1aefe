// The rules of runs: start and finish, durations, max and min run time, the thresholds. Fixed clock.
import t from 'tap'
import { runsOf } from '../../bench/fixtures.js'
import { checkStatus, dueAfter, statusReason, type CheckSpec } from '../../src/domain/check.js'
import { applySignal, countRuns, DEFAULT_LIMITS, heldByPause, MAX_OPEN_RUNS, NO_RUNS, type Finish, type RunLimits, type Signal } from '../../src/domain/run.js'
import { NO_WINDOWS } from '../../src/domain/maintenance.js'
import { cronSchedule } from '../../src/domain/schedule.js'

const T = Date.UTC(2026, 0, 15, 12)
const s = (seconds: number) => T + seconds * 1000
const hourly = (limits: Partial<RunLimits> = {}, grace = 300): CheckSpec => ({
  schedule: { kind: 'interval', seconds: 3600 },
  grace,
  limits: { ...DEFAULT_LIMITS, ...limits },
  maintenance: NO_WINDOWS,
  manualResume: false,
})

/** The status and reason of a check after `signals`, at `now`. */
function judge(spec: CheckSpec, signals: Signal[], now: number) {
  const runs = runsOf(signals)
  const finishes = signals.reduce<{ runs: typeof runs; list: Finish[] }>(
    (acc, signal) => {
      const { runs: next, finish } = applySignal(acc.runs, signal)
      return { runs: next, list: finish ? [...acc.list, finish] : acc.list }
    },
    { runs: NO_RUNS, list: [] },
  ).list
  const streak = countRuns(finishes, spec.limits)
  const due = dueAfter(spec, runs.lastSignal)
  const status = checkStatus(spec, due, runs, streak, now)
  return { status, reason: statusReason(status, spec, due, runs, streak, now), runs, streak }
}

const start = (sec: number, rid?: string): Signal => ({ kind: 'start', at: s(sec), rid })
const ok = (sec: number, rid?: string): Signal => ({ kind: 'success', at: s(sec), rid })
const fail = (sec: number, exitStatus?: number): Signal => ({ kind: 'failure', at: s(sec), exitStatus })

t.test('a start makes the check running and up; its finish gives the duration', async (t) => {
  const running = judge(hourly(), [start(0)], s(12))
  t.same([running.status, running.reason], ['running', 'running for 12s'])
  const done = judge(hourly(), [start(0), ok(1.2)], s(2))
  t.same([done.status, done.reason, done.runs.lastDuration, done.runs.open.length], ['up', null, 1.2, 0])
})

t.test('a start counts as the arrival: a job that starts on time and runs long is not late', async (t) => {
  // Due hourly with 5 minutes of grace: the previous run finished at 0, this one started at 3590.
  const r = judge(hourly(), [ok(0), start(3590)], s(3600 + 301))
  t.equal(r.status, 'running', 'the start moved the deadline to 3590 + 3600 + 300')
  t.equal(judge(hourly(), [ok(0)], s(3600 + 301)).status, 'late', 'without the start it would be late')
})

t.test('a finish with no open run is a check-in without a duration', async (t) => {
  const r = judge(hourly(), [ok(5)], s(6))
  t.same([r.status, r.runs.lastDuration, r.runs.lastSignal], ['up', undefined, s(5)])
})

t.test('rids pair each finish with its own start; without a rid the latest open run ends', async (t) => {
  const overlapping = runsOf([start(0, 'a'), start(10, 'b'), ok(15, 'a')])
  t.equal(overlapping.lastDuration, 15, 'a ran 15 s')
  t.same(
    overlapping.open.map((r) => r.rid),
    ['b'],
  )
  t.equal(runsOf([start(0, 'a'), start(10, 'b'), ok(15, 'a'), ok(40, 'b')]).lastDuration, 30, 'b ran 30 s')
  t.equal(runsOf([start(0, 'a'), start(10, 'b'), ok(12)]).lastDuration, 2, 'no rid: the latest open run (b)')
  t.equal(runsOf([start(0, 'a'), ok(12, 'zzz')]).lastDuration, undefined, 'an unknown rid matches nothing')
  t.equal(runsOf([start(0), start(5), ok(7)]).lastDuration, 2, 'a second start without a rid replaces the first')
})

t.test('at most MAX_OPEN_RUNS runs stay open; a new one forgets the oldest', async (t) => {
  const runs = runsOf(Array.from({ length: MAX_OPEN_RUNS + 3 }, (_, i) => start(i, `r${i}`)))
  t.equal(runs.open.length, MAX_OPEN_RUNS)
  t.equal(runs.open[0]!.rid, 'r3')
})

t.test('max_runtime: a run open past it is a timeout until the next signal; the boundary is still in time', async (t) => {
  const spec = hourly({ maxRuntime: 2 })
  t.equal(judge(spec, [start(0)], s(2)).status, 'running', 'at exactly max_runtime')
  const late = judge(spec, [start(0)], s(2.001))
  t.same([late.status, late.reason], ['timeout', 'running for 2s, longer than max_runtime 2s'])
  t.equal(judge(spec, [start(0), start(5)], s(6)).status, 'running', 'a new start ends the timeout')
  t.equal(judge(spec, [start(0, 'hung'), start(1, 'b'), ok(3, 'b')], s(4)).status, 'up', 'another run finishing is a signal after the timeout')
  t.equal(judge(hourly(), [start(0)], s(86_400 * 30)).status, 'late', 'without max_runtime an open run never times out; lateness still applies')
})

t.test('timeout comes before late, late before failed, failed before running', async (t) => {
  const spec = hourly({ maxRuntime: 60 })
  t.equal(judge(spec, [start(0)], s(4000)).status, 'timeout', 'timed out and late: timeout')
  t.equal(judge(hourly(), [fail(0)], s(4000)).status, 'late', 'failed and late: late')
  t.equal(judge(hourly(), [fail(0), start(10)], s(20)).status, 'failed', 'failed and running: failed')
})

t.test('min_runtime: a success shorter than it is a failure, "too fast"; a finish without a duration is not judged', async (t) => {
  const spec = hourly({ minRuntime: 1 })
  const fast = judge(spec, [start(0), ok(0.1)], s(1))
  t.same([fast.status, fast.reason, fast.streak.failures], ['failed', 'too fast: ran 0.1s, min_runtime 1s', 1])
  t.equal(judge(spec, [start(0), ok(1)], s(2)).status, 'up', 'exactly min_runtime is long enough')
  t.equal(judge(spec, [ok(0)], s(2)).status, 'up', 'no start, no duration: nothing to judge')
})

t.test('exit statuses: 0 succeeds, others fail and are named', async (t) => {
  const r = judge(hourly(), [fail(0, 3)], s(1))
  t.same([r.status, r.reason], ['failed', 'exit status 3'])
  t.same(judge(hourly(), [fail(0)], s(1)).reason, 'reported a failure')
})

t.test('failure_threshold: up until that many failures in a row, and the JSON reason counts them', async (t) => {
  const spec = hourly({ failureThreshold: 3 })
  const one = judge(spec, [fail(0, 1)], s(1))
  t.same([one.status, one.reason], ['up', 'exit status 1; 1 of 3 failures in a row before down'])
  t.equal(judge(spec, [fail(0), fail(1)], s(2)).status, 'up')
  const three = judge(spec, [fail(0), fail(1), fail(2, 4)], s(3))
  t.same([three.status, three.reason], ['failed', 'exit status 4; 3 failures in a row'])
  t.equal(judge(spec, [fail(0), fail(1), ok(2), fail(3), fail(4)], s(5)).status, 'up', 'a success resets the count')
})

t.test('recovery_threshold: once failed, up again only after that many successes in a row', async (t) => {
  const spec = hourly({ recoveryThreshold: 2 })
  const one = judge(spec, [fail(0), ok(1)], s(2))
  t.same([one.status, one.reason], ['failed', 'reported a failure; 1 of 2 successes in a row needed to recover'])
  t.equal(judge(spec, [fail(0), ok(1), fail(2), ok(3)], s(4)).status, 'failed', 'a failure in between starts the count again')
  t.equal(judge(spec, [fail(0), ok(1), ok(2)], s(3)).status, 'up')
  t.equal(judge(spec, [ok(0), ok(1)], s(2)).status, 'up', 'never failed: nothing to recover from')
})

t.test('thresholds count runs, not lateness or timeouts', async (t) => {
  const spec = hourly({ failureThreshold: 2, maxRuntime: 10 })
  t.equal(judge(spec, [start(0)], s(11)).status, 'timeout', 'a timeout takes effect at once')
  t.equal(judge(spec, [start(0), start(20), ok(25)], s(26)).streak.failures, 0, 'and is not counted as a failure')
})

t.test('the default-limit streak kept in the runs is what countRuns gives under the defaults', async (t) => {
  const signals = [start(0), fail(1, 2), fail(2), ok(3), fail(4)]
  t.same(runsOf(signals).streak, judge(hourly(), signals, s(5)).streak)
})

t.test('a cron check that starts on time and runs past its next due time is late for the run that did not start', async (t) => {
  const schedule = cronSchedule('0 * * * *', 'UTC')
  if ('error' in schedule) throw new Error(schedule.error)
  const spec: CheckSpec = { schedule, grace: 300, limits: DEFAULT_LIMITS, maintenance: NO_WINDOWS, manualResume: false }
  const signals = [start(0)]
  t.equal(judge(spec, signals, s(3600 + 300)).status, 'running', 'the 13:00 run is due by 13:05')
  t.equal(judge(spec, signals, s(3600 + 301)).status, 'late')
})

t.test('a retry is recognised by its rid within a minute, or by its key; the same rid later is a new signal', async (t) => {
  const retry = (runs: Signal[], signal: Signal) => applySignal(runsOf(runs), signal).retry === true
  t.ok(retry([start(0, 'x')], start(5, 'x')), 'a start of a run open for 5 s')
  t.notOk(retry([start(0, 'x')], start(3600, 'x')), 'a start of a run open for an hour replaces it')
  t.ok(retry([start(0, 'x'), ok(10, 'x')], ok(20, 'x')), 'a finish of a run finished 10 s before')
  t.notOk(retry([start(0, 'x'), ok(10, 'x')], ok(70, 'x')), 'a finish a minute after the last one with that rid')
  t.notOk(retry([start(0, 'x'), ok(10, 'x'), start(11, 'x')], ok(12, 'x')), 'the finish of a run started again')
  t.notOk(retry([ok(0, 'constant')], ok(120, 'constant')), 'pings every two minutes with one rid all count')
  const keyed = (sec: number, key: string): Signal => ({ kind: 'failure', at: s(sec), key })
  t.ok(retry([keyed(0, 'k1')], keyed(3599, 'k1')), 'a key seen less than an hour before')
  t.notOk(retry([keyed(0, 'k1')], keyed(3600, 'k1')), 'an hour later the key is forgotten')
  t.same(
    applySignal(runsOf([keyed(0, 'k1'), keyed(1, 'k2')]), keyed(3600.5, 'k3')).runs.keys,
    [
      { key: 'k2', at: s(1) },
      { key: 'k3', at: s(3600.5) },
    ],
    'only the last hour is kept',
  )
  t.same(
    applySignal(runsOf([start(0, 'x'), ok(10, 'x'), start(20, 'y')]), ok(80, 'y')).runs.finished,
    [{ rid: 'y', at: s(80) }],
    'and only the last minute of finishes',
  )
  t.notOk(retry([keyed(0, 'k1')], keyed(1, 'k2')))
  const after = applySignal(runsOf([fail(0)]), keyed(5, 'k1'))
  t.same([after.runs.streak.failures, applySignal(after.runs, keyed(6, 'k1')).runs.streak.failures], [2, 2], 'a retry changes nothing')
})

t.test('a paused check with manual_resume holds every signal but log, pause and resume; without it, none', async (t) => {
  const paused = runsOf([{ kind: 'pause', at: s(0) }])
  t.same(
    (['start', 'success', 'failure', 'log', 'pause', 'resume'] as const).map((kind) => heldByPause(paused, true, kind)),
    [true, true, true, false, false, false],
  )
  t.equal(heldByPause(paused, false, 'success'), false, 'any signal resumes a check without manual_resume')
  t.equal(heldByPause(runsOf([ok(0)]), true, 'success'), false, 'not paused')
  t.equal(heldByPause(undefined, true, 'success'), false, 'never signalled')
})
