// The label bytes of the item and script families (families.ts), built once per config (items),
// per distinct info suffix, or per stored script object, so that a scrape only appends numbers.
// Escaped as prom-client's registry escapes them (test/metrics-identity.test.ts).
import { LruMap } from 'toad-cache'
import type { Item } from '../domain/item.js'
import type { Script } from '../domain/script.js'
import type { Board, Snapshot } from '../domain/snapshot.js'

// prom-client's escaping (lib/registry.js): HELP text and label values.
export const escapeString = (s: string) => s.replace(/\\/g, '\\\\').replace(/\n/g, '\\n')
const escapeLabel = (s: string) => escapeString(s).replace(/"/g, '\\"')
export const labelString = (labels: readonly (readonly [string, string])[]) => `{${labels.map(([k, v]) => `${k}="${escapeLabel(v)}"`).join(',')}}`

/** The label strings of every item of a config, UTF-8 encoded back to back. */
export interface LabelBytes {
  /** Item i's labels: a view into one buffer that holds them all. */
  readonly views: readonly Uint8Array[]
}

/**
 * The label strings of each item of a config, UTF-8 encoded back to back in one buffer, each a
 * view into it; built once per config. An item that the config encoded before last had at the
 * same index (a check added through the API leaves every other so) keeps its bytes: a write of one
 * check encodes one label string, not 100k.
 */
class ItemLabelCache {
  readonly #byConfig = new WeakMap<Board, LabelBytes>()
  #last: { config: Board; labels: LabelBytes } | undefined
  readonly #pairs: (item: Item) => [string, string][]

  constructor(pairs: (item: Item) => [string, string][]) {
    this.#pairs = pairs
  }

  of(config: Board): LabelBytes {
    let labels = this.#byConfig.get(config)
    if (labels !== undefined) return labels
    const last = this.#last
    const kept = (i: number) => (last !== undefined && last.config.items[i] === config.items[i] ? last.labels.views[i] : undefined)
    const fresh: string[] = []
    config.items.forEach((item, i) => {
      if (kept(i) === undefined) fresh.push(labelString(this.#pairs(item)))
    })
    const bytes = Buffer.from(fresh.join(''))
    let offset = 0
    let k = 0
    const views = config.items.map((_, i) => {
      const old = kept(i)
      if (old !== undefined) return old
      const start = offset
      offset += Buffer.byteLength(fresh[k++]!)
      return new Uint8Array(bytes.buffer, bytes.byteOffset + start, offset - start)
    })
    labels = { views }
    this.#byConfig.set(config, labels)
    this.#last = { config, labels }
    return labels
  }
}

/** The labels of an item's series in every per-item family. */
const itemLabelPairs = (i: Item): [string, string][] => [
  ['group', i.group],
  ['id', i.id],
  ['name', i.name],
]

/**
 * The labels of an item's statuspage_item_info series, to join on: its tags as one label between
 * commas (`,db,prod,`, so that `tags=~".*,prod,.*"` matches a tag whole), its schedule (a cron
 * expression, or `every <seconds>s`) and its source.
 */
export const itemInfoPairs = (i: Item): [string, string][] => {
  const { schedule } = i.check
  return [
    ...itemLabelPairs(i),
    ['schedule', schedule.kind === 'cron' ? schedule.expression : `every ${schedule.seconds}s`],
    ['source', i.source],
    ['tags', i.tags.length === 0 ? '' : `,${i.tags.join(',')},`],
  ]
}

const itemLabelCache = new ItemLabelCache(itemLabelPairs)

/**
 * `{group="…",id="…",name="…"}` for each item of the config, encoded once per config. Call it when
 * a config is loaded: for 100k items it takes about 100 ms, which a scrape should not pay.
 */
export const itemLabels = (config: Board): LabelBytes => itemLabelCache.of(config)

/**
 * What statuspage_item_info's labels add to an item's own (schedule, source, tags and the closing
 * brace), encoded once per distinct value: many items share one. Not a buffer per item: at 100k
 * items that held 20 MB, and building it at the first scrape held the event loop.
 */
const infoSuffixes = new LruMap<Buffer>(10_000)
export function infoSuffix(item: Item): Buffer {
  const pairs = itemInfoPairs(item).slice(3)
  const key = pairs.map(([, v]) => v).join('\0')
  let bytes = infoSuffixes.get(key)
  if (bytes === undefined) {
    bytes = Buffer.from(`,${labelString(pairs).slice(1)}`)
    infoSuffixes.set(key, bytes)
  }
  return bytes
}

/** Each tag of the snapshot's items, in order, with whether all its items are up. */
export function tagStates(s: Snapshot): { tag: string; up: boolean }[] {
  const up = new Map<string, boolean>()
  for (const { item, state } of s.items) for (const tag of item.tags) up.set(tag, (up.get(tag) ?? true) && state === 'up')
  return [...up].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)).map(([tag, isUp]) => ({ tag, up: isUp }))
}

const scriptLabelCache = new WeakMap<Script, Buffer>()
/** `{id="…",name="…",server="…"}`, encoded once per stored script object (a new one on each update). */
export function scriptLabels(script: Script): Buffer {
  let labels = scriptLabelCache.get(script)
  if (labels === undefined) {
    labels = Buffer.from(
      labelString([
        ['id', String(script.id)],
        ['name', script.name],
        ['server', script.server],
      ]),
    )
    scriptLabelCache.set(script, labels)
  }
  return labels
}
