// GET /api/v1/checks/:id/flips with a read key: a check's changes of state, newest first, a page at
// a time. Any check: config.yml's, the checks API's, and Scripto's scripts as scripto:<n>.
import type { FastifyPluginAsyncJsonSchemaToTs } from '@fastify/type-provider-json-schema-to-ts'
import { NAME_MAX } from '../config/schema.js'
import { SCRIPT_KEY_PREFIX } from '../domain/check.js'
import type { Flip } from '../domain/flip.js'
import { zoneOf } from '../domain/schedule.js'
import { NotFoundError } from '../errors.js'
import { isoIn } from '../time.js'
import { guardWithToken, requireTags } from './auth.js'

const PAGE_DEFAULT = 50
const PAGE_MAX = 500

const schema = {
  summary: "A page of a check's flips: its changes of state, newest first",
  tags: ['checks'],
  params: {
    type: 'object',
    properties: { id: { description: 'The check id; a Scripto script is scripto:<n>.', type: 'string', minLength: 1, maxLength: NAME_MAX } },
    required: ['id'],
  },
  querystring: {
    type: 'object',
    additionalProperties: false,
    properties: {
      limit: { description: 'Flips per page.', type: 'integer', minimum: 1, maximum: PAGE_MAX, default: PAGE_DEFAULT },
      before: { description: 'The seq of the last flip of the page before: the next page starts below it.', type: 'integer', minimum: 1 },
    },
  },
} as const

const flipView = (flip: Flip, tz: string | undefined) => ({
  seq: flip.seq,
  time: isoIn(flip.at, tz),
  from: flip.from,
  to: flip.to,
  reason: flip.reason,
})

const flipRoutes: FastifyPluginAsyncJsonSchemaToTs = async (app) => {
  const { monitor } = app
  guardWithToken(app, { scope: 'read' })

  app.get('/api/v1/checks/:id/flips', { schema }, async (request) => {
    const { id } = request.params
    const { limit = PAGE_DEFAULT, before } = request.query
    let tz: string | undefined
    if (id.startsWith(SCRIPT_KEY_PREFIX)) {
      const n = id.slice(SCRIPT_KEY_PREFIX.length)
      const script = monitor.config.scripto.enabled && /^[1-9]\d{0,14}$/.test(n) ? monitor.getScript(Number(n)) : undefined
      if (script === undefined) throw new NotFoundError(`id: no check has the id ${JSON.stringify(id)}`)
      requireTags(request, id, [])
      tz = zoneOf(monitor.scriptStatus(script).check.schedule)
    } else {
      const items = monitor.config.itemsById.get(id)
      if (items === undefined) throw new NotFoundError(`id: no check has the id ${JSON.stringify(id)}`)
      requireTags(request, id, () => items.flatMap((item) => item.tags))
      tz = zoneOf(items[0]!.check.schedule)
    }
    const flips = await monitor.flipLog(id, { before, limit })
    return {
      id,
      flips: flips.map((flip) => flipView(flip, tz)),
      // A full page may have more below it; the next one is then empty at worst.
      next_before: flips.length === limit ? flips.at(-1)!.seq : null,
    }
  })
}

export default flipRoutes
