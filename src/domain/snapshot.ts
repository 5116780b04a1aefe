// The one status snapshot: the JSON API, the page, the badges and /metrics all render it, so they
// cannot disagree. A pure function of the checks, their reports and `now`; items and scripts both
// go through the check model (check.ts).
import { checkStatus, dueAfter, isUp, secondsToDeadline, type CheckSpec, type CheckStatus, type Due } from './check.js'
import type { Group, Item } from './item.js'
import type { Runs, Streak } from './run.js'
import { scriptArrival, scriptCheck, type Periodicity, type Script, type ScriptDefaults, type ScriptState } from './script.js'

type ItemState = 'up' | 'down'

/** What a snapshot reads of the config in force. */
export interface Board {
  readonly groups: readonly Group[]
  /** Every item of every group, in page order. */
  readonly items: readonly Item[]
  readonly scriptDefaults: ScriptDefaults
}

/** A check's runs and streak: what the monitor keeps of an item between signals, and a script holds. */
export interface ItemRuns {
  /** Its id's runs (shared by every item with that id). */
  readonly runs: Runs
  /** Its finished runs judged by its own limits. */
  readonly streak: Streak
}

export interface ItemStatus extends ItemRuns {
  readonly item: Item
  /** The item's check (item.check), as for scripts. */
  readonly check: CheckSpec
  /** ms since the epoch of the last signal (a start or a finish), undefined if none. */
  readonly lastRefresh: number | undefined
  /** up while the status is up or running; down otherwise. */
  readonly state: ItemState
  readonly status: CheckStatus
  /** Seconds to the deadline: negative once late, null if never refreshed. */
  readonly dueIn: number | null
  /** Next due time and deadline after the last refresh; undefined if never refreshed. */
  readonly due: Due | undefined
}

export interface ScriptStatus extends ItemRuns {
  readonly script: Script
  /** The script's check: its schedule, else its periodicity (or the default) as an interval. */
  readonly check: CheckSpec
  /** The periodicity in force: the script's own, else the config's default. */
  readonly periodicity: Periodicity
  readonly period: number
  readonly state: ScriptState
  readonly status: CheckStatus
  readonly due: Due | undefined
}

export interface Snapshot<B extends Board = Board> {
  readonly now: number
  readonly config: B
  /** Index-aligned with config.items. */
  readonly items: readonly ItemStatus[]
  readonly groups: readonly { readonly name: string; readonly items: readonly ItemStatus[] }[]
  /** Those down (failed, timed out, late, never run) first, then the oldest last_exec first. */
  readonly scripts: readonly ScriptStatus[]
  readonly itemsDown: number
  readonly scriptsNotOk: number
}

/** `due` and `runs`: the item's due times after its last signal and its runs, as the monitor keeps them. */
export function itemStatus(item: Item, due: Due | undefined, { runs, streak }: ItemRuns, now: number): ItemStatus {
  const status = checkStatus(item.check, due, runs, streak, now)
  return {
    item,
    check: item.check,
    lastRefresh: runs.lastSignal,
    state: isUp(status) ? 'up' : 'down',
    status,
    dueIn: secondsToDeadline(due, now),
    due,
    runs,
    streak,
  }
}

const SCRIPT_STATE: Record<CheckStatus, ScriptState> = {
  up: 'ok',
  running: 'running',
  late: 'late',
  failed: 'failed',
  timeout: 'timeout',
  never: 'never',
  paused: 'paused',
  maintenance: 'maintenance',
}

// A stored script object is never changed (each write makes a new one), so its check and due
// times are computed once per object and per config defaults: at its first read after a write,
// not on every scrape (a cron occurrence costs tens of microseconds).
const scriptDues = new WeakMap<Script, { defaults: ScriptDefaults; check: ReturnType<typeof scriptCheck>; due: Due | undefined }>()

export function scriptStatus(script: Script, defaults: ScriptDefaults, now: number): ScriptStatus {
  let known = scriptDues.get(script)
  if (known === undefined || known.defaults !== defaults) {
    const check = scriptCheck(script, defaults)
    known = { defaults, check, due: dueAfter(check, scriptArrival(script)) }
    scriptDues.set(script, known)
  }
  const { check, due } = known
  const status = checkStatus(check, due, script.runs, script.streak, now)
  return {
    script,
    check,
    periodicity: check.periodicity,
    period: check.period,
    state: SCRIPT_STATE[status],
    status,
    due,
    runs: script.runs,
    streak: script.streak,
  }
}

/** Items a slice of snapshotSteps reads: a few milliseconds of work. */
const SNAPSHOT_SLICE = 8192

/**
 * The snapshot, built a slice of SNAPSHOT_SLICE items at a time: the generator yields between
 * slices and returns the snapshot. Built at once, 100,000 items held the event loop for 80-170 ms,
 * which every check-in meanwhile waited for. `dues` and `runs` are read as each slice is built:
 * an item that checks in meanwhile is shown as it is then, judged at `now`.
 */
export function* snapshotSteps<B extends Board>(
  config: B,
  dues: readonly (Due | undefined)[],
  runs: readonly ItemRuns[],
  scripts: readonly Script[],
  now: number,
): Generator<void, Snapshot<B>, void> {
  let itemsDown = 0
  const items: ItemStatus[] = new Array(config.items.length)
  for (let i = 0; i < config.items.length; i++) {
    const item = config.items[i]!
    const status = itemStatus(item, dues[item.index], runs[item.index]!, now)
    if (status.state === 'down') itemsDown++
    items[i] = status
    if ((i + 1) % SNAPSHOT_SLICE === 0) yield
  }
  const groups = config.groups.map((g) => ({ name: g.name, items: g.items.map((item) => items[item.index]!) }))

  let scriptsNotOk = 0
  const scriptStatuses = scripts.map((script) => {
    const status = scriptStatus(script, config.scriptDefaults, now)
    if (!isUp(status.status)) scriptsNotOk++
    return status
  })
  scriptStatuses.sort(
    (a, b) =>
      Number(isUp(a.status)) - Number(isUp(b.status)) || (a.script.lastExec ?? -Infinity) - (b.script.lastExec ?? -Infinity) || a.script.id - b.script.id,
  )
  return { now, config, items, groups, scripts: scriptStatuses, itemsDown, scriptsNotOk }
}

/** `dues` and `runs`: each item's due times and runs, index-aligned with config.items. */
export function snapshot<B extends Board>(
  config: B,
  dues: readonly (Due | undefined)[],
  runs: readonly ItemRuns[],
  scripts: readonly Script[],
  now: number,
): Snapshot<B> {
  const steps = snapshotSteps(config, dues, runs, scripts, now)
  for (;;) {
    const step = steps.next()
    if (step.done) return step.value
  }
}

/**
 * The snapshot of the items that have every one of `tags` (/?tag=): their groups alone, the down
 * ones counted again; scripts, which have no tags, left out.
 */
export function taggedOnly<B extends Board>(s: Snapshot<B>, tags: readonly string[]): Snapshot<B> {
  if (tags.length === 0) return s
  const has = (status: ItemStatus) => tags.every((tag) => status.item.tags.includes(tag))
  const groups = s.groups.map((g) => ({ name: g.name, items: g.items.filter(has) })).filter((g) => g.items.length > 0)
  let itemsDown = 0
  for (const g of groups) for (const i of g.items) if (i.state === 'down') itemsDown++
  return { ...s, groups, scripts: [], itemsDown, scriptsNotOk: 0 }
}
