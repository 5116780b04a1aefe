// The one status snapshot: the JSON API, the page, the badges and /metrics all render it, so they
// cannot disagree. A pure function of the config, the stored times and `now`.
import type { Config, Item } from '../config/load.js'
import type { Periodicity } from '../config/schema.js'
import type { Script } from '../store/store.js'
import { itemState, secondsUntilDue, type ItemState } from './item.js'
import { periodSeconds, scriptState, type ScriptState } from './script.js'

export interface ItemStatus {
  readonly item: Item
  /** ms since the epoch, undefined if never refreshed. */
  readonly lastRefresh: number | undefined
  readonly state: ItemState
  readonly dueIn: number | null
}

export interface ScriptStatus {
  readonly script: Script
  /** The periodicity in force: the script's own, else the config's default. */
  readonly periodicity: Periodicity
  readonly period: number
  readonly state: ScriptState
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

export function itemStatus(item: Item, refreshTimes: ReadonlyMap<string, number>, now: number): ItemStatus {
  const lastRefresh = refreshTimes.get(item.id)
  return { item, lastRefresh, state: itemState(lastRefresh, item.interval, now), dueIn: secondsUntilDue(lastRefresh, item.interval, now) }
}

export function scriptStatus(script: Script, defaultPeriodicity: Periodicity, now: number): ScriptStatus {
  const periodicity = script.periodicity ?? defaultPeriodicity
  const period = periodSeconds(periodicity)
  return { script, periodicity, period, state: scriptState(script.lastExec, script.status, period, now) }
}

export function snapshot(config: Config, refreshTimes: ReadonlyMap<string, number>, scripts: readonly Script[], now: number): Snapshot {
  let itemsDown = 0
  const items = config.items.map((item) => {
    const status = itemStatus(item, refreshTimes, now)
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
