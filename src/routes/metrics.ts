// GET /metrics: the Prometheus text format 0.0.4, or OpenMetrics when the scraper prefers it.
import { Readable } from 'node:stream'
import Negotiator from 'negotiator'
import type { FastifyPluginAsync } from 'fastify'
import { CONTENT_TYPE } from '../metrics/metrics.js'

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

const metricsRoutes: FastifyPluginAsync = async (app) => {
  app.get('/metrics', async (request, reply) => {
    const preferred = new Negotiator({ headers: { accept: typesOnly(request.headers.accept ?? '*/*') } }).mediaType(OFFERED)
    const format = preferred === 'application/openmetrics-text' ? 'openmetrics' : 'text'
    return reply.type(CONTENT_TYPE[format]).send(Readable.from(app.metrics.render(format)))
  })
}

export default metricsRoutes
