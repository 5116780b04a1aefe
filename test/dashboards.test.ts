// The Grafana dashboard and the alert rules: generated, typed and in sync; checked by promtool; and
// every query run by a real Prometheus against real statuspage output.
import { spawnSync } from 'node:child_process'
import { readFileSync } from 'node:fs'
import { resolve } from 'node:path'
import { defaultDashboard } from '@grafana/schema'
import yaml from 'js-yaml'
import t from 'tap'
import { dashboardJson } from '../src/dashboards/json.js'
import { dashboard } from '../src/dashboards/statuspage.js'
import { SEED_GROUPS, TOKEN, yamlConfig } from './helpers/app.js'
import { requireBinary } from './helpers/binaries.js'
import { startService } from './helpers/cli.js'
import { startPrometheus } from './helpers/prometheus.js'

interface Target {
  expr: string
  datasource: { uid: string }
}
interface JsonPanel {
  title: string
  description?: string
  fieldConfig: { defaults: { unit?: string } }
  targets: Target[]
}

const committed = readFileSync('dashboards/statuspage.json', 'utf8')
const json = JSON.parse(committed) as { panels: JsonPanel[]; templating: { list: Record<string, unknown>[] }; uid: string; schemaVersion: number }
const rules = (yaml.load(readFileSync('dashboards/alerts.yml', 'utf8')) as { groups: { rules: { alert: string; expr: string }[] }[] }).groups.flatMap(
  (g) => g.rules,
)

/** The dashboard's expressions with Grafana's variables replaced as Grafana would for "All". */
const dashboardExprs = json.panels.flatMap((p) =>
  p.targets.map((tg) => ({
    title: `${p.title} ${tg.expr}`,
    expr: tg.expr
      .replace(/\$job|\$group/g, '.*')
      .replace(/\$__range/g, '5m')
      .replace(/\$__rate_interval/g, '1m'),
  })),
)

t.test('dashboards/statuspage.json is what src/dashboards generates', async (t) => {
  t.equal(committed, dashboardJson(), 'run `npm run dashboards` to regenerate it')
})

t.test('the dashboard has a fixed uid, the current schema version and provisioning-safe data sources', async (t) => {
  t.equal(json.uid, 'statuspage')
  t.equal(json.schemaVersion, defaultDashboard.schemaVersion)
  t.notMatch(committed, /\$\{DS_/, 'no import placeholders')
  const [ds, job, group] = json.templating.list
  t.match(ds, { type: 'datasource', name: 'datasource', label: 'Data source', query: 'prometheus' })
  t.match(job, { type: 'query', name: 'job', query: { query: 'label_values(statuspage_item_up, job)' } })
  t.match(group, { type: 'query', name: 'group', query: { query: 'label_values(statuspage_item_up{job=~"$job"}, group)' } })
  for (const p of json.panels) {
    t.ok(p.description, `${p.title}: has a description`)
    t.ok(p.fieldConfig.defaults.unit, `${p.title}: has a unit`)
    t.ok(
      // biome-ignore lint/suspicious/noTemplateCurlyInString: Grafana's variable syntax
      p.targets.every((tg) => tg.datasource.uid === '${datasource}'),
      `${p.title}: queries the chosen data source`,
    )
  }
  t.same(
    dashboard.panels?.map((p) => p.type),
    ['stat', 'stat', 'timeseries', 'state-timeline', 'table', 'table', 'bargauge', 'stat', 'table', 'timeseries', 'table', 'timeseries'],
  )
  t.ok(
    dashboardExprs.some((e) => e.title.includes('avg_over_time(statuspage_item_up{job=~"$job",group=~"$group"}[$__range])')),
    'availability over the range',
  )
})

t.test('promtool accepts the rules and their unit tests pass', async (t) => {
  const promtool = requireBinary(t, 'promtool', 'apt-get install prometheus')
  if (!promtool) return
  const check = spawnSync(promtool, ['check', 'rules', 'dashboards/alerts.yml'], { encoding: 'utf8' })
  t.equal(check.status, 0, check.stdout + check.stderr)
  t.match(check.stdout, `SUCCESS: ${rules.length} rules found`)
  const test = spawnSync(promtool, ['test', 'rules', 'dashboards/alerts.test.yml'], { encoding: 'utf8' })
  t.equal(test.status, 0, test.stdout + test.stderr)
  t.same(
    rules.map((r) => r.alert),
    [
      'StatuspageItemDown',
      'StatuspageScriptDown',
      'StatuspageRunSlowerThanUsual',
      'StatuspageDown',
      'StatuspageReplicaDown',
      'StatuspageStoreDown',
      'StatuspageConfigReloadFailed',
    ],
  )
  const tested = new Set([...readFileSync('dashboards/alerts.test.yml', 'utf8').matchAll(/alertname: (\w+)/g)].map((m) => m[1]))
  t.same(
    rules.filter((r) => !tested.has(r.alert)),
    [],
    'every alert has a unit test',
  )
})

t.test('every dashboard and rule query runs on a real Prometheus that scraped statuspage', async (t) => {
  const binary = requireBinary(t, 'prometheus', 'apt-get install prometheus')
  if (!binary) return
  // A cron item due every 2 s with no grace: it is late 2 s after its check-in, so the late-by
  // stat, the due-next table and the alert's "late by" all have a cron check to show. Runs give the
  // run panels data: http ran and is running again, mail failed, a script ran, failed and runs.
  const jobGroup = `    Jobs:\n      - {name: Flaky, id: flaky, interval: 1h, failure_threshold: 2, min_runtime: 1s}\n`
  const cli = await startService(
    t,
    yamlConfig({ groups: `${SEED_GROUPS}    Backups:\n      - {name: Nightly, id: nightly, schedule: '*/2 * * * * *', grace: 0}\n${jobGroup}` }),
  )
  await cli.refresh('nightly')
  await cli.refresh('http/start')
  await cli.refresh('http')
  await cli.refresh('http/start')
  await cli.refresh('flaky/fail')
  await cli.refresh('nope')
  await fetch(`${cli.url}/refresh/http`)
  await cli.report({ name: 'a.sh', server: 'h', status: 0, last_exec: 'CURRENT_TIMESTAMP', duration: 12, min_runtime: 1 })
  await fetch(`${cli.url}/api/v1/script/1/start`, { method: 'POST', headers: { 'x-token': TOKEN } })

  const prom = await startPrometheus(t, binary, new URL(cli.url).host, `rule_files:\n  - ${resolve('dashboards/alerts.yml')}\n`)
  await prom.waitFor('count(count_over_time(statuspage_item_up[1m]) >= 3)', (r) => r.length === 1)

  for (const { title, expr } of dashboardExprs) {
    const result = await prom.query(expr)
    t.ok(result.length > 0, `returns data: ${title}`)
  }
  const jobs = (await (await fetch(`${prom.url}/api/v1/label/job/values?match[]=statuspage_item_up`)).json()) as { data: string[] }
  t.same(jobs.data, ['statuspage'], 'the job variable finds the job')

  for (const rule of rules) await t.resolves(prom.query(rule.expr), `the ${rule.alert} expression evaluates`)
  const loaded = (await (await fetch(`${prom.url}/api/v1/rules`)).json()) as { data: { groups: { rules: { name: string; health: string }[] }[] } }
  const health = loaded.data.groups.flatMap((g) => g.rules.map((r) => [r.name, r.health]))
  t.same(
    health.map(([name]) => name),
    rules.map((r) => r.alert),
    'Prometheus loaded every rule',
  )
  const script = await prom.waitFor('ALERTS{alertname="StatuspageScriptDown"}', (r) => r.length === 1)
  t.equal(script[0]!.metric.reason, 'failed', 'StatuspageScriptDown fires for the failed script, saying why')
  const firing = await prom.waitFor('ALERTS{alertname="StatuspageItemDown"}', (r) => r.length === 4)
  t.same(
    firing.map((s) => `${s.metric.id} ${s.metric.reason}`).sort(),
    ['dns never', 'dns-internal never', 'mail never', 'nightly late'],
    'the items never refreshed and the late cron item are down; http (running) and flaky (1 of 2 failures) are not',
  )
  const alerts = (await (await fetch(`${prom.url}/api/v1/alerts`)).json()) as {
    data: { alerts: { labels: Record<string, string>; annotations: Record<string, string> }[] }
  }
  const nightly = alerts.data.alerts.find((a) => a.labels.alertname === 'StatuspageItemDown' && a.labels.id === 'nightly')!
  t.match(
    nightly.annotations.description,
    /^Nightly \(id nightly, group Backups\) is late by \d+(\.\d+)?s: it has not checked in since its last due time and grace\.$/,
    "the cron check's alert says how late it is",
  )
  const never = alerts.data.alerts.find((a) => a.labels.alertname === 'StatuspageItemDown' && a.labels.id === 'dns')!
  t.match(never.annotations.description, /has never checked in\.$/)

  const exposition = await (await fetch(`${cli.url}/metrics`)).text()
  const exposed = new Set(
    exposition
      .split('\n')
      .filter((l) => !l.startsWith('#') && l)
      .map((l) => l.split(/[{ ]/)[0]),
  )
  const used = new Set([...`${committed}\n${rules.map((r) => r.expr).join('\n')}`.matchAll(/\bstatuspage_[a-z_]+/g)].map((m) => m[0]))
  t.same(
    [...used].filter((name) => !exposed.has(name)),
    [],
    `every metric the dashboard and rules use is exposed (${used.size} names)`,
  )
})
