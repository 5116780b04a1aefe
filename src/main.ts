#!/usr/bin/env node
// CLI: flags, config, listen, signals. Nothing else.
import { BlockList, isIP } from 'node:net'
import { parseArgs } from 'node:util'
import { setFlagsFromString } from 'node:v8'
import { buildApp } from './app.js'
import { loadConfig } from './config/load.js'
import { isPostgresUrl, redactPassword } from './store/open.js'
import { VERSION } from './version.js'

const USAGE = `Usage: statuspage [options] [config.yml]

Heartbeat monitor: token-protected refreshes, Scripto script reports, /metrics and a status page.

Options:
  --host <addr>   address to listen on   (env HOST, default 0.0.0.0)
  --port <n>      port to listen on      (env PORT, default 8080)
  --db <path|url> a SQLite file, or a postgres://user:password@host:port/db URL for
                  replicas sharing PostgreSQL (env STATUSPAGE_DB, then DATABASE_URL;
                  default ./data/statuspage.db)
  --trust-proxy <proxies>
                  believe X-Forwarded-For from these proxies (env TRUST_PROXY, default off):
                  addresses and CIDRs, comma separated (also loopback, linklocal,
                  uniquelocal), or true to believe any peer
  -V, --version   print the version and exit
  -h, --help      show this help

Environment: LOG_LEVEL (default info), LOG_REQUESTS=1 to log every request, LOG_FORMAT=raw
for pino's numeric levels and times (default: level names and ISO 8601 times).
Signals: SIGHUP reloads the config file; SIGTERM and SIGINT stop gracefully.
Exit codes: 0 stopped, 1 could not start, 2 bad command line or config.
`

/**
 * Log lines an operator reads as they are: the level's name and the time in ISO 8601 (UTC), as
 * pino's `formatters` and `timestamp` options allow. LOG_FORMAT=raw keeps pino's numbers.
 */
const READABLE_LOG = {
  formatters: { level: (label: string) => ({ level: label }) },
  timestamp: () => `,"time":"${new Date().toISOString()}"`,
}

function fail(code: number, lines: readonly string[]): never {
  for (const line of lines) process.stderr.write(`${line}\n`)
  process.exit(code)
}

function parseCli(argv: string[]) {
  const parse = () => {
    try {
      return parseArgs({
        args: argv,
        allowPositionals: true,
        options: {
          host: { type: 'string' },
          port: { type: 'string' },
          db: { type: 'string' },
          'trust-proxy': { type: 'string' },
          help: { type: 'boolean', short: 'h' },
          version: { type: 'boolean', short: 'V' },
        },
      })
    } catch (err) {
      fail(2, [`statuspage: ${(err as Error).message}`, 'Run statuspage --help for usage.'])
    }
  }
  const { values, positionals } = parse()
  if (values.help) {
    process.stdout.write(USAGE)
    process.exit(0)
  }
  if (values.version) {
    process.stdout.write(`statuspage ${VERSION} (Node ${process.versions.node})\n`)
    process.exit(0)
  }
  if (positionals.length > 1) fail(2, [`statuspage: one config file expected, got ${positionals.length}`])
  const portText = values.port ?? process.env.PORT ?? '8080'
  const port = Number(portText)
  if (!/^\d+$/.test(portText) || port > 65535) fail(2, [`statuspage: --port: must be a number from 0 to 65535, got '${portText}'`])
  return {
    configPath: positionals[0] ?? 'config.yml',
    host: values.host ?? process.env.HOST ?? '0.0.0.0',
    port,
    database: databaseOf(values.db),
    trustProxy: parseTrustProxy(values['trust-proxy'] ?? process.env.TRUST_PROXY ?? 'false'),
  }
}

/**
 * The database: --db, else STATUSPAGE_DB, else DATABASE_URL (which platforms set for
 * PostgreSQL, and which must then be one), else the default file.
 */
function databaseOf(flag: string | undefined): string {
  const explicit = flag ?? process.env.STATUSPAGE_DB
  if (explicit !== undefined && explicit !== '') return explicit
  const url = process.env.DATABASE_URL
  if (url === undefined || url === '') return './data/statuspage.db'
  if (!isPostgresUrl(url)) fail(2, [`statuspage: DATABASE_URL: must be a postgres:// URL, got '${redactPassword(url)}' (give a SQLite file with --db)`])
  return url
}

const PROXY_NAMES = new Set(['loopback', 'linklocal', 'uniquelocal'])

/**
 * Fastify's trustProxy from its text: true/false, or a list of addresses and CIDRs. Not a hop
 * count: Fastify ignores X-Forwarded-For under one, since it cannot tell a proxy from a client.
 */
function parseTrustProxy(text: string): boolean | string {
  if (/^(true|false)$/i.test(text)) return text.toLowerCase() === 'true'
  for (const entry of text.split(',').map((e) => e.trim())) {
    if (PROXY_NAMES.has(entry)) continue
    const [address = '', prefix, ...rest] = entry.split('/')
    const family = isIP(address)
    try {
      if (family === 0 || rest.length > 0 || (prefix !== undefined && !/^\d+$/.test(prefix))) throw new Error()
      if (prefix !== undefined) new BlockList().addSubnet(address, Number(prefix), family === 4 ? 'ipv4' : 'ipv6')
    } catch {
      fail(2, [
        `statuspage: --trust-proxy: '${entry}' is not an address, a CIDR, loopback, linklocal or uniquelocal (give true, false or a comma-separated list)`,
      ])
    }
  }
  return text
}

/**
 * V8 lets the old generation grow up to fourfold past what a full collection kept; the renders of
 * every item (/metrics, the page) leave their status objects behind, and at 100,000 items that
 * growth took the process to 317-338 MiB. A fifth keeps it at 256-262 MiB and costs check-ins
 * nothing measurable (bench/RESULTS.md), where 1 MB semi-spaces, the earlier way, cost them a
 * quarter. Set here, not on node's command line, so that it holds however statuspage is started,
 * and a node whose V8 has no such flag still starts (V8 prints a line and goes on).
 */
const HEAP_GROWING = '--heap-growing-percent=20'

async function main() {
  setFlagsFromString(HEAP_GROWING)
  const cli = parseCli(process.argv.slice(2))
  const loaded = loadConfig(cli.configPath)
  if (!loaded.ok) fail(2, loaded.errors)

  const app = await buildApp({
    config: loaded.config,
    database: cli.database,
    logger: { level: process.env.LOG_LEVEL ?? 'info', ...(process.env.LOG_FORMAT === 'raw' ? {} : READABLE_LOG) },
    logRequests: /^(1|true|yes)$/i.test(process.env.LOG_REQUESTS ?? ''),
    trustProxy: cli.trustProxy,
  }).catch((err: unknown) => fail(1, [`statuspage: cannot open the database ${redactPassword(cli.database)}: ${(err as Error).message}`]))
  const { log } = app

  process.on('SIGHUP', () => {
    const next = loadConfig(cli.configPath)
    if (next.ok) {
      app.monitor.reload(next.config).then(
        () => log.info({ file: cli.configPath, items: next.config.items.length }, 'config reloaded'),
        (err: unknown) => {
          app.monitor.reloadFailed()
          log.error({ file: cli.configPath, err }, 'config reload failed reading the database; the previous config stays in force')
        },
      )
    } else {
      app.monitor.reloadFailed()
      log.error({ file: cli.configPath, errors: next.errors }, 'config reload refused; the previous config stays in force')
    }
  })
  let stopping = false
  const stop = (signal: string) => {
    if (stopping) return
    stopping = true
    log.info({ signal }, 'shutting down')
    app.connections
      .drain()
      .then(() => app.close())
      .then(
        () => process.exit(0),
        (err: unknown) => {
          log.error({ err }, 'shutdown failed')
          process.exit(1)
        },
      )
  }
  process.on('SIGTERM', () => stop('SIGTERM'))
  process.on('SIGINT', () => stop('SIGINT'))

  try {
    await app.listen({ host: cli.host, port: cli.port })
  } catch (err) {
    fail(1, [`statuspage: cannot listen on ${cli.host}:${cli.port}: ${(err as Error).message}`])
  }
  log.info({ version: VERSION, config: cli.configPath, db: redactPassword(cli.database), items: loaded.config.items.length }, 'statuspage started')
}

await main()
