// What /refresh/... and /ping/... share: the signal a URL names, the run id, and check-in bodies.
import type { FastifyInstance } from 'fastify'
import type { Signal } from '../domain/run.js'

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
  if (/^\d{1,10}$/.test(word)) {
    const exitStatus = Number(word)
    if (exitStatus > 255) return `exit status: must be 0 to 255, got ${word}`
    return { kind: exitStatus === 0 ? 'success' : 'failure', rid, exitStatus }
  }
  return `signal: must be start, fail or an exit status 0 to 255, got ${JSON.stringify(word.slice(0, 80))}`
}

/**
 * Check-in clients POST whatever body their tool sends by default (none, a form, JSON, a log
 * file), under whatever Content-Type: as Healthchecks does, any body is taken and none refused.
 * It carries nothing yet, so it is read and dropped rather than held in memory.
 */
export function acceptAnyBody(app: FastifyInstance): void {
  app.removeAllContentTypeParsers()
  app.addContentTypeParser('*', (_request, payload, done) => {
    payload.on('data', () => {})
    payload.once('end', () => done(null, undefined))
    payload.once('error', (err) => done(err, undefined))
  })
}
