// No Docker engine runs here: the compose file is validated by docker-compose where present, and the
// compose file and Dockerfile are checked for what they promise (services, ports, mounts that exist).
import { spawnSync } from 'node:child_process'
import { existsSync, readFileSync } from 'node:fs'
import yaml from 'js-yaml'
import t from 'tap'
import { START_FLAGS } from '../bench/servers.js'
import { auth, testApp } from './helpers/app.js'
import { requireBinary } from './helpers/binaries.js'

interface Service {
  build?: string
  image?: string
  ports?: string[]
  volumes?: string[]
  environment?: Record<string, string>
}
const compose = yaml.load(readFileSync('docker-compose.yml', 'utf8')) as { services: Record<string, Service>; volumes: Record<string, unknown> }
const dockerfile = readFileSync('Dockerfile', 'utf8')

t.test('docker-compose accepts the compose file', async (t) => {
  const bin = requireBinary(t, 'docker-compose', 'apt-get install docker-compose')
  if (!bin) return
  const res = spawnSync(bin, ['config', '-q'], { encoding: 'utf8' })
  t.equal(res.status, 0, res.stderr)
})

t.test('the stack: statuspage, Prometheus, Alertmanager, its webhook receiver and Grafana, with their ports and existing mounts', async (t) => {
  t.same(Object.keys(compose.services), ['statuspage', 'prometheus', 'alertmanager', 'alert-webhook', 'grafana'])
  const { statuspage, prometheus, alertmanager, grafana } = compose.services as Record<string, Service>
  t.equal(statuspage!.build, '.')
  t.same([statuspage!.ports, prometheus!.ports, alertmanager!.ports, grafana!.ports], [['8080:8080'], ['9090:9090'], ['9093:9093'], ['3000:3000']])
  for (const [name, service] of Object.entries(compose.services)) {
    if (service.image && !service.build) t.match(service.image, /:v?\d+\.\d+\.\d+$/, `${name}: a pinned image version`)
    for (const volume of service.volumes ?? []) {
      const [source, target] = volume.split(':') as [string, string]
      if (source.startsWith('.')) t.ok(existsSync(source), `${name}: ${source} exists (mounted at ${target})`)
      else t.ok(source in compose.volumes, `${name}: named volume ${source} is declared`)
    }
  }
  t.ok(statuspage!.volumes?.includes('./config.yml:/app/config.yml:ro'))
  t.ok(
    statuspage!.volumes?.some((v) => v.endsWith(':/app/data')),
    'the database on a volume',
  )

  const home = grafana!.environment!.GF_DASHBOARDS_DEFAULT_HOME_DASHBOARD_PATH!
  const mount = grafana!.volumes!.map((v) => v.split(':')).find(([, target]) => home.startsWith(`${target}/`))
  t.ok(mount && existsSync(home.replace(mount[1]!, mount[0]!)), `the home dashboard ${home} is a mounted file`)
})

t.test('Prometheus scrapes the statuspage service and loads the mounted rules', async (t) => {
  const config = yaml.load(readFileSync('dashboards/prometheus.yml', 'utf8')) as {
    rule_files: string[]
    scrape_configs: { job_name: string; static_configs: { targets: string[] }[] }[]
  }
  const mounts = compose.services.prometheus!.volumes!.map((v) => v.split(':'))
  t.same(
    config.scrape_configs.map((s) => [s.job_name, s.static_configs[0]!.targets]),
    [['statuspage', ['statuspage:8080']]],
  )
  for (const file of config.rule_files)
    t.ok(
      mounts.some(([source, target]) => target === file && source === './dashboards/alerts.yml'),
      `${file} is the repository's alerts.yml`,
    )
  const ds = yaml.load(readFileSync('dashboards/provisioning/datasources/prometheus.yml', 'utf8')) as { datasources: Record<string, unknown>[] }
  t.match(ds.datasources, [{ type: 'prometheus', uid: 'prometheus', url: 'http://prometheus:9090', isDefault: true }])
})

for (const [file, prometheusFile] of [
  ['docker-compose.yml', 'dashboards/prometheus.yml'],
  ['docker-compose.ha.yml', 'dashboards/prometheus-ha.yml'],
] as const) {
  t.test(`${file}: Prometheus sends its alerts to the Alertmanager service, which loads the shipped config`, async (t) => {
    const stack = yaml.load(readFileSync(file, 'utf8')) as { services: Record<string, Service & { command?: string[] }> }
    const alertmanager = stack.services.alertmanager!
    const configFlag = alertmanager.command!.find((c) => c.startsWith('--config.file='))!.slice('--config.file='.length)
    t.ok(alertmanager.volumes!.includes(`./dashboards/alertmanager.yml:${configFlag}:ro`), 'the shipped alertmanager.yml is the one it loads')
    const config = yaml.load(readFileSync(prometheusFile, 'utf8')) as { alerting: { alertmanagers: { static_configs: { targets: string[] }[] }[] } }
    t.same(
      config.alerting.alertmanagers.flatMap((a) => a.static_configs.flatMap((c) => c.targets)),
      ['alertmanager:9093'],
    )
    t.same(alertmanager.ports, ['9093:9093'])
  })
}

t.test('the webhook that alertmanager.yml sends to is a service of both stacks, and it prints each alert it gets', async (t) => {
  const text = readFileSync('dashboards/alertmanager.yml', 'utf8')
  const config = yaml.load(text) as { receivers: { webhook_configs?: { url: string }[] }[] }
  const url = new URL(config.receivers[0]!.webhook_configs![0]!.url)
  for (const file of ['docker-compose.yml', 'docker-compose.ha.yml']) {
    const stack = yaml.load(readFileSync(file, 'utf8')) as { services: Record<string, Service & { command?: string[] }> }
    const receiver = stack.services[url.hostname]
    t.ok(receiver, `${file} runs ${url.hostname}`)
    t.equal(receiver?.command?.at(-1), url.port, `${file}: it listens on ${url.port}`)
  }
  const python = requireBinary(t, 'python3', 'apt-get install python3')
  if (!python) return
  const { spawn } = await import('node:child_process')
  const child = spawn(python, ['-u', 'dashboards/alert-webhook.py', '0', '127.0.0.1'], { stdio: ['ignore', 'pipe', 'inherit'] })
  t.teardown(() => child.kill())
  let out = ''
  child.stdout.on('data', (chunk: Buffer) => (out += chunk))
  for (let i = 0; i < 100 && !out.includes('listening'); i++) await new Promise((r) => setTimeout(r, 50))
  const port = /listening on port (\d+)/.exec(out)?.[1]
  const alert = { status: 'firing', labels: { alertname: 'StatuspageItemDown', group: 'Backups', id: 'backup' }, annotations: { summary: 'Backup is late' } }
  const res = await fetch(`http://127.0.0.1:${port}${url.pathname}`, {
    method: 'POST',
    body: JSON.stringify({ version: '4', status: 'firing', alerts: [alert] }),
  })
  t.equal(res.status, 200)
  for (let i = 0; i < 100 && !out.includes('FIRING'); i++) await new Promise((r) => setTimeout(r, 50))
  t.match(out, 'FIRING StatuspageItemDown group=Backups id=backup: Backup is late\n')
})

t.test('amtool accepts the shipped alertmanager.yml, and so it does with the commented email receiver filled in', async (t) => {
  const amtool = requireBinary(t, 'amtool', 'apt-get install prometheus-alertmanager')
  if (!amtool) return
  const shipped = spawnSync(amtool, ['check-config', 'dashboards/alertmanager.yml'], { encoding: 'utf8' })
  t.equal(shipped.status, 0, shipped.stdout + shipped.stderr)
  t.match(shipped.stdout, /SUCCESS/)
  // Commented YAML (a key or a list item behind "# ") is what a user uncomments; prose stays.
  const text = readFileSync('dashboards/alertmanager.yml', 'utf8')
  const uncommented = text.replace(/^(\s*)# (\s*(?:[\w-]+:|- ).*)$/gm, '$1$2')
  t.not(uncommented, text)
  const dir = t.testdir({ 'email.yml': uncommented })
  const email = spawnSync(amtool, ['check-config', `${dir}/email.yml`], { encoding: 'utf8' })
  t.equal(email.status, 0, email.stdout + email.stderr)
  t.match(email.stdout, /- 2 receivers/, 'the webhook and the email receiver')
  const config = yaml.load(text) as {
    route: { group_by: string[]; receiver: string }
    receivers: { name: string; webhook_configs?: { send_resolved: boolean }[] }[]
  }
  t.same(config.route.group_by, ['alertname', 'group'], "grouped by statuspage's group")
  t.match(config.receivers, [{ name: config.route.receiver, webhook_configs: [{ send_resolved: true }] }])
})

t.test('the Dockerfile: multi-stage on a supported LTS, non-root, port 8080, health check, /app/config.yml', async (t) => {
  const froms = [...dockerfile.matchAll(/^FROM (\S+)/gm)].map((m) => m[1])
  t.same(froms, ['node:24-slim', 'node:24-slim'], 'build and run stages on the same Node LTS')
  const engines = (JSON.parse(readFileSync('package.json', 'utf8')) as { engines: { node: string } }).engines.node
  t.match(engines, /\^24\./, 'package.json engines allows the image Node')
  t.match(dockerfile, /^RUN npm ci /m)
  t.match(dockerfile, /npm prune --omit=dev --omit=optional/, 'production dependencies only in the image (no kustomize)')
  t.match(dockerfile, /^USER node$/m)
  t.match(dockerfile, /^EXPOSE 8080$/m)
  t.match(dockerfile, /^HEALTHCHECK .*\n?.*\/-\/healthy/m)
  t.match(dockerfile, /^CMD \[.*"dist\/src\/main\.js", "\/app\/config\.yml"\]$/m, "the seed README's `-v …:/app/config.yml:ro` works as written")
  const cmd = JSON.parse(/^CMD (\[.*"dist\/src\/main\.js".*\])$/m.exec(dockerfile)![1]!) as string[]
  t.same(
    cmd.filter((word) => word.startsWith('--')),
    START_FLAGS,
    'the image runs node with the flags of npm start, which the benchmarks measure',
  )
  t.match(dockerfile, /^VOLUME \["\/app\/data"\]$/m)
  for (const m of dockerfile.matchAll(/^COPY (?!--from)(.+) \S+$/gm)) {
    for (const source of m[1]!.split(' ')) t.ok(existsSync(source), `COPY source ${source} exists`)
  }
})

const ha = yaml.load(readFileSync('docker-compose.ha.yml', 'utf8')) as {
  services: Record<string, Service & { depends_on?: unknown }>
  volumes: Record<string, unknown>
}

t.test('docker-compose accepts the replicated compose file', async (t) => {
  const bin = requireBinary(t, 'docker-compose', 'apt-get install docker-compose')
  if (!bin) return
  const res = spawnSync(bin, ['-f', 'docker-compose.ha.yml', 'config', '-q'], { encoding: 'utf8' })
  t.equal(res.status, 0, res.stderr)
})

t.test('the replicated stack: PostgreSQL, two replicas on it behind nginx, Prometheus, Alertmanager and Grafana', async (t) => {
  t.same(Object.keys(ha.services), ['postgres', 'statuspage-a', 'statuspage-b', 'loadbalancer', 'prometheus', 'alertmanager', 'alert-webhook', 'grafana'])
  const { postgres, loadbalancer } = ha.services
  const replicas = [ha.services['statuspage-a']!, ha.services['statuspage-b']!]
  for (const [name, service] of Object.entries(ha.services)) {
    // PostgreSQL's releases are major.minor.
    if (service.image && !service.build) t.match(service.image, /:v?\d+\.\d+(\.\d+)?$/, `${name}: a pinned image version`)
    for (const volume of service.volumes ?? []) {
      const [source, target] = volume.split(':') as [string, string]
      if (source.startsWith('.')) t.ok(existsSync(source), `${name}: ${source} exists (mounted at ${target})`)
      else t.ok(source in ha.volumes, `${name}: named volume ${source} is declared`)
    }
  }
  const env = postgres!.environment!
  for (const replica of replicas) {
    t.equal(replica.build, '.')
    t.equal(replica.ports, undefined, 'a replica is reached through the load balancer only')
    t.ok(replica.volumes?.includes('./config.yml:/app/config.yml:ro'), 'the same config on every replica')
    // biome-ignore lint/suspicious/noTemplateCurlyInString: compose's variable syntax
    const url = new URL(replica.environment!.DATABASE_URL!.replaceAll('${POSTGRES_PASSWORD:-statuspage}', 'pw'))
    t.same(
      [url.protocol, url.hostname, url.port, url.username, url.pathname],
      ['postgres:', 'postgres', '5432', env.POSTGRES_USER, `/${env.POSTGRES_DB}`],
      'DATABASE_URL names the postgres service',
    )
    t.match(replica.depends_on, { postgres: { condition: 'service_healthy' } })
  }
  t.same(loadbalancer!.ports, ['8080:80'])
  const conf = readFileSync('dashboards/nginx-ha.conf', 'utf8')
  t.same(
    [...conf.matchAll(/^\s*server (\S+:\d+)/gm)].map((m) => m[1]),
    ['statuspage-a:8080', 'statuspage-b:8080'],
    'nginx balances over both replicas',
  )
  t.match(conf, /proxy_next_upstream [^;]*http_503/, "a replica's 503 goes to the other one")
  t.match(conf, /X-Forwarded-For/)
})

t.test('Prometheus with replicas: the state once through the load balancer, the rest from each replica', async (t) => {
  const config = yaml.load(readFileSync('dashboards/prometheus-ha.yml', 'utf8')) as {
    scrape_configs: {
      job_name: string
      static_configs: { targets: string[] }[]
      metric_relabel_configs: { regex?: string; action?: string; target_label?: string; replacement?: string }[]
    }[]
  }
  const [lb, each] = config.scrape_configs
  t.same([lb!.job_name, lb!.static_configs[0]!.targets], ['statuspage', ['loadbalancer:80']])
  t.same([each!.job_name, each!.static_configs[0]!.targets], ['statuspage-replicas', ['statuspage-a:8080', 'statuspage-b:8080']])
  // Every family a real statuspage exports lands in exactly one of the two jobs.
  const { app } = await testApp(t)
  await app.inject({ url: '/refresh/dns', headers: auth })
  const names = [...new Set([...(await app.inject({ url: '/metrics' })).body.matchAll(/^# TYPE (\S+)/gm)].map((m) => m[1]!))]
  const matches = (rule: { regex?: string }, name: string) => new RegExp(`^(?:${rule.regex})$`).test(name)
  const dropped = lb!.metric_relabel_configs.find((r) => r.action === 'drop')!
  const kept = each!.metric_relabel_configs.find((r) => r.action === 'keep')!
  const viaLb = names.filter((n) => !matches(dropped, n))
  const viaReplicas = names.filter((n) => matches(kept, n))
  t.same(
    names.filter((n) => viaLb.includes(n) === viaReplicas.includes(n)),
    [],
    'no family from both, none from neither',
  )
  t.ok(viaLb.includes('statuspage_item_up') && viaLb.includes('statuspage_item_deadline_seconds'), 'the state through the load balancer')
  t.ok(
    ['statuspage_store_up', 'statuspage_refreshes_total', 'process_resident_memory_bytes'].every((n) => viaReplicas.includes(n)),
    'per-replica families from each replica',
  )
  t.match(each!.metric_relabel_configs.at(-1), { target_label: 'job', replacement: 'statuspage' }, "under the state's job, for the dashboard")
})
