// The one status snapshot: the JSON API, the page, the badges and /metrics all render it, so they
// cannot disagree. A pure function of the config, the stored times and `now`.
import type { Config, Item } from '../config/load.js'
import type { Periodicity } from '../config/schema.js'
import type { Script } from '../store/store.js'
import { checkState, dueAfter, secondsToDeadline, type Due } from './check.js'
import { periodSeconds, type ScriptState } from './script.js'

export type ItemState = 'up' | 'down'

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
  /** The periodicity in force: the script's own, else the config's default. */
  readonly periodicity: Periodicity
  readonly period: number
  readonly state: ScriptState
  readonly due: Due | undefined
}

export interface Snapshot {
  readonly now: number
  readonly config: Config
  /** Index-aligned with config.items. */
  readonly items: readonly ItemStatus[]
  readonly groups: readonly { readonly name: string; readonly items: readonly ItemStatus[] }[]
  /** Failed, late and never-run first, then the oldest last_exec first. */
  readonly scripts: readonly ScriptStatus[]
  readonly itemsDown: number
  readonly scriptsNotOk: number
}

/** `due`: the item's due times after its last refresh, as the monitor keeps them. */
export function itemStatus(item: Item, due: Due | undefined, now: number): ItemStatus {
  return { item, lastRefresh: due?.last, state: checkState(due, true, now) === 'up' ? 'up' : 'down', dueIn: secondsToDeadline(due, now), due }
}

const SCRIPT_STATE = { up: 'ok', late: 'late', failed: 'failed', never: 'never' } as const

export function scriptStatus(script: Script, defaultPeriodicity: Periodicity, now: number): ScriptStatus {
  const periodicity = script.periodicity ?? defaultPeriodicity
  const period = periodSeconds(periodicity)
  const due = dueAfter({ schedule: { kind: 'interval', seconds: period }, grace: 0 }, script.lastExec ?? undefined)
  return { script, periodicity, period, state: SCRIPT_STATE[checkState(due, script.status, now)], due }
}

/** Each item's due times after its refresh in `refreshTimes`, index-aligned with `items`. */
export function duesOf(items: readonly Item[], refreshTimes: ReadonlyMap<string, number>): (Due | undefined)[] {
  return items.map((item) => dueAfter(item.check, refreshTimes.get(item.id)))
}

/** `dues`: each item's due times, index-aligned with config.items. */
export function snapshot(config: Config, dues: readonly (Due | undefined)[], scripts: readonly Script[], now: number): Snapshot {
  let itemsDown = 0
  const items = config.items.map((item) => {
    const status = itemStatus(item, dues[item.index], now)
    if (status.state === 'down') itemsDown++
    return status
  })
  const groups = config.groups.map((g) => ({ name: g.name, items: g.items.map((item) => items[item.index]!) }))

  let scriptsNotOk = 0
  const scriptStatuses = scripts.map((script) => {
    const status = scriptStatus(script, config.scripto.defaultPeriodicity, now)
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
