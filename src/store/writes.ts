// The store's writes, written once for both drivers: one type for each kind of write the Store's
// methods queue, the queue they wait in, the order a batch runs them in (batchSteps), and the Store
// itself over a driver (storeOver). A driver takes what is queued when its next batch begins, runs
// it in one transaction and settles each write once committed; it adds reads and flips.
import type { CheckDefinition } from '../domain/definition.js'
import type { Signal } from '../domain/run.js'
import type { Script, ScriptFields } from '../domain/script.js'
import type { SignalRecord, Store } from './contract.js'
import type { Memory, Queued, ScriptUpdate } from './core.js'

interface Settles<T> {
  readonly resolve: (value: T) => void
  readonly reject: (err: unknown) => void
}

/** Store.recordSignal. */
export interface SignalWrite extends Queued, Settles<SignalRecord | undefined> {
  readonly kind: 'signal'
}
/** Store.updateScript. */
export interface UpdateWrite extends ScriptUpdate, Settles<Script | undefined> {
  readonly kind: 'update'
}
/** Store.createScript. */
export interface CreateWrite extends Settles<Script> {
  readonly kind: 'create'
  readonly fields: ScriptFields
  readonly signal: Signal | undefined
}
/** Store.deleteScript. */
export interface DeleteWrite extends Settles<boolean> {
  readonly kind: 'delete'
  readonly id: number
}
/** Store.changeDefinition. */
export interface DefineWrite extends Settles<CheckDefinition | undefined> {
  readonly kind: 'define'
  readonly id: string
  readonly change: (current: CheckDefinition | undefined) => CheckDefinition | undefined
}
/** The rows of ids that keepOnlyItems forgot; no caller waits for it (a failure goes to onError). */
interface ForgetWrite {
  readonly kind: 'forget'
  readonly ids: readonly string[]
}

export type Write = SignalWrite | UpdateWrite | CreateWrite | DeleteWrite | DefineWrite | ForgetWrite
/** A write that a caller awaits. */
export type AwaitedWrite = Exclude<Write, ForgetWrite>
/** Reports next to each other in a batch: one step, that writes each script's row once. */
interface UpdatesStep {
  readonly kind: 'updates'
  readonly updates: UpdateWrite[]
}
/** A step of a batch that fails alone when the database refuses it: reports next to each other, or one other write. */
export type Step = UpdatesStep | CreateWrite | DeleteWrite | DefineWrite

/** The writes a step answers. */
export const writesOf = (step: Step): readonly AwaitedWrite[] => (step.kind === 'updates' ? step.updates : [step])

/**
 * The order a batch runs its writes in, whatever the database: the rows of forgotten ids deleted
 * first (a live signal of such an id was queued after its forget: one queued before is not live),
 * then every item's signals folded together, then the others in the order they came, the reports
 * next to each other as one step (each script's row written once).
 */
export function batchSteps(writes: readonly Write[]): { forget: string[]; signals: SignalWrite[]; steps: Step[] } {
  const forget: string[] = []
  const signals: SignalWrite[] = []
  const steps: Step[] = []
  let updates: UpdatesStep | undefined
  for (const write of writes) {
    if (write.kind === 'forget') forget.push(...write.ids)
    else if (write.kind === 'signal') signals.push(write)
    else if (write.kind === 'update') {
      if (updates === undefined) {
        updates = { kind: 'updates', updates: [] }
        steps.push(updates)
      }
      updates.updates.push(write)
    } else {
      updates = undefined
      steps.push(write)
    }
  }
  return { forget, signals, steps }
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
  const queue = <T>(write: (resolve: (value: T) => void, reject: (err: unknown) => void) => AwaitedWrite): Promise<T> => {
    const refused = driver.refusal()
    if (refused !== undefined) return Promise.reject(refused)
    return new Promise<T>((resolve, reject) => writes.push(write(resolve, reject)))
  }
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

    definitions: () => memory.definitions(),
    changeDefinition: (id, change) => queue((resolve, reject) => ({ kind: 'define', id, change, resolve, reject })),

    scripts: () => memory.scripts(),
    getScript: (id) => memory.script(id),
    createScript: (fields, signal) => queue((resolve, reject) => ({ kind: 'create', fields, signal, resolve, reject })),
    updateScript: (id, patch, signal) => queue((resolve, reject) => ({ kind: 'update', id, patch, signal, resolve, reject })),
    deleteScript: (id) => queue((resolve, reject) => ({ kind: 'delete', id, resolve, reject })),

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
