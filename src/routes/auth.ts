// The token check shared by refreshes and script writes: X-Token or Authorization: Bearer,
// compared in constant time. The token is never logged (see the logger's redact list in main.ts).
import { createHash, timingSafeEqual } from 'node:crypto'
import type { FastifyInstance, FastifyRequest } from 'fastify'
import { TokenMissingError, TokenWrongError } from '../errors.js'

// Hashing first gives both sides the same length, which timingSafeEqual needs, without leaking
// the token's length.
const digest = (s: string) => createHash('sha256').update(s).digest()

export function presentedToken(request: FastifyRequest): string | undefined {
  const header = request.headers['x-token']
  if (typeof header === 'string') return header
  const auth = request.headers.authorization
  if (auth !== undefined && /^bearer /i.test(auth)) return auth.slice(7).trim()
  return undefined
}

export async function requireToken(this: FastifyInstance, request: FastifyRequest): Promise<void> {
  const token = presentedToken(request)
  if (token === undefined || token === '') throw new TokenMissingError()
  if (!timingSafeEqual(digest(token), digest(this.monitor.config.token))) throw new TokenWrongError()
}
