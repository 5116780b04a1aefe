// The one status snapshot: the JSON API, the page, the badges and /metrics all render it, so they
// cannot disagree. A pure function of the checks, their reports and `now`; items and scripts both
// go through the check model (check.ts).
import { checkState, dueAfter, secondsToDeadline, type CheckSpec, type Due } from './check.js'
import type { Group, Item } from './item.js'
import { scriptCheck, type Periodicity, type Script, type ScriptDefaults, type ScriptState } from './script.js'

export type ItemState = 'up' | 'down'

/** What a snapshot reads of the config in force. */
export interface Board {
  readonly groups: readonly Group[]
  /** Every item of every group, in page order. */
  readonly items: readonly Item[]
  readonly scriptDefaults: ScriptDefaults
}

export interface ItemStatus {
  readonly item: Item
  /** ms since the epoch, undefined if never refreshed. */
  readonly lastRefresh: number | undefined
  readonly state: ItemState
  /** Seconds to the deadline: negative once late, null if never refreshed. */
  readonly dueIn: number | null
  /** Next due time and deadline after the last refresh; undefined if never refreshed. */
  readonly due: Due | undefined
}

export interface ScriptStatus {
  readonly script: Script
  /** The script's check: its schedule, else its periodicity (or the default) as an interval. */
  readonly check: CheckSpec
  /** The periodicity in force: the script's own, else the config's default. */
  readonly periodicity: Periodicity
  readonly period: number
  readonly state: ScriptState
  readonly due: Due | undefined
}

export interface Snapshot<B extends Board = Board> {
  readonly now: number
  readonly config: B
  /** Index-aligned with config.items. */
  readonly items: readonly ItemStatus[]
  readonly groups: readonly { readonly name: string; readonly items: readonly ItemStatus[] }[]
  /** Failed, late and never-run first, then the oldest last_exec first. */
  readonly scripts: readonly ScriptStatus[]
  readonly itemsDown: number
  readonly scriptsNotOk: number
}

/** Each item's due times after its refresh in `refreshTimes`, index-aligned with `items`. */
export function duesOf(items: readonly Item[], refreshTimes: ReadonlyMap<string, number>): (Due | undefined)[] {
  return items.map((item) => dueAfter(item.check, refreshTimes.get(item.id)))
}

/** `due`: the item's due times after its last refresh, as the monitor keeps them. */
export function itemStatus(item: Item, due: Due | undefined, now: number): ItemStatus {
  return { item, lastRefresh: due?.last, state: checkState(due, true, now) === 'up' ? 'up' : 'down', dueIn: secondsToDeadline(due, now), due }
}

const SCRIPT_STATE = { up: 'ok', late: 'late', failed: 'failed', never: 'never' } as const

// A stored script object is never changed (each write makes a new one), so its check and due
// times are computed once per object and per config defaults: at its first read after a write,
// not on every scrape (a cron occurrence costs tens of microseconds).
const scriptDues = new WeakMap<Script, { defaults: ScriptDefaults; check: ReturnType<typeof scriptCheck>; due: Due | undefined }>()

export function scriptStatus(script: Script, defaults: ScriptDefaults, now: number): ScriptStatus {
  let known = scriptDues.get(script)
  if (known === undefined || known.defaults !== defaults) {
    const check = scriptCheck(script, defaults)
    known = { defaults, check, due: dueAfter(check, script.lastExec ?? undefined) }
    scriptDues.set(script, known)
  }
  const { check, due } = known
  return { script, check, periodicity: check.periodicity, period: check.period, state: SCRIPT_STATE[checkState(due, script.status, now)], due }
}

/** `dues`: each item's due times, index-aligned with config.items. */
export function snapshot<B extends Board>(config: B, dues: readonly (Due | undefined)[], scripts: readonly Script[], now: number): Snapshot<B> {
  let itemsDown = 0
  const items = config.items.map((item) => {
    const status = itemStatus(item, dues[item.index], now)
    if (status.state === 'down') itemsDown++
    return status
  })
  const groups = config.groups.map((g) => ({ name: g.name, items: g.items.map((item) => items[item.index]!) }))

  let scriptsNotOk = 0
  const scriptStatuses = scripts.map((script) => {
    const status = scriptStatus(script, config.scriptDefaults, now)
    if (status.state !== 'ok') scriptsNotOk++
    return status
  })
  scriptStatuses.sort(
    (a, b) =>
      Number(a.state === 'ok') - Number(b.state === 'ok') ||
      (a.script.lastExec ?? -Infinity) - (b.script.lastExec ?? -Infinity) ||
      a.script.id - b.script.id,
  )
  return { now, config, items, groups, scripts: scriptStatuses, itemsDown, scriptsNotOk }
}
