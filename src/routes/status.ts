// GET /api/v1/status: the snapshot as JSON.
import type { FastifyPluginAsyncJsonSchemaToTs } from '@fastify/type-provider-json-schema-to-ts'
import type { Config } from '../config/load.js'
import type { Snapshot } from '../domain/snapshot.js'
import { secondsToDeadline } from '../domain/check.js'
import { zoneOf } from '../domain/schedule.js'
import { isoLocal } from '../time.js'
import { guardWhenPrivate } from './auth.js'
import { at, itemView, runView, scriptView } from './script-view.js'

function statusView(s: Snapshot<Config>) {
  return {
    title: s.config.title,
    time: isoLocal(s.now),
    up: s.itemsDown === 0 && s.scriptsNotOk === 0,
    groups: s.groups.map((g) => ({
      name: g.name,
      items: g.items.map((status) => itemView(status, s.now)),
    })),
    // Every time here is ISO 8601 with an offset; the Scripto API keeps Scripto's naive UTC form.
    scripts: s.scripts.map((status) => {
      const tz = zoneOf(status.check.schedule)
      return {
        ...scriptView(status, s.now),
        ...runView(status, s.now, (ms) => at(ms, tz)),
        last_exec: at(status.script.lastExec ?? undefined, tz),
        next_due: at(status.due?.nextDue, tz),
        deadline: at(status.due?.deadline, tz),
        due_in_seconds: secondsToDeadline(status.due, s.now),
        // The vocabulary of items and badges (`state` stays Scripto's word: ok where this says up).
        status: status.status,
      }
    }),
  }
}

const statusRoutes: FastifyPluginAsyncJsonSchemaToTs = async (app) => {
  guardWhenPrivate(app)
  app.get('/api/v1/status', { schema: { summary: 'The state of every check, as JSON', tags: ['status'] } }, async () =>
    statusView(await app.monitor.snapshotInSlices()),
  )
}

export default statusRoutes
