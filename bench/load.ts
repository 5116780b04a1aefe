// The load generator for throughput rows: wrk where it is installed (Debian's package; .ci/run
// installs it), autocannon otherwise. On a 2-core machine autocannon takes most of a core itself,
// so its ratios to bare Fastify come out distorted; wrk (one thread) is far lighter. Rows at a fixed
// rate (latency under scrapes, convergence) keep autocannon: wrk has no fixed-rate mode, and at
// 1,000 req/s autocannon's own cost does not matter.
import { spawn, spawnSync } from 'node:child_process'
import { mkdtempSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import autocannon from 'autocannon'

export interface Load {
  connections: number
  seconds: number
  method?: 'GET' | 'POST' | 'PUT'
  headers: Record<string, string>
  body?: string
  /** Requested in turn (one path: every request). */
  paths: readonly string[]
}

export interface LoadResult {
  rps: number
  /** ms */
  p99: number
}

const wrkInstalled = spawnSync('wrk', ['--version']).error === undefined

/** Which generator the throughput rows use, for the report's heading. */
export const generator = wrkInstalled ? 'wrk (1 thread)' : 'autocannon (wrk is not installed: apt-get install wrk)'

export function load(url: string, options: Load): Promise<LoadResult> {
  return wrkInstalled ? wrk(url, options) : cannon(url, options)
}

async function cannon(url: string, { connections, seconds, method = 'GET', headers, body, paths }: Load): Promise<LoadResult> {
  const result = await autocannon({
    url: paths.length === 1 ? `${url}${paths[0]}` : url,
    connections,
    duration: seconds,
    headers,
    ...(paths.length === 1 ? { method, body } : { requests: paths.map((path) => ({ method, path, body })) }),
  })
  if (result.non2xx > 0 || result.errors > 0) throw new Error(`${paths[0]}: ${result.non2xx} non-2xx, ${result.errors} errors`)
  return { rps: result.requests.average, p99: result.latency.p99 }
}

/** A Lua string literal of any text: a long bracket with a level that the text does not close. */
function luaString(text: string): string {
  let level = ''
  while (text.includes(`]${level}]`)) level += '='
  // A newline right after the opening bracket is dropped by Lua: one is added for it.
  return `[${level}[\n${text}]${level}]`
}

/**
 * wrk's request script: the method, headers and body, and the paths in turn. A response that is
 * not 2xx is counted by wrk ("Non-2xx or 3xx responses"), and fails the row as autocannon's do.
 */
function script({ method = 'GET', headers, body, paths }: Load): string {
  return [
    `wrk.method = "${method}"`,
    ...Object.entries(headers).map(([name, value]) => `wrk.headers[ ${luaString(name)} ] = ${luaString(value)}`),
    body === undefined ? '' : `wrk.body = ${luaString(body)}`,
    `local paths = { ${paths.map(luaString).join(', ')} }`,
    'local i = 0',
    'request = function()',
    '  i = i % #paths + 1',
    '  return wrk.format(nil, paths[i])',
    'end',
  ].join('\n')
}

const UNITS: Record<string, number> = { us: 0.001, ms: 1, s: 1000, m: 60_000 }

async function wrk(url: string, options: Load): Promise<LoadResult> {
  const file = join(mkdtempSync(join(tmpdir(), 'statuspage-wrk-')), 'load.lua')
  writeFileSync(file, script(options))
  const child = spawn('wrk', ['-t1', `-c${options.connections}`, `-d${options.seconds}s`, '--latency', '-s', file, url], {
    stdio: ['ignore', 'pipe', 'inherit'],
  })
  let out = ''
  child.stdout.on('data', (chunk) => (out += chunk))
  const code = await new Promise<number | null>((resolve) => child.once('close', resolve))
  const rps = /^Requests\/sec:\s+([\d.]+)/m.exec(out)
  const p99 = /^\s+99%\s+([\d.]+)(us|ms|s|m)$/m.exec(out)
  if (code !== 0 || rps === null || p99 === null) throw new Error(`wrk failed (exit ${code}):\n${out}`)
  const bad = /Non-2xx or 3xx responses: (\d+)/.exec(out)
  const errors = /Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)/.exec(out)
  const failures = Number(bad?.[1] ?? 0) + (errors === null ? 0 : errors.slice(1).reduce((n, e) => n + Number(e), 0))
  if (failures > 0) throw new Error(`${options.paths[0]}: ${bad?.[1] ?? 0} non-2xx, ${errors?.[0] ?? 'no socket errors'}`)
  return { rps: Number(rps[1]), p99: Number(p99[1]) * UNITS[p99[2]!]! }
}
