// Healthchecks-compatible ping URLs: /ping/<ping_key>/<id>[/start|/fail|/<status>][?rid=].
import t, { type Test } from 'tap'
import { parseConfig } from '../src/config/load.js'
import { TOKEN, auth, config, logSink, testApp, yamlConfig } from './helpers/app.js'

const KEY = 'ping-key-0123456789abcdef0123456789ab'
const GROUPS = `
    Jobs:
      - {name: Backup, id: backup, interval: 1h, max_runtime: 1h}
      - {name: Backup again, id: backup, interval: 1h}
`
const withKey = (key = KEY) => config(yamlConfig({ groups: GROUPS, extra: `  ping_key: ${key}\n` }))

type App = Awaited<ReturnType<typeof testApp>>['app']
const ping = (app: App, path: string, method: 'GET' | 'POST' | 'HEAD' = 'GET', payload?: string) =>
  app.inject({ method, url: `/ping/${path}`, ...(payload !== undefined && { payload, headers: { 'content-type': 'application/json' } }) })
const itemOf = async (app: App) => (await app.inject({ url: '/api/v1/status' })).json().groups[0].items[0]

/** The headers every ping answer carries, as Healthchecks sends them. */
function assertPingHeaders(t: Test, res: Awaited<ReturnType<typeof ping>>, what: string) {
  t.equal(res.headers['access-control-allow-origin'], '*', `${what}: any origin`)
  t.equal(res.headers['cache-control'], 'max-age=0, no-cache, no-store, must-revalidate, private', `${what}: never cached`)
  t.equal(res.headers['content-type'], 'text/plain; charset=utf-8', `${what}: text`)
  t.equal(res.headers['ping-body-limit'], '10240', `${what}: where a body is cut`)
}

t.test('a ping answers 200 "OK" with CORS and no caching, by GET, POST and HEAD', async (t) => {
  const { app } = await testApp(t, { config: withKey() })
  for (const method of ['GET', 'POST', 'HEAD'] as const) {
    const res = await ping(app, `${KEY}/backup`, method, method === 'POST' ? '{"log": "anything"}' : undefined)
    t.equal(res.statusCode, 200, method)
    t.equal(res.body, method === 'HEAD' ? '' : 'OK', method)
    assertPingHeaders(t, res, method)
  }
})

t.test('start then /0 gives the same state as the /refresh signals', async (t) => {
  const viaPing = await testApp(t, { config: withKey() })
  const viaRefresh = await testApp(t, { config: withKey() })
  await ping(viaPing.app, `${KEY}/backup/start?rid=r-1`)
  await viaRefresh.app.inject({ url: '/refresh/backup/start?rid=r-1', headers: auth })
  for (const { clock } of [viaPing, viaRefresh]) clock.advance(1.5)
  t.match(await itemOf(viaPing.app), { status: 'running' })
  await ping(viaPing.app, `${KEY}/backup/0?rid=r-1`)
  await viaRefresh.app.inject({ url: '/refresh/backup/0?rid=r-1', headers: auth })
  const [a, b] = [await itemOf(viaPing.app), await itemOf(viaRefresh.app)]
  t.same(a, b)
  t.match(a, { status: 'up', last_duration: 1.5 })
  await ping(viaPing.app, `${KEY}/backup/fail`)
  t.match(await itemOf(viaPing.app), { status: 'failed', reason: 'reported a failure' })
})

t.test('a wrong key, an unknown id, or no ping_key at all is 404 "not found", and stores nothing', async (t) => {
  const { app } = await testApp(t, { config: withKey() })
  for (const path of [`${KEY}x/backup`, `${KEY.slice(0, -1)}/backup`, `${TOKEN}/backup`, `${KEY}/nope`, `${KEY}/nope/start`]) {
    const res = await ping(app, path)
    t.equal(res.statusCode, 404, path)
    t.equal(res.body, 'not found', path)
    assertPingHeaders(t, res, path)
  }
  const off = await testApp(t, { config: config(yamlConfig({ groups: GROUPS })) })
  const res = await ping(off.app, `${KEY}/backup`)
  t.same([res.statusCode, res.body], [404, 'not found'], 'ping URLs are off without ping_key')
  t.equal(app.monitor.runs().size, 0)
})

t.test('an exit status over 255 or a bad rid is 400, naming it', async (t) => {
  const { app } = await testApp(t, { config: withKey() })
  const big = await ping(app, `${KEY}/backup/256`)
  t.same([big.statusCode, big.body], [400, 'exit status: must be 0 to 255, got 256'])
  const rid = await ping(app, `${KEY}/backup/start?rid=a/b`)
  t.same([rid.statusCode, rid.body], [400, 'rid: must be 1 to 64 characters from A-Z a-z 0-9 . _ -, got "a/b"'])
  const word = await ping(app, `${KEY}/backup/finish`)
  t.same([word.statusCode, word.body], [400, 'signal: must be start, fail, log or an exit status 0 to 255, got "finish"'])
  t.equal(app.monitor.runs().size, 0)
})

t.test('the ping key allows check-ins and nothing else', async (t) => {
  const { app } = await testApp(t, { config: withKey() })
  const asToken = { 'x-token': KEY, 'content-type': 'application/json' }
  t.equal((await app.inject({ url: '/refresh/backup', headers: asToken })).statusCode, 403, 'not a refresh token')
  t.equal(
    (await app.inject({ method: 'POST', url: '/api/v1/script', headers: asToken, payload: { name: 'a', server: 'b', status: true } })).statusCode,
    403,
    'cannot write scripts',
  )
})

t.test('the key never reaches the log, not even in the logged URL', async (t) => {
  const sink = logSink()
  const { app } = await testApp(t, { config: withKey(), logger: sink.logger, logRequests: true })
  await ping(app, `${KEY}/backup/start`)
  await ping(app, `${KEY}/nope`)
  t.ok(
    sink.lines.some((l) => l.includes('/ping/[redacted]/backup/start')),
    'the URL is logged with the key taken out',
  )
  t.notOk(
    sink.lines.some((l) => l.includes(KEY)),
    'the key is nowhere',
  )
})

t.test('ping_key is validated like the token, and must not be the token', async (t) => {
  const errors = (extra: string) => {
    const r = parseConfig(yamlConfig({ groups: GROUPS, extra }), 'config.yml')
    return r.ok ? [] : r.errors
  }
  t.same(errors('  ping_key: short\n'), [
    'config.yml: statuspage.ping_key: must be at least 32 characters; generate one with: head -c 1000 /dev/urandom | sha512sum | cut -c 1-64',
  ])
  t.same(errors(`  ping_key: ${TOKEN}\n`), [
    'config.yml: statuspage.ping_key: must differ from the token: the ping key is written in crontabs, the token gives more',
  ])
})

t.test('pings that find no ping key or no check are logged, once a minute each, without the key', async (t) => {
  const sink = logSink()
  const { app } = await testApp(t, { config: withKey(), logger: sink.logger })
  const warned = () =>
    sink.lines
      .map((l) => JSON.parse(l) as { level: number; msg: string })
      .filter((l) => l.level === 40)
      .map((l) => l.msg)
  for (let i = 0; i < 3; i++) await ping(app, `${KEY}/nope`)
  for (let i = 0; i < 3; i++) await ping(app, 'wrong-key-0123456789abcdef0123456789ab/backup')
  t.same(warned(), [
    'a ping of an id that no check has: 404 (more of it this minute are not logged)',
    'a ping with a wrong ping key: 404 (more from this address this minute are not logged)',
  ])
  t.notOk(
    sink.lines.some((l) => l.includes(KEY) || l.includes('wrong-key-0123')),
    'no key in the log',
  )

  const without = logSink()
  const { app: keyless } = await testApp(t, { logger: without.logger })
  await ping(keyless, `${KEY}/http`)
  t.ok(without.lines.some((l) => l.includes('a ping with no ping_key is set: 404')))
})
