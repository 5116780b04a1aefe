// One error shape for the whole service: Fastify's {statusCode, code, error, message}, where the
// message of a 4xx names the field and the fault. Ajv's errors are turned into such messages here,
// for config.yml and for HTTP input alike.
import { STATUS_CODES } from 'node:http'
import createError from '@fastify/error'
import type { ErrorObject } from 'ajv'
import { NO_NUL } from './config/schema.js'
import { DURATION_HINT, DURATION_PATTERN } from './domain/duration.js'

/** The body of every error response. */
export const errorBody = (statusCode: number, code: string, message: string) => ({ statusCode, code, error: STATUS_CODES[statusCode], message })

export const TokenMissingError = createError('SP_ERR_TOKEN_MISSING', 'token missing: send it as the X-Token header or as Authorization: Bearer <token>', 403)
export const TokenWrongError = createError('SP_ERR_TOKEN_WRONG', 'token is wrong', 403)
export const NotFoundError = createError('SP_ERR_NOT_FOUND', '%s', 404)
export const BadRequestError = createError('SP_ERR_BAD_REQUEST', '%s', 400)
/** The database does not answer: nothing was recorded, and the client should try again. */
export const StoreUnavailableError = createError('SP_ERR_STORE_UNAVAILABLE', 'the database is unreachable: nothing was recorded; try again', 503)
/**
 * The database stopped answering while the write was under way: it may still commit. A retry with
 * the same rid or Idempotency-Key is recorded once (see applySignal).
 */
export const StoreTimeoutError = createError(
  'SP_ERR_STORE_UNAVAILABLE',
  'the database did not answer in time: this may have been recorded; a retry with the same rid or Idempotency-Key is recorded once',
  503,
)

const IDENTIFIER = /^[A-Za-z_$][\w$-]*$/

/**
 * Renders a JSON pointer as a readable path: `/statuspage/groups/Group #2/1` becomes
 * `statuspage.groups["Group #2"][1]`. `data` tells array indexes from numeric keys.
 */
export function readablePath(pointer: string, data: unknown, root = ''): string {
  let out = root
  let node = data
  for (const raw of pointer.split('/').slice(1)) {
    const key = raw.replace(/~1/g, '/').replace(/~0/g, '~')
    if (Array.isArray(node)) out += `[${key}]`
    else if (IDENTIFIER.test(key)) out += out === '' ? key : `.${key}`
    else out += `[${JSON.stringify(key)}]`
    node = node !== null && typeof node === 'object' ? (node as Record<string, unknown>)[key] : undefined
  }
  return out
}

function describe(e: ErrorObject): string {
  const p = e.params as Record<string, unknown>
  switch (e.keyword) {
    case 'required':
      return `must have required property '${String(p.missingProperty)}'`
    case 'additionalProperties': {
      const props = (e.parentSchema?.properties ?? {}) as Record<string, unknown>
      const allowed = Object.keys(props).filter((k) => props[k] !== false)
      const hint = allowed.length > 0 ? ` (allowed: ${allowed.join(', ')})` : ''
      return `unknown key '${String(p.additionalProperty)}'${hint}`
    }
    case 'type':
      return `must be ${String(p.type).split(',').join(' or ')}`
    case 'minLength':
      return p.limit === 1 ? 'must not be empty' : `must be at least ${String(p.limit)} characters`
    case 'maxLength':
      return `must be at most ${String(p.limit)} characters`
    case 'minProperties':
    case 'minItems':
      return 'must not be empty'
    case 'enum':
      return `must be one of: ${(p.allowedValues as unknown[]).join(', ')}`
    case 'exclusiveMinimum':
      return `must be greater than ${String(p.limit)}`
    case 'maximum':
      return `must be at most ${String(p.limit)}`
    case 'minimum':
      return `must be at least ${String(p.limit)}`
    case 'pattern':
      return p.pattern === DURATION_PATTERN
        ? DURATION_HINT
        : p.pattern === NO_NUL
          ? 'must not contain a NUL character (\\u0000)'
          : `must match ${String(p.pattern)}`
    case 'false schema':
      return 'must not be given'
    case 'propertyNames':
      return `has an invalid key '${String(p.propertyName)}'`
    default:
      return e.message ?? 'is invalid'
  }
}

/** One `path: fault` line per problem, in ajv's order, without duplicates. */
export function describeAjvErrors(errors: readonly ErrorObject[], data: unknown, root = ''): string[] {
  const lines = errors
    // `if` only says which branch failed; the branch's own error says why.
    .filter((e) => e.keyword !== 'if')
    .map((e) => {
      const path = readablePath(e.instancePath, data, root) || '(top level)'
      return `${path}: ${describe(e)}`
    })
  return [...new Set(lines)]
}
