// What /refresh/... and /ping/... share: the signal a URL names, the run id, and check-in bodies.
import { StringDecoder } from 'node:string_decoder'
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify'
import { OUTPUT_MAX, type Output, type Signal, type Source } from '../domain/run.js'

/** A run id: what Healthchecks takes in ?rid= (it wants a UUID; any short token is kept here). */
export const RID_PATTERN = '^[A-Za-z0-9._-]{1,64}$'
const RID = new RegExp(RID_PATTERN)

export type SignalRequest = Omit<Signal, 'at'>

/**
 * The signal that the last URL segment names: none (success), start, fail, or an exit status
 * (0 success, 1-255 failure). A string says what is wrong with it.
 */
export function signalOf(word: string | undefined, rid: string | string[] | undefined): SignalRequest | string {
  if (Array.isArray(rid)) return 'rid: must be given once'
  if (rid !== undefined && !RID.test(rid)) return `rid: must be 1 to 64 characters from A-Z a-z 0-9 . _ -, got ${JSON.stringify(rid.slice(0, 80))}`
  if (word === undefined) return { kind: 'success', rid, exitStatus: undefined }
  if (word === 'start') return { kind: 'start', rid, exitStatus: undefined }
  if (word === 'fail') return { kind: 'failure', rid, exitStatus: undefined }
  if (word === 'log') return { kind: 'log', rid, exitStatus: undefined }
  if (/^\d{1,10}$/.test(word)) {
    const exitStatus = Number(word)
    if (exitStatus > 255) return `exit status: must be 0 to 255, got ${word}`
    return { kind: exitStatus === 0 ? 'success' : 'failure', rid, exitStatus }
  }
  return `signal: must be start, fail, log or an exit status 0 to 255, got ${JSON.stringify(word.slice(0, 80))}`
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
    const decoder = new StringDecoder('utf8')
    let text = ''
    let bytes = 0
    payload.on('data', (chunk: Buffer) => {
      if (bytes < OUTPUT_MAX) text += decoder.write(chunk.subarray(0, OUTPUT_MAX - bytes))
      bytes += chunk.length
    })
    payload.once('end', () => {
      if (bytes <= OUTPUT_MAX) text += decoder.end()
      done(null, bytes === 0 ? undefined : ({ text: text.replaceAll('\0', '\uFFFD'), bytes } satisfies Output))
    })
    payload.once('error', (err) => done(err, undefined))
  })
}

/** What a check-in request says of itself for the run log: its source and its output. */
export const logged = (request: FastifyRequest): { source: Source; output: Output | undefined } => ({
  source: { address: request.ip, userAgent: (request.headers['user-agent'] ?? '').slice(0, USER_AGENT_MAX) },
  output: request.body as Output | undefined,
})

/** Healthchecks' header: where a signal's body is cut, so that a client can send the tail that fits. */
export const tellBodyLimit = (reply: FastifyReply) => reply.header('ping-body-limit', String(OUTPUT_MAX))
