// The PostgreSQL store on a throwaway local cluster: refresh throughput against bare Fastify, two
// replicas loaded at once, and how soon one replica shows a check-in that the other acknowledged.
import autocannon from 'autocannon'
import { benchYaml } from './fixtures.js'
import { headers, SECONDS, versus, versusServer } from './http.js'
import { load } from './load.js'
import { postgresBin, startCluster, type Cluster } from './pg-cluster.js'
import { START_FLAGS, startBare, startPgFloor, startStatuspage, type Server } from './servers.js'
import { median, type Row } from './table.js'

const ROUNDS = 3

/** Refreshes spread over 100 ids: a batch then writes a row per id, as a fleet's check-ins do. */
const spreadPaths = Array.from({ length: 100 }, (_, i) => `/refresh/item-${i * 10}`)
/** The same, for autocannon at a fixed rate. */
const spread: autocannon.Request[] = spreadPaths.map((path) => ({ method: 'GET', path }))

/** Two replicas on one database, each loaded by half the connections at once, against bare Fastify with all of them. */
async function twoReplicas(cluster: Cluster): Promise<Row> {
  const database = await cluster.createDatabase()
  const yaml = benchYaml(1000)
  const bare = await startBare()
  const a = await startStatuspage(yaml, database)
  const b = await startStatuspage(yaml, database)
  const run = (server: Server, connections: number, seconds = SECONDS) =>
    load(server.url, { connections, seconds, headers, paths: spreadPaths }).then((r) => r.rps)
  await Promise.all([run(bare, 32, 1), run(a, 16, 1), run(b, 16, 1)])
  const bareRuns: number[] = []
  const pairRuns: number[] = []
  for (let round = 0; round < ROUNDS; round++) {
    bareRuns.push(await run(bare, 32))
    const [ra, rb] = await Promise.all([run(a, 16), run(b, 16)])
    pairRuns.push(ra + rb)
  }
  await Promise.all([bare.stop(), a.stop(), b.stop()])
  const ratio = median(pairRuns) / median(bareRuns)
  return {
    what: 'two replicas on one PostgreSQL, 16 connections each, 100 ids: combined rate',
    statuspage: `${Math.round(median(pairRuns)).toLocaleString('en')} req/s`,
    baseline: `${Math.round(median(bareRuns)).toLocaleString('en')} req/s bare Fastify (32 connections)`,
    ratio: `${ratio.toFixed(2)} (rounds ${pairRuns.map((r, i) => (r / bareRuns[i]!).toFixed(2)).join(', ')})`,
    goal: `>= 0.5${ratio >= 0.5 ? '' : '  MISSED'}`,
  }
}

/**
 * The floor (bench/pg-floor-server.ts: bare Fastify whose requests wait for one single-row UPDATE
 * per batch) against bare Fastify, with npm start's node flags and with node's defaults: what no
 * store that acknowledges after a PostgreSQL commit can beat on this machine.
 */
async function floor(cluster: Cluster): Promise<Row[]> {
  const rows: Row[] = []
  for (const [flags, which] of [
    [START_FLAGS, "npm start's node flags"],
    [[], "node's default flags"],
  ] as const) {
    const database = await cluster.createDatabase()
    rows.push(
      await versusServer(`floor: bare Fastify + one single-row UPDATE per batch, ${which}`, '/refresh/item-0', {}, undefined, () =>
        startPgFloor(database, flags),
      ),
    )
  }
  return rows
}

/** A refresh through the PostgreSQL store against the floor, both with npm start's node flags, in alternating rounds. */
async function againstFloor(cluster: Cluster): Promise<Row> {
  const floorDb = await cluster.createDatabase()
  const database = await cluster.createDatabase()
  return versusServer(
    'GET /refresh/:id, PostgreSQL store (one id), against the floor',
    '/refresh/item-0',
    {},
    0.8,
    () => startStatuspage(benchYaml(1000), database),
    { start: () => startPgFloor(floorDb, START_FLAGS), name: 'the floor (one UPDATE per batch)' },
  )
}

const quantile = (sorted: readonly number[], q: number) => sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))]!

/**
 * From replica A's answer to a check-in until replica B's badge of that item changes, for items
 * never checked in before; idle, then while A takes a steady load of other check-ins.
 */
async function convergence(cluster: Cluster): Promise<Row[]> {
  const database = await cluster.createDatabase()
  const a = await startStatuspage(benchYaml(1000), database)
  const b = await startStatuspage(benchYaml(1000), database)
  // Items item-1 ... item-8 of each ten are checked in nowhere else (the load goes to item-0 of each).
  const fresh = Array.from({ length: 1000 }, (_, i) => i).filter((i) => i % 10 !== 0 && i % 10 !== 9)
  const measure = async (ids: readonly number[]) => {
    const times: number[] = []
    for (const i of ids) {
      const badge = `${b.url}/badge/item-${i}.svg`
      const before = await (await fetch(badge)).text()
      const res = await fetch(`${a.url}/refresh/item-${i}`, { headers })
      if (!res.ok) throw new Error(`refresh: ${res.status}`)
      const acked = performance.now()
      while ((await (await fetch(badge)).text()) === before) {
        if (performance.now() - acked > 5000) throw new Error(`item-${i} did not show on B within 5 s`)
      }
      times.push(performance.now() - acked)
    }
    return times.sort((x, y) => x - y)
  }
  const row = (what: string, times: readonly number[]): Row => {
    const p99 = quantile(times, 0.99)
    return {
      what,
      statuspage: `median ${quantile(times, 0.5).toFixed(1)} ms, p99 ${p99.toFixed(1)} ms, max ${times.at(-1)!.toFixed(1)} ms (${times.length} check-ins)`,
      baseline: '',
      ratio: '',
      goal: `<= 2000 ms${p99 <= 2000 ? '' : '  MISSED'}`,
    }
  }
  const idle = await measure(fresh.slice(0, 200))
  // Longer than the measure takes; its promise settles when it ends.
  const load = autocannon({ url: a.url, connections: 10, overallRate: 1000, duration: 20, headers, requests: spread })
  const busy = await measure(fresh.slice(200, 400))
  await load
  await Promise.all([a.stop(), b.stop()])
  return [
    row('convergence: A acknowledges a check-in, B shows it (badge), idle', idle),
    row('convergence, while A takes 1,000 check-ins/s of other items', busy),
  ]
}

const progress = (what: string) => process.stderr.write(`postgres: ${what}\n`)

export async function postgresBench(): Promise<Row[]> {
  const bin = postgresBin()
  if (bin === undefined) {
    return [
      { what: 'PostgreSQL store', statuspage: 'not measured: PostgreSQL not found (apt-get install postgresql, or PG_BIN)', baseline: '', ratio: '', goal: '' },
    ]
  }
  const cluster = startCluster(bin)
  try {
    progress('refresh throughput')
    return [
      await versus('GET /refresh/:id, PostgreSQL store (one id)', '/refresh/item-0', {}, 0.5, benchYaml(1000), await cluster.createDatabase()),
      await versus(
        'GET /refresh/:id, PostgreSQL store (100 ids)',
        '/refresh/item-0',
        { paths: spreadPaths },
        0.5,
        benchYaml(1000),
        await cluster.createDatabase(),
      ),
      ...(await floor(cluster)),
      await againstFloor(cluster),
      await twoReplicas(cluster),
      ...(await convergence(cluster)),
    ]
  } finally {
    cluster.destroy()
  }
}
