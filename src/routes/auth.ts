// The token check shared by refreshes and script writes: X-Token or Authorization: Bearer,
// compared in constant time, never logged (see REDACT in app.ts). Wrong tokens are rate limited
// per client address; a request with the right token is never counted nor throttled.
import { timingSafeEqual } from 'node:crypto'
import rateLimit from '@fastify/rate-limit'
import type { FastifyInstance, FastifyRequest } from 'fastify'
import { TokenMissingError, TokenWrongError } from '../errors.js'

/** Failed attempts a client address may make per minute before it gets 429s. */
export const FAILED_AUTH_PER_MINUTE = 30

// Constant time for a given length, as Go's subtle.ConstantTimeCompare: a token of another length
// is refused at once. The length is no secret (the README's recipe makes 64 hex characters);
// hashing both sides to hide it cost a tenth of a check-in.
function sameToken(presented: string, expected: Buffer): boolean {
  const bytes = Buffer.from(presented)
  return bytes.length === expected.length && timingSafeEqual(bytes, expected)
}

function presentedToken(request: FastifyRequest): string | undefined {
  const header = request.headers['x-token']
  if (typeof header === 'string') return header
  const auth = request.headers.authorization
  if (auth !== undefined && /^bearer /i.test(auth)) return auth.slice(7).trim()
  return undefined
}

// Each check-in is checked twice (by the limiter and by the guard) against a token that changes
// only with the config: the verdict and the expected bytes are computed once.
const configured = new WeakMap<object, Buffer>()
const verdicts = new WeakMap<FastifyRequest, boolean>()

function tokenIsRight(app: FastifyInstance, request: FastifyRequest): boolean {
  let right = verdicts.get(request)
  if (right === undefined) {
    const { config } = app.monitor
    let expected = configured.get(config)
    if (expected === undefined) configured.set(config, (expected = Buffer.from(config.token)))
    const token = presentedToken(request)
    right = token !== undefined && token !== '' && sameToken(token, expected)
    verdicts.set(request, right)
  }
  return right
}

/**
 * Guards the routes of the calling plugin with the token, for the requests `applies` selects
 * (all by default): a missing or wrong token is a 403, and after FAILED_AUTH_PER_MINUTE of those
 * from one address, a 429 until the minute is over. `onRejected` hears of each 403 and 429.
 */
export async function guardWithToken(
  app: FastifyInstance,
  { applies = () => true, onRejected = () => {} }: { applies?: (request: FastifyRequest) => boolean; onRejected?: () => void } = {},
): Promise<void> {
  await app.register(rateLimit, {
    max: FAILED_AUTH_PER_MINUTE,
    timeWindow: 60_000,
    hook: 'onRequest',
    allowList: (request) => !applies(request) || tokenIsRight(app, request),
    onExceeded: onRejected,
  })
  const check = async (request: FastifyRequest) => {
    if (!applies(request) || tokenIsRight(app, request)) return
    onRejected()
    throw presentedToken(request) ? new TokenWrongError() : new TokenMissingError()
  }
  // The limiter attaches its hook to each route, and route hooks run after instance hooks: the
  // check goes on each route too, after the limiter, so that it counts the failures.
  app.addHook('onRoute', (route) => {
    route.onRequest = [...[route.onRequest ?? []].flat(), check]
  })
}
