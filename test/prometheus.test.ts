// A real Prometheus scrapes the real service; its query API must hold the values the service has.
import t from 'tap'
import { requireBinary } from './helpers/binaries.js'
import { startService } from './helpers/cli.js'
import { startPrometheus, type Sample } from './helpers/prometheus.js'

const byItem = (samples: Sample[]) => Object.fromEntries(samples.map((s) => [`${s.metric.group}/${s.metric.id}`, Number(s.value[1])]))

t.test('Prometheus scrapes statuspage and sees the same state as the JSON status', async (t) => {
  const binary = requireBinary(t, 'prometheus', 'apt-get install prometheus')
  if (!binary) return
  const cli = await startService(t)
  await cli.refresh('http')
  await cli.report({ name: 'ok.sh', server: 'h', status: 1, last_exec: 'CURRENT_TIMESTAMP' })
  await cli.report({ name: 'bad.sh', server: 'h', status: 0, last_exec: 'CURRENT_TIMESTAMP' })

  const prom = await startPrometheus(t, binary, new URL(cli.url).host)
  await prom.waitFor('up{job="statuspage"}', (r) => r[0]?.value[1] === '1')
  const up = await prom.waitFor('statuspage_item_up', (r) => r.length === 5)

  const status = (await (await fetch(`${cli.url}/api/v1/status`)).json()) as {
    groups: { name: string; items: { id: string; state: string; interval: number; last_refresh: string | null }[] }[]
  }
  const expected = Object.fromEntries(status.groups.flatMap((g) => g.items.map((i) => [`${g.name}/${i.id}`, i.state === 'up' ? 1 : 0])))
  t.same(byItem(up), expected, 'statuspage_item_up matches the JSON status')
  t.same(expected, { 'SomeGroup/http': 1, 'SomeGroup/dns': 0, 'SomeGroup/mail': 0, 'Group #2/http': 1, 'Group #2/dns-internal': 0 })

  const intervals = byItem(await prom.query('statuspage_item_interval_seconds'))
  t.same(intervals, Object.fromEntries(status.groups.flatMap((g) => g.items.map((i) => [`${g.name}/${i.id}`, i.interval]))))
  const refreshed = byItem(await prom.query('statuspage_item_last_refresh_seconds'))
  t.same(Object.keys(refreshed).sort(), ['Group #2/http', 'SomeGroup/http'])
  const httpRefresh = status.groups[0]!.items[0]!.last_refresh!
  t.equal(Math.floor(refreshed['SomeGroup/http']!), Math.floor(Date.parse(httpRefresh) / 1000))

  const scripts = Object.fromEntries((await prom.query('statuspage_script_up')).map((s) => [s.metric.name, s.value[1]]))
  t.same(scripts, { 'ok.sh': '1', 'bad.sh': '0' })
  t.same(
    (await prom.query('statuspage_refreshes_total{id="http"}')).map((s) => s.value[1]),
    ['1', '1'],
  )

  await cli.refresh('dns')
  await prom.waitFor('statuspage_item_up{id="dns"}', (r) => r[0]?.value[1] === '1')
  t.pass('a refresh shows up in Prometheus at the next scrape')
})
