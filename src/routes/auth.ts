// The token check shared by refreshes and script writes: X-Token or Authorization: Bearer,
// compared in constant time, never logged (see REDACT in app.ts). Wrong tokens are rate limited
// per client address, over all guarded routes together (app.tokenFailures); a request with the
// right token is never counted nor throttled.
import { timingSafeEqual } from 'node:crypto'
import createError from '@fastify/error'
import type { FastifyInstance, FastifyRequest } from 'fastify'
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

/**
 * What the request's X-Token and Authorization: Bearer headers say of the token: right when either
 * holds it, whatever the other holds; an empty header presents nothing.
 */
function tokenCheck(request: FastifyRequest, token: string): 'right' | 'wrong' | 'missing' {
  const header = request.headers['x-token']
  const presented = typeof header === 'string' && header !== ''
  if (presented && isSecret(header, token)) return 'right'
  const auth = request.headers.authorization
  const bearer = auth !== undefined && /^bearer /i.test(auth) ? auth.slice(7).trim() : ''
  if (bearer !== '' && isSecret(bearer, token)) return 'right'
  return presented || bearer !== '' ? 'wrong' : 'missing'
}

const TooManyFailuresError = createError(
  'SP_ERR_TOO_MANY_FAILURES',
  `too many requests with a missing or wrong token from this address: at most ${FAILED_AUTH_PER_MINUTE} a minute`,
  429,
)

/**
 * Guards the routes of the calling plugin with the token, for the requests `applies` selects
 * (all by default): a missing or wrong token is a 403, and after FAILED_AUTH_PER_MINUTE of those
 * from one address, on any guarded route, a 429 until the minute is over. `onRejected` hears of each 403 and 429.
 */
export function guardWithToken(
  app: FastifyInstance,
  { applies = () => true, onRejected = () => {} }: { applies?: (request: FastifyRequest) => boolean; onRejected?: () => void } = {},
): void {
  app.addHook('onRequest', async (request, reply) => {
    if (!applies(request)) return
    const check = tokenCheck(request, app.monitor.config.token)
    if (check === 'right') return
    onRejected()
    if (app.tokenFailures.overLimit(request.ip)) {
      reply.header('retry-after', '60')
      throw new TooManyFailuresError()
    }
    throw check === 'wrong' ? new TokenWrongError() : new TokenMissingError()
  })
}
