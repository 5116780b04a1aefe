// An item of config.yml, as the check model sees it: the other door into it.
import type { CheckSpec } from './check.js'

export interface Item {
  /** Position in the config's items: lets per-item data (metric label strings) live in arrays. */
  readonly index: number
  readonly group: string
  readonly id: string
  readonly name: string
  /** Seconds the item stays up after a refresh; undefined for an item on a cron schedule. */
  readonly interval: number | undefined
  /** Its schedule and grace: the check model's input. */
  readonly check: CheckSpec
}

export interface Group {
  readonly name: string
  readonly items: readonly Item[]
}
