// The run log over HTTP: what a check-in sends is kept (source, output up to Ping-Body-Limit) and
// read back with the token, newest first, a page at a time; old outputs are deleted by retention.
import t from 'tap'
import { OUTPUT_MAX } from '../src/domain/run.js'
import { auth, config, FakeClock, testApp, TOKEN, yamlConfig } from './helpers/app.js'
import { waitUntil } from './helpers/db.js'

const KEY = 'ping-key-0123456789abcdef0123456789ab'
const GROUPS = `
    Jobs:
      - {name: Backup, id: backup, interval: 1h}
      - {name: Report, id: report, schedule: "0 6 * * *", tz: Europe/Berlin}
`
const withLog = (runLog = '') => config(yamlConfig({ groups: GROUPS, extra: `  ping_key: ${KEY}\n`, top: runLog }))

type App = Awaited<ReturnType<typeof testApp>>['app']
const runs = async (app: App, id: string, query = '') => {
  const res = await app.inject({ url: `/api/v1/items/${id}/runs${query}`, headers: auth })
  t.equal(res.statusCode, 200, res.body)
  return res.json() as { id: string; runs: Record<string, unknown>[]; next_before: number | null }
}
const send = (app: App, url: string, payload?: string | Buffer, headers: Record<string, string> = {}) =>
  app.inject({ method: payload === undefined ? 'GET' : 'POST', url, headers: { ...auth, ...headers }, ...(payload !== undefined && { payload }) })

t.test('a failure sent with curl --data-binary keeps its output, source and exit status, newest first', async (t) => {
  const { app, clock } = await testApp(t, { config: withLog() })
  const log = 'dumping db...\n<script>alert(1)</script>\nERROR: disk full\n'
  const start = await send(app, '/refresh/backup/start', undefined, { 'user-agent': 'curl/8.5.0' })
  t.equal(start.headers['ping-body-limit'], String(OUTPUT_MAX), 'every signal says where a body is cut')
  clock.advance(90)
  const fail = await send(app, '/refresh/backup/3', log, { 'content-type': 'application/x-www-form-urlencoded', 'user-agent': 'curl/8.5.0' })
  t.equal(fail.statusCode, 200)
  t.equal(fail.body, '{"refreshed": 1}', 'the original answer, body or not')
  t.equal(fail.headers['ping-body-limit'], '10240')
  const { runs: entries, next_before } = await runs(app, 'backup')
  for (const { seq } of entries) t.type(seq, 'number')
  t.same(
    entries.map(({ seq: _seq, ...rest }) => rest),
    [
      {
        kind: 'failure',
        time: '2026-01-15T12:01:30+00:00',
        rid: null,
        exit_status: 3,
        duration_seconds: 90,
        address: '127.0.0.1',
        user_agent: 'curl/8.5.0',
        output_bytes: Buffer.byteLength(log),
        output: log,
        output_cut: false,
        ignored: false,
      },
      {
        kind: 'start',
        time: '2026-01-15T12:00:00+00:00',
        rid: null,
        exit_status: null,
        duration_seconds: null,
        address: '127.0.0.1',
        user_agent: 'curl/8.5.0',
        output_bytes: null,
        output: null,
        output_cut: null,
        ignored: false,
      },
    ],
  )
  t.equal(next_before, null, 'one page holds them')
})

t.test('a body over the limit is cut at a character boundary, and text it cannot hold is replaced', async (t) => {
  const { app } = await testApp(t, { config: withLog() })
  // 10,239 ASCII bytes, then a 3-byte character across the limit, then 5 MB more: all accepted.
  const big = Buffer.concat([Buffer.from('a'.repeat(OUTPUT_MAX - 1)), Buffer.from('€'), Buffer.alloc(5 * 1024 * 1024, 'b')])
  const res = await send(app, '/refresh/backup', big)
  t.equal(res.statusCode, 200, 'any size is taken, as Healthchecks does')
  const [cut] = (await runs(app, 'backup')).runs
  t.equal(cut!.output, 'a'.repeat(OUTPUT_MAX - 1), 'the character cut at the limit is left out')
  t.equal(cut!.output_bytes, big.length)
  t.equal(cut!.output_cut, true)
  await send(app, '/refresh/backup', Buffer.from([0x6f, 0x6b, 0x00, 0xff, 0x0a]))
  const [binary] = (await runs(app, 'backup')).runs
  t.equal(binary!.output, 'ok\uFFFD\uFFFD\n', 'a NUL and a byte that is not UTF-8 become U+FFFD')
  t.equal(binary!.output_cut, false)
})

t.test('/log records a body and changes nothing, by token and by ping key', async (t) => {
  const { app, clock } = await testApp(t, { config: withLog() })
  await send(app, '/refresh/backup')
  const before = (await app.inject({ url: '/api/v1/status' })).json().groups[0].items[0]
  const metricsBefore = (await app.inject({ url: '/metrics' })).body.match(/^statuspage_refreshes_total.*$/m)?.[0]
  clock.advance(60)
  t.equal((await send(app, '/refresh/backup/log', 'step 1 of 3 done')).statusCode, 200)
  const pinged = await app.inject({ method: 'POST', url: `/ping/${KEY}/backup/log`, payload: 'step 2 of 3 done' })
  t.equal(pinged.body, 'OK')
  t.equal(pinged.headers['ping-body-limit'], '10240')
  const after = (await app.inject({ url: '/api/v1/status' })).json().groups[0].items[0]
  t.same(after.last_refresh, before.last_refresh, 'not a check-in')
  t.same((await app.inject({ url: '/metrics' })).body.match(/^statuspage_refreshes_total.*$/m)?.[0], metricsBefore, 'nor counted as a refresh')
  t.same(
    (await runs(app, 'backup')).runs.map((e) => [e.kind, e.output]),
    [
      ['log', 'step 2 of 3 done'],
      ['log', 'step 1 of 3 done'],
      ['success', null],
    ],
  )
})

t.test('the log pages newest first, shows run_log.keep entries, and gives times in the check zone', async (t) => {
  const { app, clock } = await testApp(t, { config: withLog('run_log:\n  keep: 5\n') })
  for (let i = 0; i < 8; i++) {
    await send(app, '/refresh/report', `run ${i}`)
    clock.advance(60)
  }
  const first = await runs(app, 'report', '?limit=3')
  t.same(
    first.runs.map((e) => e.output),
    ['run 7', 'run 6', 'run 5'],
  )
  t.equal(first.runs[0]!.time, '2026-01-15T13:07:00+01:00', 'Europe/Berlin, as the schedule')
  const second = await runs(app, 'report', `?limit=3&before=${first.next_before}`)
  t.same(
    second.runs.map((e) => e.output),
    ['run 4', 'run 3'],
    'the 5 newest, no more',
  )
  t.equal(second.next_before, null)
})

t.test('reading the log needs the token, an item that exists and a sound page', async (t) => {
  const { app } = await testApp(t, { config: withLog() })
  const res = (url: string, headers: Record<string, string> = auth) => app.inject({ url, headers })
  const noToken = await res('/api/v1/items/backup/runs', {})
  t.equal(noToken.statusCode, 403)
  t.equal(noToken.json().code, 'SP_ERR_TOKEN_MISSING')
  const wrongKey = await res('/api/v1/items/backup/runs', { 'x-token': KEY })
  t.equal(wrongKey.statusCode, 403, 'the ping key reads nothing')
  const unknown = await res('/api/v1/items/nope/runs')
  t.equal(unknown.statusCode, 404)
  t.same(unknown.json(), { statusCode: 404, code: 'SP_ERR_NOT_FOUND', error: 'Not Found', message: 'id: no item has the id "nope"' })
  for (const [query, field] of [
    ['?limit=0', 'limit'],
    ['?limit=101', 'limit'],
    ['?before=x', 'before'],
    ['?page=2', 'page'],
  ] as const) {
    const bad = await res(`/api/v1/items/backup/runs${query}`)
    t.equal(bad.statusCode, 400, query)
    t.match(bad.json().message, field, `${query}: names ${field}`)
  }
})

t.test('retention deletes outputs older than max_age, keeping their entries', async (t) => {
  const clock = new FakeClock()
  const { app } = await testApp(t, { config: withLog('run_log:\n  max_age: 1h\n'), clock, retentionMs: 20 })
  await send(app, '/refresh/backup', 'old output')
  clock.advance(3600 - 10)
  await send(app, '/refresh/backup', 'new output')
  clock.advance(20)
  await waitUntil(async () => (await runs(app, 'backup')).runs[1]!.output === null, 'the old output deleted')
  t.same(
    (await runs(app, 'backup')).runs.map((e) => [e.output, e.output_bytes]),
    [
      ['new output', 10],
      [null, 10],
    ],
    'the size sent stays',
  )
})

t.test('an item removed by a reload has no log any more', async (t) => {
  const { app } = await testApp(t, { config: withLog() })
  await send(app, '/refresh/report', 'x')
  await app.monitor.reload(config(yamlConfig({ groups: '\n    Jobs:\n      - {name: Backup, id: backup}\n' })))
  t.equal((await app.inject({ url: '/api/v1/items/report/runs', headers: { 'x-token': TOKEN } })).statusCode, 404)
})

t.test("a script's reports and starts are in its run log, with the output a report sends", async (t) => {
  const { app, clock } = await testApp(t, { config: withLog() })
  const report = (method: 'POST' | 'PUT', url: string, payload: object) =>
    app.inject({ method, url, headers: { ...auth, 'user-agent': 'scripto-send/1' }, payload })
  t.equal((await report('POST', '/api/v1/script', { name: 'backup.sh', server: 'db1', status: 1, output: 'first run\n' })).statusCode, 201)
  clock.advance(60)
  await report('POST', '/api/v1/script/1/start', { rid: 'r-1' })
  clock.advance(30)
  const failed = await report('PUT', '/api/v1/script/1', { status: false, rid: 'r-1', exit_code: 2, output: 'rsync: <connection refused>\n' })
  t.equal(failed.statusCode, 200)
  await report('PUT', '/api/v1/script/1', { periodicity: 'hourly' })
  const res = await app.inject({ url: '/api/v1/script/1/runs', headers: auth })
  t.equal(res.statusCode, 200)
  const { id, runs: entries, next_before } = res.json()
  t.equal(id, 1)
  t.same(
    entries.map((e: Record<string, unknown>) => [e.kind, e.time, e.rid, e.exit_status, e.duration_seconds, e.user_agent, e.output]),
    [
      ['failure', '2026-01-15T12:01:30+00:00', 'r-1', 2, 30, 'scripto-send/1', 'rsync: <connection refused>\n'],
      ['start', '2026-01-15T12:01:00+00:00', 'r-1', null, null, 'scripto-send/1', null],
      ['success', '2026-01-15T12:00:00+00:00', null, null, null, 'scripto-send/1', 'first run\n'],
    ],
    'a write of fields only is no run',
  )
  t.equal(next_before, null)
})

t.test("a script's run log needs the token even where the script API is open, and a script that exists", async (t) => {
  const { app } = await testApp(t, { config: config(yamlConfig({ top: 'scripto:\n  require_token: false\n' })) })
  await app.inject({ method: 'POST', url: '/api/v1/script', payload: { name: 'a.sh', server: 'h', status: 1 } })
  t.equal((await app.inject({ url: '/api/v1/script/1' })).statusCode, 200, 'the script itself is open')
  t.equal((await app.inject({ url: '/api/v1/script/1/runs' })).statusCode, 403, 'its output is not')
  const missing = await app.inject({ url: '/api/v1/script/2/runs', headers: auth })
  t.same([missing.statusCode, missing.json().message], [404, 'id: no script with id 2'])
  const bad = await app.inject({ method: 'PUT', url: '/api/v1/script/1', headers: auth, payload: { output: 'x' } })
  t.same(
    [bad.statusCode, bad.json().message],
    [400, 'body.rid, body.duration, body.exit_code, body.output: describe a finished run, so they come with a status'],
  )
  const deleted = await app.inject({ method: 'DELETE', url: '/api/v1/script/1', headers: auth })
  t.equal(deleted.statusCode, 204)
  t.equal((await app.inject({ url: '/api/v1/script/1/runs', headers: auth })).statusCode, 404, 'gone with the script')
})

t.test('the script API disabled has no script run logs either', async (t) => {
  const { app } = await testApp(t, { config: config(yamlConfig({ top: 'scripto:\n  enabled: false\n' })) })
  const res = await app.inject({ url: '/api/v1/script/1/runs', headers: auth })
  t.same([res.statusCode, res.json().message], [404, 'the script API is disabled (scripto.enabled: false)'])
})
