// The one seam between the service and its database: the contract that both backends keep, SQLite
// (a file; the default, needs nothing) and PostgreSQL (shared by replicas). It imports only the
// domain; open.ts chooses the backend, and nothing above knows which one runs.
import type { CheckDefinition } from '../domain/definition.js'
import type { Flip, FlipHead } from '../domain/flip.js'
import type { Finish, LogEntry, OpenRun, Runs, Signal } from '../domain/run.js'
import type { Script, ScriptFields } from '../domain/script.js'

export type { Script, ScriptFields } from '../domain/script.js'

/**
 * Writes are group-committed: each returns a promise that settles once its transaction has
 * committed, so a caller that answers after awaiting it never acknowledges what a crash could take
 * back. The writes queued while a batch is under way share the next transaction; a write that
 * fails on its own (a constraint, a patch that throws) fails alone. Reads of runs and scripts
 * come from memory and see a write once its promise has resolved, and another replica's soon
 * after it committed (see onSignals).
 */
export interface Store {
  /**
   * The runs of every check that has had a signal, by key (an item's id, a script's scriptKey),
   * each folded from its signals in order: one fold for every check, whatever its source.
   */
  runs(): ReadonlyMap<string, Runs>
  /**
   * Appends a signal of item `id`, after those queued before it; a signal older than the id's
   * last one is taken as arriving at that time, so that the last signal never goes back.
   * Resolves, once committed, to what it did: the id's runs after it and the run it finished;
   * undefined when keepOnlyItems forgot the id before the commit (the signal is then not written).
   */
  recordSignal(id: string, signal: Signal): Promise<SignalRecord | undefined>
  /**
   * Tells `listener` of each signal that another replica wrote, once runs() has it, in the order
   * of each id's signals. SQLite has no other writer and never calls it.
   */
  onSignals(listener: (id: string, record: SignalRecord) => void): void
  /**
   * The runs that item `id`'s kept signals finished, oldest first (the last SIGNALS_KEPT signals
   * of each id are kept); for rebuilding a streak under other limits.
   */
  finishes(id: string): Promise<(Finish & { readonly seq: number })[]>
  /**
   * Forgets, at once, the signals of ids not in `ids` (start and reload), including ones queued and
   * not yet committed; their rows are deleted with the next batch. A script's key is not an item's:
   * its signals go with the script (deleteScript).
   */
  keepOnlyItems(ids: ReadonlySet<string>): void
  /**
   * A page of the run log of the check with `key` (an item's id, a script's scriptKey): of its
   * newest `keep` signals (SIGNALS_KEPT at most), those with a seq below `before` (all when
   * undefined), newest first, at most `limit`; each with the output it carried, while that is kept.
   */
  runLog(key: string, page: { keep: number; before: number | undefined; limit: number }): Promise<LogEntry[]>
  /**
   * One step of output retention, which check-ins never wait for: deletes up to `limit` outputs
   * received before `before` (ms), else, when all of them hold more than `maxBytes`, up to `limit`
   * of the oldest, as many as bring them down to `downTo`; and gives free pages back to the file
   * (SQLite). Resolves to how many it deleted: the caller steps again while that is `limit`.
   */
  pruneOutputs(rule: { before: number; maxBytes: number; downTo: number; limit: number }): Promise<number>

  /**
   * The newest flip of each check, by key, as this replica knows it: its own, and another
   * replica's once it was read (a flip recorded there, a conflict here).
   */
  flipHeads(): ReadonlyMap<string, FlipHead>
  /**
   * Records each flip unless its check already has one with that seq (another replica recorded
   * the change first): the compare-and-set that keeps one record of each change. A flip's seq is
   * its check's head's seq + 1. Resolves, once committed, to the flips recorded; flipHeads() then
   * has, for the others, the flip that was there.
   */
  recordFlips(flips: readonly Flip[]): Promise<Flip[]>
  /** A page of the flips of `key`, newest first: seq below `before` and at no earlier than `since` (all when undefined), at most `limit`. */
  flipLog(key: string, page: { before: number | undefined; since?: number; limit: number }): Promise<Flip[]>
  /**
   * Each check's flips of about its last day (RECENT_MS before its newest), oldest first, in
   * memory: the history strips. As flipHeads(), what this replica recorded or read.
   */
  recentFlips(): ReadonlyMap<string, readonly Flip[]>
  /**
   * One step of flip retention: deletes up to about `limit` flips older than `before` (ms) and
   * beyond the newest `keep` of a key, never a key's newest. Resolves to how many it deleted.
   */
  pruneFlips(rule: { before: number; keep: number; limit: number }): Promise<number>

  // The checks defined in the store, whatever their source, are one model below this contract: one
  // table, found by key, changed by one write (see core.ts, foldChanges). These are its two views:
  // the checks API's definitions, and Scripto's scripts.

  /** The checks defined in the store (the checks API, first pings), by id; another replica's soon after it committed. */
  definitions(): ReadonlyMap<string, CheckDefinition>
  /**
   * Changes the definition of check `id` as it stands when the write runs (after the writes queued
   * before it, from any replica): `change` is given it (undefined: there is none) and returns the
   * one to keep (undefined: none; the same object: no write). Resolves, once committed, to what it
   * returned. When it throws, the write fails with that error and changes nothing. A deleted
   * check's signals and outputs go with it, in the same transaction, as a script's do.
   */
  changeDefinition(id: string, change: (current: CheckDefinition | undefined) => CheckDefinition | undefined): Promise<CheckDefinition | undefined>
  /** Tells `listener` once definitions() has a change that another replica wrote. SQLite never calls it. */
  onDefinitions(listener: () => void): void

  /** Every script, in id order; each with its key's runs (runs()). */
  scripts(): readonly Script[]
  getScript(id: number): Script | undefined
  /**
   * A new script; `signal`, when it came with one, is folded on its key and goes to its run log in
   * the same transaction. The script's runs are the fold's, whatever `fields` says of them.
   */
  createScript(fields: ScriptFields, signal?: Signal): Promise<Script>
  /**
   * Applies the fields that `patch` gives for the script as it stands when the write runs (after
   * the writes queued before it, from any replica), and folds `signal` on its key with them, as
   * recordSignal does for an item, in the same transaction: the runs that `patch` gives are
   * replaced by the fold's. Undefined when there is no such script. When `patch` throws, the
   * write fails with that error and changes nothing.
   */
  updateScript(id: number, patch: (current: Script) => Partial<ScriptFields>, signal?: Signal): Promise<Script | undefined>
  /** Deletes the script, and its signals and outputs with it. */
  deleteScript(id: number): Promise<boolean>

  /**
   * Whether writes commit. PostgreSQL: while the database does not answer, writes and queries fail
   * at once with a StoreUnavailableError, and the store keeps trying to reach it. SQLite: from a
   * batch that failed as a whole (a full disk) until one commits; a probe tries every second.
   * Reads from memory go on.
   */
  readonly up: boolean
  /** Batches that found the database locked (SQLite) or deadlocked (PostgreSQL) and were tried again. */
  readonly lockRetries: number
  /** Rows read of what other replicas wrote, after their notifications (PostgreSQL). */
  readonly remoteRows: number
  /** Commits what is queued, then closes the database. */
  close(): Promise<void>
}

export interface SignalRecord {
  /** Its place in the order of the id's signals: later signals have larger ones. */
  readonly seq: number
  readonly runs: Runs
  readonly finish?: Finish & { readonly seq: number }
  /** The open run that a start pushed out (MAX_OPEN_RUNS); told by the replica that wrote it. */
  readonly dropped?: OpenRun
}

export { SIGNALS_KEPT } from '../domain/run.js'
/** Trimming waits for this many signals over SIGNALS_KEPT, so that it runs once per many writes; a row is dropped whole. */
export const TRIM_SLACK = 64

export interface StoreOptions {
  /** Told of a failure that no caller awaits (the deletes of keepOnlyItems, a lost connection). */
  onError?: (err: unknown, what: string) => void
  /** Told when the database stops or starts answering. */
  onAvailability?: (up: boolean) => void
  /** Caps the database at this many pages, as a full disk would; for tests of write failures (SQLite). */
  maxPages?: number
}

/** The row of a finished run, for finishes(). */
export const finishRecord = (finish: Finish, seq: number): Finish & { readonly seq: number } => ({
  at: finish.at,
  succeeded: finish.succeeded,
  exitStatus: finish.exitStatus,
  duration: finish.duration,
  seq,
})
