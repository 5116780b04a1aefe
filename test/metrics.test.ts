import { readFileSync } from 'node:fs'
import t from 'tap'
import { itemRuns, refreshed } from '../bench/fixtures.js'
import { snapshot } from '../src/domain/snapshot.js'
import { ChunkPool } from '../src/metrics/chunks.js'
import { ITEM_FAMILIES, renderExposition, renderFamilies } from '../src/metrics/families.js'
import { FakeClock, T0, auth, config, testApp, yamlConfig } from './helpers/app.js'
import { waitUntil } from './helpers/db.js'
import { metricLines } from './helpers/metrics.js'

const json = { ...auth, 'content-type': 'application/json' }

t.test('item families: up, down, never refreshed and an id shared by two groups', async (t) => {
  const { app, clock } = await testApp(t)
  await app.inject({ url: '/refresh/http', headers: auth })
  await app.inject({ url: '/refresh/mail', headers: auth })
  clock.advance(61)
  t.same(await metricLines(app, 'statuspage_item_up', 'statuspage_item_last_refresh_seconds', 'statuspage_item_interval_seconds'), [
    'statuspage_item_up{group="SomeGroup",id="http",name="HTTP/HTTPS"} 1',
    'statuspage_item_up{group="SomeGroup",id="dns",name="DNS"} 0',
    'statuspage_item_up{group="SomeGroup",id="mail",name="SMTP/IMAP"} 0',
    'statuspage_item_up{group="Group #2",id="http",name="HTTP/HTTPS"} 1',
    'statuspage_item_up{group="Group #2",id="dns-internal",name="Internal DNS"} 0',
    'statuspage_item_last_refresh_seconds{group="SomeGroup",id="http",name="HTTP/HTTPS"} 1768478400',
    'statuspage_item_last_refresh_seconds{group="SomeGroup",id="mail",name="SMTP/IMAP"} 1768478400',
    'statuspage_item_last_refresh_seconds{group="Group #2",id="http",name="HTTP/HTTPS"} 1768478400',
    'statuspage_item_interval_seconds{group="SomeGroup",id="http",name="HTTP/HTTPS"} 600',
    'statuspage_item_interval_seconds{group="SomeGroup",id="dns",name="DNS"} 600',
    'statuspage_item_interval_seconds{group="SomeGroup",id="mail",name="SMTP/IMAP"} 60',
    'statuspage_item_interval_seconds{group="Group #2",id="http",name="HTTP/HTTPS"} 600',
    'statuspage_item_interval_seconds{group="Group #2",id="dns-internal",name="Internal DNS"} 600',
  ])
})

t.test('/metrics and /api/v1/status agree on every item', async (t) => {
  const { app, clock } = await testApp(t)
  await app.inject({ url: '/refresh/dns', headers: auth })
  clock.advance(30)
  const status = (await app.inject({ url: '/api/v1/status' })).json()
  const fromStatus = status.groups.flatMap((g: { name: string; items: { id: string; name: string; state: string }[] }) =>
    g.items.map((i) => `statuspage_item_up{group="${g.name}",id="${i.id}",name="${i.name}"} ${i.state === 'up' ? 1 : 0}`),
  )
  t.same(await metricLines(app, 'statuspage_item_up'), fromStatus)
})

t.test('script families: ok, failed, late and never, with the period in force', async (t) => {
  const { app, clock } = await testApp(t)
  const post = (payload: object) => app.inject({ method: 'POST', url: '/api/v1/script', headers: json, payload })
  await post({ name: 'ok.sh', server: 'a', status: 1, last_exec: 'CURRENT_TIMESTAMP' })
  await post({ name: 'failed.sh', server: 'a', status: 0, last_exec: 'CURRENT_TIMESTAMP' })
  await post({ name: 'late.sh', server: 'b', status: 1, last_exec: 'CURRENT_TIMESTAMP', periodicity: 60 })
  await post({ name: 'never.sh', server: 'b', status: 1 })
  await app.inject({ method: 'PATCH', url: '/api/v1/script/1', headers: json, payload: { status: 1 } })
  clock.advance(61)
  t.same(
    await metricLines(
      app,
      'statuspage_script_up',
      'statuspage_script_success',
      'statuspage_script_last_exec_seconds',
      'statuspage_script_period_seconds',
      'statuspage_script_reports_total',
    ),
    [
      'statuspage_script_up{id="4",name="never.sh",server="b"} 0',
      'statuspage_script_up{id="2",name="failed.sh",server="a"} 0',
      'statuspage_script_up{id="3",name="late.sh",server="b"} 0',
      'statuspage_script_up{id="1",name="ok.sh",server="a"} 1',
      'statuspage_script_success{id="4",name="never.sh",server="b"} 1',
      'statuspage_script_success{id="2",name="failed.sh",server="a"} 0',
      'statuspage_script_success{id="3",name="late.sh",server="b"} 1',
      'statuspage_script_success{id="1",name="ok.sh",server="a"} 1',
      'statuspage_script_last_exec_seconds{id="2",name="failed.sh",server="a"} 1768478400',
      'statuspage_script_last_exec_seconds{id="3",name="late.sh",server="b"} 1768478400',
      'statuspage_script_last_exec_seconds{id="1",name="ok.sh",server="a"} 1768478400',
      'statuspage_script_period_seconds{id="4",name="never.sh",server="b"} 86400',
      'statuspage_script_period_seconds{id="2",name="failed.sh",server="a"} 86400',
      'statuspage_script_period_seconds{id="3",name="late.sh",server="b"} 60',
      'statuspage_script_period_seconds{id="1",name="ok.sh",server="a"} 86400',
      'statuspage_script_reports_total{id="4",name="never.sh",server="b"} 1',
      'statuspage_script_reports_total{id="2",name="failed.sh",server="a"} 1',
      'statuspage_script_reports_total{id="3",name="late.sh",server="b"} 1',
      'statuspage_script_reports_total{id="1",name="ok.sh",server="a"} 2',
    ],
  )
})

t.test('counters: refreshes per item, unknown ids and rejected tokens', async (t) => {
  const { app } = await testApp(t)
  await app.inject({ url: '/refresh/http', headers: auth })
  await app.inject({ url: '/refresh/http', headers: auth })
  await app.inject({ url: '/refresh/dns', headers: auth })
  await app.inject({ url: '/refresh/nope', headers: auth })
  await app.inject({ url: '/refresh/http' })
  await app.inject({ url: '/refresh/http', headers: { 'x-token': 'wrong' } })
  t.same(await metricLines(app, 'statuspage_refreshes_total', 'statuspage_refresh_unknown_total', 'statuspage_refresh_rejected_total'), [
    'statuspage_refresh_unknown_total 1',
    'statuspage_refresh_rejected_total 2',
    'statuspage_refreshes_total{group="SomeGroup",id="http",name="HTTP/HTTPS"} 2',
    'statuspage_refreshes_total{group="SomeGroup",id="dns",name="DNS"} 1',
    'statuspage_refreshes_total{group="SomeGroup",id="mail",name="SMTP/IMAP"} 0',
    'statuspage_refreshes_total{group="Group #2",id="http",name="HTTP/HTTPS"} 2',
    'statuspage_refreshes_total{group="Group #2",id="dns-internal",name="Internal DNS"} 0',
  ])
})

t.test('removed items and deleted scripts disappear at the next scrape; kept items keep their counts', async (t) => {
  const { app } = await testApp(t)
  await app.inject({ url: '/refresh/dns', headers: auth })
  await app.inject({ url: '/refresh/mail', headers: auth })
  await app.inject({ method: 'POST', url: '/api/v1/script', headers: json, payload: { name: 'a.sh', server: 'h', status: 1 } })
  await app.inject({ method: 'DELETE', url: '/api/v1/script/1', headers: auth })
  await app.monitor.reload(config(yamlConfig({ groups: '\n    New:\n      - {name: Fresh, id: fresh}\n    SomeGroup:\n      - {name: DNS, id: dns}\n' })))
  const body = (await app.inject({ url: '/metrics' })).body
  t.notMatch(body, /id="mail"/, 'the removed item is gone')
  t.notMatch(body, /statuspage_script_up\{/, 'the deleted script is gone')
  t.same(await metricLines(app, 'statuspage_refreshes_total'), [
    'statuspage_refreshes_total{group="New",id="fresh",name="Fresh"} 0',
    'statuspage_refreshes_total{group="SomeGroup",id="dns",name="DNS"} 1',
  ])
})

t.test('config reload gauges follow the reloads', async (t) => {
  const { app, clock } = await testApp(t)
  const gauges = () => metricLines(app, 'statuspage_config_last_reload_successful', 'statuspage_config_last_reload_success_timestamp_seconds')
  t.same(await gauges(), ['statuspage_config_last_reload_successful 1', 'statuspage_config_last_reload_success_timestamp_seconds 1768478400'])
  clock.advance(10)
  app.monitor.reloadFailed()
  t.same(await gauges(), ['statuspage_config_last_reload_successful 0', 'statuspage_config_last_reload_success_timestamp_seconds 1768478400'])
  clock.advance(5)
  await app.monitor.reload(config())
  t.same(await gauges(), ['statuspage_config_last_reload_successful 1', 'statuspage_config_last_reload_success_timestamp_seconds 1768478415'])
})

t.test('text format by default, OpenMetrics when the scraper prefers it', async (t) => {
  const { app } = await testApp(t)
  const cases: [string | undefined, string][] = [
    [undefined, 'text/plain; version=0.0.4; charset=utf-8'],
    ['*/*', 'text/plain; version=0.0.4; charset=utf-8'],
    ['text/plain;version=0.0.4', 'text/plain; version=0.0.4; charset=utf-8'],
    [
      'application/openmetrics-text;version=1.0.0;escaping=allow-utf-8;q=0.5,application/openmetrics-text;version=0.0.1;q=0.4,text/plain;version=0.0.4;q=0.3,*/*;q=0.2',
      'application/openmetrics-text; version=1.0.0; charset=utf-8',
    ],
    ['text/plain;q=0.9,application/openmetrics-text;q=0.5', 'text/plain; version=0.0.4; charset=utf-8'],
  ]
  for (const [accept, type] of cases) {
    const res = await app.inject({ url: '/metrics', headers: accept === undefined ? {} : { accept } })
    t.equal(res.headers['content-type'], type, accept ?? '(no Accept)')
  }
  const om = (await app.inject({ url: '/metrics', headers: { accept: 'application/openmetrics-text' } })).body
  t.match(om, /\n# TYPE statuspage_refreshes counter\nstatuspage_refreshes_total\{/)
  t.ok(om.endsWith('\n# EOF\n'))
  t.notMatch(om, /\n\n/, 'no blank lines in OpenMetrics')
  const text = (await app.inject({ url: '/metrics' })).body
  t.match(text, /\n# TYPE statuspage_refreshes_total counter\n/, 'an OpenMetrics scrape leaves the text names alone')
  t.match(text, /^# HELP process_cpu_user_seconds_total /, 'process metrics, unprefixed')
})

t.test('each app has its own registry', async (t) => {
  const a = await testApp(t)
  const b = await testApp(t)
  await a.app.inject({ url: '/refresh/nope', headers: auth })
  t.same(await metricLines(a.app, 'statuspage_refresh_unknown_total'), ['statuspage_refresh_unknown_total 1'])
  t.same(await metricLines(b.app, 'statuspage_refresh_unknown_total'), ['statuspage_refresh_unknown_total 0'])
})

t.test('a large exposition is rendered in slices and chunks, with the same bytes as at once', async (t) => {
  const groups = `\n    G:\n${Array.from({ length: 20_000 }, (_, i) => `      - {name: item ${i}, id: i${i}}\n`).join('')}`
  const big = config(yamlConfig({ groups }))
  const board = itemRuns(big, refreshed(new Map([['i7', T0]])))
  const s = snapshot(big, board.dues, board.runs, [], T0)
  const counts = { refreshes: new Float64Array(big.items.length), reports: new Map() }
  let pauses = 0
  const chunks: Buffer[] = []
  for await (const chunk of renderExposition('head\n', s, counts, 'text', '\ntail', new ChunkPool(), async () => void pauses++)) chunks.push(chunk)
  const sliced = Buffer.concat(chunks)
  t.ok(chunks.length > 1, `sent in ${chunks.length} chunks, none over 1 MiB`)
  t.ok(chunks.every((c) => c.length <= 1 << 20))
  // statuspage_item_info is one more family with a series per item (these items have no tags).
  const families = ITEM_FAMILIES.length + 1
  t.equal(pauses, Math.floor((20_000 * families) / 16_384), `one pause per 16k samples (${families} item families of 20k)`)
  t.equal(sliced.toString(), `head\n${renderFamilies(s, counts, 'text').toString()}\ntail`)
})

t.test('the deadline gauge is absent until the first check-in, then the due time plus grace; cron items have no interval', async (t) => {
  const clock = new FakeClock(Date.parse('2025-03-08T12:00:00Z'))
  const c = config(
    yamlConfig({
      groups:
        "\n    G:\n      - {name: Nightly, id: nightly, schedule: '30 2 * * *', tz: America/New_York}\n      - {name: Web, id: web, interval: 60, grace: 30}\n",
    }),
  )
  const { app } = await testApp(t, { clock, config: c })
  t.same(await metricLines(app, 'statuspage_item_deadline_seconds'), [])
  t.same(await metricLines(app, 'statuspage_item_interval_seconds'), ['statuspage_item_interval_seconds{group="G",id="web",name="Web"} 60'])
  await app.inject({ url: '/refresh/nightly', headers: auth })
  await app.inject({ url: '/refresh/web', headers: auth })
  t.same(await metricLines(app, 'statuspage_item_deadline_seconds'), [
    `statuspage_item_deadline_seconds{group="G",id="nightly",name="Nightly"} ${Date.parse('2025-03-09T08:00:00Z') / 1000}`,
    `statuspage_item_deadline_seconds{group="G",id="web",name="Web"} ${clock.t / 1000 + 90}`,
  ])
})

t.test('HEAD /metrics answers the headers of GET, with no body rendered', async (t) => {
  const { app } = await testApp(t)
  const get = await app.inject({ url: '/metrics' })
  const render = app.metrics.render.bind(app.metrics)
  let renders = 0
  app.metrics.render = (format) => {
    renders++
    return render(format)
  }
  const head = await app.inject({ method: 'HEAD', url: '/metrics' })
  t.equal(head.statusCode, 200)
  t.equal(head.headers['content-type'], get.headers['content-type'])
  t.equal(head.body, '')
  t.equal(renders, 0, 'a million series are not written for a HEAD')
})

t.test('a /metrics body serves the scrapes of the next second, then a new one is rendered', async (t) => {
  const { app } = await testApp(t, { metricsCacheMs: 300 })
  const render = app.metrics.render.bind(app.metrics)
  let renders = 0
  app.metrics.render = (format) => {
    renders++
    return render(format)
  }
  const scrape = () => app.inject({ url: '/metrics' }).then((res) => res.body)
  await scrape()
  const kept = await scrape()
  t.equal(renders, 2, 'the first body is measured, the second kept')
  await app.inject({ url: '/refresh/dns', headers: auth })
  const [again, concurrent] = await Promise.all([scrape(), scrape()])
  t.equal(renders, 2, 'scrapes within the second render nothing')
  t.equal(again, kept, 'and get the kept body, byte for byte')
  t.equal(concurrent, kept)
  t.notMatch(kept, /statuspage_item_up\{[^}]*id="dns"[^}]*\} 1/, 'the check-in since is not in it yet')
  const openmetrics = await app.inject({ url: '/metrics', headers: { accept: 'application/openmetrics-text' } })
  t.match(openmetrics.body, /# EOF\n$/, 'each format has its own body')
  await waitUntil(async () => /statuspage_item_up\{[^}]*id="dns"[^}]*\} 1/.test(await scrape()), 'a new body after the second', 3000)
  t.ok(renders >= 3)
})

t.test('tags the Prometheus way: statuspage_item_info to join on, and statuspage_tag_up per tag', async (t) => {
  const groups = `
    G:
      - {name: Backup, id: backup, interval: 1h, tags: [prod, db]}
      - {name: Web, id: web, schedule: '*/5 * * * *', tags: [prod]}
      - {name: Plain, id: plain}
`
  const { app } = await testApp(t, { config: config(yamlConfig({ groups })) })
  await app.inject({ url: '/refresh/backup', headers: auth })
  t.same(await metricLines(app, 'statuspage_item_info'), [
    'statuspage_item_info{group="G",id="backup",name="Backup",schedule="every 3600s",source="config",tags=",prod,db,"} 1',
    'statuspage_item_info{group="G",id="web",name="Web",schedule="*/5 * * * *",source="config",tags=",prod,"} 1',
    'statuspage_item_info{group="G",id="plain",name="Plain",schedule="every 600s",source="config",tags=""} 1',
  ])
  t.same(await metricLines(app, 'statuspage_tag_up'), ['statuspage_tag_up{tag="db"} 1', 'statuspage_tag_up{tag="prod"} 0'], 'web has never checked in')
  await app.inject({ url: '/refresh/web', headers: auth })
  t.same(await metricLines(app, 'statuspage_tag_up'), ['statuspage_tag_up{tag="db"} 1', 'statuspage_tag_up{tag="prod"} 1'])
})

t.test('statuspage_build_info says the version of statuspage and of Node', async (t) => {
  const { app } = await testApp(t)
  const { version } = JSON.parse(readFileSync('package.json', 'utf8')) as { version: string }
  t.same(await metricLines(app, 'statuspage_build_info'), [`statuspage_build_info{version="${version}",node_version="${process.versions.node}"} 1`])
})
