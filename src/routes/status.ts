// GET /api/v1/status: the snapshot as JSON.
import type { FastifyPluginAsyncJsonSchemaToTs } from '@fastify/type-provider-json-schema-to-ts'
import type { Snapshot } from '../domain/snapshot.js'
import { isoIn, isoLocal } from '../time.js'
import { scriptView } from './script-view.js'

export function statusView(s: Snapshot) {
  return {
    title: s.config.title,
    time: isoLocal(s.now),
    up: s.itemsDown === 0 && s.scriptsNotOk === 0,
    groups: s.groups.map((g) => ({
      name: g.name,
      items: g.items.map(({ item, lastRefresh, state, dueIn, due }) => {
        const { schedule, grace } = item.check
        const tz = schedule.kind === 'cron' ? schedule.tz : undefined
        const at = (ms: number | undefined) => (ms === undefined || !Number.isFinite(ms) ? null : isoIn(ms, tz))
        return {
          id: item.id,
          name: item.name,
          interval: item.interval ?? null,
          schedule: schedule.kind === 'cron' ? schedule.expression : null,
          tz: tz ?? null,
          grace,
          last_refresh: at(lastRefresh),
          next_due: at(due?.nextDue),
          deadline: at(due?.deadline),
          state,
          due_in_seconds: dueIn,
        }
      }),
    })),
    // Every time here is ISO 8601 with an offset; the Scripto API keeps Scripto's naive UTC form.
    scripts: s.scripts.map((status) => ({ ...scriptView(status), last_exec: status.script.lastExec === null ? null : isoLocal(status.script.lastExec) })),
  }
}

const statusRoutes: FastifyPluginAsyncJsonSchemaToTs = async (app) => {
  app.get('/api/v1/status', async () => statusView(app.monitor.snapshot()))
}

export default statusRoutes
