// An item: a check of config.yml or of the checks API, as the check model sees it (Scripto's
// scripts are the other door into it).
import type { CheckSpec } from './check.js'
import type { CheckSource } from './definition.js'

export interface Item {
  /** Position in the config's items: lets per-item data (metric label strings) live in arrays. */
  readonly index: number
  readonly group: string
  readonly id: string
  readonly name: string
  /** Seconds the item stays up after a refresh; undefined for an item on a cron schedule. */
  readonly interval: number | undefined
  /** Its tags, for filters and the tag badges and metrics. */
  readonly tags: readonly string[]
  /** Where it is defined: config.yml, the checks API, or its first ping. */
  readonly source: Exclude<CheckSource, 'scripto'>
  /** Its schedule and grace: the check model's input. */
  readonly check: CheckSpec
}

export interface Group {
  readonly name: string
  readonly items: readonly Item[]
}
