// GET /api/v1/checks/:id/flips with a read key: a check's changes of state, newest first, a page at
// a time. Any check: config.yml's, the checks API's, and Scripto's scripts as scripto:<n>.
import type { FastifyPluginAsyncJsonSchemaToTs } from '@fastify/type-provider-json-schema-to-ts'
import { NAME_MAX } from '../config/schema.js'
import { isScriptKey } from '../domain/check.js'
import type { Flip } from '../domain/flip.js'
import { zoneOf } from '../domain/schedule.js'
import { NotFoundError } from '../errors.js'
import { isoIn } from '../time.js'
import { guardWithToken, requireTags } from './auth.js'
import { pageQuery } from './run-log.js'

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
  querystring: pageQuery('Flips', 'flip', PAGE_DEFAULT, PAGE_MAX),
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
    if (isScriptKey(id)) {
      const script = monitor.scriptOfKey(id)
      if (script === undefined) throw new NotFoundError(`id: no check has the id ${JSON.stringify(id)}`)
      requireTags(request, id, [])
      tz = zoneOf(monitor.scriptStatus(script).check.schedule)
    } else {
      const items = monitor.config.itemsById.get(id)
      if (items === undefined) throw new NotFoundError(`id: no check has the id ${JSON.stringify(id)}`)
      requireTags(request, id, () => items.flatMap((item) => item.tags))
      tz = zoneOf(items[0]!.check.schedule)
    }
    const flips = await monitor.flips.flipLog(id, { before, limit })
    return {
      id,
      flips: flips.map((flip) => flipView(flip, tz)),
      // A full page may have more below it; the next one is then empty at worst.
      next_before: flips.length === limit ? flips.at(-1)!.seq : null,
    }
  })
}

export default flipRoutes
