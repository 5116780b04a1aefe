// The running state of statuspage: the config in force, the store and the clock, joined in one
// place. Routes and collectors ask it for a snapshot or tell it of a signal; nothing else
// combines the three.
import { setImmediate } from 'node:timers/promises'
import { withDefinitions } from './config/defined.js'
import type { Config, Item } from './config/load.js'
import type { CheckDefinition } from './domain/definition.js'
import type { Flip } from './domain/flip.js'
import { histories, ItemStates, recounted, type Histories } from './item-states.js'
import { Evaluator } from './evaluator.js'
import { MonitorEvents } from './monitor-events.js'
import { isScriptKey, SCRIPT_KEY_PREFIX, scriptKey, type Due } from './domain/check.js'
import { applySignal, heldByPause, signalAt, type LogEntry, type OpenRun, type Runs, type Signal } from './domain/run.js'
import { itemStatus, scriptStatus, snapshot, snapshotSteps, type ItemStatus, type ScriptStatus, type Snapshot } from './domain/snapshot.js'
import { NEW_SCRIPT, queryScripts, reportedFields, scriptSignal, type Script, type ScriptFields, type ScriptQuery } from './domain/script.js'
import type { SignalRecord, Store } from './store/contract.js'

type LogPage = { keep: number; before: number | undefined; limit: number }

export type Clock = () => number

export interface ReloadStatus {
  readonly successful: boolean
  /** ms since the epoch of the last config that took effect (start-up included). */
  readonly lastSuccess: number
}

export class Monitor {
  /** Private: every read and write of the store goes through the Monitor, where its rules are. */
  readonly #store: Store
  /** config.yml as last loaded. */
  #file: Config
  /** The config in force: #file with the checks defined in the store (withDefinitions). */
  #config: Config
  /** Each item's due times, runs and streak, index-aligned with #config.items. */
  readonly #items = new ItemStates()
  #reload: ReloadStatus
  /** The reload under way, if any: reloads apply in the order they were asked for. */
  #reloading: Promise<void> | undefined
  /** A redefinition queued and not yet begun, which changes committed meanwhile share. */
  #redefining: Promise<void> | undefined
  readonly #events = new MonitorEvents()
  readonly #evaluator: Evaluator

  private constructor(
    file: Config,
    config: Config,
    store: Store,
    readonly now: Clock,
    histories: Histories,
  ) {
    this.#file = file
    this.#config = config
    this.#store = store
    // The evaluator reads the config in force and each item's due times and runs as they stand.
    const monitor = this
    this.#evaluator = new Evaluator(
      store,
      {
        get config() {
          return monitor.#config
        },
        get dues() {
          return monitor.#items.dues
        },
        get runs() {
          return monitor.#items.runs
        },
      },
      now,
    )
    this.#reload = { successful: true, lastSuccess: now() }
    store.keepOnlyItems(new Set(config.itemsById.keys()))
    this.#derive(config, histories)
    // Another replica's signals count as this one's own.
    store.onSignals((id, record) => {
      const missed = this.#dueOf(id)
      for (const item of this.#config.itemsById.get(id) ?? []) this.#count(item, record)
      this.#evaluator.afterSignal(id, missed)
    })
    // Another replica's definitions count as this one's own.
    store.onDefinitions(() => void this.#redefine())
  }

  /** A monitor of `file` (config.yml) on `store`: reads the history that items with their own limits recount. */
  static async open(file: Config, store: Store, now: Clock): Promise<Monitor> {
    const { config } = withDefinitions(file, store.definitions())
    return new Monitor(file, config, store, now, await histories(store, recounted(config)))
  }

  /** Each item's state under `config` (see ItemStates.derive); every item judged at the next tick. */
  #derive(config: Config, histories: Histories, before?: Config): void {
    this.#items.derive(config, this.#store.runs(), histories, before)
    this.#evaluator.judgeAllNext(config.items.length)
  }

  get config(): Config {
    return this.#config
  }

  get reloadStatus(): ReloadStatus {
    return this.#reload
  }

  snapshot(): Snapshot<Config> {
    return snapshot(this.#config, this.#items.dues, this.#items.runs, this.#store.scripts(), this.now())
  }

  /**
   * The snapshot, letting other work run between slices of items (snapshotSteps): for the renders
   * of every item (/metrics, the page, /api/v1/status), which would otherwise hold the event loop
   * while it is built. Taken of the config in force when it starts, as a reload replaces the arrays
   * it reads.
   */
  async snapshotInSlices(): Promise<Snapshot<Config>> {
    const steps = snapshotSteps(this.#config, this.#items.dues, this.#items.runs, this.#store.scripts(), this.now())
    for (;;) {
      const step = steps.next()
      if (step.done) return step.value
      await setImmediate()
    }
  }

  /** The state of some items now, by the same rule as the snapshot, without building one. */
  itemStatuses(items: readonly Item[]): ItemStatus[] {
    const now = this.now()
    return items.map((item) => itemStatus(item, this.#items.dues[item.index], this.#items.runs[item.index]!, now))
  }

  scriptStatus(script: Script): ScriptStatus {
    return scriptStatus(script, this.#config.scriptDefaults, this.now())
  }

  /** Each item id's runs, as committed. */
  runs(): ReadonlyMap<string, Runs> {
    return this.#store.runs()
  }

  /** A page of item `id`'s run log (see Store.runLog). */
  runLog(id: string, page: LogPage): Promise<LogEntry[]> {
    return this.#store.runLog(id, page)
  }

  /** A page of script `id`'s run log: the same log, under the script's key. */
  scriptRunLog(id: number, page: LogPage): Promise<LogEntry[]> {
    return this.#store.runLog(scriptKey(id), page)
  }

  /** One step of output retention (see Store.pruneOutputs). */
  pruneOutputs(rule: { before: number; maxBytes: number; downTo: number; limit: number }): Promise<number> {
    return this.#store.pruneOutputs(rule)
  }

  /** Whether writes commit, and what the store counts, for readiness and /metrics. */
  get storeHealth(): Pick<Store, 'up' | 'lockRetries' | 'remoteRows'> {
    return this.#store
  }

  /** Commits what is queued, then closes the store. */
  close(): Promise<void> {
    return this.#store.close()
  }

  // Scripts: every report passes through here, so the check model and its limits apply in one place.

  scripts(): readonly Script[] {
    return this.#store.scripts()
  }

  getScript(id: number): Script | undefined {
    return this.#store.getScript(id)
  }

  /** The script whose check key is `key` (scripto:<n>), while the Scripto API is on. */
  scriptOfKey(key: string): Script | undefined {
    const n = isScriptKey(key) ? key.slice(SCRIPT_KEY_PREFIX.length) : ''
    return this.#config.scripto.enabled && /^[1-9]\d{0,14}$/.test(n) ? this.#store.getScript(Number(n)) : undefined
  }

  /** The scripts matching Scripto's query, from memory as every other read of scripts. */
  queryScripts(query: ScriptQuery): { total: number; scripts: Script[] } {
    return queryScripts(this.#store.scripts(), query)
  }

  /**
   * Creates a script with the fields `patch` gives (the rest as NEW_SCRIPT has them) and the run
   * `signal` reports, judged by the limits the script has with them; `check` may refuse the
   * script as it would be stored (throws). Resolves, once committed, to it.
   */
  async createScript(patch: Partial<ScriptFields>, signal?: Signal, check?: (next: ScriptFields) => void): Promise<Script> {
    const script = await this.#store.createScript({ ...NEW_SCRIPT, ...patch, ...reportedFields(NEW_SCRIPT, patch, signal, check) }, signal)
    this.#events.wrote(signal?.output)
    this.#evaluator.afterScript(script)
    return script
  }

  /**
   * A report to script `id`, or a change of its fields: `patch` applied to the script as it stands
   * when the write runs (so that reports queued together apply in order), with the run `signal`
   * finishes judged by the limits the script has once `patch` applies. While the script is paused
   * and resumes only by hand, the signal is logged and ignored, as an item's: it changes neither
   * the run nor what it says of it (status, last_exec). `check` may refuse the script as it would
   * be stored (throws). Resolves to the script as stored; undefined: there is no such script.
   */
  reportScript(id: number, patch: Partial<ScriptFields>, signal?: Signal, check?: (next: ScriptFields) => void): Promise<Script | undefined> {
    const held = this.#heldScriptSignal(id, signal)
    return this.#updateScript(id, (current) => reportedFields(current, patch, held, check), held)
  }

  /** A start, a pause or a resume of script `id` (held as a report is); undefined: there is no such script. */
  signalScript(id: number, signal: Signal): Promise<Script | undefined> {
    const held = this.#heldScriptSignal(id, signal)!
    return this.#updateScript(id, (current) => scriptSignal(current, held), held)
  }

  /** `signal` to script `id`, marked ignored when #ignores says so of its committed runs. */
  #heldScriptSignal(id: number, signal: Signal | undefined): Signal | undefined {
    const script = signal === undefined ? undefined : this.#store.getScript(id)
    return script !== undefined && heldByPause(script.runs, script.manualResume, signal!.kind) ? { ...signal!, ignored: true } : signal
  }

  async #updateScript(id: number, patch: (current: Script) => Partial<ScriptFields>, signal?: Signal): Promise<Script | undefined> {
    if (signal?.kind !== 'start') {
      const script = await this.#store.updateScript(id, patch, signal)
      if (script !== undefined) this.#events.wrote(signal?.output)
      if (script !== undefined) this.#evaluator.afterScript(script)
      return script
    }
    // Whether the start drops an open run is known only from the script as the write finds it.
    let dropped: OpenRun | undefined
    const script = await this.#store.updateScript(
      id,
      (current) => {
        dropped = applySignal(current.runs, signal).dropped
        return patch(current)
      },
      signal,
    )
    if (script !== undefined && dropped !== undefined) this.#events.dropped({ script: id, run: dropped })
    if (script !== undefined) this.#evaluator.afterScript(script)
    return script
  }

  deleteScript(id: number): Promise<boolean> {
    return this.#store.deleteScript(id)
  }

  /**
   * A signal for every item with this id, in every group, at `now`; resolves, once it is on disk,
   * to those items as the config in force at the commit has them (none for an unknown id, nor for
   * one that a reload removed before the commit).
   */
  async signal(id: string, signal: Omit<Signal, 'at'>): Promise<readonly Item[]> {
    const configured = this.#config.itemsById.get(id)
    if (configured === undefined) return []
    const record = await this.#store.recordSignal(id, signalAt(signal, this.now(), this.#ignores(id, configured, signal.kind)))
    const items = (record !== undefined && this.#config.itemsById.get(id)) || []
    const missed = this.#dueOf(id)
    for (const item of items) this.#count(item, record!)
    if (record?.dropped !== undefined) this.#events.dropped({ item: id, run: record.dropped })
    if (record !== undefined) this.#events.wrote(signal.output)
    if (items.length > 0) this.#evaluator.afterSignal(id, missed)
    return items
  }

  /**
   * Whether a signal of `kind` to `id` is logged and ignored: its check is paused and resumes only
   * by hand. Judged by what is committed when it arrives, as a later pause is not yet.
   */
  #ignores(id: string, items: readonly Item[], kind: Signal['kind']): boolean {
    return heldByPause(
      this.#store.runs().get(id),
      items.some((item) => item.check.manualResume),
      kind,
    )
  }

  #count(item: Item, record: SignalRecord): void {
    this.#items.count(item, record, this.#store.runs().get(item.id))
  }

  /**
   * Puts a new config in force. Items it still has keep their state; removed ones are forgotten.
   * It applies at once, unless items with their own limits must recount their history from the
   * database first; it rejects, leaving the config in force, when that read fails.
   */
  reload(file: Config): Promise<void> {
    return this.#put(() => file, true)
  }

  /**
   * Puts in force config.yml (`file()`, taken when its turn comes) with the store's definitions as
   * they are then; after the reloads and redefinitions asked for before, in order.
   */
  #put(file: () => Config, reload: boolean): Promise<void> {
    const run = (): Promise<void> | undefined => {
      const next = file()
      const { config } = withDefinitions(next, this.#store.definitions())
      const ids = recounted(config, this.#config)
      if (ids.length === 0) return void this.#apply(next, config, new Map(), reload)
      return histories(this.#store, ids).then((found) => this.#apply(next, config, found, reload))
    }
    const pending = this.#reloading === undefined ? run() : this.#reloading.then(run)
    if (pending === undefined) return Promise.resolve()
    const settled = pending.finally(() => {
      if (this.#reloading === settled) this.#reloading = undefined
    })
    this.#reloading = settled.catch(() => {})
    return settled
  }

  /**
   * Puts the store's definitions in force, after a change of them here or on another replica. A
   * history that cannot be read (the database is down) is read again a second later.
   */
  #redefine(): Promise<void> {
    // Changes answered in one turn of the event loop (a batch's writes) share one put, which reads
    // the definitions when it begins: each put recomputes every item (100k: tens of ms), and one
    // per change made bulk writes quadratic.
    this.#redefining ??= setImmediate()
      .then(() => {
        this.#redefining = undefined
        return this.#put(() => this.#file, false)
      })
      .catch(() => {
        setTimeout(() => void this.#redefine(), REDEFINE_RETRY_MS).unref()
      })
    return this.#redefining
  }

  #apply(file: Config, config: Config, histories: Histories, reload: boolean): void {
    this.#store.keepOnlyItems(new Set(config.itemsById.keys()))
    const before = this.#config
    this.#file = file
    this.#config = config
    this.#derive(config, histories, before)
    if (reload) this.#reload = { successful: true, lastSuccess: this.now() }
    this.#events.reloaded(config)
  }

  /** The checks defined in the store (the checks API, first pings), by id, whether config.yml shadows them or not. */
  definitions(): ReadonlyMap<string, CheckDefinition> {
    return this.#store.definitions()
  }

  /**
   * Changes the definition of check `id` (see Store.changeDefinition); resolves, once committed and
   * in force, to the definition now.
   */
  async changeDefinition(id: string, change: (current: CheckDefinition | undefined) => CheckDefinition | undefined): Promise<CheckDefinition | undefined> {
    const result = await this.#store.changeDefinition(id, change)
    await this.#redefine()
    return result
  }

  // Flips: every change of a check's state, judged here (the evaluator) and recorded in the store.

  /**
   * Judges every check now and records those whose state is not their last flip's: the evaluator's
   * tick, for the changes that time alone makes. Resolves to the flips this replica recorded.
   */
  evaluate(): Promise<Flip[]> {
    return this.#evaluator.evaluate()
  }

  /** The due times of check `id` (its first item's) as they stand. */
  #dueOf(id: string): Due | undefined {
    const item = this.#config.itemsById.get(id)?.[0]
    return item === undefined ? undefined : this.#items.dues[item.index]
  }

  /** Tells `listener` of each flip this replica records (another replica's are its own to tell). */
  onFlip(listener: (flip: Flip) => void): void {
    this.#evaluator.onFlip(listener)
  }

  /** The flips the store keeps: each check's head and recent ones, pages of a check's, and retention (see Store). */
  get flips(): Pick<Store, 'flipHeads' | 'flipLog' | 'recentFlips' | 'pruneFlips'> {
    return this.#store
  }

  /** Records that a reload was refused; the config in force stays. */
  reloadFailed(): void {
    this.#reload = { ...this.#reload, successful: false }
  }

  /** Who is told of configs put in force, of open runs pushed out and of outputs written (see MonitorEvents). */
  get events(): Pick<MonitorEvents, 'onReload' | 'onRunDropped' | 'onOutput'> {
    return this.#events
  }
}

/** Between attempts to put definitions in force while the history they need cannot be read. */
const REDEFINE_RETRY_MS = 1000
