// Synthetic configs and stores for the benchmarks.
import { parseConfig, type Config } from '../src/config/load.js'
import type { Script } from '../src/store/store.js'

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

/** Every id refreshed at some point in the last 15 minutes: a mix of up and down. */
export function benchRefreshTimes(config: Config, now: number): Map<string, number> {
  let k = 0
  return new Map([...config.itemsById.keys()].map((id) => [id, now - ((k++ * 7919) % 900) * 1000]))
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
  }))
}
