// Scrape cost of the item and script families: statuspage's renderer against the naive prom-client
// approach (bench/naive-metrics.ts), on the same snapshots, in one process.
import { snapshot, type Snapshot } from '../src/domain/snapshot.js'
import { ChunkPool } from '../src/metrics/chunks.js'
import { exposition, renderFamilies, type Counts } from '../src/metrics/families.js'
import { naiveRegistry } from './naive-metrics.js'
import { benchConfig, benchRuns, benchScripts, itemRuns } from './fixtures.js'
import { median, type Row } from './table.js'

// Scrapes come seconds apart, so each timed run starts from a collected heap (for both sides):
// otherwise one run pays for the garbage of the run before it.
const collect = (globalThis as { gc?: () => void }).gc ?? (() => {})

// The chunks go back to the pool as they would once the socket has sent them: what a scrape costs
// the server, without the copy into one buffer that only tests need.
const pool = new ChunkPool()
const scrape = (s: Snapshot, counts: Counts) => {
  for (const chunk of exposition('', s, counts, 'text', '', pool)) if (chunk !== undefined) pool.give(chunk)
}

async function timeIt(runs: number, fn: () => unknown): Promise<number> {
  const samples: number[] = []
  for (let i = 0; i < runs + 2; i++) {
    collect()
    const start = process.hrtime.bigint()
    await fn()
    if (i >= 2) samples.push(Number(process.hrtime.bigint() - start) / 1e6)
  }
  return median(samples)
}

export async function scrapeBench(sizes = [1_000, 10_000, 100_000]): Promise<Row[]> {
  const now = Date.now()
  const rows: Row[] = []
  const ours: Record<number, number> = {}
  for (const n of sizes) {
    const config = benchConfig(n)
    const { dues, runs: itemRunList } = itemRuns(config, benchRuns(config, now))
    const scripts = benchScripts(Math.min(n / 10, 10_000), now)
    const counts: Counts = { refreshes: Float64Array.from(config.items, (_, i) => i % 5), reports: new Map(scripts.map((s) => [s.id, 3])) }
    const current = () => ({ snapshot: snapshot(config, dues, itemRunList, scripts, now), counts })
    const runs = n >= 100_000 ? 5 : 15
    // Ours is timed before the naive registry exists: its hundreds of thousands of labelled
    // series would otherwise sit in the same heap and slow every collection during our render.
    const fast = await timeIt(runs, () => scrape(current().snapshot, counts))
    const ourText = `${renderFamilies(current().snapshot, counts, 'text').toString()}\n`
    const naive = naiveRegistry(current, 'text')
    if (ourText !== (await naive.metrics())) throw new Error(`outputs differ at ${n} items`)
    const slow = await timeIt(runs, () => naive.metrics())
    ours[n] = fast
    const series = ourText.split('\n').filter((l) => !l.startsWith('#')).length - 1
    rows.push({
      what: `scrape, ${n.toLocaleString('en')} items + ${scripts.length.toLocaleString('en')} scripts (${series.toLocaleString('en')} series)`,
      statuspage: `${fast.toFixed(1)} ms`,
      baseline: `${slow.toFixed(1)} ms (naive prom-client)`,
      ratio: `${(slow / fast).toFixed(1)}x faster`,
      goal: n === 10_000 ? '>= 5x' : '',
    })
    if (n === 100_000) {
      const perSeries = (fast * 1000) / series
      rows.push({
        what: `scrape per series, ${n.toLocaleString('en')} items + ${scripts.length.toLocaleString('en')} scripts with the run families`,
        statuspage: `${perSeries.toFixed(3)} µs per series`,
        baseline: '',
        ratio: '',
        goal: `<= 0.5 µs${perSeries <= 0.5 ? '' : '  MISSED'}`,
      })
    }
  }
  if (sizes.includes(100_000)) rows.push(await cronVersusInterval(100_000, now))
  if (ours[10_000] !== undefined && ours[100_000] !== undefined) {
    rows.push({
      what: 'scrape growth, 100k vs 10k items',
      statuspage: `${(ours[100_000] / ours[10_000]).toFixed(1)}x the time for 10x the items`,
      baseline: '',
      ratio: '',
      goal: '<= ~10x (linear)',
    })
  }
  return rows
}

/** The scrape of `n` cron items against the same number of interval items: due times are kept, not computed per scrape. */
async function cronVersusInterval(n: number, now: number): Promise<Row> {
  const time = async (cron: boolean) => {
    const config = benchConfig(n, { cron })
    const { dues, runs } = itemRuns(config, benchRuns(config, now))
    const counts: Counts = { refreshes: new Float64Array(config.items.length), reports: new Map() }
    return timeIt(5, () => scrape(snapshot(config, dues, runs, [], now), counts))
  }
  // In turns, twice each: the first of a pair would otherwise pay for the heap the other left.
  const [interval1, cron1, interval2, cron2] = [await time(false), await time(true), await time(false), await time(true)]
  const interval = Math.min(interval1, interval2)
  const cron = Math.min(cron1, cron2)
  const ratio = cron / interval
  return {
    what: `scrape, ${n.toLocaleString('en')} cron items against as many interval items`,
    statuspage: `${cron.toFixed(1)} ms`,
    baseline: `${interval.toFixed(1)} ms (interval items)`,
    ratio: `${ratio.toFixed(2)}x the time`,
    goal: `<= 1.2x${ratio <= 1.2 ? '' : '  MISSED'}`,
  }
}
