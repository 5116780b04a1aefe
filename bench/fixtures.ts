// Synthetic configs and stores for the benchmarks.
import { parseConfig, type Config } from '../src/config/load.js'
import { dueAfter, type Due } from '../src/domain/check.js'
import { applySignal, NO_RUNS, type Runs, type Signal } from '../src/domain/run.js'
import { runFieldsOf } from '../src/domain/script.js'
import type { ItemRuns } from '../src/domain/snapshot.js'
import type { Script } from '../src/store/contract.js'

export const BENCH_TOKEN = 'bench-token-0123456789abcdef0123456789abcdef'

/**
 * YAML with `items` items in groups of 100; every tenth id is shared by two items. `cron`: every
 * item on a cron schedule (a third of them in Europe/Berlin) instead of an interval.
 */
export function benchYaml(items: number, { cron = false } = {}): string {
  const lines = ['statuspage:', `  token: ${BENCH_TOKEN}`, '  interval: 600', '  groups:']
  for (let g = 0; g * 100 < items; g++) {
    lines.push(`    group-${g}:`)
    for (let i = g * 100; i < Math.min(items, (g + 1) * 100); i++) {
      const id = i % 10 === 9 ? `item-${i - 9}` : `item-${i}`
      const when = cron ? `, schedule: '*/${5 + (i % 10)} * * * *'${i % 3 === 0 ? ', tz: Europe/Berlin' : ''}` : i % 7 === 0 ? ', interval: 60' : ''
      lines.push(`      - {name: "Service ${i} (${id})", id: ${id}${when}}`)
    }
  }
  return `${lines.join('\n')}\n`
}

export function benchConfig(items: number, options: { cron?: boolean } = {}): Config {
  const r = parseConfig(benchYaml(items, options), 'bench.yml')
  if (!r.ok) throw new Error(r.errors.join('\n'))
  return r.config
}

/** The runs that `signals` leave, oldest first. */
export const runsOf = (signals: readonly Signal[]): Runs => signals.reduce((runs, signal) => applySignal(runs, signal).runs, NO_RUNS)

/** Each id refreshed (a success) at the time `times` gives. */
export const refreshed = (times: ReadonlyMap<string, number>): Map<string, Runs> =>
  new Map([...times].map(([id, at]) => [id, runsOf([{ kind: 'success', at }])]))

/**
 * Every id signalled at some point in the last 15 minutes, a mix of up and down: most refreshed,
 * a third after a timed run, one in seven running now, one in eleven failed.
 */
export function benchRuns(config: Config, now: number): Map<string, Runs> {
  let k = 0
  return new Map(
    [...config.itemsById.keys()].map((id) => {
      const at = now - ((k++ * 7919) % 900) * 1000
      const signals: Signal[] = k % 3 === 0 ? [{ kind: 'start', at: at - 42_500 }] : []
      signals.push(k % 7 === 0 ? { kind: 'start', at } : { kind: k % 11 === 0 ? 'failure' : 'success', at, exitStatus: k % 11 === 0 ? 2 : undefined })
      return [id, runsOf(signals)]
    }),
  )
}

/** Each item's due times and runs, as the monitor keeps them for items judged by the default limits. */
export function itemRuns(config: Config, runsById: ReadonlyMap<string, Runs>): { dues: (Due | undefined)[]; runs: ItemRuns[] } {
  const runs = config.items.map((item) => {
    const r = runsById.get(item.id) ?? NO_RUNS
    return { runs: r, streak: r.streak }
  })
  return { dues: config.items.map((item, i) => dueAfter(item.check, runs[i]!.runs.lastSignal)), runs }
}

export function benchScripts(count: number, now: number): Script[] {
  return Array.from({ length: count }, (_, i) => ({
    id: i + 1,
    name: `job-${i}.sh`,
    server: `host-${i % 50}`,
    status: i % 13 !== 0,
    lastExec: i % 17 === 0 ? null : now - ((i * 104_729) % 100_000) * 1000,
    periodicity: i % 3 === 0 ? 'hourly' : null,
    schedule: null,
    tz: null,
    grace: null,
    ...runFieldsOf(i % 13 !== 0, null),
    ...(i % 5 === 0 && {
      runs: runsOf([
        { kind: 'start', at: now - 3_000_000 },
        { kind: 'success', at: now - 2_000_000 },
      ]),
    }),
  }))
}
