// The item and script metric families, rendered straight from the status snapshot.
//
// Written by hand because prom-client's path costs too much at this scale: a collect() that resets
// and re-sets every labelled gauge hashes each label set, and the registry escapes every label
// value again on every scrape (about 1 s for 100k items, blocking refreshes meanwhile). Here the
// label strings are built once per config (items) or once per stored script object, and a scrape
// only appends numbers. The output is byte for byte what prom-client's registry writes for the
// same values (test/metrics-identity.test.ts holds it to that), in both exposition formats.
import type { Config } from '../config/load.js'
import type { Snapshot } from '../domain/snapshot.js'
import type { Script } from '../store/store.js'

export type Format = 'text' | 'openmetrics'

// prom-client's escaping (lib/registry.js): HELP text and label values.
const escapeString = (s: string) => s.replace(/\\/g, '\\\\').replace(/\n/g, '\\n')
const escapeLabel = (s: string) => escapeString(s).replace(/"/g, '\\"')
const labelString = (labels: readonly (readonly [string, string])[]) =>
  `{${labels.map(([k, v]) => `${k}="${escapeLabel(v)}"`).join(',')}}`

// prom-client's getValueAsString.
const valueString = (v: number) => (Number.isNaN(v) ? 'Nan' : Number.isFinite(v) ? `${v}` : v < 0 ? '-Inf' : '+Inf')

const itemLabelCache = new WeakMap<Config, readonly string[]>()
/** `{group="…",id="…",name="…"}` for each item of the config, built once per config. */
export function itemLabels(config: Config): readonly string[] {
  let labels = itemLabelCache.get(config)
  if (labels === undefined) {
    labels = config.items.map((i) => labelString([['group', i.group], ['id', i.id], ['name', i.name]]))
    itemLabelCache.set(config, labels)
  }
  return labels
}

const scriptLabelCache = new WeakMap<Script, string>()
/** `{id="…",name="…",server="…"}`, built once per stored script object (a new one on each update). */
function scriptLabels(script: Script): string {
  let labels = scriptLabelCache.get(script)
  if (labels === undefined) {
    labels = labelString([['id', String(script.id)], ['name', script.name], ['server', script.server]])
    scriptLabelCache.set(script, labels)
  }
  return labels
}

type MetricType = 'gauge' | 'counter'

/** HELP and TYPE lines as the registry writes them; OpenMetrics names a counter family without _total. */
function header(name: string, help: string, type: MetricType, format: Format): string {
  const family = format === 'openmetrics' && type === 'counter' ? name.replace(/_total$/, '') : name
  return `# HELP ${family} ${escapeString(help)}\n# TYPE ${family} ${type}`
}

/** Refresh and report counts that the families expose as counters. */
export interface Counts {
  /** Refreshes per item, index-aligned with the snapshot's config.items. */
  readonly refreshes: ArrayLike<number>
  /** Reports per script id. */
  readonly reports: ReadonlyMap<number, number>
}

export interface FamilyDef {
  readonly name: string
  readonly help: string
  readonly type: MetricType
  /** The sample of series i (an item or script index in the snapshot); undefined: no sample. */
  readonly value: (s: Snapshot, counts: Counts, i: number) => number | undefined
}

/** Families with one series per configured item, labelled group, id, name. */
export const ITEM_FAMILIES: readonly FamilyDef[] = [
  {
    name: 'statuspage_item_up',
    help: 'Whether the item is up (1) or down (0): refreshed within its interval.',
    type: 'gauge',
    value: (s, _c, i) => (s.items[i]!.state === 'up' ? 1 : 0),
  },
  {
    name: 'statuspage_item_last_refresh_seconds',
    help: 'Unix time in seconds of the last refresh of the item; absent until the first one.',
    type: 'gauge',
    value: (s, _c, i) => {
      const t = s.items[i]!.lastRefresh
      return t === undefined ? undefined : t / 1000
    },
  },
  {
    name: 'statuspage_item_interval_seconds',
    help: 'Seconds the item stays up after a refresh (its own interval or the global one).',
    type: 'gauge',
    value: (s, _c, i) => s.items[i]!.item.interval,
  },
  {
    name: 'statuspage_refreshes_total',
    help: 'Refreshes of the item since statuspage started.',
    type: 'counter',
    value: (_s, c, i) => c.refreshes[i] ?? 0,
  },
]

/** Families with one series per stored script, labelled id, name, server. */
export const SCRIPT_FAMILIES: readonly FamilyDef[] = [
  {
    name: 'statuspage_script_up',
    help: 'Whether the script is ok (1): its last run succeeded and is no older than its period.',
    type: 'gauge',
    value: (s, _c, i) => (s.scripts[i]!.state === 'ok' ? 1 : 0),
  },
  {
    name: 'statuspage_script_success',
    help: 'Status of the last reported run of the script: 1 success, 0 failure.',
    type: 'gauge',
    value: (s, _c, i) => (s.scripts[i]!.script.status ? 1 : 0),
  },
  {
    name: 'statuspage_script_last_exec_seconds',
    help: 'Unix time in seconds of the last reported run of the script; absent until one has a date.',
    type: 'gauge',
    value: (s, _c, i) => {
      const t = s.scripts[i]!.script.lastExec
      return t === null ? undefined : t / 1000
    },
  },
  {
    name: 'statuspage_script_period_seconds',
    help: 'Seconds after its last run at which the script counts as late.',
    type: 'gauge',
    value: (s, _c, i) => s.scripts[i]!.period,
  },
  {
    name: 'statuspage_script_reports_total',
    help: 'Reports (POST, PUT, PATCH) received for the script since statuspage started.',
    type: 'counter',
    value: (s, c, i) => c.reports.get(s.scripts[i]!.script.id) ?? 0,
  },
]

function render(def: FamilyDef, format: Format, s: Snapshot, counts: Counts, count: number, labels: (i: number) => string): string {
  const { name } = def
  let out = header(name, def.help, def.type, format)
  for (let i = 0; i < count; i++) {
    const v = def.value(s, counts, i)
    if (v !== undefined) out += `\n${name}${labels(i)} ${valueString(v)}`
  }
  return out
}

/** Every item and script family, each a string without a trailing newline. */
export function renderFamilies(s: Snapshot, counts: Counts, format: Format): string[] {
  const labels = itemLabels(s.config)
  const itemLabel = (i: number) => labels[i]!
  const scriptLabel = (i: number) => scriptLabels(s.scripts[i]!.script)
  return [
    ...ITEM_FAMILIES.map((def) => render(def, format, s, counts, s.items.length, itemLabel)),
    ...SCRIPT_FAMILIES.map((def) => render(def, format, s, counts, s.scripts.length, scriptLabel)),
  ]
}
