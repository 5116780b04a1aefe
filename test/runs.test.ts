// Runs through HTTP: /refresh/:id/start|fail|<status>, ?rid=, the thresholds from config.yml, what
// /api/v1/status and /metrics show, and what survives a restart or a reload. Fixed clock.
import t from 'tap'
import { FakeClock, TOKEN, auth, config, logSink, testApp, yamlConfig } from './helpers/app.js'
import { onDisk, SIGNALS } from './helpers/db.js'
import { metricLines } from './helpers/metrics.js'

type App = Awaited<ReturnType<typeof testApp>>['app']

const GROUPS = `
    Jobs:
      - {name: Backup, id: backup, interval: 1h}
      - {name: Flaky, id: flaky, interval: 1h, failure_threshold: 2, recovery_threshold: 2}
      - {name: Hangs, id: hangs, interval: 1h, max_runtime: 2s}
      - {name: Quick, id: quick, interval: 1h, min_runtime: 1s}
    Again:
      - {name: Backup too, id: backup, interval: 1h, failure_threshold: 3}
`
const runsConfig = () => config(yamlConfig({ groups: GROUPS }))

const signal = (app: App, path: string, method: 'GET' | 'POST' | 'HEAD' = 'GET') => app.inject({ method, url: `/refresh/${path}`, headers: auth })
async function item(app: App, id: string, group = 'Jobs') {
  const status = (await app.inject({ url: '/api/v1/status' })).json() as { groups: { name: string; items: Record<string, unknown>[] }[] }
  return status.groups.find((g) => g.name === group)!.items.find((i) => i.id === id)!
}

t.test('start, then a finish 1.2 s later: running meanwhile, then up with last_duration 1.2', async (t) => {
  const { app, clock } = await testApp(t, { config: runsConfig() })
  const started = await signal(app, 'backup/start')
  t.equal(started.statusCode, 200)
  t.equal(started.body, '{"refreshed": 2}', 'the same answer as a refresh, over both groups')
  clock.advance(1)
  t.match(await item(app, 'backup'), { state: 'up', status: 'running', reason: 'running for 1s', last_start: '2026-01-15T12:00:00+00:00', last_duration: null })
  clock.advance(0.2)
  t.equal((await signal(app, 'backup')).body, '{"refreshed": 2}')
  t.match(await item(app, 'backup'), { state: 'up', status: 'up', reason: null, last_duration: 1.2, last_refresh: '2026-01-15T12:00:01+00:00' })
  t.same(await metricLines(app, 'statuspage_item_last_duration_seconds'), [
    'statuspage_item_last_duration_seconds{group="Jobs",id="backup",name="Backup"} 1.2',
    'statuspage_item_last_duration_seconds{group="Again",id="backup",name="Backup too"} 1.2',
  ])
})

t.test('/refresh/:id/3 fails a check with failure_threshold 1, and not one with 3', async (t) => {
  const { app, clock } = await testApp(t, { config: runsConfig() })
  await signal(app, 'backup/3')
  t.match(await item(app, 'backup'), {
    state: 'down',
    status: 'failed',
    reason: 'exit status 3',
    consecutive_failures: 1,
    last_failure: '2026-01-15T12:00:00+00:00',
  })
  t.match(await item(app, 'backup', 'Again'), {
    state: 'up',
    status: 'up',
    reason: 'exit status 3; 1 of 3 failures in a row before down',
    consecutive_failures: 1,
  })
  clock.advance(10)
  await signal(app, 'backup/0')
  t.match(
    await item(app, 'backup'),
    { state: 'up', status: 'up', consecutive_failures: 0, last_failure: '2026-01-15T12:00:00+00:00' },
    'exit status 0 is a success',
  )
})

t.test('failure_threshold 2 and recovery_threshold 2 over HTTP', async (t) => {
  const { app } = await testApp(t, { config: runsConfig() })
  await signal(app, 'flaky/fail')
  t.match(await item(app, 'flaky'), { status: 'up', consecutive_failures: 1 })
  await signal(app, 'flaky/fail', 'POST')
  t.match(await item(app, 'flaky'), { status: 'failed', reason: 'reported a failure; 2 failures in a row' })
  await signal(app, 'flaky/0')
  t.match(await item(app, 'flaky'), { status: 'failed', reason: 'reported a failure; 1 of 2 successes in a row needed to recover' })
  await signal(app, 'flaky')
  t.match(await item(app, 'flaky'), { status: 'up', state: 'up' })
  t.same(await metricLines(app, 'statuspage_item_failed'), [
    'statuspage_item_failed{group="Jobs",id="backup",name="Backup"} 0',
    'statuspage_item_failed{group="Jobs",id="flaky",name="Flaky"} 0',
    'statuspage_item_failed{group="Jobs",id="hangs",name="Hangs"} 0',
    'statuspage_item_failed{group="Jobs",id="quick",name="Quick"} 0',
    'statuspage_item_failed{group="Again",id="backup",name="Backup too"} 0',
  ])
})

t.test('max_runtime 2s: a start with no finish turns timeout after 2 s, and down on /metrics', async (t) => {
  const { app, clock } = await testApp(t, { config: runsConfig() })
  await signal(app, 'hangs/start')
  clock.advance(2)
  t.match(await item(app, 'hangs'), { status: 'running', state: 'up' })
  t.same(await metricLines(app, 'statuspage_item_running{group="Jobs",id="hangs"'), ['statuspage_item_running{group="Jobs",id="hangs",name="Hangs"} 1'])
  clock.advance(0.5)
  t.match(await item(app, 'hangs'), { status: 'timeout', state: 'down', reason: 'running for 2.5s, longer than max_runtime 2s', max_runtime: 2 })
  t.same(await metricLines(app, 'statuspage_item_timed_out{group="Jobs",id="hangs"'), ['statuspage_item_timed_out{group="Jobs",id="hangs",name="Hangs"} 1'])
  t.same(await metricLines(app, 'statuspage_item_up{group="Jobs",id="hangs"'), ['statuspage_item_up{group="Jobs",id="hangs",name="Hangs"} 0'])
  t.same(await metricLines(app, 'statuspage_item_running{group="Jobs",id="hangs"'), ['statuspage_item_running{group="Jobs",id="hangs",name="Hangs"} 0'])
})

t.test('min_runtime 1s: a 0.1 s run is a failure, too fast', async (t) => {
  const { app, clock } = await testApp(t, { config: runsConfig() })
  await signal(app, 'quick/start')
  clock.advance(0.1)
  await signal(app, 'quick')
  t.match(await item(app, 'quick'), { status: 'failed', state: 'down', reason: 'too fast: ran 0.1s, min_runtime 1s', last_duration: 0.1, min_runtime: 1 })
})

t.test('rid pairs finishes with their starts over HTTP', async (t) => {
  const { app, clock } = await testApp(t, { config: runsConfig() })
  await signal(app, 'backup/start?rid=a')
  clock.advance(10)
  await signal(app, 'backup/start?rid=b')
  clock.advance(5)
  await signal(app, 'backup/0?rid=a')
  t.match(await item(app, 'backup'), { last_duration: 15, status: 'running' })
  clock.advance(20)
  await signal(app, 'backup?rid=b')
  t.match(await item(app, 'backup'), { last_duration: 25, status: 'up' })
})

t.test('bad signals and run ids are a 400 naming them, and store nothing', async (t) => {
  const { app, dbPath } = await testApp(t, { config: runsConfig() })
  const cases: [string, string][] = [
    ['backup/256', 'exit status: must be 0 to 255, got 256'],
    ['backup/99999999999', 'signal: must be start, fail, log or an exit status 0 to 255, got "99999999999"'],
    ['backup/-1', 'signal: must be start, fail, log or an exit status 0 to 255, got "-1"'],
    ['backup/finish', 'signal: must be start, fail, log or an exit status 0 to 255, got "finish"'],
    ['backup/start?rid=has%20space', 'rid: must be 1 to 64 characters from A-Z a-z 0-9 . _ -, got "has space"'],
    [`backup?rid=${'r'.repeat(65)}`, `rid: must be 1 to 64 characters from A-Z a-z 0-9 . _ -, got "${'r'.repeat(65)}"`],
    ['backup?rid=', 'rid: must be 1 to 64 characters from A-Z a-z 0-9 . _ -, got ""'],
  ]
  for (const [path, message] of cases) {
    const res = await signal(app, path)
    t.equal(res.statusCode, 400, path)
    t.same(res.json(), { statusCode: 400, code: 'SP_ERR_BAD_REQUEST', error: 'Bad Request', message }, path)
  }
  const twice = await signal(app, 'backup?rid=a&rid=b')
  t.equal(twice.statusCode, 400)
  t.match(twice.json(), { message: 'rid: must be given once' })
  t.same(app.monitor.runs().size, 0, 'nothing in memory')
  t.same(onDisk(dbPath, 'SELECT * FROM check_signal'), [], 'nothing on disk')
})

t.test('signals need the token, HEAD included', async (t) => {
  const { app } = await testApp(t, { config: runsConfig() })
  for (const method of ['GET', 'POST', 'HEAD'] as const) {
    const res = await app.inject({ method, url: '/refresh/backup/start' })
    t.equal(res.statusCode, 403, method)
  }
  const head = await app.inject({ method: 'HEAD', url: '/refresh/backup/start', headers: auth })
  t.equal(head.statusCode, 200)
  t.match(await item(app, 'backup'), { status: 'running' })
})

t.test('an unknown id answers {"refreshed": 0} to every signal, as the original did', async (t) => {
  const { app } = await testApp(t, { config: runsConfig() })
  for (const path of ['nope/start', 'nope/fail', 'nope/0']) t.equal((await signal(app, path)).body, '{"refreshed": 0}', path)
})

t.test('runs survive a restart: open runs, durations and the streaks of items with their own limits', async (t) => {
  const first = await testApp(t, { config: runsConfig() })
  await signal(first.app, 'flaky/fail')
  await signal(first.app, 'flaky/fail')
  await signal(first.app, 'backup/start?rid=x')
  first.clock.advance(3)
  await first.app.close()
  const second = await testApp(t, { config: runsConfig(), dbPath: first.dbPath, clock: first.clock })
  t.match(await item(second.app, 'flaky'), { status: 'failed', consecutive_failures: 2 })
  t.match(await item(second.app, 'backup'), { status: 'running', reason: 'running for 3s' })
  second.clock.advance(1)
  await signal(second.app, 'backup/0?rid=x')
  t.match(await item(second.app, 'backup'), { status: 'up', last_duration: 4 })
})

t.test("a reload that changes an item's thresholds recounts its history; one that keeps them keeps its streak", async (t) => {
  const { app } = await testApp(t, { config: runsConfig() })
  await signal(app, 'flaky/fail')
  t.match(await item(app, 'flaky'), { status: 'up' })
  await app.monitor.reload(
    config(yamlConfig({ groups: GROUPS.replace('failure_threshold: 2, recovery_threshold: 2', 'failure_threshold: 1, recovery_threshold: 2') })),
  )
  t.match(await item(app, 'flaky'), { status: 'failed', reason: 'reported a failure', failure_threshold: 1 }, 'one failure is enough now')
  await app.monitor.reload(config(yamlConfig({ groups: GROUPS })))
  t.match(await item(app, 'flaky'), { status: 'up', consecutive_failures: 1 }, 'and two again')
})

t.test('a signal is logged in order on disk, with its duration, rid and exit status', async (t) => {
  const { app, clock, dbPath } = await testApp(t, { config: runsConfig() })
  await signal(app, 'backup/start?rid=r1')
  clock.advance(2)
  await signal(app, 'backup/7?rid=r1')
  t.same(onDisk(dbPath, `SELECT id, at, kind, rid, exit_status, duration FROM ${SIGNALS} ORDER BY seq`), [
    { id: 'backup', at: clock.t - 2000, kind: 'start', rid: 'r1', exit_status: null, duration: null },
    { id: 'backup', at: clock.t, kind: 'fail', rid: 'r1', exit_status: 7, duration: 2 },
  ])
})

t.test('the log of warnings never carries the token', async (t) => {
  const sink = logSink()
  const { app } = await testApp(t, { config: runsConfig(), logger: sink.logger })
  await signal(app, 'nope/start')
  t.ok(sink.lines.some((l) => l.includes('refresh of an id that no check has (more of it this minute are not logged)')))
  t.notOk(sink.lines.some((l) => l.includes(TOKEN)))
})

t.test('a reload recomputes the due times of items whose schedule or grace changed, and only those are new', async (t) => {
  const clock = new FakeClock(Date.parse('2026-01-15T12:10:00Z'))
  const cron = (schedule: string, grace: string) =>
    config(
      yamlConfig({
        groups: `\n    Jobs:\n      - {name: A, id: a, schedule: '${schedule}', grace: ${grace}}\n      - {name: B, id: b, schedule: '0 * * * *', grace: 5m}\n`,
      }),
    )
  const { app } = await testApp(t, { clock, config: cron('0 * * * *', '5m') })
  await signal(app, 'a')
  await signal(app, 'b')
  const due = async (id: string) => (await item(app, id)).deadline
  t.same([await due('a'), await due('b')], ['2026-01-15T13:05:00+00:00', '2026-01-15T13:05:00+00:00'])
  await app.monitor.reload(cron('30 * * * *', '5m'))
  t.same([await due('a'), await due('b')], ['2026-01-15T12:35:00+00:00', '2026-01-15T13:05:00+00:00'], 'a new schedule')
  await app.monitor.reload(cron('30 * * * *', '1m'))
  t.same([await due('a'), await due('b')], ['2026-01-15T12:31:00+00:00', '2026-01-15T13:05:00+00:00'], 'a new grace')
})
