// A real Prometheus server (Debian's package) scraping statuspage on loopback, for integration tests.
import { spawn } from 'node:child_process'
import { once } from 'node:events'
import { writeFileSync } from 'node:fs'
import { createServer } from 'node:net'
import { join } from 'node:path'
import type { Test } from 'tap'

/** A port that was free a moment ago: another process may take it before it is bound (see startOnFreePort). */
async function freePort(): Promise<number> {
  const server = createServer().listen(0, '127.0.0.1')
  await once(server, 'listening')
  const { port } = server.address() as { port: number }
  server.close()
  await once(server, 'close')
  return port
}

export interface Sample {
  metric: Record<string, string>
  value: [number, string]
}

export interface RunningPrometheus {
  url: string
  /** An instant query; throws with Prometheus's own error text when the expression is bad. */
  query(expr: string): Promise<Sample[]>
  /** Polls `query(expr)` until `done` accepts the result. */
  waitFor(expr: string, done: (r: Sample[]) => boolean, timeoutMs?: number): Promise<Sample[]>
}

/**
 * Starts `binary` on a free loopback port, retrying when another process takes the port between
 * the look-up and the bind; resolves once the server that answers `readyPath` is this one.
 * `args(port)` gives its command line; `isOurs(url)` tells it from anything else on that port.
 */
export async function startOnFreePort(
  t: Test,
  binary: string,
  args: (port: number) => string[],
  readyPath: string,
  isOurs: (url: string) => Promise<boolean>,
): Promise<string> {
  for (let attempt = 1; ; attempt++) {
    const port = await freePort()
    let log = ''
    const child = spawn(binary, args(port), { stdio: ['ignore', 'pipe', 'pipe'] })
    child.stdout.on('data', (d) => (log += d))
    child.stderr.on('data', (d) => (log += d))
    t.teardown(async () => {
      if (child.exitCode === null && child.signalCode === null) {
        child.kill('SIGKILL')
        await once(child, 'exit')
      }
    })
    const url = `http://127.0.0.1:${port}`
    const deadline = Date.now() + 30_000
    for (;;) {
      if (child.exitCode !== null) break
      const ready = await fetch(`${url}${readyPath}`).then(
        (r) => r.ok,
        () => false,
      )
      if (ready && (await isOurs(url))) return url
      if (Date.now() > deadline) throw new Error(`${binary} not ready after 30 s:\n${log}`)
      await new Promise((r) => setTimeout(r, 100))
    }
    if (!/address already in use/i.test(log) || attempt === 5) throw new Error(`${binary} exited with ${child.exitCode}:\n${log}`)
  }
}

/**
 * Starts Prometheus scraping `target` (host:port) every second; stopped when the test ends.
 * `extraConfig` is appended to its config file (top-level keys), `extraArgs` to its command line.
 */
export async function startPrometheus(t: Test, binary: string, target: string, extraConfig = '', extraArgs: string[] = []): Promise<RunningPrometheus> {
  const dir = t.testdir()
  writeFileSync(
    join(dir, 'prometheus.yml'),
    `global:\n  scrape_interval: 1s\n  evaluation_interval: 1s\nscrape_configs:\n  - job_name: statuspage\n    static_configs:\n      - targets: ['${target}']\n${extraConfig}`,
  )
  const tsdb = join(dir, 'data')
  const url = await startOnFreePort(
    t,
    binary,
    (port) => [`--config.file=${join(dir, 'prometheus.yml')}`, `--storage.tsdb.path=${tsdb}`, `--web.listen-address=127.0.0.1:${port}`, ...extraArgs],
    '/-/ready',
    async (url) => {
      const flags = (await (await fetch(`${url}/api/v1/status/flags`)).json()) as { data: Record<string, string> }
      return flags.data['storage.tsdb.path'] === tsdb
    },
  )
  const query = async (expr: string) => {
    const res = await fetch(`${url}/api/v1/query?${new URLSearchParams({ query: expr })}`)
    const body = (await res.json()) as { status: string; error?: string; data: { resultType: string; result: Sample[] } }
    if (body.status !== 'success') throw new Error(`${expr}: ${body.error}`)
    return body.data.resultType === 'vector' ? body.data.result : []
  }
  const waitFor = async (expr: string, done: (r: Sample[]) => boolean, timeoutMs = 30_000) => {
    const until = Date.now() + timeoutMs
    for (;;) {
      const result = await query(expr)
      if (done(result)) return result
      if (Date.now() > until) throw new Error(`${expr}: still ${JSON.stringify(result)} after ${timeoutMs} ms`)
      await new Promise((r) => setTimeout(r, 250))
    }
  }
  return { url, query, waitFor }
}
