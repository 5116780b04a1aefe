// The running state of statuspage: the config in force, the store and the clock, joined in one
// place. Routes and collectors ask it for a snapshot or tell it of a refresh; nothing else
// combines the three.
import type { Config, Item } from './config/load.js'
import { dueAfter, type Due } from './domain/check.js'
import { duesOf, itemStatus, scriptStatus, snapshot, type ItemStatus, type ScriptStatus, type Snapshot } from './domain/snapshot.js'
import type { Script, ScriptFields } from './domain/script.js'
import type { ScriptQuery, Store } from './store/store.js'

export type Clock = () => number

export interface ReloadStatus {
  readonly successful: boolean
  /** ms since the epoch of the last config that took effect (start-up included). */
  readonly lastSuccess: number
}

export class Monitor {
  #config: Config
  /** Each item's due times after its last refresh, index-aligned with #config.items. */
  #dues: (Due | undefined)[]
  #reload: ReloadStatus
  readonly #listeners: ((config: Config) => void)[] = []

  constructor(
    config: Config,
    readonly store: Store,
    readonly now: Clock,
  ) {
    this.#config = config
    this.#reload = { successful: true, lastSuccess: now() }
    store.keepOnlyItems(new Set(config.itemsById.keys()))
    // Work done once per config and per check-in, never per scrape: cron occurrences included.
    this.#dues = duesOf(config.items, store.refreshTimes())
  }

  get config(): Config {
    return this.#config
  }

  get reloadStatus(): ReloadStatus {
    return this.#reload
  }

  snapshot(): Snapshot<Config> {
    return snapshot(this.#config, this.#dues, this.store.scripts(), this.now())
  }

  /** The state of some items now, by the same rule as the snapshot, without building one. */
  itemStatuses(items: readonly Item[]): ItemStatus[] {
    const now = this.now()
    return items.map((item) => itemStatus(item, this.#dues[item.index], now))
  }

  scriptStatus(script: Script): ScriptStatus {
    return scriptStatus(script, this.#config.scriptDefaults, this.now())
  }

  // Scripts: every report passes through here, so the check model and its limits apply in one place.

  getScript(id: number): Script | undefined {
    return this.store.getScript(id)
  }

  queryScripts(query: ScriptQuery): { total: number; scripts: Script[] } {
    return this.store.queryScripts(query)
  }

  /** Stores a new script; resolves, once committed, to it. */
  createScript(fields: ScriptFields): Promise<Script> {
    return this.store.createScript(fields)
  }

  /**
   * Applies a report to a script: `patch(current)` gives the fields to change, from the script as
   * it stands when the write runs (so that reports queued together apply in order), or throws to
   * refuse it. Resolves to the script as stored, or undefined when there is no such script.
   */
  updateScript(id: number, patch: (current: Script) => Partial<ScriptFields>): Promise<Script | undefined> {
    return this.store.updateScript(id, patch)
  }

  deleteScript(id: number): Promise<boolean> {
    return this.store.deleteScript(id)
  }

  /**
   * Refreshes every item with this id, in every group; resolves, once it is on disk, to those
   * items as the config in force at the commit has them (none for an unknown id, nor for one that
   * a reload removed before the commit).
   */
  async refresh(id: string): Promise<readonly Item[]> {
    if (!this.#config.itemsById.has(id)) return []
    const written = await this.store.recordRefresh([id], this.now())
    const items = (written.has(id) && this.#config.itemsById.get(id)) || []
    const last = this.store.refreshTimes().get(id)
    for (const item of items) this.#dues[item.index] = dueAfter(item.check, last, this.#dues[item.index])
    return items
  }

  /** Puts a new config in force. Items it still has keep their state; removed ones are forgotten. */
  reload(config: Config): void {
    this.store.keepOnlyItems(new Set(config.itemsById.keys()))
    this.#config = config
    this.#dues = duesOf(config.items, this.store.refreshTimes())
    this.#reload = { successful: true, lastSuccess: this.now() }
    for (const listener of this.#listeners) listener(config)
  }

  /** Records that a reload was refused; the config in force stays. */
  reloadFailed(): void {
    this.#reload = { ...this.#reload, successful: false }
  }

  onReload(listener: (config: Config) => void): void {
    this.#listeners.push(listener)
  }
}
