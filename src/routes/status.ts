// GET /api/v1/status: the snapshot as JSON.
import type { FastifyPluginAsyncJsonSchemaToTs } from '@fastify/type-provider-json-schema-to-ts'
import type { Snapshot } from '../domain/snapshot.js'
import { isoLocal } from '../time.js'
import { scriptView } from './script-view.js'

export function statusView(s: Snapshot) {
  return {
    title: s.config.title,
    time: isoLocal(s.now),
    up: s.itemsDown === 0 && s.scriptsNotOk === 0,
    groups: s.groups.map((g) => ({
      name: g.name,
      items: g.items.map(({ item, lastRefresh, state, dueIn }) => ({
        id: item.id,
        name: item.name,
        interval: item.interval,
        last_refresh: lastRefresh === undefined ? null : isoLocal(lastRefresh),
        state,
        due_in_seconds: dueIn,
      })),
    })),
    // Every time here is ISO 8601 with an offset; the Scripto API keeps Scripto's naive UTC form.
    scripts: s.scripts.map((status) => ({ ...scriptView(status), last_exec: status.script.lastExec === null ? null : isoLocal(status.script.lastExec) })),
  }
}

const statusRoutes: FastifyPluginAsyncJsonSchemaToTs = async (app) => {
  app.get('/api/v1/status', async () => statusView(app.monitor.snapshot()))
}

export default statusRoutes
