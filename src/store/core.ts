// The store's rules, written once for both drivers: the copy in memory that every read of runs and
// scripts comes from, the fold of a batch of signals (each id's signals in order, on what the id
// was at), the records that answer them, the forgetting of removed ids while their signals are
// queued, and the cadence of log trims. The writes' queue, the order a batch runs them in and the
// Store over a driver are in writes.ts; the drivers (sqlite/, postgres/) only move rows.
import { applyInOrder, NO_RUNS, type OpenRun, type Runs, type Signal } from '../domain/run.js'
import { isScriptKey, SCRIPT_KEY_PREFIX, scriptKey } from '../domain/check.js'
import type { CheckDefinition } from '../domain/definition.js'
import type { Script, ScriptFields } from '../domain/script.js'
import { finishRecord, type SignalRecord } from './contract.js'

/** What a write did inside its transaction: its result, and what to apply to memory once committed. */
export interface Done<T = unknown> {
  result: T
  apply?: () => void
}

/** A signal waiting for its batch: which id, and which generation of that id it was queued for. */
export interface Queued {
  readonly id: string
  readonly signal: Signal
  /** Memory.generation(id) when it was queued: a change means keepOnlyItems forgot the id since. */
  readonly generation: number | undefined
}

/** A signal to write, with the duration of the run it finished and, once given, its seq. */
interface Pending {
  readonly signal: Signal
  readonly duration: number | undefined
  seq: number
}

/** An id's runs and what the driver keeps of it beside them: what a batch folds its signals on, and leaves. */
export interface IdBase<S> {
  readonly runs: Runs
  readonly state: S
}

/** An id's state after a batch: what it was folded on (`base`), its runs now and its signals to write. */
export interface IdBatch<B> {
  readonly base: B
  runs: Runs
  readonly signals: Pending[]
}

/** Where a signal of a batch went: its id's list at `index` (-1: a retry, not written) and what it did. */
interface Placed {
  readonly id: string
  readonly index: number
  readonly runs: Runs
  readonly finish: ReturnType<typeof applyInOrder>['finish']
  readonly dropped: OpenRun | undefined
}

export interface Folded<Q, B> {
  /** The ids with a signal to write, in the order of their first signal. */
  readonly latest: Map<string, IdBatch<B>>
  readonly placed: Map<Q, Placed>
}

/**
 * The signals of a batch folded per id, in the order they were queued, on what `base` says each id
 * was at. A retry of a signal already recorded is answered as it was, and not written again; an
 * id whose signals were all retries is not written at all.
 */
export function foldBatch<Q extends Queued, B extends { readonly runs: Runs }>(ops: readonly Q[], base: (id: string) => B): Folded<Q, B> {
  const latest = new Map<string, IdBatch<B>>()
  const placed = new Map<Q, Placed>()
  for (const op of ops) {
    let state = latest.get(op.id)
    if (state === undefined) {
      const b = base(op.id)
      state = { base: b, runs: b.runs, signals: [] }
      latest.set(op.id, state)
    }
    const { runs, finish, dropped, retry, signal } = applyInOrder(state.runs, op.signal)
    if (retry) {
      placed.set(op, { id: op.id, index: -1, runs, finish: undefined, dropped: undefined })
      continue
    }
    placed.set(op, { id: op.id, index: state.signals.length, runs, finish, dropped })
    state.signals.push({ signal, duration: finish?.duration, seq: 0 })
    state.runs = runs
  }
  for (const [id, state] of latest) if (state.signals.length === 0) latest.delete(id)
  return { latest, placed }
}

/** What answers signal `op` of a folded batch whose signals have their seqs (a retry: seq 0). */
export function recordOf<Q, B>({ latest, placed }: Folded<Q, B>, op: Q): SignalRecord {
  const { id, index, runs, finish, dropped } = placed.get(op)!
  const seq = index === -1 ? 0 : latest.get(id)!.signals[index]!.seq
  return { seq, runs, finish: finish === undefined ? undefined : finishRecord(finish, seq), dropped }
}

/**
 * The copy in memory: each id's runs (with what the driver keeps beside them, `S`), and the
 * scripts. Reads come from here; a driver changes it once a write has committed.
 */
export class Memory<S> {
  readonly runs = new Map<string, Runs>()
  /** What the driver keeps of each id beside its runs (SQLite: signals kept; PostgreSQL: seq and token). */
  readonly state = new Map<string, S>()
  readonly #forgotten = new Map<string, number>()
  readonly #scripts = new Map<number, Script>()
  #list: readonly Script[] | undefined

  /** An id's runs and state, once committed; a script's key's runs are its script's. */
  set(id: string, runs: Runs, state: S): void {
    this.runs.set(id, runs)
    this.state.set(id, state)
    if (!isScriptKey(id)) return
    const n = Number(id.slice(SCRIPT_KEY_PREFIX.length))
    const script = this.#scripts.get(n)
    if (script === undefined || script.runs === runs) return
    this.#scripts.set(n, Object.freeze({ ...script, runs }))
    this.#list = undefined
  }

  /** What a batch folds an id's signals on. */
  base(id: string, empty: S): IdBase<S> {
    return { runs: this.runs.get(id) ?? NO_RUNS, state: this.state.get(id) ?? empty }
  }

  /** For Queued.generation. */
  generation(id: string): number | undefined {
    return this.#forgotten.get(id)
  }

  /** Whether a queued signal's id is still kept: not forgotten since it was queued. */
  isLive(op: Queued): boolean {
    return this.#forgotten.get(op.id) === op.generation
  }

  /**
   * keepOnlyItems: forgets the ids not in `ids`, and returns those it had; a signal of one of
   * `queued` (ids with signals queued or under way) that is not kept is then not written.
   */
  keepOnly(ids: ReadonlySet<string>, queued: Iterable<string>): string[] {
    // A script's key goes with its script (putScript), never with the config.
    const kept = (id: string) => ids.has(id) || isScriptKey(id)
    const gone = [...this.runs.keys()].filter((id) => !kept(id))
    for (const id of gone) {
      this.runs.delete(id)
      this.state.delete(id)
    }
    for (const id of queued) if (!kept(id)) this.#forgotten.set(id, (this.#forgotten.get(id) ?? 0) + 1)
    return gone
  }

  /** Every script, in id order. */
  scripts(): readonly Script[] {
    this.#list ??= Object.freeze([...this.#scripts.values()].sort((a, b) => a.id - b.id))
    return this.#list
  }

  script(id: number): Script | undefined {
    return this.#scripts.get(id)
  }

  /**
   * Puts a script's row in memory, with its key's runs (withRuns); undefined deletes it, and its
   * key's runs with it (its signals are deleted with its row).
   */
  putScript(id: number, script: Script | undefined): void {
    if (script === undefined) {
      this.#scripts.delete(id)
      this.runs.delete(scriptKey(id))
      this.state.delete(scriptKey(id))
    } else this.#scripts.set(id, this.withRuns(script))
    this.#list = undefined
  }

  /**
   * Script `script` as read from its row, with the runs its key's signals folded to: a script's
   * runs are those of its signals, as every check's. A row written before that (run_state with
   * runs), of a script with no signal kept, keeps the runs it holds.
   */
  withRuns(script: Script): Script {
    const runs = this.runs.get(scriptKey(script.id))
    return runs === undefined || runs === script.runs ? script : Object.freeze({ ...script, runs })
  }

  clearScripts(): void {
    this.#scripts.clear()
    this.#list = undefined
  }

  readonly #definitions = new Map<string, CheckDefinition>()
  /** The check_def row of each definition, by id, and the id in each row: what a deletion note names. */
  readonly #rowOf = new Map<string, number>()
  readonly #idIn = new Map<number, string>()

  /** The checks defined in the store (the checks API, first pings), by id, in the order of their rows. */
  definitions(): ReadonlyMap<string, CheckDefinition> {
    return this.#definitions
  }

  /** Puts the definition of row `row` in memory (replacing one of the same id in another row); undefined deletes the row's. */
  putDefinition(row: number, definition: CheckDefinition | undefined): void {
    const before = this.#idIn.get(row)
    // The same check written again keeps its place in the order (withDefinitions keeps its index).
    if (definition !== undefined && before === definition.id) {
      this.#definitions.set(definition.id, definition)
      return
    }
    if (before !== undefined) {
      this.#idIn.delete(row)
      this.#rowOf.delete(before)
      this.#definitions.delete(before)
    }
    if (definition === undefined) return
    const other = this.#rowOf.get(definition.id)
    if (other !== undefined) this.#idIn.delete(other)
    this.#idIn.set(row, definition.id)
    this.#rowOf.set(definition.id, row)
    this.#definitions.set(definition.id, definition)
  }

  /** The row of definition `id`. */
  definitionRow(id: string): number | undefined {
    return this.#rowOf.get(id)
  }

  /** Whether row `row` holds a definition (else a script, or nothing). */
  isDefinitionRow(row: number): boolean {
    return this.#idIn.has(row)
  }

  clearDefinitions(): void {
    this.#definitions.clear()
    this.#rowOf.clear()
    this.#idIn.clear()
  }
}

/**
 * Script `current` with the fields `patch` gives and `runs`, the runs of its key after the write's
 * signal as the fold left them (a script's runs are its signals', as every check's), frozen: what
 * the write stores, and memory keeps once committed.
 */
export function patchedScript(current: Script, patch: (current: Script) => Partial<ScriptFields>, runs: Runs): Script {
  return Object.freeze({ ...current, ...patch(current), id: current.id, runs })
}

/**
 * The signals of a batch's script writes, folded per key in the order they come, on what `base`
 * says each key was at: what the batch writes in its rows (as foldBatch's `latest`) once its
 * script writes have run.
 */
export class KeyFolds<B extends { readonly runs: Runs }> {
  readonly latest = new Map<string, IdBatch<B>>()
  readonly #base: (key: string) => B

  constructor(base: (key: string) => B) {
    this.#base = base
  }

  /**
   * Folds `signal` of the check with `key`, whose runs are `runs` as the batch has them; returns its
   * runs after it. No signal, or a retry of one recorded, leaves them as they were.
   */
  fold(key: string, runs: Runs, signal: Signal | undefined): Runs {
    if (signal === undefined) return runs
    const applied = applyInOrder(runs, signal)
    if (applied.retry) return runs
    let batch = this.latest.get(key)
    if (batch === undefined) {
      batch = { base: this.#base(key), runs, signals: [] }
      this.latest.set(key, batch)
    }
    batch.signals.push({ signal: applied.signal, duration: applied.finish?.duration, seq: 0 })
    batch.runs = applied.runs
    return applied.runs
  }
}

/** A report to a script, waiting for its batch: the fields it patches and the signal it folds on the script's key. */
export interface ScriptUpdate {
  readonly id: number
  readonly patch: (current: Script) => Partial<ScriptFields>
  readonly signal: Signal | undefined
}

/** What a batch's script updates do: each script as they leave it, and each update's answer. */
export interface ScriptBatch<U> {
  readonly scripts: Map<number, Script>
  /** The script after the update; undefined: there is no such script; `error`: its patch threw, and it changed nothing. */
  readonly answers: Map<U, Script | undefined | { readonly error: unknown }>
}

/**
 * Updates of a batch applied in order, each patch given the script as the updates before it left
 * it, and its signal folded on the script's key after them (`folds`): so that a batch writes each
 * script's row once, and its signals in rows as an item's, whatever number of reports it holds.
 * `current` is each script as the batch found it.
 */
export function foldScriptUpdates<U extends ScriptUpdate, B extends { readonly runs: Runs }>(
  updates: readonly U[],
  current: (id: number) => Script | undefined,
  folds: KeyFolds<B>,
): ScriptBatch<U> {
  const scripts = new Map<number, Script>()
  const answers = new Map<U, Script | undefined | { readonly error: unknown }>()
  for (const update of updates) {
    const script = scripts.get(update.id) ?? current(update.id)
    if (script === undefined) {
      answers.set(update, undefined)
      continue
    }
    let fields: Partial<ScriptFields>
    try {
      // The patch first: one that throws writes nothing.
      fields = update.patch(script)
    } catch (error) {
      answers.set(update, { error })
      continue
    }
    const next = patchedScript(script, () => fields, folds.fold(scriptKey(update.id), script.runs, update.signal))
    scripts.set(update.id, next)
    answers.set(update, next)
  }
  return { scripts, answers }
}
