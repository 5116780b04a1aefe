// Scripto's REST API at /api/v1/script: scripts report each run; reads are open, writes need the
// token unless scripto.require_token is false.
import type { FastifyPluginAsyncJsonSchemaToTs } from '@fastify/type-provider-json-schema-to-ts'
import type { FastifyRequest } from 'fastify'
import type { FromSchema } from 'json-schema-to-ts'
import { NAME_MAX, NO_NUL, periodicitySchema, runLimitFields } from '../config/schema.js'
import { isShowable, parseScriptoDate, TIME_RANGE } from '../domain/dates.js'
import { DURATION_MAX, DURATION_PATTERN, DURATION_RANGE, parseDuration } from '../domain/duration.js'
import { cronSchedule, isTimeZone, unknownZone } from '../domain/schedule.js'
import type { Signal } from '../domain/run.js'
import { timingFault } from '../domain/check.js'
import { SCRIPT_FIELD_NAMES, type Periodicity, type Script, type ScriptFieldName, type ScriptFields, type StoredScriptField } from '../domain/script.js'
import { BadRequestError, NotFoundError } from '../errors.js'
import { guardWhenPrivate, guardWithToken, requireTags } from './auth.js'
import { parseScriptQuery } from './script-query.js'
import { scriptView } from './script-view.js'
import { KEY_HINT, keyOf, outputOf, RID_PATTERN, sourceOf } from './signals.js'

const text = { type: 'string', minLength: 1, maxLength: NAME_MAX, pattern: NO_NUL } as const

const fields = {
  name: text,
  server: text,
  status: { description: 'Whether the run succeeded: true/false or 1/0.', enum: [true, false, 1, 0] },
  last_exec: {
    description: 'CURRENT_TIMESTAMP, LOCALTIMESTAMP, CURRENT_DATE, or an ISO 8601 date or date-time (UTC unless it has an offset).',
    type: ['string', 'null'],
    maxLength: 64,
    pattern: NO_NUL,
  },
  periodicity: { ...periodicitySchema, type: ['string', 'number', 'null'] },
  schedule: {
    description: 'A cron expression (5 fields, or 6 with seconds; @daily...), instead of a periodicity; null clears it.',
    type: ['string', 'null'],
    minLength: 1,
    maxLength: NAME_MAX,
    pattern: NO_NUL,
  },
  tz: { description: 'IANA time zone of the schedule; null: statuspage.tz.', type: ['string', 'null'], minLength: 1, maxLength: 64, pattern: NO_NUL },
  grace: {
    description: 'Seconds, or a duration such as 15m, that a report may come after its due time; null: the default.',
    type: ['number', 'string', 'null'],
    if: { type: 'string' },
    then: { pattern: DURATION_PATTERN },
    else: { minimum: 0, maximum: DURATION_MAX },
  },
  // null puts a limit back to its default.
  max_runtime: { ...runLimitFields.max_runtime, type: ['number', 'string', 'null'] },
  min_runtime: { ...runLimitFields.min_runtime, type: ['number', 'string', 'null'] },
  failure_threshold: { ...runLimitFields.failure_threshold, type: ['integer', 'null'] },
  recovery_threshold: { ...runLimitFields.recovery_threshold, type: ['integer', 'null'] },
  manual_resume: { description: 'While paused, reports and starts are logged and ignored: only POST /api/v1/script/<id>/resume releases it.', type: 'boolean' },
} as const satisfies { readonly [N in ScriptFieldName]: object }

/** What a report may say of the run it finishes; not stored as fields. */
const runFields = {
  rid: { description: 'Run id: finishes the run that a start with this rid began.', type: 'string', pattern: RID_PATTERN },
  duration: { description: 'Seconds the run took; takes the place of the measured one (finish - start).', type: 'number', minimum: 0, maximum: DURATION_MAX },
  exit_code: { description: "The job's exit status, kept for people; status decides success.", type: 'integer', minimum: 0, maximum: 255 },
  output: { description: "The job's output, for the run log: its first 10 KiB are kept.", type: 'string' },
} as const

const startBody = {
  type: ['object', 'null'],
  additionalProperties: false,
  properties: { rid: runFields.rid },
} as const

const createBody = {
  type: 'object',
  additionalProperties: false,
  required: ['name', 'server', 'status'],
  properties: { ...fields, ...runFields, id: false },
} as const
const updateBody = {
  type: 'object',
  additionalProperties: false,
  // Clients may send back the object they were given: its id is accepted when it is this one.
  properties: { ...fields, ...runFields, id: { type: 'integer' } },
} as const

const idParams = {
  type: 'object',
  required: ['id'],
  properties: { id: { type: 'integer', minimum: 1, maximum: Number.MAX_SAFE_INTEGER } },
} as const

const listQuery = {
  type: 'object',
  properties: {
    page: { type: 'integer', minimum: 1, maximum: 1_000_000_000, default: 1 },
    results_per_page: { type: 'integer', minimum: 1, maximum: 100, default: 10 },
    q: { type: 'string', maxLength: 16 * 1024 },
  },
} as const

/** A write's body, as its schema says: every field of createBody and updateBody is optional here. */
type Body = FromSchema<typeof updateBody>

const scriptRoutes: FastifyPluginAsyncJsonSchemaToTs = async (app) => {
  const { monitor } = app
  // Only JSON: a text/plain body is refused with 415, as Scripto did, instead of being parsed.
  app.removeContentTypeParser('text/plain')
  // Scripto's README deletes with `-H "Content-Type: application/json"` and no body.
  const parseJson = app.getDefaultJsonParser('error', 'error')
  app.removeContentTypeParser('application/json')
  app.addContentTypeParser('application/json', { parseAs: 'string' }, (request, body, done) =>
    body === '' && (request.method === 'DELETE' || request.url.endsWith('/start')) ? done(null, undefined) : parseJson(request, body as string, done),
  )

  app.addHook('onRequest', async () => {
    if (!monitor.config.scripto.enabled) throw new NotFoundError('the script API is disabled (scripto.enabled: false)')
  })
  // Reads are open, as Scripto's were, unless the instance is private.
  guardWhenPrivate(app, ['GET', 'HEAD'])
  guardWithToken(app, {
    scope: 'write',
    methods: ['POST', 'PUT', 'PATCH', 'DELETE'],
    applies: () => monitor.config.scripto.requireToken,
    when: 'writes, unless scripto.require_token: false',
  })
  // Scripts have no tags: a key limited to tags reads and writes none of them.
  app.addHook('preHandler', async (request) => {
    if (request.credential !== undefined) requireTags(request, request.url, [])
  })
  if (monitor.config.scripto.enabled && !monitor.config.scripto.requireToken) {
    app.log.warn('scripto.require_token is false: anyone who reaches this port can write script reports')
  }

  /** Seconds of a duration field of the body; a runtime limit is above 0, or null to turn it off. */
  const seconds =
    (key: 'grace' | 'max_runtime' | 'min_runtime') =>
    (value: number | string | null): number | null => {
      const n = value === null ? null : parseDuration(value)
      // The schema has refused what is neither a number from 0 nor a duration string.
      if (n === undefined) throw new BadRequestError(`body.${key}: ${DURATION_RANGE}`)
      if (n === 0 && key !== 'grace') throw new BadRequestError(`body.${key}: must be greater than 0, or null to turn it off`)
      return n
    }
  /**
   * Each stored field from the body's value of it (SCRIPT_FIELD_NAMES), in the order they are
   * checked; a value the schema cannot refuse (a date that does not parse) is the client's error.
   */
  const readers: { readonly [F in StoredScriptField]: (value: Exclude<Body[(typeof SCRIPT_FIELD_NAMES)[F]], undefined>) => ScriptFields[F] } = {
    name: (name) => name,
    server: (server) => server,
    status: (status) => status === true || status === 1,
    // The schema's if/then allows only the named periods as strings; FromSchema cannot narrow it.
    periodicity: (periodicity) => periodicity as Periodicity | null,
    schedule: (schedule) => schedule,
    tz: (tz) => tz,
    grace: seconds('grace'),
    maxRuntime: seconds('max_runtime'),
    minRuntime: seconds('min_runtime'),
    failureThreshold: (threshold) => threshold,
    recoveryThreshold: (threshold) => threshold,
    manualResume: (manual) => manual,
    lastExec(text) {
      if (text === null) return null
      const ms = parseScriptoDate(text, monitor.now())
      if (ms === undefined) {
        throw new BadRequestError(
          `body.last_exec: must be CURRENT_TIMESTAMP, LOCALTIMESTAMP, CURRENT_DATE or an ISO 8601 date or date-time, got ${JSON.stringify(text)}`,
        )
      }
      if (!isShowable(ms)) throw new BadRequestError(`body.last_exec: ${TIME_RANGE}, got ${JSON.stringify(text)}`)
      return ms
    },
  }
  const reading = (Object.keys(readers) as StoredScriptField[]).map(
    (field) => [field, SCRIPT_FIELD_NAMES[field], readers[field] as (value: unknown) => unknown] as const,
  )
  /** The body's fields in storage form. */
  const toFields = (body: Body): Partial<ScriptFields> => {
    const out: Record<string, unknown> = {}
    for (const [field, name, read] of reading) {
      const value = body[name]
      if (value !== undefined) out[field] = read(value)
    }
    return out as Partial<ScriptFields>
  }
  /**
   * The script as it would be stored, checked for what the schema cannot say: one of periodicity
   * and schedule, a schedule that compiles in its zone. Names the body's fields.
   */
  const checkSchedule = (next: ScriptFields): void => {
    const fault = timingFault({ schedule: next.schedule !== null, period: next.periodicity !== null, tz: next.tz !== null })
    if (fault === 'both')
      throw new BadRequestError('body.periodicity, body.schedule: a script has a periodicity or a schedule, not both; send the other as null')
    if (next.tz !== null && !isTimeZone(next.tz)) throw new BadRequestError(`body.tz: ${unknownZone(next.tz)}`)
    if (fault === 'tz without schedule') throw new BadRequestError('body.tz: applies to a schedule; this script has none')
    if (next.schedule === null) return
    const schedule = cronSchedule(next.schedule, next.tz ?? monitor.config.tz, monitor.now())
    if ('error' in schedule) throw new BadRequestError(`body.schedule: ${schedule.error}`)
  }
  /**
   * The run a report (a write with a status) finishes, for the script and its run log; undefined
   * for a write of fields only.
   */
  const reported = (request: FastifyRequest, body: Body, patch: Partial<ScriptFields>): Signal | undefined => {
    if (body.status === undefined) {
      if (body.rid !== undefined || body.duration !== undefined || body.exit_code !== undefined || body.output !== undefined) {
        throw new BadRequestError('body.rid, body.duration, body.exit_code, body.output: describe a finished run, so they come with a status')
      }
      return undefined
    }
    const output = body.output === undefined ? undefined : outputOf(Buffer.from(body.output), Buffer.byteLength(body.output))
    return {
      kind: patch.status ? 'success' : 'failure',
      at: monitor.now(),
      rid: body.rid,
      key: requestKey(request),
      duration: body.duration,
      exitStatus: body.exit_code,
      source: sourceOf(request),
      output,
    }
  }
  /** The request's Idempotency-Key; a malformed one is the client's error. */
  const requestKey = (request: FastifyRequest): string | undefined => {
    const key = keyOf(request)
    if (key === null) throw new BadRequestError(KEY_HINT)
    return key
  }
  const view = (script: Script) => scriptView(monitor.scriptStatus(script), monitor.now())
  const notFound = (id: number) => new NotFoundError(`no script with id ${id}`)

  app.get('/api/v1/script', { schema: { summary: 'List and query scripts (Scripto)', tags: ['scripto'], querystring: listQuery } }, async (request) => {
    const { page, results_per_page: perPage, q } = request.query as { page: number; results_per_page: number; q?: string }
    const query = parseScriptQuery(q, monitor.now())
    // q's limit and offset choose the results; page and results_per_page page through them.
    const start = (page - 1) * perPage
    const { total, scripts } = monitor.queryScripts({
      ...query,
      offset: Math.min(Number.MAX_SAFE_INTEGER, query.offset + start),
      limit: Math.max(0, Math.min(perPage, query.limit - start)),
    })
    const numResults = Math.max(0, Math.min(query.limit, total - query.offset))
    return { num_results: numResults, objects: scripts.map(view), page, total_pages: Math.ceil(numResults / perPage) }
  })

  app.get('/api/v1/script/:id', { schema: { summary: 'Read a script (Scripto)', tags: ['scripto'], params: idParams } }, async (request) => {
    const script = monitor.getScript(request.params.id)
    if (script === undefined) throw notFound(request.params.id)
    return view(script)
  })

  app.post(
    '/api/v1/script',
    { schema: { summary: 'Create a script, with its first report (Scripto)', tags: ['scripto'], body: createBody } },
    async (request, reply) => {
      const body = request.body as Body
      const patch = toFields(body)
      const signal = reported(request, body, patch)
      const script = await monitor.createScript(patch, signal, checkSchedule)
      app.metrics.scriptReported(script.id)
      request.log.info({ script: script.id, status: script.status }, 'script created')
      return reply.code(201).header('location', `/api/v1/script/${script.id}`).send(view(script))
    },
  )

  // Scripto's PUT was an alias of PATCH: both change only the fields given.
  app.route({
    method: ['PUT', 'PATCH'],
    url: '/api/v1/script/:id',
    schema: { summary: "Report a script's run, or change its fields (Scripto; PUT is PATCH)", tags: ['scripto'], params: idParams, body: updateBody },
    handler: async (request) => {
      const { id } = request.params
      const body = request.body as Body
      if (body.id !== undefined && body.id !== id) throw new BadRequestError(`body.id: must be the id in the URL (${id}) or left out, got ${body.id}`)
      const patch = toFields(body)
      const script = await monitor.reportScript(id, patch, reported(request, body, patch), checkSchedule)
      if (script === undefined) throw notFound(id)
      app.metrics.scriptReported(id)
      return view(script)
    },
  })

  // A run begins: the script is running (and on time) until a report finishes it.
  app.post(
    '/api/v1/script/:id/start',
    { schema: { summary: 'A run of a script begins', tags: ['scripto'], params: idParams, body: startBody } },
    async (request) => {
      const { id } = request.params
      const rid = (request.body as { rid?: string } | null | undefined)?.rid
      const script = await monitor.signalScript(id, {
        kind: 'start',
        at: monitor.now(),
        rid,
        key: requestKey(request),
        source: sourceOf(request),
        output: undefined,
      })
      if (script === undefined) throw notFound(id)
      app.metrics.scriptReported(id)
      return view(script)
    },
  )

  app.delete('/api/v1/script/:id', { schema: { summary: 'Delete a script (Scripto)', tags: ['scripto'], params: idParams } }, async (request, reply) => {
    if (!(await monitor.deleteScript(request.params.id))) throw notFound(request.params.id)
    app.metrics.scriptDeleted(request.params.id)
    return reply.code(204).send()
  })
}

export default scriptRoutes
