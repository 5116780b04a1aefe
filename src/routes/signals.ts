// What /refresh/... and /ping/... share: the signal a URL names, the run id, and check-in bodies.
import { StringDecoder } from 'node:string_decoder'
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify'
import { OUTPUT_MAX, type Output, type Signal, type Source } from '../domain/run.js'

/** A run id: what Healthchecks takes in ?rid= (it wants a UUID; any short token is kept here). */
export const RID_PATTERN = '^[A-Za-z0-9._-]{1,64}$'
const RID = new RegExp(RID_PATTERN)

export type SignalRequest = Omit<Signal, 'at'>

/**
 * The signal of a check-in request: what the last URL segment names (none: success, start, fail,
 * log, or an exit status, 0 success and 1-255 failure), with its source and output for the run
 * log. A string says what is wrong with it.
 */
export function signalOf(word: string | undefined, request: FastifyRequest): SignalRequest | string {
  const { rid } = request.query as { rid?: string | string[] }
  if (Array.isArray(rid)) return 'rid: must be given once'
  if (rid !== undefined && !RID.test(rid)) return `rid: must be 1 to 64 characters from A-Z a-z 0-9 . _ -, got ${JSON.stringify(rid.slice(0, 80))}`
  let kind: Signal['kind']
  let exitStatus: number | undefined
  if (word === undefined) kind = 'success'
  else if (word === 'start') kind = 'start'
  else if (word === 'fail') kind = 'failure'
  else if (word === 'log') kind = 'log'
  else if (/^\d{1,10}$/.test(word)) {
    // Plain decimal only: 01 or 0255 could be a typo or another base, and are not what a shell prints.
    exitStatus = Number(word)
    if (exitStatus > 255) return `exit status: must be 0 to 255, got ${word}`
    if (String(exitStatus) !== word) return `exit status: must be written without leading zeros (${exitStatus}), got ${word}`
    kind = exitStatus === 0 ? 'success' : 'failure'
  } else return `signal: must be start, fail, log or an exit status 0 to 255, got ${JSON.stringify(word.slice(0, 80))}`
  const key = keyOf(request)
  if (key === null) return KEY_HINT
  // One object of one shape: this runs for every check-in.
  return { kind, rid, key, exitStatus, duration: undefined, source: sourceOf(request), output: request.body as Output | undefined }
}

const KEY = /^"?([\x21\x23-\x7E]{1,200})"?$/
export const KEY_HINT = 'Idempotency-Key: must be 1 to 200 visible ASCII characters without a double quote (or those in double quotes), given once'

/**
 * The request's Idempotency-Key header (as the IETF draft spells it; a quoted string or a bare
 * token): a retry that carries the same key as a signal already recorded is recognised and
 * changes nothing. undefined when there is none (or it is empty); null when it is malformed.
 */
export function keyOf(request: FastifyRequest): string | undefined | null {
  const header = request.headers['idempotency-key']
  // An empty header presents no key, as an empty X-Token presents no token.
  if (header === undefined || header === '') return undefined
  const m = typeof header === 'string' ? KEY.exec(header) : null
  return m === null ? null : m[1]!
}

/** User agents are kept up to this many characters. */
const USER_AGENT_MAX = 200

/**
 * Check-in clients POST whatever body their tool sends (none, a form, JSON, a log file), under
 * whatever Content-Type: as Healthchecks does, any body is taken, none refused, and its first
 * OUTPUT_MAX bytes are kept as the job's output (request.body, an Output); the rest is read and
 * dropped. It is text: bytes that are not UTF-8 become U+FFFD, as do NULs (PostgreSQL's text
 * holds none), and a character cut at the limit is left out.
 */
export function acceptAnyBody(app: FastifyInstance): void {
  app.removeAllContentTypeParsers()
  app.addContentTypeParser('*', (_request, payload, done) => {
    const head: Buffer[] = []
    let bytes = 0
    payload.on('data', (chunk: Buffer) => {
      if (bytes < OUTPUT_MAX) head.push(chunk.subarray(0, OUTPUT_MAX - bytes))
      bytes += chunk.length
    })
    payload.once('end', () => done(null, bytes === 0 ? undefined : outputOf(Buffer.concat(head), bytes)))
    payload.once('error', (err) => done(err, undefined))
  })
}

/** The output kept of a body of `bytes` bytes that begins with `head` (its first OUTPUT_MAX bytes at most); see acceptAnyBody. */
export function outputOf(head: Buffer, bytes: number): Output {
  const decoder = new StringDecoder('utf8')
  // A character cut at the limit stays in the decoder, and out of the text.
  const text = decoder.write(head.subarray(0, OUTPUT_MAX)) + (bytes <= OUTPUT_MAX ? decoder.end() : '')
  return { text: text.replaceAll('\0', '\uFFFD'), bytes }
}

/** Where a request came from, for the run log. */
export const sourceOf = (request: FastifyRequest): Source => {
  const userAgent = request.headers['user-agent']
  return { address: request.ip, userAgent: userAgent === undefined ? '' : userAgent.length > USER_AGENT_MAX ? userAgent.slice(0, USER_AGENT_MAX) : userAgent }
}

/** Healthchecks' header: where a signal's body is cut, so that a client can send the tail that fits. */
export const tellBodyLimit = (reply: FastifyReply) => reply.header('ping-body-limit', String(OUTPUT_MAX))
