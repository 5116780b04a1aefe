// Healthchecks-compatible ping URLs: /ping/<ping_key>/<id>[/start|/fail|/log|/<exit status>][?rid=][&create=1], so
// that Healthchecks' clients (curl lines, runitor, sidecars, libraries) work by changing their base
// URL. They answer as Healthchecks does: 200 "OK", 404 "not found", any origin, never cached. The
// key allows check-ins and nothing else; it is compared in constant time and kept out of the logs.
import type { FastifyPluginAsync, FastifyReply } from 'fastify'
import { allowsTags, type Credential, grants, isSecret, keyOf } from './auth.js'
import { provision } from './checks.js'
import { acceptAnyBody, signalOf, tellBodyLimit } from './signals.js'

const decoded = (segment: string) => {
  try {
    return decodeURIComponent(segment)
  } catch {
    return segment
  }
}

/**
 * A URL fit for a log line: when its path, decoded and with empty segments dropped, is a ping URL
 * (as the router would take it, or as a mistyped one that answers 404), the key's segment is
 * replaced, whatever its spelling (//ping/, /%70ing/, /ping%2F<key>/).
 */
export function redactPingKey(url: string): string {
  const q = url.indexOf('?')
  const path = q === -1 ? url : url.slice(0, q)
  const raw = path.split('/')
  let i = raw.findIndex((segment) => segment !== '')
  if (i === -1) return url
  const first = decoded(raw[i]!).toLowerCase()
  // /ping%2F<key>: the key hides in the first segment itself.
  if (first.startsWith('ping/')) raw[i] = 'ping/[redacted]'
  else if (first === 'ping') {
    do i++
    while (i < raw.length && raw[i] === '')
    if (i >= raw.length) return url
    raw[i] = '[redacted]'
  } else return url
  return raw.join('/') + (q === -1 ? '' : url.slice(q))
}

const PING_KEY: Credential = Object.freeze({ name: 'ping_key', scopes: Object.freeze(['ping'] as const), tags: undefined })

const pingRoutes: FastifyPluginAsync = async (app) => {
  acceptAnyBody(app)
  app.addHook('onSend', async (_request, reply) => {
    // Healthchecks' never_cache and its CORS header: browsers and proxies may ping too.
    reply.header('access-control-allow-origin', '*').header('cache-control', 'max-age=0, no-cache, no-store, must-revalidate, private')
    tellBodyLimit(reply)
  })

  const answer = (reply: FastifyReply, code: number, text: string) => reply.code(code).type('text/plain; charset=utf-8').send(text)

  /** Who the key in the URL is: the ping key (every check), a key with the ping scope (its checks), or nobody. */
  const pinger = (presented: string): Credential | undefined => {
    const { config } = app.monitor
    if (config.pingKey !== undefined && isSecret(presented, config.pingKey)) return PING_KEY
    const key = keyOf(presented, config)
    return key !== undefined && grants(key, 'ping') ? key : undefined
  }

  // Two routes (not an optional parameter) so that the OpenAPI document can say both.
  for (const url of ['/ping/:key/:id', '/ping/:key/:id/:signal'])
    app.route({
      method: ['GET', 'POST'],
      url,
      schema: {
        summary: url.endsWith(':signal') ? 'A start, a failure, a log entry or an exit status, by ping key' : 'A success, by ping key',
        tags: ['check-ins'],
        params: {
          type: 'object',
          required: url.endsWith(':signal') ? ['key', 'id', 'signal'] : ['key', 'id'],
          properties: {
            key: { type: 'string', description: 'statuspage.ping_key, or a key with the ping scope.' },
            id: { type: 'string' },
            ...(url.endsWith(':signal') ? { signal: { type: 'string', description: 'start, fail, log, or the exit status 0-255.' } } : {}),
          },
        },
        querystring: {
          type: 'object',
          properties: {
            rid: { type: 'string', description: 'The run id that pairs a start with its finish.' },
            create: { type: 'string', description: '1: create an unknown check (statuspage.auto_provision): 201 Created.' },
          },
        },
        response: { 200: { description: 'OK', type: 'string' }, 201: { description: 'Created', type: 'string' } },
      },
      handler: async (request, reply) => {
        const { key, id, signal: word } = request.params as { key: string; id: string; signal?: string }
        const who = pinger(key)
        if (who === undefined) {
          const { config } = app.monitor
          const why = config.pingKey === undefined && config.keys.length === 0 ? 'no ping_key is set' : 'a wrong ping key'
          if (app.logLimit.due(`ping:${why}:${request.ip}`)) {
            // Not the id: in a misspelt ping URL (/ping//<key>/...) the key stands where the id would.
            request.log.warn({ address: request.ip }, `a ping with ${why}: 404 (more from this address this minute are not logged)`)
          }
          return answer(reply, 404, 'not found')
        }
        const signal = signalOf(word, request)
        if (typeof signal === 'string') return answer(reply, 400, signal)
        const known = app.monitor.config.itemsById.get(id)
        // A key limited to tags finds only its checks (and creates only checks with one of them), as Healthchecks' per-project keys do.
        if (who.tags !== undefined && !allowsTags(who, known?.flatMap((item) => item.tags) ?? app.monitor.config.autoProvision?.fields.tags ?? [])) {
          return answer(reply, 404, 'not found')
        }
        let created = false
        if (known === undefined) {
          // Healthchecks' ?create=1: 201 "Created" when the check is new, 200 "OK" after.
          const outcome = (request.query as { create?: string }).create === '1' ? await provision(app.monitor, id) : 'off'
          if (outcome === 'full') return answer(reply, 404, 'not found: statuspage.auto_provision.max_checks checks were created already')
          if (outcome === 'off') {
            if (app.logLimit.due(`ping:unknown:${id}`))
              request.log.warn({ id }, 'a ping of an id that no check has: 404 (more of it this minute are not logged)')
            return answer(reply, 404, 'not found')
          }
          created = outcome === 'created'
        }
        const items = await app.monitor.signal(id, signal)
        // A reload removed the item while the signal waited for its commit.
        if (items.length === 0) return answer(reply, 404, 'not found')
        if (signal.kind !== 'log') app.metrics.refreshed(items)
        return created ? answer(reply, 201, 'Created') : answer(reply, 200, 'OK')
      },
    })
}

export default pingRoutes
