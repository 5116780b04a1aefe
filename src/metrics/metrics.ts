// The exporter's state: prom-client registries for the process metrics and the scalar counters and
// gauges, plus the per-item and per-script counts that renderFamilies exposes.
import { Counter, Gauge, Registry, collectDefaultMetrics } from 'prom-client'
import type { Config, Item } from '../config/load.js'
import type { Monitor } from '../monitor.js'
import { ChunkPool, itemLabels, renderExposition, type Format } from './families.js'

export const CONTENT_TYPE: Record<Format, string> = {
  text: Registry.PROMETHEUS_CONTENT_TYPE,
  openmetrics: Registry.OPENMETRICS_CONTENT_TYPE,
}

// One registry per format: a prom-client registry in OpenMetrics mode renames its counters for
// good (it strips _total), so a registry cannot serve both formats.
function promRegistry(format: Format, monitor: Monitor, lockRetries: () => number) {
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
      this.set(monitor.store.up ? 1 : 0)
    },
  })
  new Counter({
    name: 'statuspage_store_lock_retries_total',
    help: 'Write batches that found the database locked (SQLite) or deadlocked (PostgreSQL) and were tried again.',
    registers,
    collect() {
      this.reset()
      this.inc(lockRetries())
    },
  })
  return {
    registry,
    unknown: new Counter({ name: 'statuspage_refresh_unknown_total', help: 'Refreshes of an id that no item has.', registers }),
    rejected: new Counter({ name: 'statuspage_refresh_rejected_total', help: 'Refreshes refused: token missing or wrong (403), or too many such (429).', registers }),
  }
}

const yieldToEventLoop = () => new Promise<void>((resolve) => setImmediate(resolve))

export class Metrics {
  readonly #monitor: Monitor
  readonly #prom: Record<Format, ReturnType<typeof promRegistry>>
  #config: Config
  /** Refreshes per item, index-aligned with #config.items, as the families read them. */
  #refreshes: Float64Array
  readonly #reports = new Map<number, number>()
  readonly #chunks = new ChunkPool()

  constructor(monitor: Monitor) {
    this.#monitor = monitor
    this.#prom = { text: promRegistry('text', monitor, () => monitor.store.lockRetries), openmetrics: promRegistry('openmetrics', monitor, () => monitor.store.lockRetries) }
    this.#config = monitor.config
    this.#refreshes = new Float64Array(this.#config.items.length)
    itemLabels(this.#config)
    monitor.onReload((next) => {
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

  scriptReported(id: number): void {
    this.#reports.set(id, (this.#reports.get(id) ?? 0) + 1)
  }

  scriptDeleted(id: number): void {
    this.#reports.delete(id)
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
    yield* renderExposition(head, this.#monitor.snapshot(), counts, format, tail, this.#chunks, yieldToEventLoop)
  }
}

const itemKey = (i: Item) => `${i.group}\0${i.id}\0${i.name}`

/** Refresh counts for the next config: items it keeps (same group, id, name) keep their counts. */
function carryOver(from: Config, to: Config, counts: Float64Array): Float64Array {
  const old = new Map(from.items.map((i) => [itemKey(i), counts[i.index]!]))
  return Float64Array.from(to.items, (i) => old.get(itemKey(i)) ?? 0)
}
