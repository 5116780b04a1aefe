// The Grafana dashboard, as a value of @grafana/schema's classic Dashboard model.
// `npm run dashboards` writes it to dashboards/statuspage.json; a test keeps the two in sync.
import { defaultDashboard, type Dashboard, type DataSourceRef, type Panel, type VariableModel } from '@grafana/schema'

const DASHBOARD_UID = 'statuspage'

// biome-ignore lint/suspicious/noTemplateCurlyInString: Grafana's variable syntax, not a template literal
const datasource: DataSourceRef = { type: 'prometheus', uid: '${datasource}' }
const items = 'job=~"$job",group=~"$group"'
const scripts = 'job=~"$job"'

interface Query {
  expr: string
  legend?: string
  /** Instant table queries for the tables; range queries elsewhere. */
  table?: boolean
}

const refId = (i: number) => String.fromCharCode(65 + i)

const targets = (queries: Query[]) =>
  queries.map((q, i) => ({
    refId: refId(i),
    datasource,
    expr: q.expr,
    ...(q.legend ? { legendFormat: q.legend } : {}),
    ...(q.table ? { instant: true, range: false, format: 'table' } : { range: true }),
  }))

const upDownMappings = [{ type: 'value', options: { '0': { text: 'Down', color: 'red', index: 0 }, '1': { text: 'Up', color: 'green', index: 1 } } }]

function panel(p: {
  id: number
  type: string
  title: string
  description: string
  unit: string
  gridPos: [x: number, y: number, w: number, h: number]
  queries: Query[]
  options?: Record<string, unknown>
  defaults?: Record<string, unknown>
  overrides?: unknown[]
  transformations?: Panel['transformations']
}): Panel {
  const [x, y, w, h] = p.gridPos
  return {
    id: p.id,
    type: p.type,
    title: p.title,
    description: p.description,
    datasource,
    gridPos: { x, y, w, h },
    targets: targets(p.queries),
    fieldConfig: { defaults: { unit: p.unit, ...p.defaults }, overrides: (p.overrides ?? []) as never },
    options: p.options ?? {},
    ...(p.transformations ? { transformations: p.transformations } : {}),
  }
}

/** A threshold that turns red from `red` on. */
const redFrom = (red: number) => ({
  mode: 'absolute',
  steps: [
    { color: 'green', value: null },
    { color: 'red', value: red },
  ],
})

/**
 * Instant table queries merged into one table: the `labels` columns, then one column per query,
 * named by `values` in query order.
 */
const mergedTable = (labels: string[], values: string[]): Panel['transformations'] => {
  const valueColumns = values.map((_, i) => `Value #${refId(i)}`)
  return [
    { id: 'merge', options: {} },
    {
      id: 'organize',
      options: {
        excludeByName: { Time: true, __name__: true, instance: true, job: true },
        renameByName: Object.fromEntries(valueColumns.map((column, i) => [column, values[i]])),
        indexByName: Object.fromEntries([...labels, ...valueColumns].map((column, i) => [column, i])),
      },
    },
  ]
}

const override = (field: string, properties: Record<string, unknown>) => ({
  matcher: { id: 'byName', options: field },
  properties: Object.entries(properties).map(([id, value]) => ({ id, value })),
})

const queryVariable = (name: string, label: string, query: string, multi: boolean): VariableModel => ({
  type: 'query',
  name,
  label,
  datasource,
  query: { query, refId: `${name}-values` },
  refresh: 2,
  multi,
  includeAll: true,
  current: { text: 'All', value: '$__all' },
  sort: 1,
})

export const dashboard: Dashboard = {
  uid: DASHBOARD_UID,
  title: 'statuspage',
  description: 'Heartbeats of items and scripts reported to statuspage.',
  tags: ['statuspage'],
  timezone: 'browser',
  editable: true,
  graphTooltip: 1,
  refresh: '30s',
  time: { from: 'now-6h', to: 'now' },
  schemaVersion: defaultDashboard.schemaVersion,
  version: 1,
  links: [],
  annotations: { list: [] },
  templating: {
    list: [
      {
        type: 'datasource',
        name: 'datasource',
        label: 'Data source',
        query: 'prometheus',
        current: { text: 'default', value: 'default' },
        hide: 0,
        refresh: 1,
      },
      queryVariable('job', 'Job', 'label_values(statuspage_item_up, job)', false),
      queryVariable('group', 'Group', 'label_values(statuspage_item_up{job=~"$job"}, group)', true),
    ],
  },
  panels: [
    panel({
      id: 1,
      type: 'stat',
      title: 'Items down',
      description: 'Items past their deadline (next due time plus grace) or never refreshed, right now.',
      unit: 'short',
      gridPos: [0, 0, 6, 4],
      queries: [{ expr: `count(statuspage_item_up{${items}} == 0) or vector(0)` }],
      defaults: { thresholds: redFrom(1), color: { mode: 'thresholds' } },
      options: { colorMode: 'background', graphMode: 'none', reduceOptions: { calcs: ['lastNotNull'], fields: '', values: false } },
    }),
    panel({
      id: 2,
      type: 'stat',
      title: 'Scripts failed or late',
      description: 'Scripts whose last run failed, that are late (past their deadline) or that never reported a run.',
      unit: 'short',
      gridPos: [6, 0, 6, 4],
      queries: [{ expr: `count(statuspage_script_up{${scripts}} == 0) or vector(0)` }],
      defaults: { thresholds: redFrom(1), color: { mode: 'thresholds' } },
      options: { colorMode: 'background', graphMode: 'none', reduceOptions: { calcs: ['lastNotNull'], fields: '', values: false } },
    }),
    panel({
      id: 3,
      type: 'timeseries',
      title: 'Refresh rate',
      description: 'Refreshes per second by item id, and refreshes of unknown ids or refused for a missing or wrong token.',
      unit: 'reqps',
      gridPos: [12, 0, 12, 8],
      queries: [
        { expr: `sum by (id) (rate(statuspage_refreshes_total{${items}}[$__rate_interval]))`, legend: '{{id}}' },
        { expr: `sum(rate(statuspage_refresh_unknown_total{${scripts}}[$__rate_interval]))`, legend: 'unknown id' },
        { expr: `sum(rate(statuspage_refresh_rejected_total{${scripts}}[$__rate_interval]))`, legend: 'rejected (403)' },
      ],
      defaults: { custom: { drawStyle: 'line', fillOpacity: 10, showPoints: 'never' } },
      options: { legend: { displayMode: 'list', placement: 'bottom', showLegend: true }, tooltip: { mode: 'multi', sort: 'desc' } },
    }),
    panel({
      id: 4,
      type: 'state-timeline',
      title: 'Item state',
      description: 'Up (before its deadline) or down, per item, over the selected range.',
      unit: 'short',
      gridPos: [0, 4, 12, 8],
      queries: [{ expr: `statuspage_item_up{${items}}`, legend: '{{group}} / {{name}}' }],
      defaults: {
        mappings: upDownMappings,
        color: { mode: 'thresholds' },
        thresholds: {
          mode: 'absolute',
          steps: [
            { color: 'red', value: null },
            { color: 'green', value: 1 },
          ],
        },
      },
      options: { showValue: 'never', mergeValues: true, rowHeight: 0.8, legend: { showLegend: false } },
    }),
    panel({
      id: 5,
      type: 'table',
      title: 'Items',
      description: 'Every item now: state, time since its last refresh and its interval (empty for items on a cron schedule).',
      unit: 's',
      gridPos: [0, 12, 12, 10],
      queries: [
        { expr: `statuspage_item_up{${items}}`, table: true },
        { expr: `time() - statuspage_item_last_refresh_seconds{${items}}`, table: true },
        { expr: `statuspage_item_interval_seconds{${items}}`, table: true },
      ],
      transformations: mergedTable(['group', 'name', 'id'], ['State', 'Since last refresh', 'Interval']),
      overrides: [override('State', { unit: 'short', mappings: upDownMappings, 'custom.cellOptions': { type: 'color-background' } })],
      options: { showHeader: true, sortBy: [{ displayName: 'State', desc: false }] },
    }),
    panel({
      id: 6,
      type: 'table',
      title: 'Scripts',
      description:
        'Every script now: state (up only when its last run succeeded and its deadline has not passed), last reported status, time since its last run and its period.',
      unit: 's',
      gridPos: [12, 8, 12, 14],
      queries: [
        { expr: `statuspage_script_up{${scripts}}`, table: true },
        { expr: `statuspage_script_success{${scripts}}`, table: true },
        { expr: `time() - statuspage_script_last_exec_seconds{${scripts}}`, table: true },
        { expr: `statuspage_script_period_seconds{${scripts}}`, table: true },
      ],
      transformations: mergedTable(['server', 'name', 'id'], ['State', 'Last status', 'Last run', 'Period']),
      overrides: [
        override('State', {
          unit: 'short',
          mappings: [{ type: 'value', options: { '0': { text: 'Not OK', color: 'red', index: 0 }, '1': { text: 'OK', color: 'green', index: 1 } } }],
          'custom.cellOptions': { type: 'color-background' },
        }),
        override('Last status', {
          unit: 'short',
          mappings: [{ type: 'value', options: { '0': { text: 'Failed', color: 'red', index: 0 }, '1': { text: 'Success', color: 'green', index: 1 } } }],
        }),
      ],
      options: { showHeader: true, sortBy: [{ displayName: 'State', desc: false }] },
    }),
    panel({
      id: 7,
      type: 'bargauge',
      title: 'Availability',
      description: 'Share of the selected range during which each item was up.',
      unit: 'percentunit',
      gridPos: [0, 22, 24, 8],
      queries: [{ expr: `avg_over_time(statuspage_item_up{${items}}[$__range])`, legend: '{{group}} / {{name}}', table: false }],
      defaults: {
        min: 0,
        max: 1,
        decimals: 2,
        color: { mode: 'thresholds' },
        thresholds: {
          mode: 'absolute',
          steps: [
            { color: 'red', value: null },
            { color: 'orange', value: 0.99 },
            { color: 'green', value: 0.999 },
          ],
        },
      },
      options: { displayMode: 'basic', orientation: 'horizontal', reduceOptions: { calcs: ['lastNotNull'], fields: '', values: false } },
    }),
    panel({
      id: 8,
      type: 'stat',
      title: 'Late by',
      description: 'How far the latest item is past its deadline (next due time plus grace), interval and cron items alike; 0 when none is late.',
      unit: 's',
      gridPos: [0, 30, 6, 10],
      queries: [{ expr: `max(time() - statuspage_item_deadline_seconds{${items}} > 0) or vector(0)` }],
      defaults: { thresholds: redFrom(1), color: { mode: 'thresholds' } },
      options: { colorMode: 'background', graphMode: 'none', reduceOptions: { calcs: ['lastNotNull'], fields: '', values: false } },
    }),
    panel({
      id: 9,
      type: 'table',
      title: 'Due next',
      description: 'Items by deadline, the soonest first: time left before each turns down (negative once late) and the deadline itself.',
      unit: 's',
      gridPos: [6, 30, 18, 10],
      queries: [
        { expr: `statuspage_item_deadline_seconds{${items}} - time()`, table: true },
        { expr: `statuspage_item_deadline_seconds{${items}} * 1000`, table: true },
      ],
      transformations: mergedTable(['group', 'name', 'id'], ['Due in', 'Deadline']),
      overrides: [override('Deadline', { unit: 'dateTimeAsIso' })],
      options: { showHeader: true, sortBy: [{ displayName: 'Due in', desc: false }] },
    }),
    panel({
      id: 10,
      type: 'timeseries',
      title: 'Run durations',
      description:
        'How long each run took, per item and script: the last duration, which changes once a run finishes. Its history is what StatuspageRunSlowerThanUsual compares with.',
      unit: 's',
      gridPos: [0, 40, 12, 9],
      queries: [
        { expr: `statuspage_item_last_duration_seconds{${items}}`, legend: '{{group}} / {{name}}' },
        { expr: `statuspage_script_last_duration_seconds{${scripts}}`, legend: 'script {{name}} ({{server}})' },
      ],
      defaults: { custom: { drawStyle: 'line', lineInterpolation: 'stepAfter', showPoints: 'never' } },
      options: { legend: { displayMode: 'table', placement: 'right', calcs: ['lastNotNull', 'max'] }, tooltip: { mode: 'multi' } },
    }),
    panel({
      id: 11,
      type: 'table',
      title: 'Running now',
      description: 'Items and scripts with a run open (a start and no finish yet): how long it has been running, and its max_runtime if set.',
      unit: 's',
      gridPos: [12, 40, 12, 9],
      queries: [
        {
          expr: `(time() - statuspage_item_last_start_seconds{${items}}) and on (job, instance, group, id, name) (statuspage_item_running{${items}} == 1)`,
          table: true,
        },
        {
          expr: `(time() - statuspage_script_last_start_seconds{${scripts}}) and on (job, instance, id, name, server) (statuspage_script_running{${scripts}} == 1)`,
          table: true,
        },
      ],
      transformations: mergedTable(['group', 'name', 'id', 'server'], ['Item running for', 'Script running for']),
      options: { showHeader: true },
    }),
    panel({
      id: 12,
      type: 'timeseries',
      title: 'Failures in a row',
      description:
        'Failed runs in a row per item and script (a run shorter than min_runtime counts). The check is down once this reaches its failure_threshold.',
      unit: 'short',
      gridPos: [0, 49, 24, 8],
      queries: [
        { expr: `statuspage_item_consecutive_failures{${items}} > 0`, legend: '{{group}} / {{name}}' },
        { expr: `statuspage_script_consecutive_failures{${scripts}} > 0`, legend: 'script {{name}} ({{server}})' },
      ],
      defaults: { custom: { drawStyle: 'bars', fillOpacity: 60 }, min: 0, decimals: 0 },
      options: { legend: { displayMode: 'list', placement: 'bottom' }, tooltip: { mode: 'multi' } },
    }),
  ],
}
