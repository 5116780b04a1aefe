import t from 'tap'
import { runFieldsOf, SCRIPT_FIELD_NAMES, type ScriptFields, type StoredScriptField } from '../src/domain/script.js'
import { FakeClock, NO_RUN_VIEW, TOKEN, auth, config, logSink, testApp, yamlConfig } from './helpers/app.js'

const json = { ...auth, 'content-type': 'application/json' }
/** The schedule fields of a script on the default periodicity. */
const NO_SCHEDULE = { periodicity: 'daily', schedule: null, tz: null, grace: 0 }

const post = (app: Awaited<ReturnType<typeof testApp>>['app'], body: unknown, headers: Record<string, string> = json) =>
  app.inject({ method: 'POST', url: '/api/v1/script', headers, payload: typeof body === 'string' ? body : JSON.stringify(body) })

t.test("POST stores a script and answers 201 with the object in Scripto's key order and a Location", async (t) => {
  const { app } = await testApp(t)
  const res = await post(app, { last_exec: 'CURRENT_TIMESTAMP', name: 'test_curl.sh', server: 'myserver.local', status: 0 })
  t.equal(res.statusCode, 201)
  t.equal(res.headers.location, '/api/v1/script/1')
  t.equal(
    res.body,
    '{"id":1,"last_exec":"2026-01-15T12:00:00","name":"test_curl.sh","server":"myserver.local","status":false,"periodicity":"daily","schedule":null,"tz":null,"grace":0,"state":"failed","next_due":"2026-01-16T12:00:00","deadline":"2026-01-16T12:00:00",' +
      '"reason":"reported a failure","max_runtime":null,"min_runtime":null,"failure_threshold":1,"recovery_threshold":1,' +
      '"last_start":null,"last_duration":null,"consecutive_failures":1,"last_failure":"2026-01-15T12:00:00",' +
      '"paused_since":null,"manual_resume":false,"maintenance":null}',
  )
  const failure = { at: Date.UTC(2026, 0, 15, 12), succeeded: false, exitStatus: undefined, duration: undefined }
  t.same(app.monitor.getScript(1), {
    ...{ id: 1, name: 'test_curl.sh', server: 'myserver.local', status: false, lastExec: Date.UTC(2026, 0, 15, 12) },
    ...{ periodicity: null, schedule: null, tz: null, grace: null },
    ...runFieldsOf(false, Date.UTC(2026, 0, 15, 12)),
    runs: { ...runFieldsOf(true, null).runs, lastSignal: failure.at, streak: runFieldsOf(false, failure.at).streak },
  })
})

t.test('GET one script, or 404 naming the id', async (t) => {
  const { app } = await testApp(t)
  await post(app, { name: 'a.sh', server: 'h', status: true })
  const res = await app.inject({ url: '/api/v1/script/1' })
  t.equal(res.statusCode, 200)
  t.same(res.json(), {
    id: 1,
    last_exec: null,
    name: 'a.sh',
    server: 'h',
    status: true,
    ...NO_SCHEDULE,
    state: 'never',
    next_due: null,
    deadline: null,
    reason: 'no check-in yet',
    ...NO_RUN_VIEW,
  })
  const missing = await app.inject({ url: '/api/v1/script/2' })
  t.equal(missing.statusCode, 404)
  t.same(missing.json(), { statusCode: 404, code: 'SP_ERR_NOT_FOUND', error: 'Not Found', message: 'no script with id 2' })
})

t.test('PUT and PATCH change only the fields given', async (t) => {
  const { app, clock } = await testApp(t)
  await post(app, { name: 'a.sh', server: 'h', status: false, periodicity: 'hourly' })
  clock.advance(60)
  for (const method of ['PUT', 'PATCH'] as const) {
    const res = await app.inject({ method, url: '/api/v1/script/1', headers: json, payload: { status: 1, last_exec: 'CURRENT_TIMESTAMP' } })
    t.equal(res.statusCode, 200, method)
    t.same(
      res.json(),
      {
        ...{ id: 1, last_exec: '2026-01-15T12:01:00', name: 'a.sh', server: 'h', status: true, ...NO_SCHEDULE, periodicity: 'hourly' },
        ...{ state: 'ok', next_due: '2026-01-15T13:01:00', deadline: '2026-01-15T13:01:00', reason: null, ...NO_RUN_VIEW, last_failure: '2026-01-15T12:00:00' },
      },
      method,
    )
  }
  const reset = await app.inject({ method: 'PATCH', url: '/api/v1/script/1', headers: json, payload: { periodicity: null, name: 'b.sh' } })
  t.match(reset.json(), { name: 'b.sh', periodicity: 'daily' }, 'null periodicity falls back to the default')
  t.equal(app.monitor.getScript(1)?.periodicity, null)
})

t.test('PUT accepts the object it was given back, but not another id', async (t) => {
  const { app } = await testApp(t)
  await post(app, { name: 'a.sh', server: 'h', status: true })
  const same = await app.inject({
    method: 'PUT',
    url: '/api/v1/script/1',
    headers: json,
    payload: { id: 1, name: 'a.sh', server: 'h', status: false, last_exec: null },
  })
  t.equal(same.statusCode, 200)
  const other = await app.inject({ method: 'PUT', url: '/api/v1/script/1', headers: json, payload: { id: 2, status: true } })
  t.equal(other.statusCode, 400)
  t.same(other.json(), {
    statusCode: 400,
    code: 'SP_ERR_BAD_REQUEST',
    error: 'Bad Request',
    message: 'body.id: must be the id in the URL (1) or left out, got 2',
  })
  t.equal(app.monitor.getScript(1)?.status, false, 'unchanged by the refused request')
})

t.test('PUT, PATCH and DELETE of an unknown id are 404', async (t) => {
  const { app } = await testApp(t)
  for (const method of ['PUT', 'PATCH'] as const) {
    const res = await app.inject({ method, url: '/api/v1/script/7', headers: json, payload: { status: 1 } })
    t.equal(res.statusCode, 404, method)
  }
  const del = await app.inject({ method: 'DELETE', url: '/api/v1/script/7', headers: auth })
  t.equal(del.statusCode, 404)
  t.equal(app.monitor.scripts().length, 0)
})

t.test('DELETE answers 204 with no body and forgets the script; its id is never reused', async (t) => {
  const { app } = await testApp(t)
  await post(app, { name: 'a.sh', server: 'h', status: true })
  const res = await app.inject({ method: 'DELETE', url: '/api/v1/script/1', headers: auth })
  t.equal(res.statusCode, 204)
  t.equal(res.body, '')
  t.equal(app.monitor.getScript(1), undefined)
  const again = await post(app, { name: 'b.sh', server: 'h', status: true })
  t.equal(again.json().id, 2)
})

t.test('an id in the URL that is not a positive integer is a 400, never a 500', async (t) => {
  const { app } = await testApp(t)
  const cases: [string, string][] = [
    ['abc', 'params.id: must be integer'],
    ['0', 'params.id: must be at least 1'],
    ['-1', 'params.id: must be at least 1'],
    ['1.5', 'params.id: must be integer'],
    ['99999999999999999999', 'params.id: must be at most 9007199254740991'],
  ]
  for (const [id, message] of cases) {
    const res = await app.inject({ url: `/api/v1/script/${id}` })
    t.equal(res.statusCode, 400, id)
    t.same(res.json(), { statusCode: 400, code: 'SP_ERR_VALIDATION', error: 'Bad Request', message }, id)
  }
})

t.test('each bad input gets a 4xx naming the field and the fault, and stores nothing', async (t) => {
  const { app } = await testApp(t)
  const valid = { name: 'a.sh', server: 'h', status: true }
  const cases: [string, { body: string; headers?: Record<string, string> }, number, string, string][] = [
    [
      'body not JSON',
      { body: '{"name": ' },
      400,
      'FST_ERR_CTP_INVALID_JSON_BODY',
      "body: is not valid JSON (Body is not valid JSON but content-type is set to 'application/json')",
    ],
    ['empty body', { body: '' }, 400, 'FST_ERR_CTP_EMPTY_JSON_BODY', 'body: must not be empty'],
    [
      'text/plain',
      { body: JSON.stringify(valid), headers: { ...auth, 'content-type': 'text/plain' } },
      415,
      'FST_ERR_CTP_INVALID_MEDIA_TYPE',
      'Content-Type: must be application/json',
    ],
    [
      'form-encoded (curl -d without -H)',
      { body: 'a=1', headers: { ...auth, 'content-type': 'application/x-www-form-urlencoded' } },
      415,
      'FST_ERR_CTP_INVALID_MEDIA_TYPE',
      'Content-Type: must be application/json',
    ],
    ['no Content-Type', { body: JSON.stringify(valid), headers: auth }, 415, 'FST_ERR_CTP_INVALID_MEDIA_TYPE', 'Content-Type: must be application/json'],
    ['missing name', { body: '{"server": "h", "status": 1}' }, 400, 'SP_ERR_VALIDATION', "body: must have required property 'name'"],
    [
      'missing server and status',
      { body: '{"name": "a"}' },
      400,
      'SP_ERR_VALIDATION',
      "body: must have required property 'server'; body: must have required property 'status'",
    ],
    ['an id', { body: JSON.stringify({ ...valid, id: 4 }) }, 400, 'SP_ERR_VALIDATION', 'body.id: must not be given'],
    [
      'an unknown field',
      { body: JSON.stringify({ ...valid, state: 'ok' }) },
      400,
      'SP_ERR_VALIDATION',
      "body: unknown key 'state' (allowed: name, server, status, last_exec, periodicity, schedule, tz, grace, max_runtime, min_runtime, failure_threshold, recovery_threshold, manual_resume, rid, duration, exit_code, output)",
    ],
    ['status as a string', { body: JSON.stringify({ ...valid, status: 'true' }) }, 400, 'SP_ERR_VALIDATION', 'body.status: must be one of: true, false, 1, 0'],
    ['status 2', { body: JSON.stringify({ ...valid, status: 2 }) }, 400, 'SP_ERR_VALIDATION', 'body.status: must be one of: true, false, 1, 0'],
    ['name a number', { body: JSON.stringify({ ...valid, name: 5 }) }, 400, 'SP_ERR_VALIDATION', 'body.name: must be string'],
    ['empty server', { body: JSON.stringify({ ...valid, server: '' }) }, 400, 'SP_ERR_VALIDATION', 'body.server: must not be empty'],
    [
      'name over 200 characters',
      { body: JSON.stringify({ ...valid, name: 'x'.repeat(201) }) },
      400,
      'SP_ERR_VALIDATION',
      'body.name: must be at most 200 characters',
    ],
    [
      'an unparseable date',
      { body: JSON.stringify({ ...valid, last_exec: '02/08/2017' }) },
      400,
      'SP_ERR_BAD_REQUEST',
      'body.last_exec: must be CURRENT_TIMESTAMP, LOCALTIMESTAMP, CURRENT_DATE or an ISO 8601 date or date-time, got "02/08/2017"',
    ],
    ['a date as a number', { body: JSON.stringify({ ...valid, last_exec: 1501682185 }) }, 400, 'SP_ERR_VALIDATION', 'body.last_exec: must be string or null'],
    [
      'a bad periodicity',
      { body: JSON.stringify({ ...valid, periodicity: 'yearly' }) },
      400,
      'SP_ERR_VALIDATION',
      'body.periodicity: must be one of: hourly, daily, weekly, monthly',
    ],
    ['a zero periodicity', { body: JSON.stringify({ ...valid, periodicity: 0 }) }, 400, 'SP_ERR_VALIDATION', 'body.periodicity: must be greater than 0'],
    [
      'a periodicity over ten years',
      { body: JSON.stringify({ ...valid, periodicity: 1e12 }) },
      400,
      'SP_ERR_VALIDATION',
      'body.periodicity: must be at most 315576000',
    ],
    ['an array', { body: '[]' }, 400, 'SP_ERR_VALIDATION', 'body: must be object'],
    ['null', { body: 'null' }, 400, 'SP_ERR_VALIDATION', 'body: must be object'],
    [
      "a Content-Length that is not the body's",
      { body: JSON.stringify(valid), headers: { ...json, 'content-length': '3' } },
      400,
      'FST_ERR_CTP_INVALID_CONTENT_LENGTH',
      'Content-Length: must be the length of the body',
    ],
    [
      'a body over 64 KiB',
      { body: JSON.stringify({ ...valid, name: 'x'.repeat(70_000) }) },
      413,
      'FST_ERR_CTP_BODY_TOO_LARGE',
      'body: must be at most 65536 bytes',
    ],
  ]
  for (const [what, req, statusCode, code, message] of cases) {
    const res = await app.inject({ method: 'POST', url: '/api/v1/script', headers: req.headers ?? json, payload: req.body })
    t.equal(res.statusCode, statusCode, what)
    t.same(res.json(), { statusCode, code, error: res.json().error, message }, what)
  }
  t.same(app.monitor.scripts(), [], 'nothing was stored')
})

t.test('a refused update changes nothing stored', async (t) => {
  const { app } = await testApp(t)
  await post(app, { name: 'a.sh', server: 'h', status: true, last_exec: '2026-01-01' })
  const before = app.monitor.getScript(1)
  for (const payload of ['{"status": 1, "last_exec": "nope"}', '{"status": 1, "name": ""}', '{"status": 1, "extra": 1}']) {
    const res = await app.inject({ method: 'PATCH', url: '/api/v1/script/1', headers: json, payload })
    t.equal(res.statusCode, 400, payload)
  }
  t.equal(app.monitor.getScript(1), before)
})

t.test('writes need the token by default; reads are open', async (t) => {
  const { app } = await testApp(t)
  const noToken = await post(app, { name: 'a.sh', server: 'h', status: 1 }, { 'content-type': 'application/json' })
  t.equal(noToken.statusCode, 403)
  t.equal(noToken.json().code, 'SP_ERR_TOKEN_MISSING')
  const wrong = await post(app, { name: 'a.sh', server: 'h', status: 1 }, { 'content-type': 'application/json', 'x-token': 'x' })
  t.equal(wrong.json().code, 'SP_ERR_TOKEN_WRONG')
  const bearer = await post(app, { name: 'a.sh', server: 'h', status: 1 }, { 'content-type': 'application/json', authorization: `Bearer ${TOKEN}` })
  t.equal(bearer.statusCode, 201)
  for (const method of ['PUT', 'PATCH', 'DELETE'] as const) {
    const res = await app.inject({ method, url: '/api/v1/script/1', headers: { 'content-type': 'application/json' }, payload: '{}' })
    t.equal(res.statusCode, 403, method)
  }
  t.equal((await app.inject({ url: '/api/v1/script' })).statusCode, 200)
  t.equal((await app.inject({ url: '/api/v1/script/1' })).statusCode, 200)
  t.equal(app.monitor.scripts().length, 1)
})

t.test('with require_token: false the API is open, as the original, with a warning at start', async (t) => {
  const sink = logSink()
  const { app } = await testApp(t, { config: config(yamlConfig({ top: 'scripto:\n  require_token: false\n' })), logger: sink.logger })
  t.match(
    sink.lines.map((l) => JSON.parse(l)),
    [{ level: 40, msg: 'scripto.require_token is false: anyone who reaches this port can write script reports' }],
  )
  const res = await post(app, { name: 'a.sh', server: 'h', status: 1 }, { 'content-type': 'application/json' })
  t.equal(res.statusCode, 201)
  const del = await app.inject({ method: 'DELETE', url: '/api/v1/script/1' })
  t.equal(del.statusCode, 204)
})

t.test('with enabled: false the API answers 404', async (t) => {
  const { app } = await testApp(t, { config: config(yamlConfig({ top: 'scripto:\n  enabled: false\n' })) })
  const res = await app.inject({ url: '/api/v1/script' })
  t.equal(res.statusCode, 404)
  t.equal(res.json().message, 'the script API is disabled (scripto.enabled: false)')
})

t.test('state follows the period: ok until one period has passed, then late', async (t) => {
  const { app, clock } = await testApp(t, { config: config(yamlConfig({ top: 'scripto:\n  default_periodicity: hourly\n' })) })
  await post(app, { name: 'a.sh', server: 'h', status: 1, last_exec: 'CURRENT_TIMESTAMP' })
  await post(app, { name: 'b.sh', server: 'h', status: 1, last_exec: 'CURRENT_TIMESTAMP', periodicity: 90 })
  const states = async () => (await app.inject({ url: '/api/v1/script' })).json().objects.map((o: { state: string }) => o.state)
  clock.advance(90)
  t.same(await states(), ['ok', 'ok'], 'at the 90 s boundary')
  clock.t += 1
  t.same(await states(), ['ok', 'late'], 'one millisecond later')
  clock.advance(3600 - 90)
  t.same(await states(), ['late', 'late'], 'the default period has passed too')
})

t.test('the date keywords are resolved with the server clock', async (t) => {
  const { app } = await testApp(t)
  const dates = []
  for (const last_exec of ['CURRENT_TIMESTAMP', 'LOCALTIMESTAMP', 'CURRENT_DATE', '2017-08-02T14:16:25', '2017-08-02T16:16:25+02:00']) {
    dates.push((await post(app, { name: 'a.sh', server: 'h', status: 1, last_exec })).json().last_exec)
  }
  t.same(dates, ['2026-01-15T12:00:00', '2026-01-15T12:00:00', '2026-01-15T00:00:00', '2017-08-02T14:16:25', '2017-08-02T14:16:25'])
})

t.test('scripts are part of the status snapshot: failed and late first, then oldest', async (t) => {
  const { app, clock } = await testApp(t)
  await post(app, { name: 'ok-old', server: 'h', status: 1, last_exec: '2026-01-15T06:00:00' })
  await post(app, { name: 'ok-new', server: 'h', status: 1, last_exec: '2026-01-15T11:00:00' })
  await post(app, { name: 'failed', server: 'h', status: 0, last_exec: '2026-01-15T11:30:00' })
  await post(app, { name: 'late', server: 'h', status: 1, last_exec: '2026-01-10T00:00:00' })
  await post(app, { name: 'never', server: 'h', status: 1 })
  clock.advance(1)
  const status = (await app.inject({ url: '/api/v1/status' })).json()
  t.same(
    status.scripts.map((s: { name: string; state: string; status: string }) => [s.name, s.state, s.status]),
    [
      ['never', 'never', 'never'],
      ['late', 'late', 'late'],
      ['failed', 'failed', 'failed'],
      ['ok-old', 'ok', 'up'],
      ['ok-new', 'ok', 'up'],
    ],
    "Scripto's state, and the status in the vocabulary of items",
  )
  t.equal(status.up, false)
})

t.test('script reports survive a restart on the same database', async (t) => {
  const first = await testApp(t)
  await post(first.app, { name: 'a.sh', server: 'h', status: 1, last_exec: 'CURRENT_TIMESTAMP' })
  await first.app.close()
  const second = await testApp(t, { dbPath: first.dbPath })
  t.same((await second.app.inject({ url: '/api/v1/script/1' })).json(), {
    id: 1,
    last_exec: '2026-01-15T12:00:00',
    name: 'a.sh',
    server: 'h',
    status: true,
    ...NO_SCHEDULE,
    state: 'ok',
    next_due: '2026-01-16T12:00:00',
    deadline: '2026-01-16T12:00:00',
    reason: null,
    ...NO_RUN_VIEW,
  })
})

t.test('each stored field is taken under its Scripto name, alone, and read back after a restart', async (t) => {
  // Typed by the field list: a field added to scripts needs a sample here.
  const samples: { readonly [F in StoredScriptField]: readonly [sent: unknown, stored: ScriptFields[F]] } = {
    name: ['renamed.sh', 'renamed.sh'],
    server: ['other.local', 'other.local'],
    status: [0, false],
    lastExec: ['2026-01-15T11:00:00', Date.UTC(2026, 0, 15, 11)],
    periodicity: ['hourly', 'hourly'],
    schedule: ['0 * * * *', '0 * * * *'],
    tz: ['Europe/Paris', 'Europe/Paris'],
    grace: ['15m', 900],
    maxRuntime: ['1h', 3600],
    minRuntime: [5, 5],
    failureThreshold: [3, 3],
    recoveryThreshold: [2, 2],
    manualResume: [true, true],
  }
  const first = await testApp(t)
  await post(first.app, { name: 'a.sh', server: 'h', status: 1 })
  for (const field of Object.keys(samples) as StoredScriptField[]) {
    const [sent, stored] = samples[field]
    const before = first.app.monitor.getScript(1)!
    // A script has a periodicity or a schedule: the schedule comes with the periodicity cleared.
    const body = { [SCRIPT_FIELD_NAMES[field]]: sent, ...(field === 'schedule' ? { periodicity: null } : {}) }
    const res = await first.app.inject({ method: 'PUT', url: '/api/v1/script/1', headers: json, payload: JSON.stringify(body) })
    t.equal(res.statusCode, 200, `${SCRIPT_FIELD_NAMES[field]}: ${res.body}`)
    const after = first.app.monitor.getScript(1)!
    t.same(after[field], stored, `${SCRIPT_FIELD_NAMES[field]} is stored as ${field}`)
    const others = (Object.keys(samples) as StoredScriptField[]).filter((f) => f !== field && !(field === 'schedule' && f === 'periodicity'))
    t.same(
      others.filter((f) => after[f] !== before[f]),
      [],
      `${SCRIPT_FIELD_NAMES[field]} changes no other field`,
    )
  }
  const written = first.app.monitor.getScript(1)!
  await first.app.close()
  const second = await testApp(t, { dbPath: first.dbPath })
  const read = second.app.monitor.getScript(1)!
  for (const field of Object.keys(samples) as StoredScriptField[]) t.same(read[field], written[field], `${field} after a restart`)
})

t.test("a script on a cron schedule: next_due in Scripto's form, from the last_exec it was created with", async (t) => {
  const { app } = await testApp(t)
  const res = await post(app, { name: 'backup.sh', server: 'db1', status: 1, last_exec: '2025-03-08T12:00:00', schedule: '30 2 * * *', tz: 'America/New_York' })
  t.equal(res.statusCode, 201)
  t.match(res.json(), {
    periodicity: null,
    schedule: '30 2 * * *',
    tz: 'America/New_York',
    grace: 3600,
    next_due: '2025-03-09T07:00:00',
    deadline: '2025-03-09T08:00:00',
  })
  t.match(
    app.monitor.getScript(1),
    { schedule: '30 2 * * *', tz: 'America/New_York', grace: null, periodicity: null },
    'stored as sent; defaults stay defaults',
  )
})

t.test('lateness of a scheduled script is decided by its deadline, grace included', async (t) => {
  const clock = new FakeClock(Date.parse('2026-01-15T10:00:00Z'))
  const { app } = await testApp(t, { clock })
  await post(app, { name: 'hourly.sh', server: 'h', status: 1, last_exec: 'CURRENT_TIMESTAMP', schedule: '0 * * * *', grace: '10m' })
  const state = async () => (await app.inject({ url: '/api/v1/script/1' })).json().state
  clock.t = Date.parse('2026-01-15T11:10:00Z')
  t.equal(await state(), 'ok', 'at the deadline itself')
  clock.t += 1000
  t.equal(await state(), 'late', 'one second after')
  const status = (await app.inject({ url: '/api/v1/status' })).json().scripts[0]
  t.match(status, { next_due: '2026-01-15T11:00:00+00:00', deadline: '2026-01-15T11:10:00+00:00', due_in_seconds: -1, state: 'late' })
})

t.test('a script has a periodicity or a schedule; bad schedules and zones are 400s naming the field', async (t) => {
  const { app } = await testApp(t)
  const base = { name: 'a.sh', server: 'h', status: 1 }
  const cases: [object, string][] = [
    [
      { ...base, periodicity: 'daily', schedule: '@daily' },
      'body.periodicity, body.schedule: a script has a periodicity or a schedule, not both; send the other as null',
    ],
    [{ ...base, schedule: '61 * * * *' }, "body.schedule: '61 * * * *': minute 61 is out of range 0-59"],
    [{ ...base, schedule: '@daily', tz: 'Mars/Base' }, "body.tz: 'Mars/Base' is not a known IANA time zone (such as Europe/Berlin or UTC)"],
    [{ ...base, tz: 'UTC' }, 'body.tz: applies to a schedule; this script has none'],
    [{ ...base, grace: 'an hour' }, 'body.grace: must be seconds or a duration such as 90s, 15m, 2h, 1d, 1w or 1h30m'],
  ]
  for (const [body, message] of cases) {
    const res = await post(app, body)
    t.equal(res.statusCode, 400, message)
    t.equal(res.json().message, message)
  }
  t.same(app.monitor.scripts(), [], 'nothing stored')

  await post(app, { ...base, periodicity: 'hourly' })
  const patch = (payload: object) => app.inject({ method: 'PATCH', url: '/api/v1/script/1', headers: json, payload })
  const both = await patch({ schedule: '@daily' })
  t.equal(both.statusCode, 400, 'a schedule on a script that keeps its periodicity')
  t.equal(both.json().message, 'body.periodicity, body.schedule: a script has a periodicity or a schedule, not both; send the other as null')
  t.match(app.monitor.getScript(1), { periodicity: 'hourly', schedule: null }, 'the refused PATCH changed nothing')
  const moved = await patch({ periodicity: null, schedule: '@daily', tz: 'Europe/Berlin' })
  t.equal(moved.statusCode, 200)
  t.match(moved.json(), { periodicity: null, schedule: '@daily', tz: 'Europe/Berlin', grace: 3600 })
})

t.test('Scripto clients that send none of the new fields see the same behaviour', async (t) => {
  const { app } = await testApp(t)
  const res = await post(app, { last_exec: 'CURRENT_TIMESTAMP', name: 'old.sh', server: 'h', status: true, periodicity: 'weekly' })
  t.match(res.json(), { periodicity: 'weekly', schedule: null, tz: null, grace: 0, state: 'ok', next_due: '2026-01-22T12:00:00' })
})

t.test('a script run: start, then a report finishes it with its measured duration', async (t) => {
  const { app, clock } = await testApp(t)
  await post(app, { name: 'backup.sh', server: 'db1', status: true })
  const started = await app.inject({ method: 'POST', url: '/api/v1/script/1/start', headers: auth })
  t.equal(started.statusCode, 200)
  t.match(started.json(), { state: 'running', reason: 'running for 0s', last_start: '2026-01-15T12:00:00' })
  clock.advance(90)
  const done = await app.inject({
    method: 'PATCH',
    url: '/api/v1/script/1',
    headers: json,
    payload: { status: true, last_exec: 'CURRENT_TIMESTAMP', exit_code: 0 },
  })
  t.match(done.json(), { state: 'ok', last_duration: 90, reason: null })
  const missing = await app.inject({ method: 'POST', url: '/api/v1/script/9/start', headers: auth })
  t.same([missing.statusCode, missing.json().message], [404, 'no script with id 9'])
})

t.test("a start counts as the arrival for the script's schedule", async (t) => {
  const { app, clock } = await testApp(t)
  await post(app, { name: 'h.sh', server: 'h', status: true, last_exec: 'CURRENT_TIMESTAMP', periodicity: 'hourly' })
  clock.advance(3500)
  await app.inject({ method: 'POST', url: '/api/v1/script/1/start', headers: json, payload: { rid: 'r1' } })
  clock.advance(200)
  t.match((await app.inject({ url: '/api/v1/script/1' })).json(), { state: 'running', next_due: '2026-01-15T13:58:20' }, 'not late: it started on time')
})

t.test('a report may carry rid, duration and exit_code; the reported duration wins over the measured one', async (t) => {
  const { app, clock } = await testApp(t)
  await post(app, { name: 'x.sh', server: 'h', status: true })
  await app.inject({ method: 'POST', url: '/api/v1/script/1/start', headers: json, payload: { rid: 'a' } })
  clock.advance(10)
  await app.inject({ method: 'POST', url: '/api/v1/script/1/start', headers: json, payload: { rid: 'b' } })
  clock.advance(10)
  const a = await app.inject({ method: 'PUT', url: '/api/v1/script/1', headers: json, payload: { status: false, rid: 'a', exit_code: 3 } })
  t.match(a.json(), { state: 'failed', last_duration: 20, reason: 'exit status 3', consecutive_failures: 1 }, 'rid a ran 20 s and failed')
  const b = await app.inject({ method: 'PUT', url: '/api/v1/script/1', headers: json, payload: { status: true, rid: 'b', duration: 4.5 } })
  t.match(b.json(), { state: 'ok', last_duration: 4.5, consecutive_failures: 0 }, 'rid b: the reported duration')
})

t.test("a script's limits are writable fields, with the duration syntax of grace; null turns them back", async (t) => {
  const { app, clock } = await testApp(t)
  const res = await post(app, { name: 'q.sh', server: 'h', status: true, min_runtime: '1s', max_runtime: '2m', failure_threshold: 2, recovery_threshold: 3 })
  t.match(res.json(), { min_runtime: 1, max_runtime: 120, failure_threshold: 2, recovery_threshold: 3 })
  await app.inject({ method: 'POST', url: '/api/v1/script/1/start', headers: auth })
  clock.advance(0.2)
  const fast = await app.inject({ method: 'PATCH', url: '/api/v1/script/1', headers: json, payload: { status: true } })
  t.match(fast.json(), { state: 'ok', consecutive_failures: 1, reason: 'too fast: ran 0.2s, min_runtime 1s; 1 of 2 failures in a row before down' })
  await app.inject({ method: 'POST', url: '/api/v1/script/1/start', headers: auth })
  clock.advance(121)
  t.match((await app.inject({ url: '/api/v1/script/1' })).json(), { state: 'timeout' })
  const off = await app.inject({ method: 'PATCH', url: '/api/v1/script/1', headers: json, payload: { max_runtime: null, failure_threshold: null } })
  t.match(off.json(), { state: 'running', max_runtime: null, failure_threshold: 1 }, 'a settings change is no report: the run stays open')
})

t.test('bad run fields are a 400 naming them, and change nothing', async (t) => {
  const { app } = await testApp(t)
  await post(app, { name: 'x.sh', server: 'h', status: true })
  const before = app.monitor.getScript(1)
  const cases: [string, unknown, string][] = [
    ['PATCH', { status: true, exit_code: 256 }, 'body.exit_code: must be at most 255'],
    ['PATCH', { status: true, duration: -1 }, 'body.duration: must be at least 0'],
    ['PATCH', { status: true, rid: 'a b' }, 'body.rid: must match ^[A-Za-z0-9._-]{1,64}$'],
    ['PATCH', { rid: 'a' }, 'body.rid, body.duration, body.exit_code, body.output: describe a finished run, so they come with a status'],
    ['PATCH', { failure_threshold: 0 }, 'body.failure_threshold: must be at least 1'],
    ['PATCH', { recovery_threshold: 101 }, 'body.recovery_threshold: must be at most 100'],
    ['PATCH', { max_runtime: '0s' }, 'body.max_runtime: must be greater than 0, or null to turn it off'],
    ['PATCH', { min_runtime: '1 hour' }, 'body.min_runtime: must be seconds or a duration such as 90s, 15m, 2h, 1d, 1w or 1h30m'],
  ]
  for (const [method, payload, message] of cases) {
    const res = await app.inject({ method: method as 'PATCH', url: '/api/v1/script/1', headers: json, payload: payload as object })
    t.equal(res.statusCode, 400, message)
    t.equal(res.json().message, message)
  }
  const start = await app.inject({ method: 'POST', url: '/api/v1/script/1/start', headers: json, payload: { rid: 'ok', extra: 1 } })
  t.same([start.statusCode, start.json().message], [400, "body: unknown key 'extra' (allowed: rid)"])
  t.same(app.monitor.getScript(1), before)
})

t.test('starting a script needs the token', async (t) => {
  const { app } = await testApp(t)
  await post(app, { name: 'x.sh', server: 'h', status: true })
  t.equal((await app.inject({ method: 'POST', url: '/api/v1/script/1/start' })).statusCode, 403)
})
