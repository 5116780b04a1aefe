process.env.TZ = 'UTC'

import t from 'tap'
import { relativeTime } from '../src/page/html.js'
import { FakeClock, auth, config, testApp, yamlConfig } from './helpers/app.js'
import { waitUntil } from './helpers/db.js'

const json = { ...auth, 'content-type': 'application/json' }
type App = Awaited<ReturnType<typeof testApp>>['app']

/** The page's visible text, one line per block, tags dropped (and the history strips, whose titles are tooltips). */
const text = (html: string) =>
  html
    .replace(/<style>[\s\S]*<\/style>/, '')
    .replace(/<svg class="strip[^"]*"[\s\S]*?<\/svg>/g, '')
    .replace(/<\/(li|h1|h2|p|tr|footer)>/g, '\n')
    .replace(/<[^>]+>/g, '')
    .split('\n')
    .map((l) => l.trim())
    .filter(Boolean)

const page = async (app: App) => (await app.inject({ url: '/' })).body

t.test(
  'the page shows the title, the banner naming what is down, groups in config order with down checks first, the legend of every state and the footer',
  async (t) => {
    const { app, clock } = await testApp(t)
    await app.inject({ url: '/refresh/http', headers: auth })
    clock.advance(190)
    const html = await page(app)
    t.match(html, '<title>Test</title>')
    t.match(html, '<meta http-equiv="refresh" content="120">')
    t.same(text(html), [
      'Test',
      'Test',
      '3 down: DNS, SMTP/IMAP, Internal DNS',
      'SomeGroup',
      '○DNSNevernever',
      '○SMTP/IMAPNevernever',
      '●HTTP/HTTPSUp3 min agodue in 6 min',
      'Group #2',
      '○Internal DNSNevernever',
      '●HTTP/HTTPSUp3 min agodue in 6 min',
      '● Up',
      '▶ Running',
      '▲ Late',
      '✖ Failed',
      '⧗ Timeout',
      '○ Never',
      '‖ Paused',
      '◆ Maintenance',
      'Current server time: 2026-01-15 12:03:10 +00:00 (refreshing every 120 seconds)',
    ])
    t.match(html, '<span class="since" title="2026-01-15 12:00:00 +00:00">3 min ago</span>', 'the exact time on hover')
    t.notMatch(html, /<script|<link rel="stylesheet"|https?:\/\/(?!www\.w3\.org)/, 'no script, no external resource')
    t.ok(Buffer.byteLength(html) < 8 * 1024, `small: ${Buffer.byteLength(html)} bytes`)
  },
)

t.test('the banner and favicon turn green when everything is up', async (t) => {
  const { app } = await testApp(t, { config: config(yamlConfig({ groups: '\n    G:\n      - {name: A, id: a}\n' })) })
  t.match(await page(app), /<link rel="icon" href="data:image\/svg\+xml,[^"]*%23F44336/, 'red while down')
  await app.inject({ url: '/refresh/a', headers: auth })
  const html = await page(app)
  t.match(html, '<p class="banner ok" role="status">All systems are operational</p>')
  t.match(html, /<link rel="icon" href="data:image\/svg\+xml,[^"]*%234CAF50/, 'green when up')
})

t.test('scripts: hidden when there are none; else failed and late first, then oldest', async (t) => {
  const { app, clock } = await testApp(t)
  t.notMatch(await page(app), 'Scripts')
  const post = (payload: object) => app.inject({ method: 'POST', url: '/api/v1/script', headers: json, payload })
  await post({ name: 'ok.sh', server: 'web1', status: 1, last_exec: '2026-01-15T11:00:00' })
  await post({ name: 'failed.sh', server: 'web1', status: 0, last_exec: '2026-01-15T11:30:00' })
  await post({ name: 'late.sh', server: 'db1', status: 1, last_exec: '2025-11-01T00:00:00' })
  await post({ name: 'never.sh', server: 'db1', status: 1 })
  clock.advance(60)
  const lines = text(await page(app))
  const from = lines.indexOf('Scripts')
  t.same(lines.slice(from, from + 6), [
    'Scripts',
    'StateIDNameServerLast executionLast run',
    '○ Never4never.shdb1never',
    '▲ Late3late.shdb1on 2025-11-01',
    '✖ Failed2failed.shweb131 min agoreported a failure',
    '● Up1ok.shweb11 h ago',
  ])
})

t.test('every name from config or from a client is escaped', async (t) => {
  const evil = '<script>alert(1)</script>'
  const { app } = await testApp(t, {
    config: config(yamlConfig({ groups: `\n    "<b>g</b>":\n      - {name: "${evil}", id: x}\n` }).replace('title: Test', `title: "${evil}"`)),
  })
  await app.inject({ method: 'POST', url: '/api/v1/script', headers: json, payload: { name: evil, server: '"><img src=x onerror=alert(1)>', status: 1 } })
  const html = await page(app)
  t.notMatch(html, /<script>|<img|<b>/)
  t.match(html, '<title>&lt;script&gt;alert(1)&lt;/script&gt;</title>')
  t.match(html, '<h2>&lt;b&gt;g&lt;/b&gt;</h2>')
  t.match(html, '<td data-label="Server"><span class="v">&quot;&gt;&lt;img src=x onerror=alert(1)&gt;</span></td>')
})

t.test('the page is served with security headers', async (t) => {
  const { app } = await testApp(t)
  const res = await app.inject({ url: '/' })
  t.equal(res.statusCode, 200)
  t.equal(res.headers['content-type'], 'text/html; charset=utf-8')
  t.match(
    res.headers['content-security-policy'],
    /^default-src 'none'; style-src 'sha256-[A-Za-z0-9+/]+=*'; img-src data:; base-uri 'none'; form-action 'none'; frame-ancestors 'none'$/,
  )
  t.equal(res.headers['x-content-type-options'], 'nosniff')
  t.equal(res.headers['referrer-policy'], 'no-referrer')
})

t.test('the footer tells the server time in the TZ zone', async (t) => {
  t.teardown(() => {
    process.env.TZ = 'UTC'
  })
  process.env.TZ = 'Europe/Berlin'
  const { app } = await testApp(t)
  t.match(await page(app), 'Current server time: 2026-01-15 13:00:00 +01:00 (refreshing every 120 seconds)')
})

t.test('relative times read naturally', async (t) => {
  const now = Date.UTC(2026, 0, 15, 12)
  const cases: [number, string][] = [
    [0, 'just now'],
    [9, 'just now'],
    [42, '42 s ago'],
    [3 * 60 + 59, '3 min ago'],
    [5 * 3600, '5 h ago'],
    [2 * 86_400, '2 d ago'],
    [29 * 86_400, '29 d ago'],
    [30 * 86_400, 'on 2025-12-16'],
    [-120, 'in 2 min'],
  ]
  for (const [ago, expected] of cases) t.equal(relativeTime(now - ago * 1000, now), expected, `${ago} s`)
})

t.test("item badges: the worst state of the id, in the page's words, as SVG and as shields.io JSON", async (t) => {
  const { app } = await testApp(t, {
    config: config(yamlConfig({ groups: '\n    A:\n      - {name: Web <1>, id: web}\n    B:\n      - {name: Web, id: web, interval: 1}\n' })),
  })
  const svg = async (url: string) => {
    const res = await app.inject({ url })
    t.equal(res.headers['content-type'], 'image/svg+xml; charset=utf-8')
    t.equal(res.headers['cache-control'], 'no-cache')
    return res.body
  }
  t.match(await svg('/badge/web.svg'), /<title>Web &lt;1&gt;: never<\/title>.*fill="#9f9f9f"/)
  await app.inject({ url: '/refresh/web', headers: auth })
  t.match(await svg('/badge/web.svg'), /<title>Web &lt;1&gt;: up<\/title>.*fill="#4c1"/)
  t.same((await app.inject({ url: '/badge/web.json' })).json(), { schemaVersion: 1, label: 'Web <1>', message: 'up', color: 'brightgreen' })
})

t.test('group and script badges; 404 for what does not exist', async (t) => {
  const { app, clock } = await testApp(t)
  await app.inject({ url: '/refresh/http', headers: auth })
  await app.inject({ url: '/refresh/dns-internal', headers: auth })
  t.same((await app.inject({ url: '/badge/group/Group%20%232.json' })).json(), { schemaVersion: 1, label: 'Group #2', message: 'up', color: 'brightgreen' })
  t.same((await app.inject({ url: '/badge/group/SomeGroup.json' })).json(), { schemaVersion: 1, label: 'SomeGroup', message: 'never', color: 'lightgrey' })
  await app.inject({
    method: 'POST',
    url: '/api/v1/script',
    headers: json,
    payload: { name: 'b.sh', server: 'h', status: 1, last_exec: 'CURRENT_TIMESTAMP', periodicity: 60 },
  })
  t.same((await app.inject({ url: '/badge/script/1.json' })).json(), { schemaVersion: 1, label: 'b.sh', message: 'up', color: 'brightgreen' })
  clock.advance(61)
  t.same((await app.inject({ url: '/badge/script/1.json' })).json(), { schemaVersion: 1, label: 'b.sh', message: 'late', color: 'orange' })
  t.match((await app.inject({ url: '/badge/script/1.svg' })).body, /<title>b\.sh: late<\/title>/)

  const missing: [string, string][] = [
    ['/badge/nope.svg', "no item with id 'nope'"],
    ['/badge/group/Nope.svg', "no group 'Nope'"],
    ['/badge/script/9.svg', "no script with id '9'"],
    ['/badge/script/x.json', "no script with id 'x'"],
    ['/badge/http.png', "badge names end in .svg or .json, got 'http.png'"],
  ]
  for (const [url, message] of missing) {
    const res = await app.inject({ url })
    t.equal(res.statusCode, 404, url)
    t.same(res.json(), { statusCode: 404, code: 'SP_ERR_NOT_FOUND', error: 'Not Found', message }, url)
  }
})

t.test('a cron item shows its schedule in words with its zone, when it is next due, and how late it is', async (t) => {
  const clock = new FakeClock(Date.parse('2026-01-15T00:00:00Z'))
  const c = config(yamlConfig({ groups: "\n    Backups:\n      - {name: Nightly, id: nightly, schedule: '30 2 * * *', tz: Europe/Berlin, grace: 10m}\n" }))
  const { app } = await testApp(t, { clock, config: c })
  const li = async () => /<li class="[^"]*" data-status="[^"]*">.*?<\/li>/.exec((await app.inject({ url: '/' })).body)![0]
  t.match(await li(), '<span class="sched">At 02:30 (Europe/Berlin)</span>', 'in words before the first check-in')
  await app.inject({ url: '/refresh/nightly', headers: auth })
  t.match(await li(), '<span class="due">due in 1 h</span>', '02:30 in Berlin is 01:30 UTC')
  clock.advance(3600 + 52 * 60)
  t.match(await li(), '<span class="due late">late by 12 min</span>', 'counted from the deadline: due time plus grace')
})

t.test('the page shows a running check and for how long, the last duration, and why a check is down', async (t) => {
  const c = config(
    yamlConfig({
      groups: '\n    Jobs:\n      - {name: Backup, id: backup, interval: 1h}\n      - {name: Sync, id: sync, interval: 1h, failure_threshold: 2}\n',
    }),
  )
  const { app, clock } = await testApp(t, { config: c })
  const li = async (name: string) =>
    new RegExp(`<li class="[^"]*" data-status="[^"]*"><span class="mark"[^>]*>.</span><a class="name" href="[^"]*">${name}</a>.*?</li>`).exec(
      await page(app),
    )![0]
  await app.inject({ url: '/refresh/backup/start', headers: auth })
  clock.advance(1.2)
  await app.inject({ url: '/refresh/backup/0', headers: auth })
  await app.inject({ url: '/refresh/backup/start', headers: auth })
  clock.advance(12)
  t.match(
    await li('Backup'),
    /^<li class="running" data-status="running">.*<span class="state">Running<\/span>.*<span class="why">running for 12s<\/span><span class="dur">last run 1\.2s<\/span>/,
  )
  await app.inject({ url: '/refresh/sync/3', headers: auth })
  t.match(
    await li('Sync'),
    /^<li class="up" data-status="up">.*<span class="why">exit status 3; 1 of 2 failures in a row before down<\/span>/,
    'up, with the failure short of the threshold',
  )
  await app.inject({ url: '/refresh/sync/fail', headers: auth })
  t.match(
    await li('Sync'),
    /^<li class="failed down" data-status="failed">.*<span class="state">Failed<\/span>.*<span class="why">reported a failure; 2 failures in a row<\/span>/,
  )

  await app.inject({ method: 'POST', url: '/api/v1/script', headers: json, payload: { name: 'etl.sh', server: 'db1', status: true, max_runtime: 5 } })
  await app.inject({ method: 'POST', url: '/api/v1/script/1/start', headers: auth })
  clock.advance(6)
  t.match(
    text(await page(app)).find((l) => l.includes('etl.sh') && !l.includes(' down: ')),
    /^⧗ Timeout1etl\.shdb1.*running for 6s, longer than max_runtime 5s$/,
  )
})

t.test('/?tag= shows the checks with every tag, and /badge/tag/<tag>.svg the worst state of them', async (t) => {
  const groups = `
    Jobs:
      - {name: Backup, id: backup, interval: 1h, tags: [prod, db]}
      - {name: Web, id: web, interval: 1h, tags: [prod]}
    Lab:
      - {name: Toy, id: toy, interval: 1h, tags: [lab]}
`
  const { app } = await testApp(t, { config: config(yamlConfig({ groups })) })
  await app.inject({ url: '/refresh/backup', headers: auth })
  const page = async (query: string) => (await app.inject({ url: `/${query}` })).body
  const db = await page('?tag=db')
  t.match(db, 'Checks tagged <strong>db</strong> · <a href="./">all checks</a>')
  t.match(db, 'Backup')
  t.notMatch(db, 'Web')
  t.notMatch(db, '<h2>Lab</h2>', 'a group with none of them is left out')
  t.match(db, 'All systems are operational', 'the banner counts the shown checks')
  const prod = await page('?tag=prod&tag=db')
  t.match(prod, 'Checks tagged <strong>prod</strong> and <strong>db</strong>')
  t.match(await page('?tag=prod'), '<p class="banner issues" role="status">1 down: Web</p>', 'Web has never checked in')
  t.match(await page('?tag=nothing'), 'Checks tagged <strong>nothing</strong>: none')

  const badge = async (tag: string) => (await app.inject({ url: `/badge/tag/${tag}.json` })).json()
  t.match(await badge('db'), { label: 'db', message: 'up' })
  t.match(await badge('prod'), { label: 'prod', message: 'never' })
  const svg = await app.inject({ url: '/badge/tag/prod.svg' })
  t.equal(svg.headers['content-type'], 'image/svg+xml; charset=utf-8')
  t.equal((await app.inject({ url: '/badge/tag/nothing.svg' })).statusCode, 404)
})

t.test('a badge of several checks shows the worst state of them, in the order failed, timeout, late, never, running, up', async (t) => {
  const groups = '\n    G:\n      - {name: A, id: a, interval: 60}\n      - {name: B, id: b, interval: 3600}\n      - {name: C, id: c, interval: 3600}\n'
  const { app, clock } = await testApp(t, { config: config(yamlConfig({ groups })) })
  const message = async () => (await app.inject({ url: '/badge/group/G.json' })).json().message
  for (const id of ['a', 'b', 'c']) await app.inject({ url: `/refresh/${id}`, headers: auth })
  t.equal(await message(), 'up')
  await app.inject({ url: '/refresh/b/start', headers: auth })
  t.equal(await message(), 'running')
  clock.advance(120)
  t.equal(await message(), 'late', 'a is late')
  await app.inject({ url: '/refresh/c/fail', headers: auth })
  t.same((await app.inject({ url: '/badge/group/G.json' })).json(), { schemaVersion: 1, label: 'G', message: 'failed', color: 'red' })
})

t.test("each check's last 24 h is a strip of its states, a minute to a unit, titled with its downtime", async (t) => {
  const clock = new FakeClock()
  const { app } = await testApp(t, {
    clock,
    config: config(yamlConfig({ groups: '\n    Jobs:\n      - {name: Web, id: web, interval: 1h}\n      - {name: Idle, id: idle}\n' })),
  })
  await app.inject({ url: '/refresh/web', headers: auth })
  clock.advance(3600 + 30 * 60)
  await app.monitor.evaluate()
  clock.advance(30 * 60)
  await app.inject({ url: '/refresh/web', headers: auth })
  await waitUntil(async () => (await app.monitor.flips.flipLog('web', { before: undefined, limit: 5 })).length === 3, 'three flips')
  clock.advance(60 * 60)
  // web: up from T0 for 1 h, late for 1 h, up for the last hour; nothing before T0 (never). x is in
  // minutes since 2026-01-01 (T0 is minute 20,880); the viewBox is the last 24 h.
  const strips = [...(await page(app)).matchAll(/<svg class="(strip[^"]*)"([^>]*)><title>([^<]*)<\/title>(.*?)<\/svg>/g)].map((m) => m.slice(1))
  t.same(strips, [
    ['strip sn', ' role="img"', 'Not down in 24 h', ''],
    [
      'strip',
      ' viewBox="19621 0 1440 1" preserveAspectRatio="none" role="img"',
      'Down 1h in 24 h',
      '<path class="n" d="M19440 .5h1440"/><path class="u" d="M20880 .5h60M21000 .5h5256000"/><path class="l" d="M20940 .5h60"/>',
    ],
  ])
})
