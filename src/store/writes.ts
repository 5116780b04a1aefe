// The store's writes, written once for both drivers: one type for each kind of write the Store's
// methods queue, the queue they wait in, the order a batch runs them in (batchSteps), and the Store
// itself over a driver (storeOver). A driver takes what is queued when its next batch begins, runs
// it in one transaction and settles each write once committed; it adds reads and flips.
import { scriptKey } from '../domain/check.js'
import { NO_RUNS, type Signal } from '../domain/run.js'
import type { SignalRecord, Store } from './contract.js'
import { patchedScript, type Change, type Changed, type Memory, type Queued, type Stored } from './core.js'

interface Settles<T> {
  readonly resolve: (value: T) => void
  readonly reject: (err: unknown) => void
}

/** Store.recordSignal. */
export interface SignalWrite extends Queued, Settles<SignalRecord | undefined> {
  readonly kind: 'signal'
}
/** A change of a check defined in the store: Store.changeDefinition, and Scripto's createScript, updateScript and deleteScript. */
export interface ChangeWrite extends Change, Settles<Changed> {
  readonly kind: 'change'
}
/** The rows of ids that keepOnlyItems forgot; no caller waits for it (a failure goes to onError). */
interface ForgetWrite {
  readonly kind: 'forget'
  readonly ids: readonly string[]
}

export type Write = SignalWrite | ChangeWrite | ForgetWrite
/** A write that a caller awaits. */
export type AwaitedWrite = Exclude<Write, ForgetWrite>

/**
 * The order a batch runs its writes in, whatever the database: the rows of forgotten ids deleted
 * first (a live signal of such an id was queued after its forget: one queued before is not live),
 * then every item's signals folded together, then the changes in the order they came (foldChanges:
 * each row written once).
 */
export function batchSteps(writes: readonly Write[]): { forget: string[]; signals: SignalWrite[]; changes: ChangeWrite[] } {
  const forget: string[] = []
  const signals: SignalWrite[] = []
  const changes: ChangeWrite[] = []
  for (const write of writes) {
    if (write.kind === 'forget') forget.push(...write.ids)
    else if (write.kind === 'signal') signals.push(write)
    else changes.push(write)
  }
  return { forget, signals, changes }
}

/** The writes queued for the next batch, in order; and the ids whose signals are queued or in a batch under way. */
export class Writes {
  #queue: Write[] = []
  readonly #pending = new Map<string, number>()
  readonly #wake: () => void

  /** `wake` is told when the queue gains a write while empty: the driver's next batch should take it. */
  constructor(wake: () => void) {
    this.#wake = wake
  }

  push(write: Write): void {
    if (write.kind === 'signal') this.#pending.set(write.id, (this.#pending.get(write.id) ?? 0) + 1)
    this.#queue.push(write)
    if (this.#queue.length === 1) this.#wake()
  }

  get size(): number {
    return this.#queue.length
  }

  /** What is queued, without taking it. */
  peek(): readonly Write[] {
    return this.#queue
  }

  /** Takes what is queued, for a batch; settled() once the batch has ended, however it ended. */
  take(): Write[] {
    const taken = this.#queue
    this.#queue = []
    return taken
  }

  /** The writes that take() gave have been run, committed or failed: their ids are no longer pending. */
  settled(taken: readonly Write[]): void {
    for (const write of taken) {
      if (write.kind !== 'signal') continue
      const n = this.#pending.get(write.id)! - 1
      if (n === 0) this.#pending.delete(write.id)
      else this.#pending.set(write.id, n)
    }
  }

  /** Fails every queued write with `err` (forgets are dropped: their ids' rows are read again at the next start). */
  failAll(err: unknown): void {
    const taken = this.take()
    failWrites(taken, err)
    this.settled(taken)
  }

  /** The ids with signals queued or in a batch under way. */
  pendingIds(): Iterable<string> {
    return this.#pending.keys()
  }
}

/** Fails `writes` with `err`; `onError`, when given, hears of the forgets, which no caller waits for. */
export function failWrites(writes: readonly Write[], err: unknown, onError?: (err: unknown, what: string) => void): void {
  for (const write of writes) {
    if (write.kind !== 'forget') write.reject(err)
    else onError?.(err, `deleting the signals of ${write.ids.length} removed item(s)`)
  }
}

/** What a driver does: load the copy in memory, run the batches its Writes hands it, read and prune rows. */
export interface Driver extends Pick<Store, 'close'> {
  /** Its reads and flips, and what it tells of other replicas' changes: the Store's as they are. */
  readonly reads: Pick<
    Store,
    'finishes' | 'runLog' | 'pruneOutputs' | 'flipHeads' | 'recordFlips' | 'flipLog' | 'recentFlips' | 'pruneFlips' | 'onSignals' | 'onDefinitions'
  >
  /** The copy in memory, loaded at open, changed by the driver once a write has committed. */
  readonly memory: Memory<unknown>
  /** The queue whose batches the driver runs. */
  readonly writes: Writes
  /** The error a write fails with at once, not queued (PostgreSQL while the database does not answer); undefined: writes queue. */
  refusal(): Error | undefined
  readonly up: boolean
  readonly lockRetries: number
  readonly remoteRows: number
}

/** The Store over `driver`: its writes queued, in order, for the driver's batches; its reads of runs, scripts and definitions from memory. */
export function storeOver(driver: Driver): Store {
  const { memory, writes } = driver
  const change = (key: string | undefined, change: Change['change'], signal?: Signal): Promise<Changed> => {
    const refused = driver.refusal()
    if (refused !== undefined) return Promise.reject(refused)
    return new Promise((resolve, reject) => writes.push({ kind: 'change', key, change, signal, resolve, reject }))
  }
  const script = (stored: Stored | undefined) => (stored?.source === 'scripto' ? stored.script : undefined)
  return {
    ...driver.reads,
    runs: () => memory.runs,
    recordSignal(id, signal) {
      const refused = driver.refusal()
      if (refused !== undefined) return Promise.reject(refused)
      // Answered by the batch once committed: no promise chained per signal.
      return new Promise((resolve, reject) => writes.push({ kind: 'signal', id, signal, generation: memory.generation(id), resolve, reject }))
    },
    keepOnlyItems(ids) {
      // Signals queued and not yet written, of ids no longer kept, are dropped when their turn comes.
      const gone = memory.keepOnly(ids, writes.pendingIds())
      if (gone.length > 0 && driver.refusal() === undefined) writes.push({ kind: 'forget', ids: gone })
    },

    // Every check defined in the store is changed by one write, whatever its source: these are its views.
    definitions: () => memory.definitions(),
    async changeDefinition(id, changeOf) {
      const { after } = await change(id, (current) => {
        const definition = current?.source === 'scripto' ? undefined : current?.definition
        const next = changeOf(definition)
        // A definition of another id is refused by the core's fold (its key is not this one).
        if (next === definition) return current
        return next === undefined ? undefined : { source: next.source, definition: next }
      })
      return after?.source === 'scripto' ? undefined : after?.definition
    },

    scripts: () => memory.scripts(),
    getScript: (id) => memory.script(id),
    async createScript(fields, signal) {
      const { after } = await change(undefined, (_, row) => ({ source: 'scripto', script: Object.freeze({ ...fields, id: row(), runs: NO_RUNS }) }), signal)
      return script(after)!
    },
    async updateScript(id, patch, signal) {
      const { after } = await change(
        scriptKey(id),
        (current) => (current?.source === 'scripto' ? { source: 'scripto', script: patchedScript(current.script, patch) } : undefined),
        signal,
      )
      return script(after)
    },
    async deleteScript(id) {
      const { before } = await change(scriptKey(id), (current) => (current?.source === 'scripto' ? undefined : current))
      return script(before) !== undefined
    },

    get up() {
      return driver.up
    },
    get lockRetries() {
      return driver.lockRetries
    },
    get remoteRows() {
      return driver.remoteRows
    },
    close: () => driver.close(),
  }
}
