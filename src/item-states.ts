// What the Monitor keeps of each item between signals: its due times, its runs and its streak,
// index-aligned with the config in force; carried over from one config to the next, with the items
// that recount their streak from history when a config is put in force, that history read
// consistently, and the keys under which an item's streak and due times carry over.
import type { Config, Item } from './config/load.js'
import { dueAfter, type Due } from './domain/check.js'
import { countRun, countRuns, judgedByDefaults, NO_RUNS, type Finish, type Runs } from './domain/run.js'
import type { ItemRuns } from './domain/snapshot.js'
import type { SignalRecord, Store } from './store/contract.js'

export class ItemStates {
  /** Each item's due times after its last signal. */
  dues: (Due | undefined)[] = []
  /** Each item's runs and streak. */
  runs: ItemRuns[] = []
  /** The seq of the last finish counted in each item's streak, when its limits are its own. */
  #counted: Float64Array = new Float64Array(0)

  /**
   * Each item's due times and streak under `config` (after `before`, the config in force until
   * now), from the store's runs. Work done once per config and per signal, never per scrape: cron
   * occurrences included. An item that judges runs by its own limits recounts its id's kept
   * history, unless the config before had it with the same limits.
   */
  derive(config: Config, storeRuns: ReadonlyMap<string, Runs>, histories: Histories, before?: Config): void {
    const kept = new Map<string, { runs: ItemRuns; counted: number }>()
    if (before !== undefined) {
      for (const item of before.items) {
        if (!judgedByDefaults(item.check.limits)) kept.set(limitsKey(item), { runs: this.runs[item.index]!, counted: this.#counted[item.index]! })
      }
    }
    const counted = new Float64Array(config.items.length)
    const runs = config.items.map((item) => {
      const runs = storeRuns.get(item.id) ?? NO_RUNS
      const { limits } = item.check
      if (runs === NO_RUNS || judgedByDefaults(limits)) return { runs, streak: runs.streak }
      const same = kept.get(limitsKey(item))
      if (same !== undefined) {
        counted[item.index] = same.counted
        return { runs, streak: same.runs.streak }
      }
      const finishes = histories.get(item.id) ?? []
      counted[item.index] = finishes.at(-1)?.seq ?? 0
      return { runs, streak: countRuns(finishes, limits) }
    })
    // A cron occurrence costs about 70 µs: recomputed for 100k items, a reload held the event loop
    // for 7 s. An item whose id, schedule and grace stand unchanged keeps its due times.
    const dues = new Map<string, Due>()
    if (before !== undefined) {
      for (const item of before.items) {
        const due = this.dues[item.index]
        if (due !== undefined) dues.set(dueKey(item), due)
      }
    }
    this.runs = runs
    this.#counted = counted
    this.dues = config.items.map((item) => {
      const last = runs[item.index]!.runs.lastSignal
      const same = dues.get(dueKey(item))
      return same !== undefined && same.last === last ? same : dueAfter(item.check, last)
    })
  }

  /** Counts a committed signal of `item` (`record`; `committed`: its id's runs as committed now, a later signal of the same batch maybe in them). */
  count(item: Item, record: SignalRecord, committed: Runs | undefined): void {
    const i = item.index
    const { limits } = item.check
    const runs = committed ?? record.runs
    const { finish } = record
    let { streak } = runs
    if (!judgedByDefaults(limits)) {
      streak = this.runs[i]!.streak
      // A reload between the commit and here has counted this finish already.
      if (finish !== undefined && finish.seq > this.#counted[i]!) {
        streak = countRun(streak, finish, limits)
        this.#counted[i] = finish.seq
      }
    }
    this.runs[i] = { runs, streak }
    this.dues[i] = dueAfter(item.check, runs.lastSignal, this.dues[i])
  }
}

export type Histories = ReadonlyMap<string, readonly (Finish & { readonly seq: number })[]>

/**
 * The ids whose streak `config` recounts from history: those of items with their own limits that
 * `before` did not have with the same limits.
 */
export function recounted(config: Config, before?: Config): string[] {
  const same = new Set(before?.items.filter((item) => !judgedByDefaults(item.check.limits)).map(limitsKey))
  return [...new Set(config.items.filter((item) => !judgedByDefaults(item.check.limits) && !same.has(limitsKey(item))).map((item) => item.id))]
}

/**
 * The finished runs of `ids`, read again while a signal of one of them commits during the read
 * (its finish would be counted neither in the history nor by the config it arrived under).
 */
export async function histories(store: Store, ids: readonly string[]): Promise<Histories> {
  for (let attempt = 0; ; attempt++) {
    const before = ids.map((id) => store.runs().get(id))
    const found = await Promise.all(ids.map((id) => store.finishes(id)))
    if (attempt === 4 || ids.every((id, i) => store.runs().get(id) === before[i])) return new Map(ids.map((id, i) => [id, found[i]!]))
  }
}

/** Items with the same id and the same limits on what counts as a failure count the same streak. */
const limitsKey = (item: Item) => {
  const { minRuntime, failureThreshold, recoveryThreshold } = item.check.limits
  return `${item.id}\0${minRuntime}\0${failureThreshold}\0${recoveryThreshold}`
}

/** Items with the same id, schedule, grace and maintenance windows have the same due times after the same signal. */
const dueKey = (item: Item) => {
  const { schedule, grace, maintenance } = item.check
  return `${item.id}\0${schedule.kind === 'cron' ? `${schedule.expression}\0${schedule.tz}` : schedule.seconds}\0${grace}\0${maintenance.map((w) => w.key).join('\0')}`
}
