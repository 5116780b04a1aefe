// POST /api/v1/items/:id/pause|resume (or /api/v1/checks/...) and /api/v1/script/:id/pause|resume, with the token. A
// paused check is neither up nor down, and out of the banner and the alerts, until a resume or,
// unless it has manual_resume, its next signal. Pauses and resumes are signals: they are in the
// run log, survive restarts and reach every replica as check-ins do.
import type { FastifyPluginAsyncJsonSchemaToTs } from '@fastify/type-provider-json-schema-to-ts'
import type { FastifyRequest } from 'fastify'
import { NAME_MAX } from '../config/schema.js'
import type { Signal } from '../domain/run.js'
import { zoneOf } from '../domain/schedule.js'
import { NotFoundError } from '../errors.js'
import { isoIn } from '../time.js'
import { guardWithToken, requireTags } from './auth.js'
import { scriptView } from './script-view.js'
import { sourceOf } from './signals.js'

const itemParams = {
  type: 'object',
  properties: { id: { type: 'string', minLength: 1, maxLength: NAME_MAX }, action: { type: 'string', enum: ['pause', 'resume'] } },
  required: ['id', 'action'],
} as const

const scriptParams = {
  type: 'object',
  properties: { id: { type: 'integer', minimum: 1, maximum: Number.MAX_SAFE_INTEGER }, action: { type: 'string', enum: ['pause', 'resume'] } },
  required: ['id', 'action'],
} as const

const pauseRoutes: FastifyPluginAsyncJsonSchemaToTs = async (app) => {
  const { monitor } = app
  guardWithToken(app, { scope: 'write' })

  // A check of the checks API is an item: /api/v1/checks/:id/pause|resume is the same.
  app.post('/api/v1/checks/:id/:action', { schema: { summary: 'Pause or resume a check', tags: ['checks'], params: itemParams } }, async (request) =>
    pauseItem(request.params.id, request.params.action, request),
  )
  app.post(
    '/api/v1/items/:id/:action',
    { schema: { summary: 'Pause or resume an item (as /api/v1/checks/:id/:action)', tags: ['checks'], params: itemParams } },
    async (request) => pauseItem(request.params.id, request.params.action, request),
  )

  async function pauseItem(id: string, action: 'pause' | 'resume', request: FastifyRequest) {
    requireTags(request, id, () => monitor.config.itemsById.get(id)?.flatMap((item) => item.tags) ?? [])
    const items = await monitor.signal(id, { kind: action, source: sourceOf(request) })
    if (items.length === 0) throw new NotFoundError(`id: no item has the id ${JSON.stringify(id)}`)
    request.log.info({ id, action }, `item ${action}d`)
    return {
      id,
      items: monitor.itemStatuses(items).map(({ item, status, runs }) => ({
        group: item.group,
        status,
        paused_since: runs.paused === undefined ? null : isoIn(runs.paused, zoneOf(item.check.schedule)),
      })),
    }
  }

  app.post('/api/v1/script/:id/:action', { schema: { summary: 'Pause or resume a script', tags: ['scripto'], params: scriptParams } }, async (request) => {
    const { id, action } = request.params
    if (!monitor.config.scripto.enabled) throw new NotFoundError('the script API is disabled (scripto.enabled: false)')
    const signal: Signal = { kind: action, at: monitor.now(), source: sourceOf(request) }
    const script = await monitor.signalScript(id, signal)
    if (script === undefined) throw new NotFoundError(`id: no script with id ${id}`)
    request.log.info({ script: id, action }, `script ${action}d`)
    return scriptView(monitor.scriptStatus(script), monitor.now())
  })
}

export default pauseRoutes
