// The Kubernetes objects made from dashboards/: a PrometheusRule holding exactly alerts.yml's rule
// groups, and a ConfigMap holding the dashboard for Grafana's sidecar (which loads every ConfigMap
// labelled grafana_dashboard: "1"). `npm run dashboards` writes them into deploy/kubernetes/base;
// a test fails when they differ from what this makes of dashboards/.
import yaml from 'js-yaml'

const HEAD = (source: string) => `# Written by \`npm run dashboards\` from ${source}: edit that, not this file.\n`

/** The PrometheusRule for `alerts` (the text of dashboards/alerts.yml). */
export function prometheusRuleYaml(alerts: string): string {
  const { groups } = yaml.load(alerts) as { groups: unknown[] }
  const rule = {
    apiVersion: 'monitoring.coreos.com/v1',
    kind: 'PrometheusRule',
    metadata: { name: 'statuspage' },
    spec: { groups },
  }
  return HEAD('dashboards/alerts.yml') + yaml.dump(rule, { lineWidth: -1, noRefs: true })
}

/** The ConfigMap for `dashboard` (the text of dashboards/statuspage.json). */
export function dashboardConfigMapYaml(dashboard: string): string {
  const map = {
    apiVersion: 'v1',
    kind: 'ConfigMap',
    metadata: {
      name: 'statuspage-dashboard',
      labels: { grafana_dashboard: '1' },
      // The folder kube-prometheus-stack's sidecar files it in, when folderAnnotation is set.
      annotations: { grafana_folder: 'statuspage' },
    },
    data: { 'statuspage.json': dashboard },
  }
  return HEAD('dashboards/statuspage.json') + yaml.dump(map, { lineWidth: -1, noRefs: true })
}
