// GET / (the status page), each check's own page (/item/:id, /script/:id) and the badges.
import { Readable } from 'node:stream'
import type { FastifyPluginAsync, FastifyReply } from 'fastify'
import { scriptKey, type CheckStatus } from '../domain/check.js'
import { taggedOnly, type ItemStatus } from '../domain/snapshot.js'
import type { Monitor } from '../monitor.js'
import { NotFoundError } from '../errors.js'
import { guardWhenPrivate } from './auth.js'
import { badgeJson, badgeSvg, TONE, type Badge } from '../page/badge.js'
import { DOWNTIME_MONTHS, renderCheckPage, type CheckPage } from '../page/check-page.js'
import { renderPage, STYLE_HASH } from '../page/page.js'
import { SIGNALS_KEPT } from '../domain/run.js'

/** Log entries a check page lists at most (run_log.keep, if fewer); the API pages through them all. */
const PAGE_ENTRIES = 50
/** Flips a check page reads at most: availability and downtimes cover fewer when a check flaps more. */
const FLIPS_READ = 20_000

const CSP = `default-src 'none'; style-src '${STYLE_HASH}'; img-src data:; base-uri 'none'; form-action 'none'; frame-ancestors 'none'`

/** The states a badge of several checks shows, worst first: the word of the page's vocabulary. */
const WORST_FIRST: readonly CheckStatus[] = ['failed', 'timeout', 'late', 'never', 'running', 'up']

/** The worst state of some checks; paused or maintenance when all of them are held so. */
const worstOf = (label: string, statuses: readonly ItemStatus[]): Badge => {
  for (const held of ['paused', 'maintenance'] as const) {
    if (statuses.every((i) => i.status === held)) return { label, message: held, tone: TONE[held] }
  }
  const status = WORST_FIRST.find((s) => statuses.some((i) => i.status === s)) ?? 'up'
  return { label, message: status, tone: TONE[status] }
}

// Each badge looks at its own items or script only: badges are fetched often, snapshots are big.
const itemBadge = (m: Monitor, id: string): Badge | undefined => {
  const items = m.config.itemsById.get(id)
  return items && worstOf(items[0]!.name, m.itemStatuses(items))
}

const groupBadge = (m: Monitor, name: string): Badge | undefined => {
  const group = m.config.groups.find((g) => g.name === name)
  return group && worstOf(name, m.itemStatuses(group.items))
}

/** The worst state of the items with the tag. */
const tagBadge = (m: Monitor, tag: string): Badge | undefined => {
  const items = m.config.items.filter((item) => item.tags.includes(tag))
  return items.length === 0 ? undefined : worstOf(tag, m.itemStatuses(items))
}

const scriptBadge = (m: Monitor, id: string): Badge | undefined => {
  const script = /^\d{1,15}$/.test(id) ? m.getScript(Number(id)) : undefined
  if (script === undefined) return undefined
  const { status } = m.scriptStatus(script)
  return { label: script.name, message: status, tone: TONE[status] }
}

/** A path parameter, for the OpenAPI document. */
const FILE_PARAMS = (name: string) => ({ type: 'object', required: [name], properties: { [name]: { type: 'string' } } })

const pageRoutes: FastifyPluginAsync = async (app) => {
  guardWhenPrivate(app)
  app.addHook('onSend', async (_request, reply) => {
    reply.header('x-content-type-options', 'nosniff').header('referrer-policy', 'no-referrer').header('cache-control', 'no-cache')
  })

  const html = (reply: FastifyReply, body: string | Readable) => reply.type('text/html; charset=utf-8').header('content-security-policy', CSP).send(body)

  // /?tag=a&tag=b: the checks with every one of the tags.
  app.get(
    '/',
    {
      schema: {
        summary: 'The status page (HTML)',
        tags: ['page'],
        querystring: { type: 'object', properties: { tag: { type: 'array', items: { type: 'string', minLength: 1, maxLength: 64 }, maxItems: 20 } } },
      },
    },
    async (request, reply) => {
      const { tag = [] } = request.query as { tag?: string[] }
      const snapshot = await app.monitor.snapshotInSlices()
      const history = { flips: app.monitor.flips.recentFlips(), heads: app.monitor.flips.flipHeads() }
      return html(reply, Readable.from(renderPage(taggedOnly(snapshot, tag), tag, history)))
    },
  )

  /** A check page of `status`, with its log: every kept signal, for availability. */
  const checkPage = (reply: FastifyReply, page: Omit<CheckPage, 'title' | 'shown' | 'showOutput' | 'refresh' | 'now'>) => {
    const { config } = app.monitor
    return html(
      reply,
      renderCheckPage({
        ...page,
        title: config.title,
        shown: Math.min(config.runLog.keep, PAGE_ENTRIES),
        showOutput: config.showOutput,
        refresh: config.refreshInterval,
        now: app.monitor.now(),
      }),
    )
  }
  const wholeLog = { keep: SIGNALS_KEPT, before: undefined, limit: SIGNALS_KEPT }
  /**
   * The flips of the check with `key` that its page reads: those of the months its downtimes
   * cover (FLIPS_READ at most) and the one before them, the state they began in.
   */
  const pageFlips = async (key: string) => {
    const since = app.monitor.now() - (DOWNTIME_MONTHS * 31 + 1) * 86_400_000
    const flips = await app.monitor.flips.flipLog(key, { before: undefined, since, limit: FLIPS_READ })
    const prior = flips.length === FLIPS_READ ? undefined : (await app.monitor.flips.flipLog(key, { before: flips.at(-1)?.seq, limit: 1 }))[0]
    return { flips, prior }
  }

  app.get('/item/:id', { schema: { summary: 'A check page (HTML)', tags: ['page'], params: FILE_PARAMS('id') } }, async (request, reply) => {
    const { id } = request.params as { id: string }
    const items = app.monitor.config.itemsById.get(id)
    if (items === undefined) throw new NotFoundError(`id: no item has the id ${JSON.stringify(id)}`)
    const log = await app.monitor.runLog(id, wholeLog)
    // An id in several groups shares one log; the first item's schedule judges it here.
    const [status] = app.monitor.itemStatuses(items)
    return checkPage(reply, {
      name: items[0]!.name,
      where: `${items.length === 1 ? 'group' : 'groups'} ${items.map((i) => i.group).join(', ')}`,
      status: status!,
      log,
      ...(await pageFlips(id)),
    })
  })

  app.get('/script/:id', { schema: { summary: "A script's page (HTML)", tags: ['page'], params: FILE_PARAMS('id') } }, async (request, reply) => {
    const { id } = request.params as { id: string }
    const script = app.monitor.config.scripto.enabled && /^\d{1,15}$/.test(id) ? app.monitor.getScript(Number(id)) : undefined
    if (script === undefined) throw new NotFoundError(`id: no script with id ${JSON.stringify(id)}`)
    const log = await app.monitor.scriptRunLog(script.id, wholeLog)
    return checkPage(reply, {
      name: script.name,
      where: `server ${script.server}`,
      status: app.monitor.scriptStatus(script),
      log,
      ...(await pageFlips(scriptKey(script.id))),
    })
  })

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
  app.get(
    '/badge/:file',
    { schema: { summary: "A check's badge: <id>.svg or <id>.json", tags: ['badges'], params: FILE_PARAMS('file') } },
    badge('item with id', itemBadge),
  )
  app.get('/badge/group/:file', { schema: { summary: "A group's badge", tags: ['badges'], params: FILE_PARAMS('file') } }, badge('group', groupBadge))
  app.get(
    '/badge/script/:file',
    { schema: { summary: "A script's badge", tags: ['badges'], params: FILE_PARAMS('file') } },
    badge('script with id', scriptBadge),
  )
  app.get(
    '/badge/tag/:file',
    { schema: { summary: 'The badge of the checks with a tag', tags: ['badges'], params: FILE_PARAMS('file') } },
    badge('check with the tag', tagBadge),
  )
}

export default pageRoutes
