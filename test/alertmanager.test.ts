// Alerts reach a person: the real statuspage, a real Prometheus evaluating the shipped rules, and a
// real Alertmanager routing as the shipped alertmanager.yml does, to a webhook that this test runs.
import { once } from 'node:events'
import { readFileSync, writeFileSync } from 'node:fs'
import { createServer } from 'node:http'
import { join, resolve } from 'node:path'
import yaml from 'js-yaml'
import t, { type Test } from 'tap'
import { TOKEN, yamlConfig } from './helpers/app.js'
import { requireBinary } from './helpers/binaries.js'
import { startService } from './helpers/cli.js'
import { waitUntil } from './helpers/db.js'
import { startOnFreePort, startPrometheus } from './helpers/prometheus.js'

interface Notification {
  status: 'firing' | 'resolved'
  groupLabels: Record<string, string>
  alerts: { status: 'firing' | 'resolved'; labels: Record<string, string>; annotations: Record<string, string> }[]
}

/** A webhook receiver on loopback: every notification Alertmanager posts, in order. */
async function webhook(t: Test) {
  const received: Notification[] = []
  const server = createServer((req, res) => {
    let body = ''
    req.on('data', (d) => (body += d))
    req.on('end', () => {
      received.push(JSON.parse(body) as Notification)
      res.end()
    })
  }).listen(0, '127.0.0.1')
  await once(server, 'listening')
  t.teardown(() => new Promise<void>((done) => server.close(() => done())))
  return { url: `http://127.0.0.1:${(server.address() as { port: number }).port}/alerts`, received }
}

const GROUPS = `
    Backups:
      - {name: Nightly backup, id: backup, interval: 2s}
    Web:
      - {name: Website, id: web, interval: 2s}
    Sentinel:
      - {name: Canary, id: canary, interval: 1h}
`

t.test('a late item reaches the webhook with its labels and why; a pause and a silence stop it', async (t) => {
  const prometheus = requireBinary(t, 'prometheus', 'apt-get install prometheus')
  const alertmanager = requireBinary(t, 'prometheus-alertmanager', 'apt-get install prometheus-alertmanager')
  if (!prometheus || !alertmanager) return
  const hook = await webhook(t)
  const service = await startService(t, yamlConfig({ groups: GROUPS }))
  const post = (path: string) => fetch(`${service.url}${path}`, { method: 'POST', headers: { 'x-token': TOKEN } })
  for (const id of ['backup', 'web', 'canary']) await service.refresh(id)

  // The shipped routing (receiver, grouping, inhibition), with the test's webhook and short waits.
  const dir = t.testdir()
  const shipped = yaml.load(readFileSync('dashboards/alertmanager.yml', 'utf8')) as {
    route: Record<string, unknown>
    receivers: { name: string; webhook_configs: { url: string; send_resolved: boolean }[] }[]
  }
  shipped.route = { ...shipped.route, group_wait: '0s', group_interval: '1s', repeat_interval: '2s' }
  shipped.receivers[0]!.webhook_configs[0]!.url = hook.url
  writeFileSync(join(dir, 'alertmanager.yml'), yaml.dump(shipped))
  const am = await startOnFreePort(
    t,
    alertmanager,
    (port) => [
      `--config.file=${join(dir, 'alertmanager.yml')}`,
      `--storage.path=${join(dir, 'am')}`,
      `--web.listen-address=127.0.0.1:${port}`,
      // No gossip with other Alertmanagers: one instance, no port of its own.
      '--cluster.listen-address=',
    ],
    '/-/ready',
    async (url) => JSON.stringify(await (await fetch(`${url}/api/v2/status`)).json()).includes(hook.url),
  )
  const prom = await startPrometheus(
    t,
    prometheus,
    new URL(service.url).host,
    `rule_files:\n  - ${resolve('dashboards/alerts.yml')}\nalerting:\n  alertmanagers:\n    - static_configs:\n        - targets: ['${new URL(am).host}']\n`,
    ['--rules.alert.resend-delay=1s'],
  )

  const firing = (id: string) => hook.received.filter((n) => n.alerts.some((a) => a.status === 'firing' && a.labels.id === id))
  await waitUntil(() => firing('backup').length > 0 && firing('web').length > 0, 'notified of both late items', 30_000)
  const [backup] = firing('backup')
  t.same(backup!.groupLabels, { alertname: 'StatuspageItemDown', group: 'Backups' }, 'one notification per alert name and group')
  const alert = backup!.alerts.find((a) => a.labels.id === 'backup')!
  t.match(alert.labels, {
    alertname: 'StatuspageItemDown',
    severity: 'critical',
    reason: 'late',
    group: 'Backups',
    id: 'backup',
    name: 'Nightly backup',
    job: 'statuspage',
  })
  t.equal(alert.annotations.summary, 'An item is down: late.')
  t.match(
    alert.annotations.description,
    /^Nightly backup \(id backup, group Backups\) is late by [\d.]+s: it has not checked in since its last due time and grace\.$/,
  )

  // A pause in statuspage, and a silence in Alertmanager.
  t.equal((await post('/api/v1/items/backup/pause')).status, 200)
  const silence = await fetch(`${am}/api/v2/silences`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({
      matchers: [{ name: 'id', value: 'web', isRegex: false, isEqual: true }],
      startsAt: new Date().toISOString(),
      endsAt: new Date(Date.now() + 3600_000).toISOString(),
      createdBy: 'test',
      comment: 'deploying the website',
    }),
  })
  t.equal(silence.status, 200)
  await prom.waitFor('ALERTS{alertname="StatuspageItemDown", id="backup"}', (r) => r.length === 0)
  await waitUntil(
    async () => {
      const alerts = (await (await fetch(`${am}/api/v2/alerts?filter=id%3D%22web%22`)).json()) as { status: { state: string } }[]
      return alerts.length > 0 && alerts.every((a) => a.status.state === 'suppressed')
    },
    'the website alert silenced',
    30_000,
  )
  const mark = hook.received.length

  // The canary fails: once it has been notified twice (repeat_interval apart), a still-firing
  // backup or website alert would have been notified again too.
  await service.refresh('canary/fail')
  await waitUntil(() => firing('canary').length >= 2, 'notified of the canary twice', 30_000)
  const since = hook.received.slice(mark)
  t.same(
    since.flatMap((n) => n.alerts.filter((a) => a.status === 'firing' && a.labels.id !== 'canary').map((a) => a.labels.id)),
    [],
    'nothing fires for the paused item nor the silenced one',
  )
  t.ok(
    hook.received.some((n) => n.alerts.some((a) => a.status === 'resolved' && a.labels.id === 'backup')),
    'the paused item is resolved',
  )
  t.match(
    firing('canary')[0]!.alerts.find((a) => a.labels.id === 'canary'),
    { labels: { reason: 'failed' }, annotations: { summary: 'An item is down: failed.' } },
  )
})
