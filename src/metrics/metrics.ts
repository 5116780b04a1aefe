// The exporter's state: prom-client registries for the process metrics and the scalar counters and
// gauges, plus the per-item and per-script counts that renderFamilies exposes.
import { Counter, Gauge, Registry, collectDefaultMetrics } from 'prom-client'
import { VERSION } from '../version.js'
import type { Config, Item } from '../config/load.js'
import { MAX_OPEN_RUNS } from '../domain/run.js'
import type { Monitor } from '../monitor.js'
import { ChunkPool } from './chunks.js'
import { renderExposition, type Format } from './families.js'
import { itemLabels } from './labels.js'

export const CONTENT_TYPE: Record<Format, string> = {
  text: Registry.PROMETHEUS_CONTENT_TYPE,
  openmetrics: Registry.OPENMETRICS_CONTENT_TYPE,
}

// One registry per format: a prom-client registry in OpenMetrics mode renames its counters for
// good (it strips _total), so a registry cannot serve both formats.
function promRegistry(format: Format, monitor: Monitor) {
  const registry = new Registry()
  registry.setContentType(CONTENT_TYPE[format] as typeof Registry.PROMETHEUS_CONTENT_TYPE)
  const registers = [registry]
  collectDefaultMetrics({ register: registry })
  // Gauges named like counters, which promtool rejects; each is the sum of the per-type gauge
  // of the same name without _total (nodejs_active_handles{type=...}), which stays.
  for (const name of ['nodejs_active_handles_total', 'nodejs_active_requests_total', 'nodejs_active_resources_total']) {
    registry.removeSingleMetric(name)
  }
  new Gauge({
    name: 'statuspage_build_info',
    help: 'Always 1: the version of statuspage and of Node that run it.',
    labelNames: ['version', 'node_version'],
    registers,
  }).set({ version: VERSION, node_version: process.versions.node }, 1)
  new Gauge({
    name: 'statuspage_config_last_reload_successful',
    help: 'Whether the last configuration reload attempt was successful (1) or not (0).',
    registers,
    collect() {
      this.set(monitor.reloadStatus.successful ? 1 : 0)
    },
  })
  new Gauge({
    name: 'statuspage_config_last_reload_success_timestamp_seconds',
    help: 'Unix time in seconds of the last successful configuration load (start-up or SIGHUP).',
    registers,
    collect() {
      this.set(monitor.reloadStatus.lastSuccess / 1000)
    },
  })
  new Gauge({
    name: 'statuspage_store_up',
    help: 'Whether the database answers (1) or not (0); while it does not, check-ins and script writes answer 503.',
    registers,
    collect() {
      this.set(monitor.storeHealth.up ? 1 : 0)
    },
  })
  new Counter({
    name: 'statuspage_store_lock_retries_total',
    help: 'Write batches that found the database locked (SQLite) or deadlocked (PostgreSQL) and were tried again.',
    registers,
    collect() {
      this.reset()
      this.inc(monitor.storeHealth.lockRetries)
    },
  })
  new Counter({
    name: 'statuspage_store_remote_rows_total',
    help: 'Rows read of what other replicas wrote, after their notifications (PostgreSQL); at most 4,096 per table per notification.',
    registers,
    collect() {
      this.reset()
      this.inc(monitor.storeHealth.remoteRows)
    },
  })
  return {
    registry,
    unknown: new Counter({ name: 'statuspage_refresh_unknown_total', help: 'Refreshes of an id that no item has.', registers }),
    rejected: new Counter({
      name: 'statuspage_refresh_rejected_total',
      help: 'Refreshes refused: token missing or wrong (403), or too many such (429).',
      registers,
    }),
    dropped: new Counter({
      name: 'statuspage_runs_dropped_total',
      help: `Open runs that a start pushed out, past ${MAX_OPEN_RUNS} open at once on one check: no longer running nor timed.`,
      registers,
    }),
  }
}

const yieldToEventLoop = () => new Promise<void>((resolve) => setImmediate(resolve))

/** How long a rendered body serves the scrapes after it: HA Prometheus pairs scrape the same state twice. */
const METRICS_CACHE_MS = 1000
/**
 * A body larger than this (about 170k series) is not kept: it would hold its whole size in memory
 * for the second, where a streamed one holds a few chunks. Such a body is rendered per scrape.
 */
const METRICS_CACHE_MAX_BYTES = 16 * 1024 * 1024

/** A body being written to one scraper: its chunks, and what to call as they leave and at the end. */
export interface Body {
  readonly chunks: AsyncIterable<Buffer> | Iterable<Buffer>
  /** A chunk has been written out. */
  sent(chunk: Buffer): void
  /** The response has ended or was closed: nothing of this body is written any more. */
  done(): void
}

/** A body kept for others while it is in the cache; its chunks go back once out of it and unread. */
interface Cached {
  readonly chunks: Buffer[]
  /** Scrapes writing it now. */
  readers: number
}

export class Metrics {
  readonly #monitor: Monitor
  readonly #prom: Record<Format, ReturnType<typeof promRegistry>>
  #config: Config
  /** Refreshes per item, index-aligned with #config.items, as the families read them. */
  #refreshes: Float64Array
  readonly #reports = new Map<number, number>()
  readonly #chunks = new ChunkPool()
  readonly #cacheMs: number
  readonly #cache: Partial<Record<Format, Cached>> = {}
  /** The size of the last body of each format: whether the next one will be kept. */
  readonly #lastSize: Partial<Record<Format, number>> = {}

  constructor(monitor: Monitor, { cacheMs = METRICS_CACHE_MS } = {}) {
    this.#cacheMs = cacheMs
    this.#monitor = monitor
    this.#prom = { text: promRegistry('text', monitor), openmetrics: promRegistry('openmetrics', monitor) }
    this.#config = monitor.config
    this.#refreshes = new Float64Array(this.#config.items.length)
    itemLabels(this.#config)
    monitor.events.onReload((next) => {
      this.#refreshes = carryOver(this.#config, next, this.#refreshes)
      itemLabels(next)
      this.#config = next
    })
  }

  /**
   * Counts a refresh of each item. An item is known by identity, not by its position: one from a
   * config no longer in force is not counted against whatever now stands at its index.
   */
  refreshed(items: readonly Item[]): void {
    for (const item of items) if (this.#config.items[item.index] === item) this.#refreshes[item.index]!++
  }

  /** A chunk of render()'s that has been written out: its memory serves the next scrape. */
  sent(chunk: Buffer): void {
    this.#chunks.give(chunk)
  }

  refreshUnknown(): void {
    this.#prom.text.unknown.inc()
    this.#prom.openmetrics.unknown.inc()
  }

  refreshRejected(): void {
    this.#prom.text.rejected.inc()
    this.#prom.openmetrics.rejected.inc()
  }

  runDropped(): void {
    this.#prom.text.dropped.inc()
    this.#prom.openmetrics.dropped.inc()
  }

  scriptReported(id: number): void {
    this.#reports.set(id, (this.#reports.get(id) ?? 0) + 1)
  }

  scriptDeleted(id: number): void {
    this.#reports.delete(id)
  }

  /**
   * The body of a scrape in `format`: the one rendered in the last METRICS_CACHE_MS, or a new
   * one. Chunks of a kept body go back to the pool once it has expired and its last reader is done;
   * those of a body too large to keep, as each is sent.
   */
  body(format: Format): Body {
    const hit = this.#cache[format]
    if (hit !== undefined) {
      hit.readers++
      return { chunks: hit.chunks, sent: () => {}, done: once(() => this.#leave(hit)) }
    }
    const size = this.#lastSize[format]
    if (this.#cacheMs <= 0 || size === undefined || size > METRICS_CACHE_MAX_BYTES) {
      // Streamed, each chunk back to the pool as it leaves; its size decides for the next body.
      let total = 0
      const render = this.render(format)
      const chunks = (async function* (lastSize: Partial<Record<Format, number>>) {
        for await (const chunk of render) {
          total += chunk.length
          yield chunk
        }
        lastSize[format] = total
      })(this.#lastSize)
      return { chunks, sent: (chunk) => this.sent(chunk), done: () => {} }
    }
    const entry: Cached = { chunks: [], readers: 1 }
    const render = this.render(format)
    const chunks = async function* (self: Metrics) {
      for await (const chunk of render) {
        entry.chunks.push(chunk)
        yield chunk
      }
      self.#lastSize[format] = entry.chunks.reduce((sum, c) => sum + c.length, 0)
      // Served to others only once whole; a new render meanwhile replaces it.
      self.#expire(format)
      self.#cache[format] = entry
      setTimeout(() => self.#cache[format] === entry && self.#expire(format), self.#cacheMs).unref()
    }
    return { chunks: chunks(this), sent: () => {}, done: once(() => this.#leave(entry)) }
  }

  #expire(format: Format): void {
    const entry = this.#cache[format]
    if (entry === undefined) return
    delete this.#cache[format]
    if (entry.readers === 0) this.#giveBack(entry)
  }

  #leave(entry: Cached): void {
    entry.readers--
    // Out of the cache: expired, or never put there (its scraper left mid-way).
    if (entry.readers === 0 && !Object.values(this.#cache).includes(entry)) this.#giveBack(entry)
  }

  #giveBack(entry: Cached): void {
    for (const chunk of entry.chunks.splice(0)) this.#chunks.give(chunk)
  }

  /**
   * The whole exposition in `format`, from a snapshot taken now, in chunks as they are written.
   * Hand each to sent() once it has been written out.
   */
  async *render(format: Format): AsyncGenerator<Buffer> {
    const base = await this.#prom[format].registry.metrics()
    const counts = { refreshes: this.#refreshes, reports: this.#reports }
    // After the registry's own families, joined exactly as it joins them.
    const [head, tail] = format === 'text' ? [`${base}\n`, '\n'] : [base.slice(0, -'# EOF\n'.length), '\n# EOF\n']
    const snapshot = await this.#monitor.snapshotInSlices()
    yield* renderExposition(head, snapshot, counts, format, tail, this.#chunks, yieldToEventLoop)
  }
}

const itemKey = (i: Item) => `${i.group}\0${i.id}\0${i.name}`

/** Refresh counts for the next config: items it keeps (same group, id, name) keep their counts. */
function carryOver(from: Config, to: Config, counts: Float64Array): Float64Array {
  // An item at the same index as before (a check added through the API leaves every other so)
  // keeps its count without a lookup; the others are found by key.
  let old: Map<string, number> | undefined
  const next = new Float64Array(to.items.length)
  for (let k = 0; k < to.items.length; k++) {
    const i = to.items[k]!
    if (from.items[k] === i) next[k] = counts[k]!
    else {
      old ??= new Map(from.items.map((f) => [itemKey(f), counts[f.index]!]))
      next[k] = old.get(itemKey(i)) ?? 0
    }
  }
  return next
}

/** `fn`, run the first time only. */
function once(fn: () => void): () => void {
  let ran = false
  return () => {
    if (ran) return
    ran = true
    fn()
  }
}
