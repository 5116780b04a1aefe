// Reading /metrics in tests.
import type { FastifyInstance } from 'fastify'

/**
 * The lines of /metrics that start with one of these metric names (samples and comments); a name
 * with a `{` is a prefix of the series to keep (`statuspage_item_up{group="Jobs"`).
 */
export async function metricLines(app: FastifyInstance, ...names: string[]): Promise<string[]> {
  const body = (await app.inject({ url: '/metrics' })).body
  return body.split('\n').filter((l) => names.some((n) => (n.includes('{') ? l.startsWith(n) : l.startsWith(`${n}{`) || l.startsWith(`${n} `))))
}
