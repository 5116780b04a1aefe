// Child-process servers for the HTTP benchmarks: the load generator keeps the bench process.
import { spawn, type ChildProcess } from 'node:child_process'
import { once } from 'node:events'
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { createInterface } from 'node:readline'

export interface Server {
  url: string
  child: ChildProcess
  /** Resident set size now, and its peak, in MiB (Linux /proc). */
  memory(): { rss: number; peak: number }
  stop(): Promise<void>
}

const memoryOf = (pid: number) => {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8')
  const kib = (key: string) => Number(new RegExp(`^${key}:\\s+(\\d+) kB`, 'm').exec(status)?.[1] ?? NaN) / 1024
  return { rss: kib('VmRSS'), peak: kib('VmHWM') }
}

async function started(child: ChildProcess, readUrl: (line: string) => string | undefined): Promise<Server> {
  const lines = createInterface({ input: child.stdout! })
  const url = await new Promise<string>((resolve, reject) => {
    lines.on('line', (line) => {
      const found = readUrl(line)
      if (found) resolve(found)
    })
    child.once('exit', (code) => reject(new Error(`server exited with ${code}`)))
  })
  lines.removeAllListeners('line')
  child.stdout!.resume()
  return {
    url,
    child,
    memory: () => memoryOf(child.pid!),
    async stop() {
      child.kill('SIGTERM')
      if (child.exitCode === null) await once(child, 'exit')
    },
  }
}

export function startBare(): Promise<Server> {
  const child = spawn(process.execPath, ['dist/bench/bare-server.js'], { stdio: ['ignore', 'pipe', 'inherit'] })
  return started(child, (line) => (/^\d+$/.test(line) ? `http://127.0.0.1:${line}` : undefined))
}

/** bench/pg-floor-server.ts on the database at `url`, with node's `flags`. */
export function startPgFloor(url: string, flags: readonly string[]): Promise<Server> {
  const child = spawn(process.execPath, [...flags, 'dist/bench/pg-floor-server.js', url], { stdio: ['ignore', 'pipe', 'inherit'] })
  return started(child, (line) => (/^\d+$/.test(line) ? `http://127.0.0.1:${line}` : undefined))
}

/** The node flags of `npm start`, so that the benchmarks measure the service as it is run. */
export const START_FLAGS = (JSON.parse(readFileSync('package.json', 'utf8')) as { scripts: { start: string } }).scripts.start
  .split(' ')
  .filter((word) => word.startsWith('--'))

/** The real CLI, with npm start's node flags, on a config of its own and a fresh database (or `dbPath`). */
export function startStatuspage(configYaml: string, dbPath?: string): Promise<Server> {
  const dir = mkdtempSync(join(tmpdir(), 'statuspage-bench-'))
  writeFileSync(join(dir, 'config.yml'), configYaml)
  const child = spawn(
    process.execPath,
    [...START_FLAGS, 'dist/src/main.js', '--host', '127.0.0.1', '--port', '0', '--db', dbPath ?? join(dir, 'sp.db'), join(dir, 'config.yml')],
    {
      stdio: ['ignore', 'pipe', 'inherit'],
    },
  )
  return started(child, (line) => /"msg":"Server listening at (http:\/\/127\.0\.0\.1:\d+)"/.exec(line)?.[1])
}
