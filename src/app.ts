// buildApp(deps): the whole service as a Fastify instance, without listening.
import { STATUS_CODES } from 'node:http'
import type { Socket } from 'node:net'
import Fastify, { LogController, type FastifyReply, type FastifyRequest, type FastifyServerOptions } from 'fastify'
import { SHIPPED_TOKEN, TOKEN_HINT, type Config } from './config/load.js'
import { errorBody } from './errors.js'
import type { Clock } from './monitor.js'
import connections from './plugins/connections.js'
import errors from './plugins/errors.js'
import metricsPlugin from './plugins/metrics.js'
import monitor from './plugins/monitor.js'
import openapi from './plugins/openapi.js'
import retention from './plugins/retention.js'
import flips from './plugins/flips.js'
import flipRoutes from './routes/flips.js'
import logLimit from './plugins/log-limit.js'
import tokenFailures from './plugins/token-failures.js'
import validation from './plugins/validation.js'
import checks from './routes/checks.js'
import health from './routes/health.js'
import metrics from './routes/metrics.js'
import page from './routes/page.js'
import pause from './routes/pause.js'
import ping, { redactPingKey } from './routes/ping.js'
import refresh from './routes/refresh.js'
import runLog from './routes/run-log.js'
import scripts from './routes/scripts.js'
import status from './routes/status.js'

export interface AppOptions {
  config: Config
  /** A SQLite file (created with its folder when missing), or a postgres:// URL. */
  database: string
  now?: Clock
  logger?: FastifyServerOptions['logger']
  /** Log every request and response (Fastify's access log); off by default, see README. */
  logRequests?: boolean
  /**
   * Which proxies' X-Forwarded-For to believe for the client's address (Fastify's trustProxy):
   * addresses and CIDRs, or true for any peer. Off by default: the peer is the client.
   */
  trustProxy?: FastifyServerOptions['trustProxy']
  /** How long a /metrics body serves further scrapes (ms); 0 renders one per scrape. */
  metricsCacheMs?: number
  /** Between sweeps of old outputs (ms). */
  retentionMs?: number
  /** Between evaluations of every check for flips (ms). */
  evaluateMs?: number
  /** Between sweeps of old flips (ms). */
  flipSweepMs?: number
  /** How long headers may take to arrive, and a body after them (ms). */
  requestTimeoutMs?: number
  /** At shutdown, the longest wait for clients to finish with their connections (ms). */
  drainMs?: number
  /** Caps a SQLite database at this many pages, as a full disk would; for tests of write failures. */
  maxPages?: number
}

/** Node's own refusals, before any route runs, in the service's error shape. */
const CLIENT_ERRORS: Record<string, [number, string, string]> = {
  ERR_HTTP_REQUEST_TIMEOUT: [408, 'SP_ERR_REQUEST_TIMEOUT', 'headers: must arrive within %d s'],
  HPE_HEADER_OVERFLOW: [431, 'SP_ERR_HEADERS_TOO_LARGE', 'headers: must be at most 16 KiB in all'],
}

function clientErrorHandler(timeoutMs: number) {
  return (err: NodeJS.ErrnoException, socket: Socket) => {
    if (err.code === 'ECONNRESET' || socket.destroyed) return
    const [status, code, message] = CLIENT_ERRORS[err.code ?? ''] ?? [400, 'SP_ERR_BAD_REQUEST', 'request: is not valid HTTP/1.1']
    const body = JSON.stringify(errorBody(status, code, message.replace('%d', String(timeoutMs / 1000))))
    if (socket.writable) {
      socket.write(
        `HTTP/1.1 ${status} ${STATUS_CODES[status]}\r\nContent-Type: application/json; charset=utf-8\r\nContent-Length: ${Buffer.byteLength(body)}\r\nConnection: close\r\n\r\n${body}`,
      )
    }
    socket.destroy()
  }
}

/** Secrets that must never reach a log line. */
const REDACT = ['req.headers["x-token"]', 'req.headers.authorization']

/** Fastify's request serializer, with the ping key taken out of the URL. */
const requestForLog = (req: FastifyRequest) => ({
  method: req.method,
  url: redactPingKey(req.url),
  host: req.host,
  remoteAddress: req.ip,
  remotePort: req.socket?.remotePort,
})

export async function buildApp({
  config,
  database,
  now = Date.now,
  logger = false,
  logRequests = false,
  trustProxy = false,
  metricsCacheMs,
  retentionMs,
  evaluateMs,
  flipSweepMs,
  requestTimeoutMs = 30_000,
  drainMs,
  maxPages,
}: AppOptions) {
  const app = Fastify({
    logger: logger === false ? false : { redact: REDACT, serializers: { req: requestForLog }, ...(logger === true ? {} : logger) },
    // Every job in a fleet checks in: two access-log lines per check-in cost more than the check-in
    // itself, and /metrics counts them. Warnings and errors are logged either way.
    logController: new LogController({ disableRequestLogging: !logRequests }),
    bodyLimit: 64 * 1024,
    requestTimeout: requestTimeoutMs,
    connectionTimeout: 60_000,
    // Node looks for requests past their deadline this often (30 s by default, which let slow
    // headers run to 55 s).
    http: { connectionsCheckingInterval: Math.min(1000, requestTimeoutMs / 4) },
    clientErrorHandler: clientErrorHandler(requestTimeoutMs),
    routerOptions: { maxParamLength: 500 },
    trustProxy,
    // Requests that arrive while the server drains are served (a check-in is still acknowledged);
    // /-/ready answers 503 meanwhile, in our error shape, so a load balancer moves away.
    return503OnClosing: false,
    // Errors the router raises before any route runs (a URL that does not decode) keep our shape too.
    frameworkErrors: (err, _request, reply: FastifyReply) => reply.code(400).send(errorBody(400, err.code, `url: ${err.message}`)),
  })
  await app.register(errors)
  await app.register(connections, { bodyTimeoutMs: requestTimeoutMs, drainMs })
  await app.register(validation)
  await app.register(openapi)
  await app.register(monitor, { config, database, now, maxPages })
  if (config.token === SHIPPED_TOKEN) {
    app.log.warn(
      `statuspage.token is the example of the shipped config.yml, which anyone can read: generate one with ${TOKEN_HINT.slice('generate one with: '.length)}`,
    )
  }
  await app.register(retention, { everyMs: retentionMs })
  await app.register(flips, { everyMs: evaluateMs, sweepMs: flipSweepMs })
  await app.register(metricsPlugin, { cacheMs: metricsCacheMs })
  await app.register(tokenFailures)
  await app.register(logLimit)
  await app.register(health)
  await app.register(refresh)
  await app.register(ping)
  await app.register(status)
  await app.register(runLog)
  await app.register(flipRoutes)
  await app.register(pause)
  await app.register(scripts)
  await app.register(checks)
  await app.register(metrics)
  await app.register(page)
  return app
}
