// Throughput and latency of statuspage against bare Fastify, and its memory and start-up time.
import { spawn } from 'node:child_process'
import { mkdtempSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import autocannon from 'autocannon'
import { openStore } from '../src/store/store.js'
import { BENCH_TOKEN, benchScripts, benchYaml } from './fixtures.js'
import { startBare, startStatuspage, type Server } from './servers.js'
import type { Row } from './table.js'

const SECONDS = Number(process.env.BENCH_SECONDS ?? 5)
const headers = { 'x-token': BENCH_TOKEN, 'content-type': 'application/json' }
const putBody = JSON.stringify({ last_exec: 'CURRENT_TIMESTAMP', name: 'bench.sh', server: 'bench', status: 1 })

type Options = Omit<autocannon.Options, 'url'>

async function load(server: Server, path: string, options: Options = {}) {
  const run = (duration: number) => autocannon({ url: `${server.url}${path}`, connections: 32, duration, headers, ...options })
  await run(1) // warm-up
  const result = await run(SECONDS)
  if (result.non2xx > 0 || result.errors > 0) throw new Error(`${path}: ${result.non2xx} non-2xx, ${result.errors} errors`)
  return result
}

async function versus(what: string, path: string, options: Options, goal: number): Promise<Row> {
  const bare = await startBare()
  const bareResult = await load(bare, path, options)
  await bare.stop()
  const sp = await startStatuspage(benchYaml(1000))
  if (options.method === 'PUT') await fetch(`${sp.url}/api/v1/script`, { method: 'POST', headers, body: putBody })
  const spResult = await load(sp, path, options)
  await sp.stop()
  const ratio = spResult.requests.average / bareResult.requests.average
  return {
    what,
    statuspage: `${Math.round(spResult.requests.average).toLocaleString('en')} req/s (p99 ${spResult.latency.p99} ms)`,
    baseline: `${Math.round(bareResult.requests.average).toLocaleString('en')} req/s bare Fastify`,
    ratio: ratio.toFixed(2),
    goal: `>= ${goal}${ratio >= goal ? '' : '  MISSED'}`,
  }
}

/** Refresh p99 at a steady rate, without and then with a scraper reading /metrics every second. */
async function latencyUnderScrape(items: number): Promise<Row> {
  const sp = await startStatuspage(benchYaml(items))
  const ids = Array.from({ length: 50 }, (_, i) => `item-${i * 10}`)
  const steady = () =>
    autocannon({
      url: sp.url,
      connections: 10,
      overallRate: 1000,
      duration: SECONDS * 2,
      headers,
      requests: ids.map((id) => ({ method: 'GET' as const, path: `/refresh/${id}` })),
    })
  const quiet = await steady()
  let scrapes = 0
  let scraping = true
  const scraper = (async () => {
    while (scraping) {
      const started = Date.now()
      await (await fetch(`${sp.url}/metrics`, { headers: { accept: 'application/openmetrics-text' } })).arrayBuffer()
      scrapes++
      await new Promise((r) => setTimeout(r, Math.max(0, 1000 - (Date.now() - started))))
    }
  })()
  const busy = await steady()
  scraping = false
  await scraper
  await sp.stop()
  const worst = busy.latency.p99
  return {
    what: `refresh p99 at 1,000 req/s, ${items.toLocaleString('en')} items, /metrics scraped every second`,
    statuspage: `${worst} ms with scrapes (${scrapes} scrapes)`,
    baseline: `${quiet.latency.p99} ms without`,
    ratio: '',
    goal: `<= 50 ms${worst <= 50 ? '' : '  MISSED'}`,
  }
}

async function memory(): Promise<Row> {
  const dbPath = join(mkdtempSync(join(tmpdir(), 'statuspage-bench-')), 'sp.db')
  const store = openStore(dbPath)
  const now = Date.now()
  await Promise.all(benchScripts(10_000, now).map(({ id: _id, ...fields }) => store.createScript(fields)))
  store.close()
  const sp = await startStatuspage(benchYaml(100_000), dbPath)
  for (let i = 0; i < 100_000; i += 10) await fetch(`${sp.url}/refresh/item-${i}`, { headers }).then((r) => r.arrayBuffer())
  for (let i = 0; i < 3; i++) await (await fetch(`${sp.url}/metrics`)).arrayBuffer()
  await (await fetch(`${sp.url}/`)).arrayBuffer()
  const { rss, peak } = sp.memory()
  await sp.stop()
  return {
    what: 'memory, 100,000 items + 10,000 scripts, after refreshes and 3 scrapes',
    statuspage: `${rss.toFixed(0)} MiB resident (peak ${peak.toFixed(0)} MiB)`,
    baseline: '',
    ratio: '',
    goal: `< 300 MB${peak * 1.048576 < 300 ? '' : '  MISSED'}`,
  }
}

async function startup(): Promise<Row> {
  const times: number[] = []
  for (let run = 0; run < 3; run++) {
    const start = performance.now()
    const sp = await startStatuspage(benchYaml(10_000))
    for (;;) {
      const ok = await fetch(`${sp.url}/-/ready`).then((r) => r.ok, () => false)
      if (ok) break
    }
    times.push(performance.now() - start)
    await sp.stop()
  }
  const best = Math.min(...times)
  return {
    what: 'start to /-/ready, 10,000 items (best of 3)',
    statuspage: `${best.toFixed(0)} ms`,
    baseline: `${(await nodeStart()).toFixed(0)} ms for node -e ''`,
    ratio: '',
    goal: `< 2000 ms${best < 2000 ? '' : '  MISSED'}`,
  }
}

async function nodeStart(): Promise<number> {
  const start = performance.now()
  await new Promise((resolve) => spawn(process.execPath, ['-e', '']).once('exit', resolve))
  return performance.now() - start
}

export async function httpBench(): Promise<Row[]> {
  return [
    await versus('GET /refresh/:id with token, persisted', '/refresh/item-0', {}, 0.8),
    await versus('PUT /api/v1/script/:id (Scripto report)', '/api/v1/script/1', { method: 'PUT', body: putBody }, 0.5),
    await latencyUnderScrape(10_000),
    await latencyUnderScrape(100_000),
    await memory(),
    await startup(),
  ]
}
