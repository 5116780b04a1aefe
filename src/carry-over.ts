// What the Monitor keeps of items from one config to the next: which items recount their streak
// from history when a config is put in force, that history read consistently, and the keys under
// which an item's streak and due times carry over to the next config.
import type { Config, Item } from './config/load.js'
import { judgedByDefaults, type Finish } from './domain/run.js'
import type { Store } from './store/store.js'

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
export const limitsKey = (item: Item) => {
  const { minRuntime, failureThreshold, recoveryThreshold } = item.check.limits
  return `${item.id}\0${minRuntime}\0${failureThreshold}\0${recoveryThreshold}`
}

/** Items with the same id, schedule, grace and maintenance windows have the same due times after the same signal. */
export const dueKey = (item: Item) => {
  const { schedule, grace, maintenance } = item.check
  return `${item.id}\0${schedule.kind === 'cron' ? `${schedule.expression}\0${schedule.tz}` : schedule.seconds}\0${grace}\0${maintenance.map((w) => w.key).join('\0')}`
}
