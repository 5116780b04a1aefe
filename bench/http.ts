// Throughput and latency of statuspage against bare Fastify, and its memory and start-up time.
import { spawn } from 'node:child_process'
import { mkdtempSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import autocannon from 'autocannon'
import { OUTPUT_MAX } from '../src/domain/run.js'
import { openStore } from '../src/store/open.js'
import { BENCH_TOKEN, benchScripts, benchYaml } from './fixtures.js'
import { type Load, load } from './load.js'
import { startBare, startStatuspage, type Server } from './servers.js'
import { median, type Row } from './table.js'

export const SECONDS = Number(process.env.BENCH_SECONDS ?? 4)
export const headers = { 'x-token': BENCH_TOKEN, 'content-type': 'application/json' }
const putBody = JSON.stringify({ last_exec: 'CURRENT_TIMESTAMP', name: 'bench.sh', server: 'bench', status: 1 })
/** A job's output as a failing backup sends it: log lines up to the 10 KiB that are kept. */
const output = Array.from({ length: 200 }, (_, i) => `2026-11-22T03:00:${String(i % 60).padStart(2, '0')}Z dumping table t${i}: ${i * 1234} rows\n`)
  .join('')
  .slice(0, OUTPUT_MAX)

/** What a throughput row sends: by default a GET of its path, with the token. */
type Options = Partial<Pick<Load, 'method' | 'headers' | 'body' | 'paths'>>

const ROUNDS = 3

/** 32 connections for `seconds`, as every throughput row runs (see load.ts for the generator). */
const run = (server: Server, path: string, options: Options, seconds = SECONDS) =>
  load(server.url, { connections: 32, seconds, headers, paths: [path], ...options })

/**
 * statuspage against bare Fastify on the same requests. Two cores carry both the servers and the
 * load generator, so single runs vary by about 10%: the two take turns for ROUNDS rounds, after a
 * warm-up, and the medians are compared.
 */
export function versus(what: string, path: string, options: Options, goal: number | undefined, yaml = benchYaml(1000), database?: string): Promise<Row> {
  return versusServer(what, path, options, goal, async () => {
    const sp = await startStatuspage(yaml, database)
    if (options.method === 'PUT') await fetch(`${sp.url}/api/v1/script`, { method: 'POST', headers, body: putBody })
    return sp
  })
}

/** The server that `start` starts against bare Fastify (or another `baseline`), as versus does it. */
export async function versusServer(
  what: string,
  path: string,
  options: Options,
  goal: number | undefined,
  start: () => Promise<Server>,
  baseline: { start: () => Promise<Server>; name: string } = { start: startBare, name: 'bare Fastify' },
): Promise<Row> {
  const bare = await baseline.start()
  const sp = await start()
  for (const server of [bare, sp]) await run(server, path, options, 1)
  const bareRuns: number[] = []
  const spRuns: number[] = []
  const p99s: number[] = []
  for (let round = 0; round < ROUNDS; round++) {
    bareRuns.push((await run(bare, path, options)).rps)
    const result = await run(sp, path, options)
    spRuns.push(result.rps)
    p99s.push(result.p99)
  }
  await Promise.all([bare.stop(), sp.stop()])
  const ratio = median(spRuns) / median(bareRuns)
  return {
    what,
    statuspage: `${Math.round(median(spRuns)).toLocaleString('en')} req/s (p99 ${median(p99s).toFixed(1)} ms)`,
    baseline: `${Math.round(median(bareRuns)).toLocaleString('en')} req/s ${baseline.name}`,
    ratio: `${ratio.toFixed(2)} (rounds ${spRuns.map((r, i) => (r / bareRuns[i]!).toFixed(2)).join(', ')})`,
    goal: goal === undefined ? '' : `>= ${goal}${ratio >= goal ? '' : '  MISSED'}`,
  }
}

/**
 * Refresh p99 at a steady rate, without and then with a scraper reading /metrics every second; and
 * bare Fastify's at the same rate, what the load generator and the machine give any server.
 */
export async function latencyUnderScrape(items: number): Promise<Row> {
  const ids = Array.from({ length: 50 }, (_, i) => `item-${i * 10}`)
  const steady = (server: Server) =>
    autocannon({
      url: server.url,
      connections: 10,
      overallRate: 1000,
      duration: SECONDS * 2,
      headers,
      requests: ids.map((id) => ({ method: 'GET' as const, path: `/refresh/${id}` })),
    })
  const bare = await startBare()
  const floor = await steady(bare)
  await bare.stop()
  const sp = await startStatuspage(benchYaml(items))
  const quiet = await steady(sp)
  // The scraper runs in a process of its own, as Prometheus does: receiving a large body in the
  // load generator's process would stall it and count as refresh latency.
  const scraper = spawn(process.execPath, ['dist/bench/scraper.js', sp.url], { stdio: ['ignore', 'pipe', 'inherit'] })
  const report = new Promise<string>((resolve) => {
    let out = ''
    scraper.stdout.on('data', (d) => (out += d))
    scraper.once('exit', () => resolve(out))
  })
  const busy = await steady(sp)
  scraper.kill('SIGTERM')
  const { scrapes, slowest } = JSON.parse(await report) as { scrapes: number; slowest: number }
  await sp.stop()
  const worst = busy.latency.p99
  return {
    what: `refresh p99 at 1,000 req/s, ${items.toLocaleString('en')} items, /metrics scraped every second`,
    statuspage: `${worst} ms with scrapes (${scrapes} scrapes, slowest ${slowest.toFixed(0)} ms)`,
    baseline: `${quiet.latency.p99} ms without; bare Fastify ${floor.latency.p99} ms`,
    ratio: '',
    goal: `<= 50 ms${worst <= 50 ? '' : '  MISSED'}`,
  }
}

async function memory(): Promise<Row> {
  const dbPath = join(mkdtempSync(join(tmpdir(), 'statuspage-bench-')), 'sp.db')
  const store = await openStore(dbPath)
  const now = Date.now()
  await Promise.all(benchScripts(10_000, now).map(({ id: _id, ...fields }) => store.createScript(fields)))
  await store.close()
  const sp = await startStatuspage(benchYaml(100_000), dbPath)
  // Every tenth id runs once (a start and its finish, a duration kept); one in three of those is
  // left running, one in seven fails.
  for (let i = 0; i < 100_000; i += 10) {
    const get = (path: string) => fetch(`${sp.url}/refresh/item-${i}${path}`, { headers }).then((r) => r.arrayBuffer())
    await get('/start')
    if (i % 30 !== 0) await get(i % 70 === 0 ? '/2' : '/0')
  }
  for (let i = 0; i < 3; i++) await (await fetch(`${sp.url}/metrics`)).arrayBuffer()
  await (await fetch(`${sp.url}/`)).arrayBuffer()
  const { rss, peak } = sp.memory()
  await sp.stop()
  return {
    what: 'memory, 100,000 items + 10,000 scripts, after runs of every tenth item and 3 scrapes',
    statuspage: `${rss.toFixed(0)} MiB resident (peak ${peak.toFixed(0)} MiB)`,
    baseline: '',
    ratio: '',
    goal: `< 300 MB${peak * 1.048576 < 300 ? '' : '  MISSED'}`,
  }
}

/** Start to /-/ready, best of 3; `checkedIn`: every item has a stored check-in (a database made once). */
async function startup(what: string, yaml: string, checkedIn: boolean): Promise<Row> {
  let dbPath: string | undefined
  if (checkedIn) {
    dbPath = join(mkdtempSync(join(tmpdir(), 'statuspage-bench-')), 'sp.db')
    const store = await openStore(dbPath)
    const ids = [...yaml.matchAll(/id: (item-\d+)/g)].map((m) => m[1]!)
    const at = Date.now()
    await Promise.all(ids.map((id) => store.recordSignal(id, { kind: 'success', at })))
    await store.close()
  }
  const times: number[] = []
  for (let run = 0; run < 3; run++) {
    const start = performance.now()
    const sp = await startStatuspage(yaml, dbPath)
    for (;;) {
      const ok = await fetch(`${sp.url}/-/ready`).then(
        (r) => r.ok,
        () => false,
      )
      if (ok) break
    }
    times.push(performance.now() - start)
    await sp.stop()
  }
  const best = Math.min(...times)
  return {
    what: `start to /-/ready, ${what} (best of 3)`,
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

/**
 * Requests that alternate a start and its finish (exit status 0), each pair with a run id of its
 * own, so that every finish closes its run and measures a duration.
 */
function runPairs(id: string): string[] {
  return Array.from({ length: 200 }, (_, i) => `/refresh/${id}/${i % 2 === 0 ? 'start' : '0'}?rid=r${i >> 1}`)
}

export async function httpBench(): Promise<Row[]> {
  return [
    await versus('GET /refresh/:id with token, persisted', '/refresh/item-0', {}, 0.9),
    await versus('GET /refresh/:id of a cron item, persisted', '/refresh/item-0', {}, 0.9, benchYaml(1000, { cron: true })),
    await versus('start + finish pairs of one item, with rids, persisted', '/refresh/item-0', { paths: runPairs('item-0') }, 0.8),
    await versus(
      'POST /refresh/:id/1 with a 10 KiB output (the run log), persisted',
      '/refresh/item-0/1',
      {
        method: 'POST',
        body: output,
        headers: { ...headers, 'content-type': 'text/plain' },
      },
      0.5,
    ),
    await versus('PUT /api/v1/script/:id (Scripto report)', '/api/v1/script/1', { method: 'PUT', body: putBody }, 0.6),
    await latencyUnderScrape(10_000),
    await latencyUnderScrape(100_000),
    await memory(),
    await startup('10,000 items', benchYaml(10_000), false),
    await startup('10,000 cron items, each with a stored check-in', benchYaml(10_000, { cron: true }), true),
  ]
}
