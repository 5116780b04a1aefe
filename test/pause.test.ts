// Pause and maintenance through HTTP: /api/v1/items/:id/pause|resume, the same for scripts,
// manual_resume, maintenance windows from config.yml, and what the page, /api/v1/status and
// /metrics say of them. Fixed clock.
import t from 'tap'
import { parseConfig } from '../src/config/load.js'
import { T0, auth, config, testApp, yamlConfig } from './helpers/app.js'
import { metricLines } from './helpers/metrics.js'

type App = Awaited<ReturnType<typeof testApp>>['app']

const GROUPS = `
    Jobs:
      - {name: Backup, id: backup, interval: 1h}
      - {name: Sticky, id: sticky, interval: 1h, manual_resume: true}
`
const json = { ...auth, 'content-type': 'application/json' }
const post = (app: App, url: string, headers: Record<string, string> = auth) => app.inject({ method: 'POST', url, headers })
async function item(app: App, id: string) {
  const status = (await app.inject({ url: '/api/v1/status' })).json() as { up: boolean; groups: { items: Record<string, unknown>[] }[] }
  return { up: status.up, ...status.groups.flatMap((g) => g.items).find((i) => i.id === id)! }
}

t.test('a paused item is paused, not down: out of the banner, grey on the page, paused in /metrics', async (t) => {
  const { app, clock } = await testApp(t, { config: config(yamlConfig({ groups: '\n    Jobs:\n      - {name: Backup, id: backup, interval: 1h}\n' })) })
  await app.inject({ url: '/refresh/backup', headers: auth })
  clock.advance(2 * 3600)
  t.match(await item(app, 'backup'), { up: false, state: 'down', status: 'late' })

  const paused = await post(app, '/api/v1/items/backup/pause')
  t.equal(paused.statusCode, 200)
  t.same(paused.json(), { id: 'backup', items: [{ group: 'Jobs', status: 'paused', paused_since: '2026-01-15T14:00:00+00:00' }] })
  t.match(await item(app, 'backup'), {
    up: true,
    state: 'up',
    status: 'paused',
    reason: 'paused until its next signal or a resume',
    paused_since: '2026-01-15T14:00:00+00:00',
  })
  const html = (await app.inject({ url: '/' })).body
  t.match(html, '<p class="banner ok" role="status">All systems are operational</p>', 'left out of the banner')
  t.match(
    html,
    /<li class="held" data-status="paused"><span class="mark" aria-hidden="true">‖<\/span><a class="name" href="\/item\/backup">Backup<\/a><span class="state">Paused<\/span>/,
  )
  t.same(await metricLines(app, 'statuspage_item_paused'), ['statuspage_item_paused{group="Jobs",id="backup",name="Backup"} 1'])
  t.same(await metricLines(app, 'statuspage_item_up'), ['statuspage_item_up{group="Jobs",id="backup",name="Backup"} 1'])
  t.same(
    await metricLines(app, 'statuspage_item_last_refresh_seconds'),
    [`statuspage_item_last_refresh_seconds{group="Jobs",id="backup",name="Backup"} ${T0 / 1000}`],
    'the pause is no check-in',
  )
  t.same((await app.inject({ url: '/badge/backup.json' })).json(), { schemaVersion: 1, label: 'Backup', message: 'paused', color: 'lightgrey' })
})

t.test('a check-in resumes a paused item, and so does a resume, which starts its interval again', async (t) => {
  const { app, clock } = await testApp(t, { config: config(yamlConfig({ groups: GROUPS })) })
  await post(app, '/api/v1/items/backup/pause')
  clock.advance(60)
  await app.inject({ url: '/refresh/backup', headers: auth })
  t.match(await item(app, 'backup'), { status: 'up', paused_since: null, last_refresh: '2026-01-15T12:01:00+00:00' })

  await post(app, '/api/v1/items/backup/pause')
  clock.advance(5 * 3600)
  const resumed = await post(app, '/api/v1/items/backup/resume')
  t.same(resumed.json().items, [{ group: 'Jobs', status: 'up', paused_since: null }])
  t.match(
    await item(app, 'backup'),
    { status: 'up', due_in_seconds: 3600, last_refresh: '2026-01-15T17:01:00+00:00' },
    'not late at once: the interval starts from the resume',
  )
  clock.advance(60)
  t.match((await post(app, '/api/v1/items/backup/resume')).json().items, [{ status: 'up' }])
  t.match(await item(app, 'backup'), { last_refresh: '2026-01-15T17:01:00+00:00' }, 'a resume of a check that is not paused changes nothing')
})

t.test('with manual_resume a paused item logs and ignores its signals; only a resume releases it', async (t) => {
  const { app, clock } = await testApp(t, { config: config(yamlConfig({ groups: GROUPS })) })
  await app.inject({ url: '/refresh/sticky', headers: auth })
  await post(app, '/api/v1/items/sticky/pause')
  clock.advance(60)
  t.equal((await app.inject({ url: '/refresh/sticky/fail', headers: auth })).body, '{"refreshed": 1}', 'answered as always')
  t.match(await item(app, 'sticky'), {
    status: 'paused',
    reason: 'paused: only a resume releases it',
    consecutive_failures: 0,
    last_refresh: '2026-01-15T12:00:00+00:00',
    manual_resume: true,
  })
  const log = (await app.inject({ url: '/api/v1/items/sticky/runs', headers: auth })).json().runs as { kind: string; ignored: boolean }[]
  t.same(
    log.map((e) => [e.kind, e.ignored]),
    [
      ['failure', true],
      ['pause', false],
      ['success', false],
    ],
    'pauses are in the log, and the ignored signal too',
  )
  await post(app, '/api/v1/items/sticky/resume')
  await app.inject({ url: '/refresh/sticky/fail', headers: auth })
  t.match(await item(app, 'sticky'), { status: 'failed', consecutive_failures: 1 }, 'signals count again once resumed')
})

t.test('a pause survives a restart, and another config for the same database', async (t) => {
  const c = config(yamlConfig({ groups: GROUPS }))
  const first = await testApp(t, { config: c })
  await post(first.app, '/api/v1/items/sticky/pause')
  await first.app.close()
  const second = await testApp(t, { config: c, dbPath: first.dbPath, clock: first.clock })
  t.match(await item(second.app, 'sticky'), { status: 'paused', paused_since: '2026-01-15T12:00:00+00:00' })
  await second.app.inject({ url: '/refresh/sticky', headers: auth })
  t.match(await item(second.app, 'sticky'), { status: 'paused' }, 'and manual_resume still holds it')
})

t.test('pausing needs the token and an item or script that exists', async (t) => {
  const { app } = await testApp(t, { config: config(yamlConfig({ groups: GROUPS, top: 'scripto:\n  require_token: false\n' })) })
  t.equal((await post(app, '/api/v1/items/backup/pause', {})).statusCode, 403)
  const missing = await post(app, '/api/v1/items/nope/pause')
  t.same([missing.statusCode, missing.json().message], [404, 'id: no item has the id "nope"'])
  const wrong = await post(app, '/api/v1/items/backup/stop')
  t.same([wrong.statusCode, wrong.json().message], [400, 'params.action: must be one of: pause, resume'])
  await app.inject({ method: 'POST', url: '/api/v1/script', payload: { name: 'a.sh', server: 'h', status: 1 } })
  t.equal((await post(app, '/api/v1/script/1/pause', {})).statusCode, 403, 'even where the script API is open')
  const noScript = await post(app, '/api/v1/script/2/pause')
  t.same([noScript.statusCode, noScript.json().message], [404, 'id: no script with id 2'])
  t.match(await item(app, 'backup'), { status: 'never' }, 'nothing changed')
})

t.test('a paused script is paused; with manual_resume its reports change nothing until it is resumed', async (t) => {
  const { app, clock } = await testApp(t)
  await app.inject({
    method: 'POST',
    url: '/api/v1/script',
    headers: json,
    payload: { name: 'etl.sh', server: 'db1', status: 1, last_exec: 'CURRENT_TIMESTAMP', manual_resume: true },
  })
  const paused = await post(app, '/api/v1/script/1/pause')
  t.match(paused.json(), { id: 1, state: 'paused', manual_resume: true, paused_since: '2026-01-15T12:00:00' })
  clock.advance(3 * 86_400)
  const report = await app.inject({
    method: 'PUT',
    url: '/api/v1/script/1',
    headers: json,
    payload: { status: 0, last_exec: 'CURRENT_TIMESTAMP', server: 'db2' },
  })
  t.equal(report.statusCode, 200)
  t.match(
    report.json(),
    { state: 'paused', status: true, last_exec: '2026-01-15T12:00:00', server: 'db2' },
    'its fields change; what it says of the run does not',
  )
  t.same(await metricLines(app, 'statuspage_script_paused'), ['statuspage_script_paused{id="1",name="etl.sh",server="db2"} 1'])
  t.same(await metricLines(app, 'statuspage_script_up'), ['statuspage_script_up{id="1",name="etl.sh",server="db2"} 1'])
  const resumed = await post(app, '/api/v1/script/1/resume')
  t.match(resumed.json(), { state: 'ok', paused_since: null })
  const log = (await app.inject({ url: '/api/v1/script/1/runs', headers: auth })).json().runs as { kind: string; ignored: boolean }[]
  t.same(
    log.map((e) => [e.kind, e.ignored]),
    [
      ['resume', false],
      ['failure', true],
      ['pause', false],
      ['success', false],
    ],
  )
})

t.test('a script without manual_resume is resumed by its next report', async (t) => {
  const { app } = await testApp(t)
  await app.inject({ method: 'POST', url: '/api/v1/script', headers: json, payload: { name: 'a.sh', server: 'h', status: 1 } })
  await post(app, '/api/v1/script/1/pause')
  t.match((await app.inject({ method: 'POST', url: '/api/v1/script/1/start', headers: json })).json(), { state: 'running', paused_since: null })
})

const MAINTENANCE = `
    Jobs:
      - {name: Backup, id: backup, interval: 1h}
      - {name: Mail, id: mail, interval: 1h, maintenance: [{schedule: "0 13 * * *", duration: 30m}]}
`
// T0 is Thursday 2026-01-15 12:00 UTC.
const withWindows = () =>
  config(yamlConfig({ extra: '  maintenance:\n    - {schedule: "0 2 * * SUN", duration: 2h, tz: Europe/Berlin}\n', groups: MAINTENANCE }))

t.test('inside a window a check is in maintenance, not down; the page shows the next window', async (t) => {
  const { app, clock } = await testApp(t, { config: withWindows() })
  await app.inject({ url: '/refresh/mail', headers: auth })
  t.match(await item(app, 'mail'), { status: 'up', maintenance: { start: '2026-01-15T13:00:00+00:00', end: '2026-01-15T13:30:00+00:00', now: false } })
  t.match((await app.inject({ url: '/' })).body, /Mail<\/a>.*?<span class="maint" title="2026-01-15 13:00:00 \+00:00">maintenance in 1 h for 30m<\/span>/)
  clock.advance(3600 + 10 * 60)
  t.match(
    await item(app, 'mail'),
    { up: false, state: 'up', status: 'maintenance', reason: 'in a maintenance window for 20m more', maintenance: { now: true } },
    'backup, never refreshed, is down',
  )
  t.same(await metricLines(app, 'statuspage_item_in_maintenance'), [
    'statuspage_item_in_maintenance{group="Jobs",id="backup",name="Backup"} 0',
    'statuspage_item_in_maintenance{group="Jobs",id="mail",name="Mail"} 1',
  ])
  clock.advance(20 * 60)
  t.match(await item(app, 'mail'), { status: 'up', deadline: '2026-01-15T13:30:00+00:00' }, 'its deadline, 13:00, fell inside the window: it moved to the end')
  clock.advance(1)
  t.match(await item(app, 'mail'), { status: 'late' }, 'late once the window is over')
})

t.test('a deadline that falls inside a window moves to its end plus grace', async (t) => {
  const { app, clock } = await testApp(t, { config: withWindows() })
  clock.advance(15 * 60)
  await app.inject({ url: '/refresh/mail', headers: auth })
  t.match(await item(app, 'mail'), { next_due: '2026-01-15T13:15:00+00:00', deadline: '2026-01-15T13:30:00+00:00' })
  t.same(await metricLines(app, 'statuspage_item_deadline_seconds{group="Jobs",id="mail"'), [
    `statuspage_item_deadline_seconds{group="Jobs",id="mail",name="Mail"} ${Date.UTC(2026, 0, 15, 13, 30) / 1000}`,
  ])
  clock.advance(3600 + 20 * 60)
  t.match(await item(app, 'mail'), { status: 'late', reason: 'late by 5m: no check-in by the deadline' })
})

t.test("windows at the top level hold every item and script; the zone is the window's own", async (t) => {
  // Sunday 2026-01-18 02:00 in Berlin is 01:00 UTC.
  const sunday = Date.UTC(2026, 0, 18, 1, 30)
  const { app, clock } = await testApp(t, { config: withWindows() })
  await app.inject({ method: 'POST', url: '/api/v1/script', headers: json, payload: { name: 'a.sh', server: 'h', status: 0 } })
  clock.t = sunday
  const status = (await app.inject({ url: '/api/v1/status' })).json()
  t.same(
    status.groups[0].items.map((i: { status: string }) => i.status),
    ['maintenance', 'maintenance'],
  )
  t.match(status.scripts, [{ state: 'maintenance', maintenance: { start: '2026-01-18T01:00:00', end: '2026-01-18T03:00:00', now: true } }])
  t.equal(status.up, true)
  clock.t = Date.UTC(2026, 0, 18, 3)
  t.match(
    (await app.inject({ url: '/api/v1/status' })).json().groups[0].items,
    [{ status: 'never' }, { status: 'never' }],
    'the window is half-open: over at its end',
  )
})

t.test('a group takes windows as {items, maintenance}, and bad windows are refused naming them', async (t) => {
  const c = config(
    yamlConfig({
      groups:
        '\n    DB:\n      maintenance: [{schedule: "0 3 * * *", duration: 1h}]\n      items:\n        - {name: Primary, id: db1}\n    Web:\n      - {name: Site, id: web}\n',
    }),
  )
  t.same(
    c.groups.map((g) => g.items.map((i) => i.check.maintenance.length)),
    [[1], [0]],
  )
  const bad = (groups: string, extra = '') => {
    const r = parseConfig(yamlConfig({ groups, extra }), 'config.yml')
    return r.ok ? [] : r.errors
  }
  t.same(bad('\n    G:\n      - {name: A, id: a, maintenance: [{schedule: "0 3 * * *"}]}\n'), [
    "config.yml: statuspage.groups.G[0].maintenance[0]: must have required property 'duration'",
  ])
  t.same(bad('\n    G:\n      - {name: A, id: a, maintenance: [{schedule: "0 25 * * *", duration: 1h}]}\n'), [
    "config.yml: statuspage.groups.G[0].maintenance[0].schedule: '0 25 * * *': hour 25 is out of range 0-23",
  ])
  t.same(bad('\n    G:\n      items: [{name: A, id: a}]\n      maintenance: [{schedule: "@daily", duration: 0}]\n'), [
    'config.yml: statuspage.groups.G.maintenance[0].duration: must be greater than 0',
  ])
  t.same(bad('\n    G:\n      - {name: A, id: a}\n', '  maintenance: [{schedule: "@daily", duration: 1h, tz: Mars/Olympus}]\n'), [
    "config.yml: statuspage.maintenance[0].tz: 'Mars/Olympus' is not a known IANA time zone (such as Europe/Berlin or UTC)",
  ])
  t.same(bad('\n    G:\n      maintenance: []\n'), ["config.yml: statuspage.groups.G: must have required property 'items'"])
})

t.test('a reload that adds a window moves a deadline that falls inside it', async (t) => {
  const { app } = await testApp(t, { config: config(yamlConfig({ groups: '\n    Jobs:\n      - {name: Mail, id: mail, interval: 1h}\n' })) })
  await app.inject({ url: '/refresh/mail', headers: auth })
  t.match(await item(app, 'mail'), { deadline: '2026-01-15T13:00:00+00:00' })
  await app.monitor.reload(withWindows())
  t.match(await item(app, 'mail'), { deadline: '2026-01-15T13:30:00+00:00' })
})

t.test("the README's maintenance example loads: windows at the top, on a group and on an item", async (t) => {
  const readme = (await import('node:fs')).readFileSync('README.md', 'utf8')
  const block = /\*\*Maintenance windows\*\*[\s\S]*?```yaml\n([\s\S]*?)```/.exec(readme)![1]!
  const text = block.replace('statuspage:\n', `statuspage:\n  token: ${'t'.repeat(40)}\n`)
  const r = parseConfig(text, 'README.md')
  t.same(r.ok ? r.config.items.map((i) => [i.id, i.check.maintenance.map((w) => w.key.split('\0')[0])]) : r.errors, [
    ['db1', ['0 2 * * SUN', '0 3 1 * *']],
    ['web', ['0 2 * * SUN', '0 22 * * 1-5']],
  ])
})
