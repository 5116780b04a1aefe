// The item and script metric families, rendered straight from the status snapshot (their label
// bytes: labels.ts).
//
// Written by hand because prom-client's path costs too much at this scale: a collect() that resets
// and re-sets every labelled gauge hashes each label set, and the registry escapes every label
// value again on every scrape (about 1 s for 100k items, blocking refreshes meanwhile). Here the
// label strings are built once per config (items) or once per stored script object, and a scrape
// only appends numbers. The output is byte for byte what prom-client's registry writes for the
// same values (test/metrics-identity.test.ts holds it to that), in both exposition formats.
import { isUp, runningNow, type CheckSpec, type CheckStatus, type Due } from '../domain/check.js'
import type { Runs, Streak } from '../domain/run.js'
import type { Snapshot } from '../domain/snapshot.js'
import { ChunkPool, MAX_VALUE, Writer } from './chunks.js'
import { escapeString, infoSuffix, itemLabels, labelString, scriptLabels, tagStates } from './labels.js'

export type Format = 'text' | 'openmetrics'

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

/** A deadline as a sample: Unix seconds, or no sample before the first report or for a schedule with no more runs. */
const deadlineSeconds = (due: Due | undefined) => (due === undefined || !Number.isFinite(due.deadline) ? undefined : due.deadline / 1000)

/** ms to Unix seconds; no sample for none. */
const seconds = (ms: number | undefined) => (ms === undefined ? undefined : ms / 1000)

/** What the run families read of a check: an item's or a script's. */
interface RunSource {
  readonly check: CheckSpec
  readonly status: CheckStatus
  readonly runs: Runs
  readonly streak: Streak
}

/**
 * The families that items and scripts both have, each named statuspage_<kind>_<name>: one
 * definition, so the two cannot drift apart.
 */
function runFamilies(kind: 'item' | 'script', of: (s: Snapshot, i: number) => RunSource): FamilyDef[] {
  const family = (name: string, help: string, value: (r: RunSource, now: number) => number | undefined): FamilyDef => ({
    name: `statuspage_${kind}_${name}`,
    help: help.replace('KIND', kind),
    type: 'gauge',
    value: (s, _c, i) => value(of(s, i), s.now),
  })
  return [
    family('running', 'Whether a run of the KIND is open (1) and within max_runtime, or not (0).', (r, now) =>
      r.runs.open.length > 0 && runningNow(r.runs, r.check.limits, now) !== undefined ? 1 : 0,
    ),
    family('timed_out', 'Whether a run of the KIND has outlived max_runtime with no signal since (1), or not (0).', (r) => (r.status === 'timeout' ? 1 : 0)),
    family('failed', 'Whether the KIND is failed (1): failure_threshold failed runs in a row, and not yet recovery_threshold successful ones since.', (r) =>
      r.streak.failing ? 1 : 0,
    ),
    family(
      'consecutive_failures',
      'Failed runs of the KIND in a row, up to the last one (a run shorter than min_runtime is a failure).',
      (r) => r.streak.failures,
    ),
    family('last_start_seconds', 'Unix time in seconds of the last start signal of the KIND; absent until one.', (r) => seconds(r.runs.lastStart)),
    family(
      'last_duration_seconds',
      'Seconds the last run of the KIND took, from its start to its finish (or as reported); absent until one.',
      (r) => r.runs.lastDuration,
    ),
    family('last_failure_seconds', 'Unix time in seconds of the last failed run of the KIND; absent until one.', (r) => seconds(r.streak.lastFailure)),
    family('max_runtime_seconds', 'The max_runtime of the KIND: a run open longer is a timeout; absent when off.', (r) => r.check.limits.maxRuntime),
    family('min_runtime_seconds', 'The min_runtime of the KIND: a successful run shorter is a failure; absent when off.', (r) => r.check.limits.minRuntime),
    family('paused', 'Whether the KIND is paused (1): neither up nor down, and left out of alerts, until it is resumed.', (r) =>
      r.status === 'paused' ? 1 : 0,
    ),
    family('in_maintenance', 'Whether the KIND is inside a maintenance window (1): not down, and left out of alerts.', (r) =>
      r.status === 'maintenance' ? 1 : 0,
    ),
  ]
}

/** Families with one series per configured item, labelled group, id, name. */
export const ITEM_FAMILIES: readonly FamilyDef[] = [
  {
    name: 'statuspage_item_up',
    help: 'Whether the item is up (1) or down (0): checked in by its deadline, not failed, not timed out; paused and in maintenance count as up.',
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
    name: 'statuspage_item_deadline_seconds',
    help: 'Unix time in seconds after which the item is late: its next due time plus grace; absent until the first refresh.',
    type: 'gauge',
    value: (s, _c, i) => deadlineSeconds(s.items[i]!.due),
  },
  {
    name: 'statuspage_item_interval_seconds',
    help: 'Seconds an interval item stays up after a refresh (its own interval or the global one); absent for cron items.',
    type: 'gauge',
    value: (s, _c, i) => s.items[i]!.item.interval,
  },
  ...runFamilies('item', (s, i) => s.items[i]!),
  {
    name: 'statuspage_refreshes_total',
    help: 'Signals (refreshes, starts, finishes) of the item since statuspage started.',
    type: 'counter',
    value: (_s, c, i) => c.refreshes[i] ?? 0,
  },
]

/** One series per item, always 1, labelled with what describes it (itemInfoPairs): to join on, and to select by tag. */
export const ITEM_INFO: FamilyDef = {
  name: 'statuspage_item_info',
  help: 'Always 1: the item, labelled with its schedule, source and tags (",a,b,"), to join on.',
  type: 'gauge',
  value: () => 1,
}

const tagCache = new WeakMap<Snapshot, { tag: string; up: boolean }[]>()
const tagsOf = (s: Snapshot) => {
  let tags = tagCache.get(s)
  if (tags === undefined) {
    tags = tagStates(s)
    tagCache.set(s, tags)
  }
  return tags
}

/** One series per tag of the items, labelled tag. */
export const TAG_UP: FamilyDef = {
  name: 'statuspage_tag_up',
  help: 'Whether every item with the tag is up (1), or one of them is down (0).',
  type: 'gauge',
  value: (s, _c, i) => (tagsOf(s)[i]!.up ? 1 : 0),
}

/** Families with one series per stored script, labelled id, name, server. */
export const SCRIPT_FAMILIES: readonly FamilyDef[] = [
  {
    name: 'statuspage_script_up',
    help: 'Whether the script is up (1): ok, running, paused or in maintenance; not failed, late nor timed out.',
    type: 'gauge',
    value: (s, _c, i) => (isUp(s.scripts[i]!.status) ? 1 : 0),
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
    name: 'statuspage_script_deadline_seconds',
    help: 'Unix time in seconds after which the script is late: its next due time plus grace; absent until it has a last_exec.',
    type: 'gauge',
    value: (s, _c, i) => deadlineSeconds(s.scripts[i]!.due),
  },
  {
    name: 'statuspage_script_period_seconds',
    help: 'Seconds after its last run at which the script counts as late.',
    type: 'gauge',
    value: (s, _c, i) => s.scripts[i]!.period,
  },
  ...runFamilies('script', (s, i) => s.scripts[i]!),
  {
    name: 'statuspage_script_reports_total',
    help: 'Reports (POST, PUT, PATCH) and starts received for the script since statuspage started.',
    type: 'counter',
    value: (s, c, i) => c.reports.get(s.scripts[i]!.script.id) ?? 0,
  },
]

interface Series {
  readonly count: number
  /** Series i's label bytes. */
  labels(i: number): Uint8Array
  /** Labels that series i adds to those, then the closing brace: written over the labels' own. */
  more?(i: number): Uint8Array
}

/** Samples written between two yields of writeFamilies: a few milliseconds of work. */
const SLICE = 16_384

/**
 * Writes every item and script family, joined as prom-client's registry joins them in `format`
 * (a blank line between families in text, none in OpenMetrics), without the final newline.
 * Yields after every SLICE samples, so that a caller can send what is written and let other work
 * run in between.
 */
function* writeFamilies(w: Writer, s: Snapshot, counts: Counts, format: Format): Generator<void, void, void> {
  const separator = format === 'text' ? '\n\n' : '\n'
  let budget = SLICE
  for (const [k, { def, head, series }] of plan(s, format).entries()) {
    if (k > 0) w.text(separator)
    const name = Buffer.from(`\n${def.name}`)
    w.text(head)
    for (let i = 0; i < series.count; i++) {
      const v = def.value(s, counts, i)
      if (v !== undefined) {
        const labels = series.labels(i)
        const more = series.more?.(i)
        w.room(name.length + labels.length + (more?.length ?? 0) + MAX_VALUE)
        w.bytes(name)
        w.bytes(labels)
        if (more !== undefined) {
          w.pos--
          w.bytes(more)
        }
        w.buf[w.pos++] = 32 // ' '
        w.value(v)
      }
      if (--budget === 0) {
        budget = SLICE
        yield
      }
    }
  }
}

/** Each family with its HELP and TYPE lines and its series. */
function plan(s: Snapshot, format: Format): { def: FamilyDef; head: string; series: Series }[] {
  const items = itemLabels(s.config)
  const scriptBytes = s.scripts.map(({ script }) => scriptLabels(script))
  const tagBytes = tagsOf(s).map(({ tag }) => Buffer.from(labelString([['tag', tag]])))
  const itemSeries: Series = { count: s.items.length, labels: (i) => items.views[i]! }
  const scriptSeries: Series = { count: s.scripts.length, labels: (i) => scriptBytes[i]! }
  return [
    ...ITEM_FAMILIES.map((def) => ({ def, series: itemSeries })),
    { def: ITEM_INFO, series: { ...itemSeries, more: (i: number) => infoSuffix(s.items[i]!.item) } },
    { def: TAG_UP, series: { count: tagBytes.length, labels: (i: number) => tagBytes[i]! } },
    ...SCRIPT_FAMILIES.map((def) => ({ def, series: scriptSeries })),
  ].map(({ def, series }) => ({ def, series, head: header(def.name, def.help, def.type, format) }))
}

/**
 * `head`, the families and `tail`, in chunks from `pool`, in order; `undefined` after every slice of
 * SLICE samples, a point at which to let other work run.
 */
export function* exposition(head: string, s: Snapshot, counts: Counts, format: Format, tail: string, pool: ChunkPool): Generator<Buffer | undefined> {
  const w = new Writer(pool)
  w.text(head)
  for (const _ of writeFamilies(w, s, counts, format)) {
    yield* w.take()
    yield undefined
  }
  w.text(tail)
  yield* w.take(true)
}

/** The item and script families alone, at once, in one buffer (for tests and comparisons). */
export function renderFamilies(s: Snapshot, counts: Counts, format: Format): Buffer {
  return Buffer.concat([...exposition('', s, counts, format, '', new ChunkPool())].filter((chunk) => chunk !== undefined))
}

/**
 * The exposition as it is sent, awaiting `pause()` between slices: a scrape of 100k items neither
 * holds the event loop for its whole length nor its whole body in memory. Give each chunk back to
 * `pool` once it is sent.
 */
export async function* renderExposition(
  head: string,
  s: Snapshot,
  counts: Counts,
  format: Format,
  tail: string,
  pool: ChunkPool,
  pause: () => Promise<void>,
): AsyncGenerator<Buffer> {
  for (const chunk of exposition(head, s, counts, format, tail, pool)) {
    if (chunk === undefined) await pause()
    else yield chunk
  }
}
