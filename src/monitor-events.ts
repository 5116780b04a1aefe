// What the Monitor tells those who listen: each config put in force, each open run that a start
// pushed out, the bytes of outputs written. Metrics and logs listen; the Monitor tells.
import type { Config } from './config/load.js'
import { OUTPUT_MAX, type OpenRun, type Output } from './domain/run.js'

/** An open run that a start pushed out, of an item id or a script. */
export type DroppedRun = ({ item: string; script?: undefined } | { script: number; item?: undefined }) & { run: OpenRun }

export class MonitorEvents {
  readonly #reloaded: ((config: Config) => void)[] = []
  readonly #dropped: ((event: DroppedRun) => void)[] = []
  readonly #output: ((total: number) => void)[] = []
  /** Bytes of outputs written since start (about: each counted up to OUTPUT_MAX). */
  #outputBytes = 0

  /** Tells `listener` of each config put in force: a reload of config.yml, or a change of the checks defined in the store. */
  onReload(listener: (config: Config) => void): void {
    this.#reloaded.push(listener)
  }

  /** Tells `listener` of each open run that a start of this replica's pushed out (MAX_OPEN_RUNS). */
  onRunDropped(listener: (event: DroppedRun) => void): void {
    this.#dropped.push(listener)
  }

  /** Tells `listener` of the bytes of outputs written so far, after each write that carried one. */
  onOutput(listener: (total: number) => void): void {
    this.#output.push(listener)
  }

  reloaded(config: Config): void {
    for (const listener of this.#reloaded) listener(config)
  }

  dropped(event: DroppedRun): void {
    for (const listener of this.#dropped) listener(event)
  }

  wrote(output: Output | undefined): void {
    if (output === undefined) return
    this.#outputBytes += Math.min(output.bytes, OUTPUT_MAX)
    for (const listener of this.#output) listener(this.#outputBytes)
  }
}
