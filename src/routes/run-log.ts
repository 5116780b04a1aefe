// GET /api/v1/items/:id/runs with the token: an item's run log, newest first, a page at a time.
// Outputs can hold secrets, so the log is read with the token, as check-ins are sent with it.
import type { FastifyPluginAsyncJsonSchemaToTs } from '@fastify/type-provider-json-schema-to-ts'
import { NAME_MAX } from '../config/schema.js'
import { zoneOf } from '../domain/schedule.js'
import { NotFoundError } from '../errors.js'
import type { LogEntry } from '../store/store.js'
import { isoIn } from '../time.js'
import { guardWithToken } from './auth.js'

/** Entries per page, unless ?limit= says otherwise. */
export const PAGE_DEFAULT = 20
export const PAGE_MAX = 100

const schema = {
  params: {
    type: 'object',
    properties: { id: { type: 'string', minLength: 1, maxLength: NAME_MAX } },
    required: ['id'],
  },
  querystring: {
    type: 'object',
    additionalProperties: false,
    properties: {
      limit: { description: 'Entries per page.', type: 'integer', minimum: 1, maximum: PAGE_MAX, default: PAGE_DEFAULT },
      before: { description: 'The seq of the last entry of the page before: the next page starts below it.', type: 'integer', minimum: 1 },
    },
  },
} as const

/** An entry as the API shows it; times in the check's zone. */
function entryView({ seq, signal, output }: LogEntry, tz: string | undefined) {
  return {
    seq,
    kind: signal.kind,
    time: isoIn(signal.at, tz),
    rid: signal.rid ?? null,
    exit_status: signal.exitStatus ?? null,
    duration_seconds: signal.duration ?? null,
    address: signal.source?.address ?? null,
    user_agent: signal.source?.userAgent || null,
    // The size sent, and what is kept of it: cut at Ping-Body-Limit, or deleted by retention.
    output_bytes: signal.bytes ?? null,
    output: output?.text ?? null,
    output_cut: output === undefined ? null : Buffer.byteLength(output.text) < output.bytes,
  }
}

const runLogRoutes: FastifyPluginAsyncJsonSchemaToTs = async (app) => {
  guardWithToken(app)

  app.get('/api/v1/items/:id/runs', { schema }, async (request) => {
    const { id } = request.params
    const { limit, before } = request.query
    const items = app.monitor.config.itemsById.get(id)
    if (items === undefined) throw new NotFoundError(`id: no item has the id ${JSON.stringify(id)}`)
    const page = await app.monitor.store.runLog(id, { keep: app.monitor.config.runLog.keep, before, limit: limit! })
    const tz = zoneOf(items[0]!.check.schedule)
    const last = page.at(-1)
    return {
      id,
      runs: page.map((e) => entryView(e, tz)),
      // A full page may have more below it; the next one is then empty at worst.
      next_before: page.length === limit ? last!.seq : null,
    }
  })
}

export default runLogRoutes
