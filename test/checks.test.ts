// The checks API: config.yml's checks listed and readable but not writable, the API's own created,
// replaced, patched, paused and deleted, kept across restarts, and seen by the page, /metrics and
// check-ins like any item. Fixed clock.
import t from 'tap'
import { parseConfig } from '../src/config/load.js'
import { auth, config, testApp, yamlConfig } from './helpers/app.js'
import { metricLines } from './helpers/metrics.js'

type App = Awaited<ReturnType<typeof testApp>>['app']

const GROUPS = `
    Jobs:
      - {name: Backup, id: backup, interval: 1h, tags: [prod, db]}
      - {name: Report, id: report, schedule: '0 6 * * *', tz: Europe/Berlin}
`
const json = { ...auth, 'content-type': 'application/json' }
const send = (app: App, method: 'POST' | 'PUT' | 'PATCH' | 'DELETE' | 'GET', url: string, body?: unknown) =>
  app.inject({ method, url, headers: body === undefined ? auth : json, ...(body === undefined ? {} : { payload: JSON.stringify(body) }) })
const open = (t: Parameters<typeof testApp>[0], dbPath?: string) => testApp(t, { config: config(yamlConfig({ groups: GROUPS })), dbPath })

t.test('config.yml checks are listed and readable, with tags and source; writes to them are a 409 naming config.yml', async (t) => {
  const { app } = await open(t)
  const list = await send(app, 'GET', '/api/v1/checks')
  t.equal(list.statusCode, 200)
  t.match(list.json(), {
    total: 2,
    next_offset: null,
    checks: [
      { id: 'backup', name: 'Backup', group: 'Jobs', tags: ['prod', 'db'], source: 'config', interval: 3600, status: 'never' },
      { id: 'report', schedule: '0 6 * * *', tz: 'Europe/Berlin', source: 'config', tags: [] },
    ],
  })
  t.notOk('fields' in list.json().checks[0], 'a config check has no API fields')
  for (const [method, url, body] of [
    ['PUT', '/api/v1/checks/backup', { name: 'x' }],
    ['PATCH', '/api/v1/checks/backup', { name: 'x' }],
    ['DELETE', '/api/v1/checks/backup', undefined],
    ['POST', '/api/v1/checks', { id: 'backup', name: 'x' }],
  ] as const) {
    const res = await send(app, method, url, body)
    t.equal(res.statusCode, 409, `${method} ${url}`)
    t.match(res.json().message, /^id: check "backup" is defined in config\.yml/)
  }
  t.equal((await send(app, 'GET', '/api/v1/checks/nope')).statusCode, 404)
  t.equal((await app.inject({ url: '/api/v1/checks' })).statusCode, 403, 'the token is needed')
})

t.test('an API check is created, checked in, late, patched, paused, deleted; it survives a restart', async (t) => {
  const { app, clock, dbPath } = await open(t)
  const created = await send(app, 'POST', '/api/v1/checks', {
    id: 'nightly-sync',
    name: 'Nightly sync',
    group: 'Sync',
    tags: ['prod'],
    interval: '1h',
    grace: '5m',
  })
  t.equal(created.statusCode, 201)
  t.equal(created.headers.location, '/api/v1/checks/nightly-sync')
  t.match(created.json(), {
    id: 'nightly-sync',
    source: 'api',
    group: 'Sync',
    interval: 3600,
    grace: 300,
    status: 'never',
    fields: { name: 'Nightly sync', group: 'Sync', tags: ['prod'], interval: '1h', grace: '5m' },
    created: '2026-01-15T12:00:00+00:00',
  })
  t.equal((await send(app, 'POST', '/api/v1/checks', { id: 'nightly-sync', name: 'again' })).statusCode, 409, 'POST refuses an id that exists')

  // A check like any item: refreshed, on the page, in /metrics.
  t.same((await app.inject({ url: '/refresh/nightly-sync', headers: auth })).json(), { refreshed: 1 })
  t.match((await send(app, 'GET', '/api/v1/checks/nightly-sync')).json(), { status: 'up' })
  t.match((await app.inject({ url: '/' })).body, 'Nightly sync')
  t.ok(
    (await metricLines(app, 'statuspage_item_up')).some((l) => l.includes('id="nightly-sync"') && l.endsWith(' 1')),
    'in /metrics',
  )
  clock.advance(3600 + 301)
  t.match((await send(app, 'GET', '/api/v1/checks/nightly-sync')).json(), { status: 'late' })

  // PATCH: a merge patch; null removes a field; what is left is checked as a whole.
  const patched = await send(app, 'PATCH', '/api/v1/checks/nightly-sync', { interval: null, schedule: '30 2 * * *', tz: 'Europe/Berlin' })
  t.equal(patched.statusCode, 200)
  t.match(patched.json(), { schedule: '30 2 * * *', tz: 'Europe/Berlin', interval: null, fields: { name: 'Nightly sync', schedule: '30 2 * * *' } })
  t.notOk('interval' in patched.json().fields)
  const both = await send(app, 'PATCH', '/api/v1/checks/nightly-sync', { interval: '1h' })
  t.equal(both.statusCode, 400)
  t.match(both.json().message, 'has both interval and schedule')

  t.match((await send(app, 'POST', '/api/v1/checks/nightly-sync/pause')).json(), { items: [{ status: 'paused' }] })
  t.equal((await send(app, 'GET', '/api/v1/checks/nightly-sync/runs')).json().runs[0].kind, 'pause')

  // PUT replaces it whole, keeping when it was created; then a restart finds it.
  clock.advance(60)
  const put = await send(app, 'PUT', '/api/v1/checks/nightly-sync', { name: 'Sync', interval: 600 })
  t.equal(put.statusCode, 200)
  t.match(put.json(), { name: 'Sync', group: 'Checks', tags: [], interval: 600, created: '2026-01-15T12:00:00+00:00', fields: { name: 'Sync', interval: 600 } })
  await app.close()
  const again = (await open(t, dbPath)).app
  t.match((await send(again, 'GET', '/api/v1/checks/nightly-sync')).json(), { name: 'Sync', source: 'api', status: 'paused' })

  t.equal((await send(again, 'DELETE', '/api/v1/checks/nightly-sync')).statusCode, 204)
  t.equal((await send(again, 'GET', '/api/v1/checks/nightly-sync')).statusCode, 404)
  t.same((await again.inject({ url: '/refresh/nightly-sync', headers: auth })).json(), { refreshed: 0 }, 'no longer a check')
  t.equal((await send(again, 'DELETE', '/api/v1/checks/nightly-sync')).statusCode, 404)
})

t.test('PUT creates (201) then replaces (200): run twice from a deploy script, it changes nothing more', async (t) => {
  const { app } = await open(t)
  const body = { name: 'Deploy', group: 'Jobs', schedule: '0 * * * *', max_runtime: '10m', failure_threshold: 2 }
  t.equal((await send(app, 'PUT', '/api/v1/checks/deploy', body)).statusCode, 201)
  const second = await send(app, 'PUT', '/api/v1/checks/deploy', body)
  t.equal(second.statusCode, 200)
  t.match(second.json(), { max_runtime: 600, failure_threshold: 2, group: 'Jobs' })
  const list = (await send(app, 'GET', '/api/v1/checks?group=Jobs')).json()
  t.same(
    list.checks.map((c: { id: string }) => c.id),
    ['backup', 'report', 'deploy'],
    "in the group after config.yml's items",
  )
  t.match((await app.inject({ url: '/api/v1/status' })).json().groups, [{ name: 'Jobs', items: [{ id: 'backup' }, { id: 'report' }, { id: 'deploy' }] }])
})

t.test('bad input is a 400 naming the field, and nothing is stored', async (t) => {
  const { app } = await open(t)
  const cases: [string, 'POST' | 'PUT', string, unknown, RegExp][] = [
    ['no name', 'PUT', '/api/v1/checks/x', { interval: 60 }, /must have required property 'name'/],
    ['an unknown field', 'PUT', '/api/v1/checks/x', { name: 'x', intervall: 60 }, /unknown key 'intervall'/],
    ['a bad duration', 'PUT', '/api/v1/checks/x', { name: 'x', interval: '1 hour' }, /interval/],
    ['a bad cron expression', 'PUT', '/api/v1/checks/x', { name: 'x', schedule: '61 * * * *' }, /^schedule: /],
    ['an unknown zone', 'PUT', '/api/v1/checks/x', { name: 'x', schedule: '0 * * * *', tz: 'Mars/Olympus' }, /^tz: /],
    ['a tz without schedule', 'PUT', '/api/v1/checks/x', { name: 'x', tz: 'UTC' }, /^tz: applies to a schedule/],
    ['a bad tag', 'PUT', '/api/v1/checks/x', { name: 'x', tags: ['has space'] }, /^body\.tags\[0\]: must match/],
    ['an id that is no URL segment', 'PUT', '/api/v1/checks/a%20b', { name: 'x' }, /^(params\.|body\.)?id: must match/],
    ['an id with a colon', 'POST', '/api/v1/checks', { id: 'scripto:1', name: 'x' }, /^(params\.|body\.)?id: must match/],
  ]
  for (const [what, method, url, body, message] of cases) {
    const res = await send(app, method, url, body)
    t.equal(res.statusCode, 400, what)
    t.match(res.json().message, message, what)
  }
  t.equal((await send(app, 'GET', '/api/v1/checks')).json().total, 2, 'nothing was stored')
})

t.test('the list filters by tag (all of them), status, group and source, and pages', async (t) => {
  const { app } = await open(t)
  for (let i = 0; i < 5; i++) {
    t.equal((await send(app, 'PUT', `/api/v1/checks/c${i}`, { name: `C${i}`, tags: i % 2 === 0 ? ['even', 'prod'] : ['odd'] })).statusCode, 201)
  }
  await app.inject({ url: '/refresh/c0', headers: auth })
  const ids = async (query: string) => (await send(app, 'GET', `/api/v1/checks${query}`)).json().checks.map((c: { id: string }) => c.id)
  t.same(await ids('?tag=prod'), ['backup', 'c0', 'c2', 'c4'])
  t.same(await ids('?tag=prod&tag=even'), ['c0', 'c2', 'c4'])
  t.same(await ids('?tag=prod&tag=db'), ['backup'])
  t.same(await ids('?source=api&status=up'), ['c0'])
  t.same(await ids('?source=config'), ['backup', 'report'])
  t.same(await ids('?group=Checks&limit=2&offset=1'), ['c1', 'c2'])
  t.match((await send(app, 'GET', '/api/v1/checks?limit=2&offset=5')).json(), { total: 7, next_offset: null })
  t.match((await send(app, 'GET', '/api/v1/checks?limit=2')).json(), { total: 7, next_offset: 2 })
  const bad = await send(app, 'GET', '/api/v1/checks?status=sleeping')
  t.equal(bad.statusCode, 400)
  t.match(bad.json().message, /status/)
})

t.test('a check added to config.yml takes over the id of an API check; the API one is back when the file drops it', async (t) => {
  const { app } = await open(t)
  await send(app, 'PUT', '/api/v1/checks/extra', { name: 'From the API' })
  const monitor = app.monitor
  await monitor.reload(config(yamlConfig({ groups: `${GROUPS}      - {name: From the file, id: extra}\n` })))
  t.match((await send(app, 'GET', '/api/v1/checks/extra')).json(), { name: 'From the file', source: 'config' })
  t.equal((await send(app, 'PUT', '/api/v1/checks/extra', { name: 'x' })).statusCode, 409)
  await monitor.reload(config(yamlConfig({ groups: GROUPS })))
  t.match((await send(app, 'GET', '/api/v1/checks/extra')).json(), { name: 'From the API', source: 'api' })
})

const PING_KEY = 'ping-key-0123456789abcdef0123456789abcdef'

t.test("?create=1 creates an unknown check on its first ping with auto_provision's fields: 201, then 200; max_checks bounds it", async (t) => {
  const extra = `  ping_key: ${PING_KEY}\n  auto_provision:\n    group: Cron\n    tags: [auto]\n    schedule: '30 2 * * *'\n    tz: Europe/Berlin\n    grace: 30m\n    max_checks: 2\n`
  const { app } = await testApp(t, { config: config(yamlConfig({ groups: GROUPS, extra })) })
  const ping = (path: string) => app.inject({ url: `/ping/${PING_KEY}/${path}` })
  t.same([(await ping('new-job')).statusCode, (await ping('new-job')).body], [404, 'not found'], 'without ?create=1 an unknown id is not found')
  const first = await ping('new-job/start?create=1')
  t.same([first.statusCode, first.body], [201, 'Created'])
  const second = await ping('new-job?create=1')
  t.same([second.statusCode, second.body], [200, 'OK'])
  t.match((await send(app, 'GET', '/api/v1/checks/new-job')).json(), {
    name: 'new-job',
    group: 'Cron',
    tags: ['auto'],
    source: 'auto',
    schedule: '30 2 * * *',
    tz: 'Europe/Berlin',
    grace: 1800,
    status: 'up',
    last_duration: 0,
  })
  t.equal((await ping('backup?create=1')).statusCode, 200, 'a config.yml check is pinged as it is, nothing created')
  t.equal((await ping('bad%20id?create=1')).statusCode, 404, 'an id that cannot be a check is not created')

  const refreshed = await app.inject({ url: '/refresh/other-job?create=1', headers: auth })
  t.same([refreshed.statusCode, refreshed.body], [201, '{"refreshed": 1}'])
  const full = await ping('third-job?create=1')
  t.same([full.statusCode, full.body], [404, 'not found: statuspage.auto_provision.max_checks checks were created already'])
  t.equal((await app.inject({ url: '/refresh/third-job?create=1', headers: auth })).statusCode, 404)
  t.same(
    (await send(app, 'GET', '/api/v1/checks?source=auto')).json().checks.map((c: { id: string }) => c.id),
    ['new-job', 'other-job'],
  )
})

t.test('without auto_provision, ?create=1 creates nothing', async (t) => {
  const { app } = await testApp(t, { config: config(yamlConfig({ groups: GROUPS, extra: `  ping_key: ${PING_KEY}\n` })) })
  t.equal((await app.inject({ url: `/ping/${PING_KEY}/job?create=1` })).statusCode, 404)
  t.same((await app.inject({ url: '/refresh/job?create=1', headers: auth })).json(), { refreshed: 0 })
  t.equal((await send(app, 'GET', '/api/v1/checks')).json().total, 2)
})

t.test('auto_provision is checked as the checks it creates', async (t) => {
  const errors = (extra: string) => {
    const r = parseConfig(yamlConfig({ groups: GROUPS, extra }), 'config.yml')
    return r.ok ? [] : r.errors
  }
  t.same(errors("  auto_provision:\n    interval: 1h\n    schedule: '0 * * * *'\n"), [
    'config.yml: statuspage.auto_provision: has both interval and schedule; give one',
  ])
  t.same(
    errors('  auto_provision:\n    schedule: nonsense\n').map((l) => l.slice(0, 58)),
    ["config.yml: statuspage.auto_provision.schedule: 'nonsense'"],
  )
  t.same(errors('  auto_provision:\n    max_checks: 0\n'), ['config.yml: statuspage.auto_provision.max_checks: must be at least 1'])
  t.same(errors('  auto_provision: {}\n'), [], 'every field has a default')
})

t.test('definitions written together are put in force together, not one recomputation each', async (t) => {
  const { app } = await open(t)
  let applied = 0
  app.monitor.events.onReload(() => applied++)
  const writes = Array.from({ length: 50 }, (_, i) => send(app, 'PUT', `/api/v1/checks/bulk-${i}`, { name: `Bulk ${i}` }))
  t.same(new Set((await Promise.all(writes)).map((r) => r.statusCode)), new Set([201]))
  t.equal(app.monitor.config.items.length, 52, 'every one is in force once its write is answered')
  t.ok(applied <= 3, `${applied} recomputations for 50 writes`)
})

t.test('/metrics labels every check right as checks come and go (the labels of unmoved checks are kept)', async (t) => {
  const { app } = await open(t)
  const ids = async () => (await metricLines(app, 'statuspage_item_info')).map((l) => /id="([^"]+)",name="([^"]+)"/.exec(l)!.slice(1).join('='))
  for (const id of ['a', 'b', 'c']) await send(app, 'PUT', `/api/v1/checks/${id}`, { name: `N${id}` })
  t.same(await ids(), ['backup=Backup', 'report=Report', 'a=Na', 'b=Nb', 'c=Nc'])
  await send(app, 'PUT', '/api/v1/checks/d', { name: 'Nd' })
  t.same(await ids(), ['backup=Backup', 'report=Report', 'a=Na', 'b=Nb', 'c=Nc', 'd=Nd'], 'one added')
  await send(app, 'DELETE', '/api/v1/checks/b')
  await send(app, 'PATCH', '/api/v1/checks/a', { name: 'Renamed' })
  t.same(await ids(), ['backup=Backup', 'report=Report', 'a=Renamed', 'c=Nc', 'd=Nd'], 'one deleted, one renamed in place')
  t.same(
    (await metricLines(app, 'statuspage_item_up')).map((l) => /id="([^"]+)"/.exec(l)![1]),
    ['backup', 'report', 'a', 'c', 'd'],
  )
})

t.test("Scripto's scripts are checks too: listed after the items as scripto:<n>, readable, written only through Scripto's API", async (t) => {
  const { app } = await open(t)
  const created = await app.inject({
    method: 'POST',
    url: '/api/v1/script',
    headers: json,
    payload: JSON.stringify({ name: 'rotate.sh', server: 'web1', status: false, last_exec: 'CURRENT_TIMESTAMP' }),
  })
  t.equal(created.statusCode, 201)
  const list = (await send(app, 'GET', '/api/v1/checks')).json()
  t.equal(list.total, 3)
  t.match(list.checks[2], { id: 'scripto:1', name: 'rotate.sh', group: 'Scripts', tags: [], source: 'scripto', status: 'failed', badge: '/badge/script/1.svg' })
  t.same(
    (await send(app, 'GET', '/api/v1/checks?source=scripto')).json().checks.map((c: { id: string }) => c.id),
    ['scripto:1'],
  )
  t.same((await send(app, 'GET', '/api/v1/checks?status=failed')).json().total, 1)
  t.same(
    (await send(app, 'GET', '/api/v1/checks?limit=1&offset=2')).json().checks.map((c: { id: string }) => c.id),
    ['scripto:1'],
    'paged across items and scripts',
  )
  t.equal((await send(app, 'GET', '/api/v1/checks?tag=prod')).json().total, 1, 'a script has no tags')
  t.match((await send(app, 'GET', '/api/v1/checks/scripto:1')).json(), { id: 'scripto:1', interval: 86400 })
  t.equal((await send(app, 'GET', '/api/v1/checks/scripto:2')).statusCode, 404)
  for (const [method, body] of [
    ['PUT', { name: 'x' }],
    ['PATCH', { name: 'x' }],
    ['DELETE', undefined],
  ] as const) {
    const res = await send(app, method, '/api/v1/checks/scripto:1', body)
    t.equal(res.statusCode, 409, method)
    t.equal(res.json().message, 'id: check "scripto:1" is a Scripto script: write it through /api/v1/script/1')
  }
})
