// Starts the real CLI (the built dist/src/main.js) as a child process on a free loopback port.
import { execFile, spawn, type ChildProcess } from 'node:child_process'
import { once } from 'node:events'
import { createInterface } from 'node:readline'
import { join } from 'node:path'
import { promisify } from 'node:util'
import type { Test } from 'tap'
import { TOKEN, yamlConfig } from './app.js'

export const MAIN = 'dist/src/main.js'

export interface RunningCli {
  child: ChildProcess
  url: string
  /** Every JSON log line so far. */
  logs: Record<string, unknown>[]
  /** Resolves with the first log line (past or future) that matches. */
  waitForLog(match: (line: Record<string, unknown>) => boolean, timeoutMs?: number): Promise<Record<string, unknown>>
}

export async function startCli(t: Test, args: string[], env: NodeJS.ProcessEnv = {}): Promise<RunningCli> {
  const child = spawn(process.execPath, [MAIN, '--host', '127.0.0.1', '--port', '0', ...args], {
    env: { ...process.env, ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  })
  t.teardown(async () => {
    if (child.exitCode === null && child.signalCode === null) {
      child.kill('SIGKILL')
      await once(child, 'exit')
    }
  })
  const logs: Record<string, unknown>[] = []
  const waiters: { match: (l: Record<string, unknown>) => boolean; resolve: (l: Record<string, unknown>) => void }[] = []
  let stderr = ''
  child.stderr!.on('data', (d) => (stderr += d))
  createInterface({ input: child.stdout! }).on('line', (text) => {
    const line = JSON.parse(text) as Record<string, unknown>
    logs.push(line)
    for (const w of waiters.filter((w) => w.match(line))) {
      waiters.splice(waiters.indexOf(w), 1)
      w.resolve(line)
    }
  })
  const waitForLog = (match: (l: Record<string, unknown>) => boolean, timeoutMs = 15_000) =>
    new Promise<Record<string, unknown>>((resolve, reject) => {
      const seen = logs.find(match)
      if (seen) return resolve(seen)
      const timer = setTimeout(() => reject(new Error(`no such log line within ${timeoutMs} ms; stderr: ${stderr}`)), timeoutMs)
      waiters.push({
        match,
        resolve: (l) => {
          clearTimeout(timer)
          resolve(l)
        },
      })
      child.once('exit', (code) => reject(new Error(`statuspage exited with ${code}; stderr: ${stderr}`)))
    })
  const listening = await waitForLog((l) => typeof l.msg === 'string' && l.msg.startsWith('Server listening at http://127.0.0.1:'))
  const url = String(listening.msg).replace('Server listening at ', '')
  await waitForLog((l) => l.msg === 'statuspage started')
  return { child, url, logs, waitForLog }
}

/**
 * The real CLI on a config of the test's (the seed README's groups by default), with shortcuts to
 * refresh and to report scripts with the token.
 */
export async function startService(t: Test, configYaml = yamlConfig()) {
  const dir = t.testdir({ 'config.yml': configYaml })
  const cli = await startCli(t, ['--db', join(dir, 'sp.db'), join(dir, 'config.yml')])
  const headers = { 'x-token': TOKEN, 'content-type': 'application/json' }
  return {
    ...cli,
    refresh: (id: string) => fetch(`${cli.url}/refresh/${id}`, { headers }),
    report: (script: object) => fetch(`${cli.url}/api/v1/script`, { method: 'POST', headers, body: JSON.stringify(script) }),
  }
}

/**
 * Runs the CLI to its exit; for start-up failures and --help. `obeyFileModes`: as root, without the
 * capabilities that let root read and write any file (setpriv), so that a file's mode applies as it
 * does to any other user, wherever the clone is (another user could not reach one under /root).
 */
export async function runCli(args: string[], { obeyFileModes = false } = {}): Promise<{ code: number | null; stdout: string; stderr: string }> {
  const dropCaps = obeyFileModes && process.getuid?.() === 0
  const child = dropCaps
    ? spawn('setpriv', ['--inh-caps=-dac_override,-dac_read_search', '--bounding-set=-dac_override,-dac_read_search', '--', process.execPath, MAIN, ...args], {
        stdio: ['ignore', 'pipe', 'pipe'],
      })
    : spawn(process.execPath, [MAIN, ...args], { stdio: ['ignore', 'pipe', 'pipe'] })
  let stdout = ''
  let stderr = ''
  child.stdout.on('data', (d) => (stdout += d))
  child.stderr.on('data', (d) => (stderr += d))
  const [code] = (await once(child, 'exit')) as [number | null]
  return { code, stdout, stderr }
}

const run = promisify(execFile)

/** Runs a client program (curl, sh, python3) to its exit: its exit code and what it printed. */
export async function exec(file: string, args: string[], env: NodeJS.ProcessEnv = {}): Promise<{ code: number; stdout: string; stderr: string }> {
  try {
    const { stdout, stderr } = await run(file, args, { env: { ...process.env, ...env } })
    return { code: 0, stdout, stderr }
  } catch (err) {
    const e = err as { code: number; stdout: string; stderr: string }
    return { code: e.code, stdout: e.stdout, stderr: e.stderr }
  }
}
