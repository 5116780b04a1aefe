// The token and key check shared by every guarded route: X-Token or Authorization: Bearer, the
// token or a key of statuspage.keys with the route's scope, compared in constant time, never
// logged (see REDACT in app.ts). Wrong tokens are rate limited
// per client address, over all guarded routes together (app.tokenFailures); a request with the
// right token is never counted nor throttled.
import { createHash, createHmac, timingSafeEqual } from 'node:crypto'
import createError from '@fastify/error'
import type { FastifyInstance, FastifyRequest } from 'fastify'
import type { AccessKey, Config, Scope } from '../config/load.js'
import { TokenMissingError, TokenWrongError } from '../errors.js'
import { FAILED_AUTH_PER_MINUTE } from '../plugins/token-failures.js'

// The secrets' bytes (the token, the ping key), made once per secret rather than on every check-in.
const secretBytes = new Map<string, Buffer>()

/**
 * Whether `presented` is `secret`, compared in constant time for a given length, as Go's
 * subtle.ConstantTimeCompare: one of another length is refused at once. The length is no secret
 * (the README's recipe makes 64 hex characters); hashing both sides to hide it cost a tenth of a
 * check-in.
 */
export function isSecret(presented: string, secret: string): boolean {
  let expected = secretBytes.get(secret)
  if (expected === undefined) {
    expected = Buffer.from(secret)
    secretBytes.set(secret, expected)
  }
  const bytes = Buffer.from(presented)
  return bytes.length === expected.length && timingSafeEqual(bytes, expected)
}

/** Who a request is: the token (admin of everything), or a key of statuspage.keys. */
export interface Credential {
  readonly name: string
  readonly scopes: readonly Scope[]
  /** The tags of the checks it may act on; undefined: every check. */
  readonly tags: readonly string[] | undefined
}

const TOKEN: Credential = Object.freeze({ name: 'token', scopes: Object.freeze(['admin'] as Scope[]), tags: undefined })

declare module 'fastify' {
  interface FastifyRequest {
    /** Set by guardWithToken once the request's token or key is right for the route. */
    credential?: Credential
  }
}

/** Whether `c` may do what `scope` allows: admin all, write also ping and read. */
export function grants(c: Credential, scope: Scope): boolean {
  const has = (s: Scope) => c.scopes.includes(s)
  if (has('admin') || has(scope)) return true
  return (scope === 'ping' || scope === 'read') && has('write')
}

/** Whether `c` may act on a check with `tags`: a key limited to tags needs one of them. */
export const allowsTags = (c: Credential, tags: readonly string[]) => c.tags === undefined || tags.some((t) => c.tags!.includes(t))

/**
 * The key of statuspage.keys whose secret `presented` is: its SHA-256 compared in constant time
 * with each key's digest (every key is compared, found or not).
 */
export function keyOf(presented: string, config: Config): AccessKey | undefined {
  if (config.keys.length === 0) return undefined
  const digest = createHash('sha256').update(presented).digest()
  let found: AccessKey | undefined
  for (const key of config.keys) if (timingSafeEqual(digest, key.digest) && found === undefined) found = key
  return found
}

/** The credential `presented` is: the token, a key, or nothing. */
const credentialOf = (presented: string, config: Config): Credential | undefined => (isSecret(presented, config.token) ? TOKEN : keyOf(presented, config))

/**
 * What the request's X-Token and Authorization: Bearer headers present: the credential of either
 * that is right, whatever the other holds; 'wrong' or 'missing' else. An empty header presents nothing.
 */
function requestCredential(request: FastifyRequest, config: Config): Credential | 'wrong' | 'missing' {
  const header = request.headers['x-token']
  const presented = typeof header === 'string' && header !== ''
  const byHeader = presented ? credentialOf(header, config) : undefined
  if (byHeader !== undefined) return byHeader
  const auth = request.headers.authorization
  const bearer = auth !== undefined && /^bearer /i.test(auth) ? auth.slice(7).trim() : ''
  const byBearer = bearer !== '' ? credentialOf(bearer, config) : undefined
  if (byBearer !== undefined) return byBearer
  return presented || bearer !== '' ? 'wrong' : 'missing'
}

const TooManyFailuresError = createError(
  'SP_ERR_TOO_MANY_FAILURES',
  `too many requests with a missing or wrong token from this address: at most ${FAILED_AUTH_PER_MINUTE} a minute`,
  429,
)

/** A right key that lacks the scope, or the tags, for what it asks. */
const ForbiddenError = createError('SP_ERR_FORBIDDEN', '%s', 403)

/**
 * Guards the routes of the calling plugin with the token or a key with `scope` (per request when a
 * function), for the requests `applies` selects (all by default): a missing or wrong one is a 403,
 * and after FAILED_AUTH_PER_MINUTE of those from one address, on any guarded route, a 429 until the
 * minute is over; a right key without the scope is a 403 too, never counted. `onRejected` hears of
 * each 403 and 429. The request's credential is then `request.credential`.
 */
export function guardWithToken(
  app: FastifyInstance,
  {
    scope = 'admin',
    applies = () => true,
    onRejected = () => {},
    when = 'always',
    methods,
  }: {
    scope?: Scope | ((request: FastifyRequest) => Scope)
    applies?: (request: FastifyRequest) => boolean
    onRejected?: () => void
    /** When `applies` holds, in words, for the OpenAPI document: 'always', or a setting. */
    when?: string
    /** The methods it guards (all by default). */
    methods?: readonly string[]
  } = {},
): void {
  const guards = (method: string) => methods === undefined || methods.includes(method)
  // Each route notes what it asks, for the OpenAPI document (plugins/openapi.ts).
  app.addHook('onRoute', (route) => {
    const method = String(Array.isArray(route.method) ? route.method[0] : route.method)
    if (!guards(method)) return
    const needed = typeof scope === 'function' ? scope({ method } as FastifyRequest) : scope
    route.config = { ...route.config, auth: { scope: needed, when } }
  })
  app.addHook('onRequest', async (request, reply) => {
    if (!guards(request.method) || !applies(request)) return
    const check = requestCredential(request, app.monitor.config)
    if (typeof check !== 'string') {
      const needed = typeof scope === 'function' ? scope(request) : scope
      if (grants(check, needed)) {
        request.credential = check
        return
      }
      onRejected()
      throw new ForbiddenError(`key ${JSON.stringify(check.name)} lacks the ${needed} scope`)
    }
    onRejected()
    const failure = app.tokenFailures.fail(request.ip)
    // One line when an address starts failing, one when it is throttled: not one per request.
    if (failure.first)
      request.log.warn(
        { address: request.ip, url: request.routeOptions.url },
        `a request with a ${check} token (more from this address this minute are not logged)`,
      )
    if (failure.passed)
      request.log.warn({ address: request.ip }, `too many requests with a missing or wrong token from this address: 429 until its minute is over`)
    if (failure.over) {
      reply.header('retry-after', '60')
      throw new TooManyFailuresError()
    }
    throw check === 'wrong' ? new TokenWrongError() : new TokenMissingError()
  })
}

/**
 * Refuses (403) a request whose key may not act on a check with `tags`; given as a function, they
 * are gathered only for a key limited to tags (not on every check-in).
 */
export function requireTags(request: FastifyRequest, id: string, tags: readonly string[] | (() => readonly string[])): void {
  const c = request.credential
  if (c === undefined || c.tags === undefined || allowsTags(c, typeof tags === 'function' ? tags() : tags)) return
  throw new ForbiddenError(`key ${JSON.stringify(c.name)} is limited to checks tagged ${c.tags!.join(', ')}; ${JSON.stringify(id)} has none of them`)
}

/**
 * The signature of a badge path (/badge/...svg|json) for `?sig=`: an HMAC-SHA256 of the path with
 * the token, so that a private instance's badges can be embedded where no key can be sent (a
 * README), as Healthchecks' badge URLs carry theirs. A new token voids every signed URL.
 */
export const badgeSignature = (path: string, token: string) => createHmac('sha256', token).update(`badge:${path}`).digest('hex')

/** The badge path signed, as a URL to embed: the path alone on a public instance. */
export const badgeUrl = (path: string, config: Config) => (config.public ? path : `${path}?sig=${badgeSignature(path, config.token)}`)

/** Whether the request is for a badge with a right signature. */
function signedBadge(request: FastifyRequest, token: string): boolean {
  const q = request.url.indexOf('?')
  const path = q === -1 ? request.url : request.url.slice(0, q)
  const sig = (request.query as { sig?: unknown } | undefined)?.sig
  if (!path.startsWith('/badge/') || typeof sig !== 'string') return false
  const expected = Buffer.from(badgeSignature(path, token))
  const given = Buffer.from(sig)
  return given.length === expected.length && timingSafeEqual(given, expected)
}

/**
 * Guards the calling plugin's routes on a private instance (statuspage.public: false): reading
 * them needs a read key or the token; a badge may instead carry its signature (badgeUrl).
 */
export function guardWhenPrivate(app: FastifyInstance, methods?: readonly string[]): void {
  guardWithToken(app, {
    methods,
    scope: 'read',
    applies: (request) => !app.monitor.config.public && !signedBadge(request, app.monitor.config.token),
    when: 'statuspage.public: false; a badge may carry ?sig= instead',
  })
}
