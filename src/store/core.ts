// The store's rules, written once for both drivers: the copy in memory that every read of runs and
// stored checks comes from, the fold of a batch of signals (each id's signals in order, on what the
// id was at), the records that answer them, the forgetting of removed ids while their signals are
// queued, and the fold of a batch's changes of stored checks, whatever their source. The writes' queue, the order a batch runs them in and the
// Store over a driver are in writes.ts; the drivers (sqlite/, postgres/) only move rows.
import { applyInOrder, NO_RUNS, type OpenRun, type Runs, type Signal } from '../domain/run.js'
import { isScriptKey, scriptKey } from '../domain/check.js'
import type { CheckDefinition, DefinedSource } from '../domain/definition.js'
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
 * A check defined in the store, whatever its source: its source names the view its fields are read
 * in (a Scripto script, or a definition of the checks API or of a first ping). Every such check is
 * a check_def row, found by its key: one model, one write path, one signal log.
 */
export type Stored = { readonly source: 'scripto'; readonly script: Script } | { readonly source: DefinedSource; readonly definition: CheckDefinition }

/** The key of a stored check: its signals', its run log's, its row's. */
export const keyOf = (stored: Stored): string => (stored.source === 'scripto' ? scriptKey(stored.script.id) : stored.definition.id)

/** `stored` with the runs its key's signals folded to, where its view shows them (a script's). */
export function withRuns(stored: Stored, runs: Runs): Stored {
  if (stored.source !== 'scripto' || stored.script.runs === runs) return stored
  return { source: 'scripto', script: Object.freeze({ ...stored.script, runs }) }
}

/** A stored check and the check_def row it is in. */
export interface InRow {
  readonly row: number
  readonly stored: Stored
}

/**
 * The copy in memory: each id's runs (with what the driver keeps beside them, `S`), and the checks
 * defined in the store, by key, with the views of them that the Store reads (scripts, definitions).
 * Reads come from here; a driver changes it once a write has committed.
 */
export class Memory<S> {
  readonly runs = new Map<string, Runs>()
  /** What the driver keeps of each id beside its runs (SQLite: signals kept; PostgreSQL: seq and token). */
  readonly state = new Map<string, S>()
  readonly #forgotten = new Map<string, number>()
  readonly #checks = new Map<string, InRow>()
  readonly #keyIn = new Map<number, string>()
  // Views of #checks, kept as it changes: the definitions in the order of their first write, the scripts in id order (made when read).
  readonly #definitions = new Map<string, CheckDefinition>()
  #scripts: readonly Script[] | undefined

  /** An id's runs and state, once committed; a script's view takes its key's runs. */
  set(id: string, runs: Runs, state: S): void {
    this.runs.set(id, runs)
    this.state.set(id, state)
    const check = this.#checks.get(id)
    if (check === undefined || check.stored.source !== 'scripto' || check.stored.script.runs === runs) return
    this.#checks.set(id, { row: check.row, stored: withRuns(check.stored, runs) })
    this.#scripts = undefined
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
    // A script's key goes with its script (put), never with the config.
    const kept = (id: string) => ids.has(id) || isScriptKey(id)
    const gone = [...this.runs.keys()].filter((id) => !kept(id))
    for (const id of gone) {
      this.runs.delete(id)
      this.state.delete(id)
    }
    for (const id of queued) if (!kept(id)) this.#forgotten.set(id, (this.#forgotten.get(id) ?? 0) + 1)
    return gone
  }

  /** The stored check with `key`, and its row. */
  check(key: string): InRow | undefined {
    return this.#checks.get(key)
  }

  /** The key of the check in row `row`. */
  keyIn(row: number): string | undefined {
    return this.#keyIn.get(row)
  }

  /**
   * Puts the check of row `row` in memory, as its key's runs show it (a script's view takes them;
   * a row written before runs were folded keeps those it holds while its key has none). Undefined
   * deletes the check with `key`, and its key's runs with it: its signals are deleted with its row.
   */
  put(key: string, row: number, stored: Stored | undefined): void {
    const before = this.#checks.get(key)
    if (before !== undefined && (stored === undefined || before.row !== row)) this.#keyIn.delete(before.row)
    if (stored === undefined) {
      if (before === undefined) return
      this.#checks.delete(key)
      this.runs.delete(key)
      this.state.delete(key)
      if (before.stored.source === 'scripto') this.#scripts = undefined
      else this.#definitions.delete(key)
      return
    }
    const runs = this.runs.get(key)
    this.#checks.set(key, { row, stored: runs === undefined ? stored : withRuns(stored, runs) })
    this.#keyIn.set(row, key)
    if (stored.source === 'scripto') this.#scripts = undefined
    else this.#definitions.set(key, stored.definition)
  }

  /** Forgets every stored check (their runs stay: they are their signals'), to read them again. */
  clearChecks(): void {
    this.#checks.clear()
    this.#keyIn.clear()
    this.#definitions.clear()
    this.#scripts = undefined
  }

  /** Every script, in id order. */
  scripts(): readonly Script[] {
    this.#scripts ??= Object.freeze(
      [...this.#checks.values()].flatMap(({ stored }) => (stored.source === 'scripto' ? [stored.script] : [])).sort((a, b) => a.id - b.id),
    )
    return this.#scripts
  }

  script(id: number): Script | undefined {
    const stored = this.#checks.get(scriptKey(id))?.stored
    return stored?.source === 'scripto' ? stored.script : undefined
  }

  /** The checks defined through the checks API or by a first ping, by id, in the order of their first write. */
  definitions(): ReadonlyMap<string, CheckDefinition> {
    return this.#definitions
  }
}

/**
 * Script `current` with the fields `patch` gives, frozen: what an update stores. Its runs are the
 * fold's (see foldChanges), whatever the patch says of them.
 */
export function patchedScript(current: Script, patch: (current: Script) => Partial<ScriptFields>): Script {
  return Object.freeze({ ...current, ...patch(current), id: current.id, runs: current.runs })
}

/**
 * The signals of a batch's changes, folded per key in the order they come, on what `base` says each
 * key was at: what the batch writes in its rows (as foldBatch's `latest`) once its changes have run.
 */
export class KeyFolds<B extends { readonly runs: Runs }> {
  readonly latest = new Map<string, IdBatch<B>>()
  readonly #base: (key: string) => B
  readonly #empty: B
  /** Keys whose check a change deleted: their signals start afresh. */
  readonly #dropped = new Set<string>()

  /** `empty`: what a key with no signal is at. */
  constructor(base: (key: string) => B, empty: B) {
    this.#base = base
    this.#empty = empty
  }

  #baseOf(key: string): B {
    return this.#dropped.has(key) ? this.#empty : this.#base(key)
  }

  /**
   * Folds `signal` of the check with `key`, on `runs` (undefined: its key's, as the batch has them);
   * returns its runs after it. No signal, or a retry of one recorded, leaves them as they were.
   */
  fold(key: string, runs: Runs | undefined, signal: Signal | undefined): Runs {
    runs ??= this.latest.get(key)?.runs ?? this.#baseOf(key).runs
    if (signal === undefined) return runs
    const applied = applyInOrder(runs, signal)
    if (applied.retry) return runs
    let batch = this.latest.get(key)
    if (batch === undefined) {
      batch = { base: this.#baseOf(key), runs, signals: [] }
      this.latest.set(key, batch)
    }
    batch.signals.push({ signal: applied.signal, duration: applied.finish?.duration, seq: 0 })
    batch.runs = applied.runs
    return applied.runs
  }

  /** Drops the signals folded for `key`: its check was deleted after them, and its signals with it. */
  drop(key: string): void {
    this.latest.delete(key)
    this.#dropped.add(key)
  }
}

/** A change of a stored check, waiting for its batch (see Store.changeDefinition, Store.updateScript). */
export interface Change {
  /** The check's key; undefined: a new check that the store numbers (a Scripto script), whose key its view gives. */
  readonly key: string | undefined
  /**
   * Given the check as it stands when the change runs (after the changes before it), returns the
   * one to keep: undefined, none; the same object, no write. `row()` numbers a new row (a new
   * script's id). When it throws, the change fails with that error and changes nothing.
   */
  readonly change: (current: Stored | undefined, row: () => number) => Stored | undefined
  /** A signal folded on the check's key after the change, in the same transaction (a Scripto report's). */
  readonly signal: Signal | undefined
}

/** What a change did: the check before and after it (after its signal, whose runs a script's view shows). */
export interface Changed {
  readonly before: Stored | undefined
  readonly after: Stored | undefined
}

/** A row as a batch's changes leave it: what to write once, and which change answers for it. */
interface RowChange<C> {
  /** The check as the batch found it, in its row. */
  readonly found: InRow | undefined
  /** Whether a change deleted the check the batch found (a later one may have made it again, in a new row). */
  deleted: boolean
  /** The row the check is in after the batch (undefined: one the database numbers as it is written), and the check. */
  row: number | undefined
  after: Stored | undefined
  /** The last change that wrote the row: it fails when the database refuses the row. */
  last: C
}

/** What a batch's changes do: each row to write, by key, in the order first changed, and each change's answer. */
export interface ChangeBatch<C> {
  readonly rows: Map<string, RowChange<C>>
  readonly answers: Map<C, Changed | { readonly error: unknown }>
}

/**
 * Changes of a batch applied in order, each given the check as the changes before it left it, and
 * its signal folded on the check's key after it (`folds`): so that a batch writes each row once,
 * and its signals in rows as an item's, whatever number of changes it holds. `found` is each check
 * as the batch found it; `number` numbers a new row: each one, or (`numberEvery` false) those whose
 * change asked for it (a script's id), the others numbered by the database as they are written.
 */
export function foldChanges<C extends Change, B extends { readonly runs: Runs }>(
  changes: readonly C[],
  found: (key: string) => InRow | undefined,
  folds: KeyFolds<B>,
  number: () => number,
  numberEvery = true,
): ChangeBatch<C> {
  const rows = new Map<string, RowChange<C>>()
  const answers = new Map<C, Changed | { readonly error: unknown }>()
  for (const change of changes) {
    const known = change.key === undefined ? undefined : rows.get(change.key)
    const at = change.key === undefined || known !== undefined ? undefined : found(change.key)
    const before = known === undefined ? at?.stored : known.after
    let numbered: number | undefined
    let next: Stored | undefined
    let key: string | undefined
    try {
      next = change.change(before, () => (numbered ??= number()))
      key = next === undefined ? change.key : keyOf(next)
      if (key === undefined) throw new Error('a new check was not made')
      if (change.key !== undefined && key !== change.key) throw new Error(`a change of ${change.key} gave ${key}`)
    } catch (error) {
      answers.set(change, { error })
      continue
    }
    if (next === before && (change.signal === undefined || next === undefined)) {
      answers.set(change, { before, after: before })
      continue
    }
    let entry = rows.get(key)
    if (entry === undefined) {
      entry = { found: at, deleted: false, row: at?.row, after: at?.stored, last: change }
      rows.set(key, entry)
    }
    entry.last = change
    if (next === undefined) {
      if (entry.found !== undefined) entry.deleted = true
      // Signals folded for it earlier in the batch go with it.
      folds.drop(key)
      entry.row = undefined
      entry.after = undefined
    } else {
      if (entry.after === undefined) entry.row = numbered ?? (numberEvery ? number() : undefined)
      // A script's view carries its runs: its signal folds on them, and they come from the fold.
      const runs = folds.fold(key, before?.source === 'scripto' ? before.script.runs : undefined, change.signal)
      entry.after = withRuns(next, runs)
    }
    answers.set(change, { before, after: entry.after })
  }
  return { rows, answers }
}
