// Flips at scale, in process (the server) with the load in processes of their own: the evaluator's
// cost at rest with 100,000 checks, and check-in latency while all of them go late at once and
// their flips are recorded.
import { execFile, spawn } from 'node:child_process'
import { createWriteStream, mkdtempSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { setTimeout as sleep } from 'node:timers/promises'
import { promisify } from 'node:util'
import { buildApp } from '../src/app.js'
import type { FlipState } from '../src/domain/flip.js'
import { openStore } from '../src/store/open.js'
import { benchConfig } from './fixtures.js'
import { SECONDS } from './http.js'
import { median, type Row } from './table.js'

const run = promisify(execFile)

/** p99 (ms) of refreshes of `ids` at 1,000 req/s for `seconds`, from a process of its own (steady.ts). */
async function steady(url: string, ids: readonly string[], seconds: number): Promise<number> {
  const child = spawn(process.execPath, ['dist/bench/steady.js', url, String(seconds), ids.join(',')], { stdio: ['ignore', 'pipe', 'inherit'] })
  let out = ''
  child.stdout.on('data', (d) => (out += d))
  const code = await new Promise((resolve) => child.once('exit', resolve))
  if (code !== 0) throw new Error(`steady load exited with ${code}`)
  return (JSON.parse(out) as { p99: number }).p99
}

/** GET / at `count` checks, each with five flips in the last 24 h (a strip of five segments), in process. */
async function pageWithStrips(count: number): Promise<Row> {
  const database = join(mkdtempSync(join(tmpdir(), 'statuspage-bench-')), 'sp.db')
  const config = benchConfig(count)
  const ids = [...config.itemsById.keys()]
  const now = Date.now()
  const store = await openStore(database)
  await Promise.all(ids.map((id) => store.recordSignal(id, { kind: 'success', at: now - 60_000 })))
  const day: [number, FlipState, FlipState][] = [
    [23, 'never', 'up'],
    [20, 'up', 'late'],
    [19, 'late', 'up'],
    [5, 'up', 'failed'],
    [4, 'failed', 'up'],
  ]
  for (let i = 0; i < ids.length; i += 200) {
    await store.recordFlips(
      ids.slice(i, i + 200).flatMap((key) => day.map(([h, from, to], k) => ({ key, seq: k + 1, at: now - h * 3_600_000, from, to, reason: null }))),
    )
  }
  await store.close()
  const app = await buildApp({ config, database, logger: false })
  const url = await app.listen({ host: '127.0.0.1', port: 0 })
  // curl, a process of its own, reads the page as a browser would: over a socket, whole.
  const times: number[] = []
  let bytes = 0
  for (let i = 0; i < 11; i++) {
    const { stdout } = await run('curl', ['-sf', '-o', '/dev/null', '-w', '%{time_total} %{size_download}', `${url}/`])
    const [seconds, size] = stdout.split(' ').map(Number) as [number, number]
    if (i > 0) times.push(seconds * 1000)
    bytes = size
  }
  const body = (await app.inject({ url: '/' })).body
  if (!body.includes('<svg class="strip"')) throw new Error('page: no history strip')
  await app.close()
  const ms = median(times)
  return {
    what: `GET / at ${count.toLocaleString('en')} checks, each with a 24 h strip of 5 flips (curl, median of 10)`,
    statuspage: `${ms.toFixed(0)} ms (${(bytes / 2 ** 20).toFixed(1)} MiB)`,
    baseline: '',
    ratio: '',
    goal: `< 150 ms${ms < 150 ? '' : '  MISSED'}`,
  }
}

export async function flipsBench(count = 100_000): Promise<Row[]> {
  const page = await pageWithStrips(10_000)
  const database = join(mkdtempSync(join(tmpdir(), 'statuspage-bench-')), 'sp.db')
  const config = benchConfig(count)
  const ids = [...config.itemsById.keys()]
  const t0 = Date.now()
  // At rest: every check checked in just now, and its first flip (up) recorded.
  const store = await openStore(database)
  await Promise.all(ids.map((id) => store.recordSignal(id, { kind: 'success', at: t0 })))
  for (let i = 0; i < ids.length; i += 1000) {
    await store.recordFlips(ids.slice(i, i + 1000).map((id) => ({ key: id, seq: 1, at: t0, from: 'never' as const, to: 'up' as const, reason: null })))
  }
  await store.close()

  let offset = 0
  let flipped = 0
  // Each flip is a log line, as in production.
  const open = (evaluateMs?: number) =>
    buildApp({ config, database, now: () => Date.now() + offset, evaluateMs, logger: { level: 'info', stream: createWriteStream('/dev/null') } })
  /** The process's CPU over 10 s with nothing to do, in % of one core. */
  const atRest = async () => {
    await sleep(3000)
    const cpu = process.cpuUsage()
    const wall = performance.now()
    await sleep(10_000)
    const used = process.cpuUsage(cpu)
    return ((used.user + used.system) / 1000 / (performance.now() - wall)) * 100
  }
  // The same instance without the evaluator's timer: what the rest of it costs at rest.
  const without = await open(2 ** 31 - 1)
  await without.ready()
  const idle = await atRest()
  await without.close()

  const app = await open()
  app.monitor.onFlip(() => flipped++)
  const url = await app.listen({ host: '127.0.0.1', port: 0 })
  const share = await atRest()
  const ticks: number[] = []
  for (let i = 0; i < 5; i++) {
    const start = performance.now()
    await app.monitor.evaluate()
    ticks.push(performance.now() - start)
  }

  const loaded = ids.slice(0, 50)
  const quiet = await steady(url, loaded, SECONDS * 2)
  flipped = 0
  const stormed = performance.now()
  // Two hours on: every check is late, and the next tick records a flip for each.
  offset = 2 * 3_600_000
  const busy = await steady(url, loaded, SECONDS * 2)
  while (flipped < ids.length - loaded.length) await sleep(50)
  const recordedIn = (performance.now() - stormed) / 1000
  await app.close()
  const n = count.toLocaleString('en')
  return [
    page,
    {
      what: `evaluator at rest, ${n} checks (a tick a second), CPU of one core over 10 s`,
      statuspage: `${(share - idle).toFixed(2)}% more (a tick at rest: ${median(ticks).toFixed(2)} ms)`,
      baseline: `${idle.toFixed(2)}% without the timer, ${share.toFixed(2)}% with`,
      ratio: '',
      goal: `< 1%${share - idle < 1 ? '' : '  MISSED'}`,
    },
    {
      what: `refresh p99 at 1,000 req/s while ${n} checks go late at once`,
      statuspage: `${busy} ms (${flipped.toLocaleString('en')} flips recorded and logged in ${recordedIn.toFixed(1)} s)`,
      baseline: `${quiet} ms before`,
      ratio: '',
      goal: `<= 50 ms${busy <= 50 ? '' : '  MISSED'}`,
    },
  ]
}
