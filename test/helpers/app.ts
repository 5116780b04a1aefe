// Test helpers: configs from YAML text, and a fresh app on a temporary database with a fixed clock.
import { join } from 'node:path'
import { Writable } from 'node:stream'
import type { Test } from 'tap'
import { buildApp, type AppOptions } from '../../src/app.js'
import { parseConfig, type Config } from '../../src/config/load.js'

export const TOKEN = 'test-token-0123456789abcdef0123456789abcdef'
export const T0 = Date.UTC(2026, 0, 15, 12, 0, 0)

/** The run fields that items and scripts show, in order, after their own. */
export const RUN_KEYS = [
  'reason',
  'max_runtime',
  'min_runtime',
  'failure_threshold',
  'recovery_threshold',
  'last_start',
  'last_duration',
  'consecutive_failures',
  'last_failure',
  'paused_since',
  'manual_resume',
  'maintenance',
] as const

/** The run fields of a check that has never started a run nor failed, under the default limits, never paused, with no windows. */
export const NO_RUN_VIEW = {
  max_runtime: null,
  min_runtime: null,
  failure_threshold: 1,
  recovery_threshold: 1,
  last_start: null,
  last_duration: null,
  consecutive_failures: 0,
  last_failure: null,
  paused_since: null,
  manual_resume: false,
  maintenance: null,
} as const

/** The seed README's example groups. */
export const SEED_GROUPS = `
    SomeGroup:
      - name: HTTP/HTTPS
        id: http
      - name: DNS
        id: dns
      - name: SMTP/IMAP
        id: mail
        interval: 60
    "Group #2":
      - name: HTTP/HTTPS
        id: http
      - name: Internal DNS
        id: dns-internal
`

export function yamlConfig({ groups = SEED_GROUPS, extra = '', top = '' } = {}): string {
  return `statuspage:\n  title: Test\n  token: ${TOKEN}\n${extra}  groups:${groups}${top}`
}

export function config(text = yamlConfig()): Config {
  const result = parseConfig(text, 'config.yml')
  if (!result.ok) throw new Error(result.errors.join('\n'))
  return result.config
}

export class FakeClock {
  constructor(public t = T0) {}
  now = () => this.t
  advance(seconds: number) {
    this.t += seconds * 1000
  }
}

/** Collects the app's log lines, as written. */
export function logSink() {
  const lines: string[] = []
  const stream = new Writable({
    write(chunk, _enc, done) {
      lines.push(...String(chunk).split('\n').filter(Boolean))
      done()
    },
  })
  return { lines, logger: { level: 'debug', stream } }
}

export interface TestAppOptions {
  config?: Config
  clock?: FakeClock
  dbPath?: string
  logger?: ReturnType<typeof logSink>['logger']
  logRequests?: boolean
  trustProxy?: AppOptions['trustProxy']
  /** Off unless asked for: most tests scrape right after the change they check. */
  metricsCacheMs?: number
  retentionMs?: number
  flipSweepMs?: number
  requestTimeoutMs?: number
  maxPages?: number
}

/** A fresh app on a temporary database, closed when the test ends. */
export async function testApp(t: Test, opts: TestAppOptions = {}) {
  const clock = opts.clock ?? new FakeClock()
  const dbPath = opts.dbPath ?? join(t.testdir(), 'statuspage.db')
  const app = await buildApp({
    config: opts.config ?? config(),
    database: dbPath,
    now: clock.now,
    logger: opts.logger ?? false,
    logRequests: opts.logRequests ?? false,
    trustProxy: opts.trustProxy ?? false,
    metricsCacheMs: opts.metricsCacheMs ?? 0,
    retentionMs: opts.retentionMs,
    flipSweepMs: opts.flipSweepMs,
    requestTimeoutMs: opts.requestTimeoutMs,
    maxPages: opts.maxPages,
  })
  t.teardown(() => app.close())
  return { app, clock, dbPath }
}

export const auth = { 'x-token': TOKEN }

/** Runs the rest of the test with the server's time zone set to `tz`; restored when the test ends. */
export function inZone(t: Test, tz: string): void {
  const saved = process.env.TZ
  t.teardown(() => {
    if (saved === undefined) delete process.env.TZ
    else process.env.TZ = saved
  })
  process.env.TZ = tz
}
