// Property-based tests over the HTTP API: random methods, paths, headers, bodies, content types and
// queries. Whatever comes in: never a 5xx, every 4xx says what is wrong, a refused request changes
// nothing stored, and the token shows up in no response and no log line.
import fc from 'fast-check'
import t from 'tap'
import { TOKEN, logSink, testApp } from './helpers/app.js'
import { LAST_REFRESH, lastSignals, onDisk } from './helpers/db.js'

/**
 * A number as a client may write it in JSON or a URL: 32- and 64-bit integers, past 2^64, floats,
 * exponents, negative zero. As text, so that its spelling reaches the server unchanged.
 */
const clientNumber = fc.oneof(
  fc.integer().map(String),
  fc.bigInt({ min: -(2n ** 64n), max: 2n ** 65n }).map(String),
  fc.double({ noNaN: true }).map(String),
  fc.tuple(fc.integer({ min: -9, max: 9 }), fc.integer({ min: -400, max: 400 })).map(([m, e]) => `${m}e${e}`),
  fc.constantFrom('-0', '0.0', '1E3', '1e20', '9007199254740991', '9007199254740993', '18446744073709551616', '-9223372036854775809', '1e308', '1e309'),
)

const segment = fc.oneof(
  fc.constantFrom('1', '2', '0', '-1', '1.5', '1e3', '99999999999999999999', 'abc', 'http', 'dns', 'mail', '%00', '%2F', '..', '%', '%E2%9C%93', ' ', ''),
  fc.integer().map(String),
  fc.string({ maxLength: 40 }).map(encodeURIComponent),
  fc.string({ unit: 'binary', maxLength: 20 }).map(encodeURIComponent),
)

const scriptField = fc.oneof(
  fc.string({ maxLength: 250 }),
  fc.string({ minLength: 1000, maxLength: 80_000 }),
  fc.bigInt({ min: -(2n ** 63n), max: 2n ** 64n }).map(Number),
  fc.constant(-0),
  fc.string({ unit: 'binary', maxLength: 30 }),
  fc.integer(),
  fc.double(),
  fc.boolean(),
  fc.constant(null),
  fc.constantFrom('CURRENT_TIMESTAMP', 'LOCALTIMESTAMP', 'CURRENT_DATE', '2026-02-30', '2017-08-02T14:16:25+02:00', 'daily', 'yearly', 0, 1, -1, 1e308),
)

const scriptBody = fc.record(
  {
    name: scriptField,
    server: scriptField,
    status: scriptField,
    last_exec: scriptField,
    periodicity: scriptField,
    schedule: fc.oneof(scriptField, fc.constantFrom('@daily', '30 2 * * *', '61 * * * *', '0 0 31 2 *', '* * * *', '0 9 * * MON-FRI', 'L L L L L')),
    tz: fc.oneof(scriptField, fc.constantFrom('UTC', 'Europe/Berlin', 'Mars/Base', 'Asia/Kolkata')),
    grace: fc.oneof(scriptField, fc.constantFrom('15m', '1h30m', '0s', '1.5h')),
    id: scriptField,
    extra: scriptField,
  },
  { requiredKeys: [] },
)

const filter = fc.record(
  {
    name: fc.oneof(fc.constantFrom('id', 'name', 'server', 'status', 'last_exec', 'periodicity'), fc.string()),
    op: fc.oneof(fc.constantFrom('==', '!=', '<', 'like', 'in', 'is_null', 'eq', 'gte'), fc.string()),
    val: fc.oneof(scriptField, fc.array(scriptField, { maxLength: 3 })),
  },
  { requiredKeys: ['name'] },
)
const q = fc.oneof(
  fc
    .record(
      {
        filters: fc.array(filter, { maxLength: 3 }).map((f) => JSON.stringify(f)),
        order_by: fc.array(fc.record({ field: fc.string(), direction: fc.string() }), { maxLength: 2 }).map((o) => JSON.stringify(o)),
        limit: clientNumber,
        offset: clientNumber,
      },
      { requiredKeys: [] },
    )
    .map(
      (o) =>
        `{${Object.entries(o)
          .map(([k, v]) => `"${k}":${v}`)
          .join(',')}}`,
    ),
  fc.json(),
  fc.string(),
)
const query = fc.record({ page: fc.oneof(clientNumber, fc.string()), results_per_page: fc.oneof(clientNumber, fc.string()), q }, { requiredKeys: [] })

const path = fc.oneof(
  segment.map((s) => `/refresh/${s}`),
  fc.constant('/api/v1/script'),
  segment.map((s) => `/api/v1/script/${s}`),
  query.map((qs) => `/api/v1/script?${new URLSearchParams(qs)}`),
  fc
    .tuple(fc.constantFrom('/badge/', '/badge/group/', '/badge/script/'), segment, fc.constantFrom('.svg', '.json', '', '.png'))
    .map(([a, b, c]) => `${a}${b}${c}`),
  fc.constantFrom('/', '/metrics', '/api/v1/status', '/-/healthy', '/-/ready', '/nope', '//', '/api/v1/script/1/extra'),
  segment.map((s) => `/${s}`),
)

const body = fc.oneof(
  fc.constant(undefined),
  scriptBody.map((b) => JSON.stringify(b)),
  fc.json(),
  fc.string({ unit: 'binary', maxLength: 200 }),
  fc.constantFrom('', '{', 'null', '[]', '{"__proto__": {"x": 1}}', '{"constructor": {"prototype": {}}}', `{"name": "${'x'.repeat(70_000)}"}`),
)

const headers = fc.record(
  {
    'content-type': fc.oneof(
      fc.constantFrom(
        'application/json',
        'application/json; charset=utf-8',
        'text/plain',
        'application/x-www-form-urlencoded',
        'multipart/form-data',
        'application/jsonx',
        '*/*',
      ),
      fc.string(),
    ),
    'x-token': fc.constantFrom(TOKEN, `${TOKEN}x`, '', 'short'),
    authorization: fc.constantFrom(`Bearer ${TOKEN}`, 'Bearer nope', 'Basic abc', `bearer ${TOKEN}`),
    accept: fc.constantFrom('application/openmetrics-text', 'text/html', '*/*', 'application/json;q=0'),
  },
  { requiredKeys: [] },
)

const randomRequest = fc.record({
  method: fc.constantFrom('GET', 'POST', 'PUT', 'PATCH', 'DELETE', 'HEAD', 'OPTIONS') as fc.Arbitrary<
    'GET' | 'POST' | 'PUT' | 'PATCH' | 'DELETE' | 'HEAD' | 'OPTIONS'
  >,
  url: path,
  headers,
  payload: body,
  remoteAddress: fc.constantFrom('127.0.0.1', '10.0.0.1', '::1'),
})

// Writes that may well be accepted, so that refused and accepted requests mix and interleave.
const plausible = fc.record({
  method: fc.constantFrom('POST', 'PUT', 'PATCH', 'GET') as fc.Arbitrary<'POST' | 'PUT' | 'PATCH' | 'GET'>,
  url: fc.oneof(
    fc.constant('/api/v1/script'),
    fc.integer({ min: 1, max: 5 }).map((id) => `/api/v1/script/${id}`),
    fc.constantFrom('/refresh/http', '/refresh/dns'),
  ),
  headers: fc.constant({ 'content-type': 'application/json', 'x-token': TOKEN }),
  payload: fc
    .record(
      {
        name: fc.string({ minLength: 1, maxLength: 60 }),
        server: fc.string({ minLength: 1, maxLength: 60 }),
        status: fc.constantFrom(true, false, 0, 1),
        last_exec: fc.constantFrom('CURRENT_TIMESTAMP', 'CURRENT_DATE', '2026-01-01T00:00:00Z', null, 'soon'),
        periodicity: fc.constantFrom('hourly', 'weekly', 3600, null, 'yearly'),
        schedule: fc.constantFrom('@hourly', '30 2 * * *', null, '61 * * * *'),
        tz: fc.constantFrom('America/New_York', null, 'Nowhere/City'),
        grace: fc.constantFrom('10m', 0, null, 'soon'),
      },
      { requiredKeys: ['name', 'server', 'status'] },
    )
    .map((b) => JSON.stringify(b)),
  remoteAddress: fc.constant('127.0.0.2'),
})

// Paging through the script list with numbers of every spelling, which reach SQLite's LIMIT and OFFSET.
const paging = fc.record({
  method: fc.constant('GET' as const),
  url: fc
    .record({ page: clientNumber, results_per_page: clientNumber, limit: clientNumber, offset: clientNumber }, { requiredKeys: [] })
    .map(({ page, results_per_page, limit, offset }) => {
      const q = [limit && `"limit":${limit}`, offset && `"offset":${offset}`].filter(Boolean).join(',')
      const params = { ...(page && { page }), ...(results_per_page && { results_per_page }), q: `{${q}}` }
      return `/api/v1/script?${new URLSearchParams(params)}`
    }),
  headers: fc.constant({}),
  payload: fc.constant(undefined),
  remoteAddress: fc.constant('127.0.0.3'),
})

const request = fc.oneof({ arbitrary: randomRequest, weight: 3 }, { arbitrary: plausible, weight: 1 }, { arbitrary: paging, weight: 1 })

type Request = typeof request extends fc.Arbitrary<infer R> ? R : never
interface Response {
  statusCode: number
  body: string
  headers: Record<string, unknown>
  json: () => unknown
}

/** Throws, naming the request, when the answer is a 5xx, a 4xx without a cause, or shows the token. */
function checkAnswer(req: Request, res: Response): void {
  const where = `${req.method} ${req.url} -> ${res.statusCode} ${res.body.slice(0, 200)}`
  if (res.statusCode >= 500) throw new Error(`5xx: ${where}`)
  if (res.statusCode >= 400 && req.method !== 'HEAD') {
    const error = res.json() as Record<string, unknown>
    if (Object.keys(error).join() !== 'statusCode,code,error,message' || typeof error.message !== 'string' || error.message.length < 5) {
      throw new Error(`4xx without a cause: ${where}`)
    }
  }
  if (res.body.includes(TOKEN) || JSON.stringify(res.headers).includes(TOKEN)) throw new Error(`token in the response: ${where}`)
}

t.test('no request makes a 5xx, a 4xx without a cause, a change on refusal, or a token leak', async (t) => {
  const sink = logSink()
  const { app, clock } = await testApp(t, { logger: sink.logger, logRequests: true })
  const stored = () => JSON.stringify([[...lastSignals(app.monitor)], app.monitor.scripts()])
  let answered = 0
  let written = 0
  await fc.assert(
    fc.asyncProperty(request, async (req) => {
      clock.advance(1)
      const before = stored()
      const res = await app.inject(req)
      answered++
      if (res.statusCode < 300 && stored() !== before) written++
      checkAnswer(req, res)
      const where = `${req.method} ${req.url} -> ${res.statusCode}`
      if (res.statusCode >= 400 && stored() !== before) throw new Error(`a refused request changed the store: ${where}`)
      if ((req.method === 'GET' || req.method === 'HEAD') && !req.url.startsWith('/refresh/') && stored() !== before) {
        throw new Error(`a read changed the store: ${where}`)
      }
    }),
    { numRuns: 1500 },
  )
  t.equal(answered, 1500)
  // Counted as they happen: a later random DELETE may take every script away again.
  t.ok(written > 0, `${written} writes went through, so writes were exercised`)
  t.notOk(
    sink.lines.some((l) => l.includes(TOKEN)),
    `the token is in none of ${sink.lines.length} log lines`,
  )
})

t.test('requests sent together, batched into shared transactions, leave memory equal to the file', async (t) => {
  const { app, clock, dbPath } = await testApp(t)
  let acceptedWrites = 0
  await fc.assert(
    fc.asyncProperty(fc.array(request, { minLength: 2, maxLength: 16 }), async (reqs) => {
      clock.advance(1)
      const answers = await Promise.all(reqs.map((req) => app.inject(req)))
      for (const [i, res] of answers.entries()) {
        checkAnswer(reqs[i]!, res)
        if (res.statusCode < 300 && reqs[i]!.method !== 'GET') acceptedWrites++
      }
    }),
    { numRuns: 200 },
  )
  t.ok(acceptedWrites > 50, `${acceptedWrites} writes were accepted in shared batches`)
  const memory = {
    refreshes: [...lastSignals(app.monitor)].map(([id, last]) => ({ id, last_refresh: last })).sort((a, b) => a.id.localeCompare(b.id)),
    scripts: app.monitor.scripts().map((s) => ({ id: s.id, name: s.name, server: s.server, status: Number(s.status), last_exec: s.lastExec })),
  }
  t.same(memory, {
    refreshes: onDisk(dbPath, `SELECT id, last_refresh FROM ${LAST_REFRESH}`).sort((a, b) => (a as { id: string }).id.localeCompare((b as { id: string }).id)),
    scripts: onDisk(
      dbPath,
      "SELECT id, spec ->> 'name' AS name, spec ->> 'server' AS server, spec ->> 'status' AS status, spec ->> 'last_exec' AS last_exec FROM check_def ORDER BY id",
    ),
  })
})
