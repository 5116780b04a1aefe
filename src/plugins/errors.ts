// The one error handler: every error leaves as {statusCode, code, error, message}. A 4xx message
// names the field and the fault; a 5xx says only "Internal Server Error" and the log holds the rest.
import type { FastifyError, FastifyInstance, FastifyRequest } from 'fastify'
import fp from 'fastify-plugin'
import { describeAjvErrors, errorBody } from '../errors.js'

function messageOf(err: FastifyError, request: FastifyRequest): string {
  if (err.validation) {
    // The part validated, so that a list's index reads [0], not a key ["0"].
    const parts: Record<string, unknown> = { body: request.body, querystring: request.query, params: request.params, headers: request.headers }
    return describeAjvErrors(err.validation as never, parts[err.validationContext ?? ''], err.validationContext).join('; ')
  }
  switch (err.code) {
    case 'FST_ERR_CTP_INVALID_MEDIA_TYPE':
      return 'Content-Type: must be application/json'
    case 'FST_ERR_CTP_INVALID_CONTENT_LENGTH':
      return 'Content-Length: must be the length of the body'
    case 'FST_ERR_CTP_EMPTY_JSON_BODY':
      return 'body: must not be empty'
    case 'FST_ERR_CTP_INVALID_JSON_BODY':
      return `body: is not valid JSON (${err.message})`
    case 'FST_ERR_CTP_BODY_TOO_LARGE':
      return `body: must be at most ${request.routeOptions.bodyLimit} bytes`
    default:
      return err.message
  }
}

export default fp(
  async (app: FastifyInstance) => {
    app.setErrorHandler((err: FastifyError, request, reply) => {
      // 4xx, and the 503 of a database that does not answer, say what happened; any other is a 500.
      const statusCode =
        err.statusCode !== undefined && ((err.statusCode >= 400 && err.statusCode < 500) || err.code === 'SP_ERR_STORE_UNAVAILABLE') ? err.statusCode : 500
      if (statusCode === 500) {
        request.log.error({ err }, 'request failed')
        return reply.code(500).send(errorBody(500, 'SP_ERR_INTERNAL', 'Internal Server Error'))
      }
      // The database may be back in a moment: a client should retry, not give up.
      if (statusCode === 503) reply.header('retry-after', '1')
      // The rest of a body that came too slowly is not waited for.
      if (statusCode === 408) reply.header('connection', 'close')
      const code = err.validation ? 'SP_ERR_VALIDATION' : (err.code ?? 'SP_ERR_BAD_REQUEST')
      return reply.code(statusCode).send(errorBody(statusCode, code, messageOf(err, request)))
    })
    app.setNotFoundHandler((request, reply) =>
      reply.code(404).send(errorBody(404, 'SP_ERR_NOT_FOUND', `no route ${request.method} ${request.url.split('?')[0]}`)),
    )
  },
  { name: 'errors' },
)
