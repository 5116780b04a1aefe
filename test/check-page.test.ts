// Each check's own page: /item/:id and /script/:id, rendered on a fixed clock.
import t from 'tap'
import { auth, config, testApp, yamlConfig } from './helpers/app.js'
import { waitUntil } from './helpers/db.js'

type App = Awaited<ReturnType<typeof testApp>>['app']

const GROUPS = `
    Jobs:
      - {name: Backup, id: backup, interval: 1h, maintenance: [{schedule: "0 3 * * *", duration: 1h}]}
    Also:
      - {name: Backup again, id: backup, interval: 1h}
`
const HOSTILE = 'dumping db...\n<script>alert(1)</script>\n"quoted" & done\n'
const withOutput = (show: boolean) => config(yamlConfig({ groups: GROUPS, extra: `  show_output: ${show}\n` }))
const send = (app: App, path: string, body?: string) =>
  app.inject({ method: body === undefined ? 'GET' : 'POST', url: `/refresh/${path}`, headers: auth, payload: body })
const page = async (app: App, url: string) => {
  const res = await app.inject({ url })
  return { res, html: res.body }
}

t.test('a curl fail signal with a body shows its output on /item/:id, escaped, with show_output on', async (t) => {
  const { app, clock } = await testApp(t, { config: withOutput(true) })
  await send(app, 'backup/start')
  clock.advance(90)
  await send(app, 'backup/fail', HOSTILE)
  const { res, html } = await page(app, '/item/backup')
  t.equal(res.statusCode, 200)
  t.equal(res.headers['content-type'], 'text/html; charset=utf-8')
  t.match(res.headers['content-security-policy'], /^default-src 'none'; style-src 'sha256-/, 'the same policy as the status page: no script')
  t.match(html, '<pre class="out">dumping db...\n&lt;script&gt;alert(1)&lt;/script&gt;\n&quot;quoted&quot; &amp; done\n</pre>')
  t.notMatch(html, '<script>', 'no script, not even from the output')
  t.notMatch(html, /https?:\/\/(?!www\.w3\.org)/, 'nothing from elsewhere')
  t.match(html, '<h1>Backup</h1>')
  t.match(
    html,
    /<p class="stateline failed down" data-status="failed"><span class="mark" aria-hidden="true">✖<\/span> <span class="state">Failed<\/span> <span class="why">reported a failure<\/span><\/p>/,
  )
  t.match(html, '<dt>Schedule</dt><dd>every 1h</dd>')
  t.match(html, '<dt>Belongs to</dt><dd>groups Jobs, Also</dd>')
  t.match(html, /<dt>Maintenance<\/dt><dd><span class="maint" title="2026-01-16 03:00:00 \+00:00">maintenance in 14 h for 1h<\/span><\/dd>/)
})

t.test('with show_output off (the default) the page says outputs are hidden and shows none', async (t) => {
  const { app } = await testApp(t, { config: config(yamlConfig({ groups: GROUPS })) })
  await send(app, 'backup/fail', HOSTILE)
  const { html } = await page(app, '/item/backup')
  t.notMatch(html, 'dumping db')
  t.match(html, `<span class="note">hidden (${Buffer.byteLength(HOSTILE)} bytes)</span>`)
  t.match(html, 'Outputs are hidden on this public page')
  t.match((await app.inject({ url: '/api/v1/items/backup/runs', headers: auth })).json().runs[0].output, 'dumping db', 'the API, with the token, still has it')
})

t.test('each run in the log is one row with its outcome, times and duration; the chart has a bar per timed run', async (t) => {
  const { app, clock } = await testApp(t, { config: config(yamlConfig({ groups: GROUPS })) })
  for (const [seconds, end] of [
    [2, '0'],
    [4, '3'],
    [1, '0'],
  ] as const) {
    await send(app, 'backup/start')
    clock.advance(seconds)
    await send(app, `backup/${end}`)
    clock.advance(600)
  }
  const { html } = await page(app, '/item/backup')
  const rows = [...html.matchAll(/<tr class="(\w+)"><td data-label="Time">.*?<\/tr>/g)].map((m) => m[0].replace(/<[^>]+>/g, '|').replace(/\|+/g, '|'))
  t.same(
    rows.map((r) => r.replace(/\| \|/g, '|').replace(/ \|/g, '|')),
    [
      '|2026-01-15 12:20:07 +00:00|10 min ago|Success (exit 0)|started 12:20:06|1s|–|',
      '|2026-01-15 12:10:06 +00:00|20 min ago|Failure (exit 3)|started 12:10:02|4s|–|',
      '|2026-01-15 12:00:02 +00:00|30 min ago|Success (exit 0)|started 12:00:00|2s|–|',
    ],
    'one row per run: its finish, the time it started, its duration; times absolute and relative',
  )
  t.notMatch(html, '127.0.0.1', 'no client address on the public page')
  t.notMatch(html, 'lightMyRequest', 'no User-Agent either')
  const runs = (await app.inject({ url: '/api/v1/items/backup/runs', headers: auth })).json().runs
  t.same([runs[0].address, runs[0].user_agent], ['127.0.0.1', 'lightMyRequest'], 'the runs API, with the token, still has them')
  const bars = [...html.matchAll(/<rect class="(ok|bad)" x="(\d+)" y="(\d+)" width="9" height="(\d+)"><title>[^<]*: ([^<]*)<\/title><\/rect>/g)].map((m) => [
    m[1],
    Number(m[4]),
    m[5],
  ])
  t.same(
    bars,
    [
      ['ok', 30, '2s'],
      ['bad', 60, '4s, failed'],
      ['ok', 15, '1s'],
    ],
    'oldest first; the longest run fills the height',
  )
  t.match(html, 'The last 3 timed runs, the longest 4s.')
})

t.test('availability over 24 h, 7 d and 30 d comes from the flips, over what they cover, even when the timer missed a lateness', async (t) => {
  const { app, clock } = await testApp(t, { config: config(yamlConfig({ groups: '\n    Jobs:\n      - {name: Web, id: web, interval: 1h}\n' })) })
  await send(app, 'web')
  clock.advance(3 * 3600)
  await send(app, 'web')
  clock.advance(3600)
  // Up for the first hour, late for two, then up again for the last hour: 2 of 4 hours. No tick of
  // the evaluator ran while it was late: the check-in that ended it records the lateness too.
  await waitUntil(async () => (await app.monitor.flips.flipLog('web', { before: undefined, limit: 5 })).length === 3, 'three flips')
  const { html } = await page(app, '/item/web')
  t.match(
    html,
    '<ul class="avail"><li><span class="pct">50.0%</span> 24 h <span class="since">over 4h</span></li><li><span class="pct">50.0%</span> 7 d <span class="since">over 4h</span></li>',
  )
})

t.test("a script's page shows its state, schedule and log; unknown checks are a 404 naming the id", async (t) => {
  const { app, clock } = await testApp(t, { config: withOutput(true) })
  const json = { ...auth, 'content-type': 'application/json' }
  await app.inject({ method: 'POST', url: '/api/v1/script', headers: json, payload: { name: 'etl <b>.sh', server: 'db1', status: 0, output: 'boom <i>' } })
  clock.advance(60)
  const { res, html } = await page(app, '/script/1')
  t.equal(res.statusCode, 200)
  t.match(html, '<h1>etl &lt;b&gt;.sh</h1>')
  t.match(html, '<dt>Belongs to</dt><dd>server db1</dd>')
  t.match(html, '<dt>Schedule</dt><dd>every 1d</dd>')
  t.match(html, '<pre class="out">boom &lt;i&gt;</pre>')
  t.match((await page(app, '/')).html, '<a href="/script/1">etl &lt;b&gt;.sh</a>', 'the status page links to it')
  for (const [url, message] of [
    ['/item/nope', 'id: no item has the id "nope"'],
    ['/script/2', 'id: no script with id "2"'],
    ['/script/x', 'id: no script with id "x"'],
  ] as const) {
    const missing = await app.inject({ url })
    t.same([missing.statusCode, missing.json().message], [404, message], url)
  }
})

t.test("a check page tells times in the check's own zone, its limits, and folds the head of a long output away", async (t) => {
  const groups = `
    Jobs:
      - {name: Report, id: report, schedule: '30 17 * * *', tz: Asia/Kolkata, max_runtime: 2h, failure_threshold: 3}
`
  const { app } = await testApp(t, { config: config(yamlConfig({ groups, extra: '  show_output: true\n' })) })
  const lines = Array.from({ length: 15 }, (_, i) => `line ${i + 1}`).join('\n')
  await send(app, 'report/0', `${lines}\n`)
  const { html } = await page(app, '/item/report')
  t.match(html, '<dt>Schedule</dt><dd>At 17:30 (Asia/Kolkata), grace 1h</dd>')
  t.match(html, '<dt>Limits</dt><dd>max runtime 2h, down after 3 failures in a row, up again after 1 success</dd>')
  t.match(html, '<dt>Last check-in</dt><dd><span class="at">2026-01-15 17:30:00 +05:30</span> <span class="since">just now</span></dd>')
  t.match(html, '<dt>Next due</dt><dd><span class="at">2026-01-16 17:30:00 +05:30</span>', 'the next due time in the same zone as the schedule')
  t.match(html, 'Times are in Asia/Kolkata, the zone of its schedule.')
  t.match(html, '<details><summary>5 earlier lines</summary><pre class="out">line 1\nline 2\nline 3\nline 4\nline 5</pre></details>')
  t.match(html, '<pre class="out">line 6\nline 7', 'the last ten lines in full')
  t.match(
    html,
    /<td data-label="Month"><span class="v">January 2026<\/span><\/td><td data-label="Downtimes"><span class="v">none<\/span>.*December 2025.*November 2025/s,
    'three months of downtimes, newest first',
  )
})
