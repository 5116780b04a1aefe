// GET / (the status page) and the badges, all rendered from the snapshot.
import { Readable } from 'node:stream'
import type { FastifyPluginAsync, FastifyReply } from 'fastify'
import type { ItemStatus } from '../domain/snapshot.js'
import type { Monitor } from '../monitor.js'
import { NotFoundError } from '../errors.js'
import { badgeJson, badgeSvg, TONE, type Badge } from '../page/badge.js'
import { renderPage, STYLE_HASH } from '../page/page.js'

const CSP = `default-src 'none'; style-src '${STYLE_HASH}'; img-src data:; base-uri 'none'; form-action 'none'; frame-ancestors 'none'`

/** down if any is; else paused or in maintenance when all of them are held so; else up. */
const upDown = (label: string, statuses: readonly ItemStatus[]): Badge => {
  if (statuses.some((i) => i.state === 'down')) return { label, message: 'down', tone: TONE.down }
  for (const held of ['paused', 'maintenance'] as const) {
    if (statuses.every((i) => i.status === held)) return { label, message: held, tone: TONE[held] }
  }
  return { label, message: 'up', tone: TONE.up }
}

// Each badge looks at its own items or script only: badges are fetched often, snapshots are big.
const itemBadge = (m: Monitor, id: string): Badge | undefined => {
  const items = m.config.itemsById.get(id)
  return items && upDown(items[0]!.name, m.itemStatuses(items))
}

const groupBadge = (m: Monitor, name: string): Badge | undefined => {
  const group = m.config.groups.find((g) => g.name === name)
  return group && upDown(name, m.itemStatuses(group.items))
}

const scriptBadge = (m: Monitor, id: string): Badge | undefined => {
  const script = /^\d{1,15}$/.test(id) ? m.getScript(Number(id)) : undefined
  if (script === undefined) return undefined
  const { state } = m.scriptStatus(script)
  return { label: script.name, message: state, tone: TONE[state] }
}

const pageRoutes: FastifyPluginAsync = async (app) => {
  app.addHook('onSend', async (_request, reply) => {
    reply.header('x-content-type-options', 'nosniff').header('referrer-policy', 'no-referrer').header('cache-control', 'no-cache')
  })

  app.get('/', async (_request, reply) =>
    reply.type('text/html; charset=utf-8').header('content-security-policy', CSP).send(Readable.from(renderPage(app.monitor.snapshot()))),
  )

  /** `<key>.svg` or `<key>.json` for the badge that `find` gives, else 404. */
  const badge = (what: string, find: (m: Monitor, key: string) => Badge | undefined) => async (request: { params: unknown }, reply: FastifyReply) => {
    const { file } = request.params as { file: string }
    const match = /^(.+)\.(svg|json)$/.exec(file)
    if (!match) throw new NotFoundError(`badge names end in .svg or .json, got '${file}'`)
    const found = find(app.monitor, match[1]!)
    if (!found) throw new NotFoundError(`no ${what} '${match[1]}'`)
    if (match[2] === 'json') return reply.send(badgeJson(found))
    return reply.type('image/svg+xml; charset=utf-8').header('content-security-policy', "default-src 'none'; style-src 'unsafe-inline'").send(badgeSvg(found))
  }
  app.get('/badge/:file', badge('item with id', itemBadge))
  app.get('/badge/group/:file', badge('group', groupBadge))
  app.get('/badge/script/:file', badge('script with id', scriptBadge))
}

export default pageRoutes
