// npm run dashboards: writes dashboards/statuspage.json from src/dashboards/statuspage.ts, and the
// Kubernetes PrometheusRule and dashboard ConfigMap from dashboards/ into deploy/kubernetes/base.
// A test fails when the committed files differ from what this writes.
import { readFileSync, writeFileSync } from 'node:fs'
import { dashboardJson } from '../src/dashboards/json.js'
import { dashboardConfigMapYaml, prometheusRuleYaml } from '../src/dashboards/kubernetes.js'

const json = dashboardJson()
writeFileSync('dashboards/statuspage.json', json)
writeFileSync('deploy/kubernetes/base/prometheusrule.yaml', prometheusRuleYaml(readFileSync('dashboards/alerts.yml', 'utf8')))
writeFileSync('deploy/kubernetes/base/grafana-dashboard.yaml', dashboardConfigMapYaml(json))
