// No Docker engine runs here: the compose file is validated by docker-compose where present, and the
// compose file and Dockerfile are checked for what they promise (services, ports, mounts that exist).
import { spawnSync } from 'node:child_process'
import { existsSync, readFileSync } from 'node:fs'
import yaml from 'js-yaml'
import t from 'tap'
import { START_FLAGS } from '../bench/servers.js'
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

t.test('the stack: statuspage, Prometheus and Grafana, with their ports and existing mounts', async (t) => {
  t.same(Object.keys(compose.services), ['statuspage', 'prometheus', 'grafana'])
  const { statuspage, prometheus, grafana } = compose.services as Record<string, Service>
  t.equal(statuspage!.build, '.')
  t.same([statuspage!.ports, prometheus!.ports, grafana!.ports], [['8080:8080'], ['9090:9090'], ['3000:3000']])
  for (const [name, service] of Object.entries(compose.services)) {
    if (service.image && !service.build) t.match(service.image, /:v?\d+\.\d+\.\d+$/, `${name}: a pinned image version`)
    for (const volume of service.volumes ?? []) {
      const [source, target] = volume.split(':') as [string, string]
      if (source.startsWith('.')) t.ok(existsSync(source), `${name}: ${source} exists (mounted at ${target})`)
      else t.ok(source in compose.volumes, `${name}: named volume ${source} is declared`)
    }
  }
  t.ok(statuspage!.volumes?.includes('./config.yml:/app/config.yml:ro'))
  t.ok(statuspage!.volumes?.some((v) => v.endsWith(':/app/data')), 'the database on a volume')

  const home = grafana!.environment!.GF_DASHBOARDS_DEFAULT_HOME_DASHBOARD_PATH!
  const mount = grafana!.volumes!.map((v) => v.split(':')).find(([, target]) => home.startsWith(`${target}/`))
  t.ok(mount && existsSync(home.replace(mount[1]!, mount[0]!)), `the home dashboard ${home} is a mounted file`)
})

t.test('Prometheus scrapes the statuspage service and loads the mounted rules', async (t) => {
  const config = yaml.load(readFileSync('dashboards/prometheus.yml', 'utf8')) as { rule_files: string[]; scrape_configs: { job_name: string; static_configs: { targets: string[] }[] }[] }
  const mounts = compose.services.prometheus!.volumes!.map((v) => v.split(':'))
  t.same(config.scrape_configs.map((s) => [s.job_name, s.static_configs[0]!.targets]), [['statuspage', ['statuspage:8080']]])
  for (const file of config.rule_files) t.ok(mounts.some(([source, target]) => target === file && source === './dashboards/alerts.yml'), `${file} is the repository's alerts.yml`)
  const ds = yaml.load(readFileSync('dashboards/provisioning/datasources/prometheus.yml', 'utf8')) as { datasources: Record<string, unknown>[] }
  t.match(ds.datasources, [{ type: 'prometheus', uid: 'prometheus', url: 'http://prometheus:9090', isDefault: true }])
})

t.test('the Dockerfile: multi-stage on a supported LTS, non-root, port 8080, health check, /app/config.yml', async (t) => {
  const froms = [...dockerfile.matchAll(/^FROM (\S+)/gm)].map((m) => m[1])
  t.same(froms, ['node:24-slim', 'node:24-slim'], 'build and run stages on the same Node LTS')
  const engines = (JSON.parse(readFileSync('package.json', 'utf8')) as { engines: { node: string } }).engines.node
  t.match(engines, /\^24\./, 'package.json engines allows the image Node')
  t.match(dockerfile, /^RUN npm ci /m)
  t.match(dockerfile, /npm prune --omit=dev/, 'production dependencies only in the image')
  t.match(dockerfile, /^USER node$/m)
  t.match(dockerfile, /^EXPOSE 8080$/m)
  t.match(dockerfile, /^HEALTHCHECK .*\n?.*\/-\/healthy/m)
  t.match(dockerfile, /^CMD \[.*"dist\/src\/main\.js", "\/app\/config\.yml"\]$/m, "the seed README's `-v …:/app/config.yml:ro` works as written")
  const cmd = JSON.parse(/^CMD (\[.*"dist\/src\/main\.js".*\])$/m.exec(dockerfile)![1]!) as string[]
  t.same(cmd.filter((word) => word.startsWith('--')), START_FLAGS, 'the image runs node with the flags of npm start, which the benchmarks measure')
  t.match(dockerfile, /^VOLUME \["\/app\/data"\]$/m)
  for (const m of dockerfile.matchAll(/^COPY (?!--from)(.+) \S+$/gm)) {
    for (const source of m[1]!.split(' ')) t.ok(existsSync(source), `COPY source ${source} exists`)
  }
})
