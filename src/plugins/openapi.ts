// The OpenAPI 3.1 document, generated from the route schemas by @fastify/swagger and served at
// /api/openapi.json: every route with its parameters and bodies (the schemas that validate them),
// the scope it asks (guardWithToken notes it on the route), and the one error shape.
import swagger, { type SwaggerTransformObject } from '@fastify/swagger'
import type { FastifyInstance } from 'fastify'
import fp from 'fastify-plugin'
import { VERSION } from '../version.js'

/** Every error body: errorBody in errors.ts. */
const ERROR = {
  description: 'An error: a 4xx names the field and what is wrong with it.',
  content: {
    'application/json': {
      schema: {
        type: 'object',
        required: ['statusCode', 'code', 'error', 'message'],
        properties: {
          statusCode: { type: 'integer' },
          code: { type: 'string', examples: ['SP_ERR_VALIDATION', 'SP_ERR_TOKEN_WRONG', 'SP_ERR_NOT_FOUND', 'SP_ERR_CONFLICT'] },
          error: { type: 'string', examples: ['Bad Request'] },
          message: { type: 'string', examples: ['body.interval: must be seconds or a duration such as 90s, 15m, 2h, 1d, 1w or 1h30m'] },
        },
      },
    },
  },
} as const

/** Either header carries the token or a key. */
const SECURED: { [scheme: string]: string[] }[] = [{ token: [] }, { bearer: [] }]

/** What guardWithToken notes on a route: the scope it asks, and when. */
interface RouteAuth {
  readonly scope: string
  /** 'always', or the setting under which the route asks for it. */
  readonly when: string
}

declare module 'fastify' {
  interface FastifyContextConfig {
    auth?: RouteAuth
  }
}

const words = (url: string) =>
  url
    .split('/')
    .filter((part) => part !== '' && part !== '-')
    .map((part) => (part.startsWith(':') ? `by ${part.slice(1)}` : part))

export default fp(
  async (app: FastifyInstance) => {
    await app.register(swagger, {
      openapi: {
        openapi: '3.1.0',
        info: {
          title: 'statuspage',
          version: VERSION,
          description: 'Heartbeat monitor: check-ins over HTTP, checks as a resource, Scripto-compatible script reports, /metrics and a status page.',
          license: { name: 'MIT', identifier: 'MIT' },
        },
        servers: [{ url: '/' }],
        tags: [
          { name: 'check-ins', description: 'Signals of checks: the original statuspage refresh, and Healthchecks-style ping URLs.' },
          { name: 'checks', description: 'Checks as a resource: config.yml defines some (read-only here), the API and first pings the others.' },
          { name: 'scripto', description: "Scripto's script API, unchanged for its clients." },
          { name: 'status', description: 'The state of every check as JSON.' },
          { name: 'metrics', description: 'Prometheus metrics.' },
          { name: 'page', description: 'The status page and the check pages, HTML without JavaScript.' },
          { name: 'badges', description: 'Shields-style badges, as SVG or as shields.io endpoint JSON.' },
          { name: 'health', description: 'Liveness and readiness.' },
        ],
        components: {
          securitySchemes: {
            token: { type: 'apiKey', in: 'header', name: 'X-Token', description: 'The token of config.yml, or a key of statuspage.keys.' },
            bearer: { type: 'http', scheme: 'bearer', description: 'The same, as Authorization: Bearer.' },
          },
        },
      },
      // An operation per method and path: a route of several methods gives one of each.
      transformObject: (document) => {
        const { openapiObject } = document as unknown as { openapiObject: { paths?: Record<string, Record<string, { operationId?: string }>> } }
        for (const [path, item] of Object.entries(openapiObject.paths ?? {})) {
          for (const [method, operation] of Object.entries(item)) {
            // The methods of one route share one operation object: each gets its own.
            const name = words(path.replace(/\{(\w+)\}/g, ':$1'))
              .join('_')
              .replace(/[^A-Za-z0-9_]/g, '_')
            item[method] = { ...operation, operationId: `${method}_${name}` }
          }
        }
        return openapiObject as ReturnType<SwaggerTransformObject>
      },
      transform: ({ schema, url, route }) => {
        const auth = route.config?.auth
        const given = (schema ?? {}) as Record<string, unknown>
        const scopeNote =
          auth === undefined
            ? 'No credential needed.'
            : `Needs the token or a key with the ${auth.scope} scope${auth.when === 'always' ? '' : ` (${auth.when})`}.`
        return {
          url,
          schema: {
            ...given,
            description: [given.description, scopeNote].filter(Boolean).join('\n\n'),
            security: auth === undefined ? [] : SECURED,
            response: { ...((given.response as object | undefined) ?? { 200: { description: 'OK', type: 'null' } }), '4XX': ERROR },
          },
        }
      },
    })
    app.get('/api/openapi.json', { schema: { hide: true } }, async () => app.swagger())
  },
  { name: 'openapi' },
)
