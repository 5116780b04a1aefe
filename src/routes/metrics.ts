// GET /metrics: the Prometheus text format 0.0.4, or OpenMetrics when the scraper prefers it.
import type { ServerResponse } from 'node:http'
import Negotiator from 'negotiator'
import type { FastifyPluginAsync } from 'fastify'
import { CONTENT_TYPE } from '../metrics/metrics.js'
import { guardWhenPrivate } from './auth.js'

const OFFERED = ['text/plain', 'application/openmetrics-text']

/**
 * The Accept header with every parameter but q dropped: Negotiator only matches a type whose
 * parameters equal the offered ones, and scrapers add version=… and escaping=… to each type.
 */
const typesOnly = (accept: string) =>
  accept
    .split(',')
    .map((part) => {
      const [type, ...params] = part.split(';')
      const q = params.find((p) => /^\s*q=/i.test(p))
      return q === undefined ? type : `${type};${q.trim()}`
    })
    .join(',')

const drainedOrClosed = (res: ServerResponse) =>
  new Promise<void>((resolve) => {
    const done = () => {
      res.off('drain', done)
      res.off('close', done)
      resolve()
    }
    res.on('drain', done)
    res.on('close', done)
  })

const metricsRoutes: FastifyPluginAsync = async (app) => {
  guardWhenPrivate(app)
  app.get('/metrics', { schema: { summary: 'Prometheus metrics (text format, or OpenMetrics)', tags: ['metrics'] } }, async (request, reply) => {
    const preferred = new Negotiator({ headers: { accept: typesOnly(request.headers.accept ?? '*/*') } }).mediaType(OFFERED)
    const format = preferred === 'application/openmetrics-text' ? 'openmetrics' : 'text'
    // Written out by hand rather than piped, to learn when each chunk has left: its memory then
    // serves the next chunk (see ChunkPool).
    reply.hijack()
    const res = reply.raw
    res.writeHead(200, { 'content-type': CONTENT_TYPE[format] })
    if (request.method === 'HEAD') return void res.end()
    try {
      const body = app.metrics.body(format)
      // Ended or cut off, the response writes nothing more of the body: a kept one may go back.
      res.once('close', body.done)
      for await (const chunk of body.chunks) {
        if (res.destroyed) break
        if (!res.write(chunk, () => body.sent(chunk))) await drainedOrClosed(res)
      }
      res.end()
    } catch (err) {
      request.log.error({ err }, 'rendering /metrics failed')
      res.destroy()
    }
  })
}

export default metricsRoutes
