// Times in these tests are read in UTC unless a test sets its own zone.
process.env.TZ = 'UTC'

import { once } from 'node:events'
import { connect, type AddressInfo } from 'node:net'
import t from 'tap'
import { FakeClock, NO_RUN_VIEW, auth, config, inZone, testApp, yamlConfig } from './helpers/app.js'

const every = (interval: number) => ({ id: 'http', name: 'HTTP/HTTPS', interval, schedule: null, tz: null, grace: 0 })
const never = (interval: number) => ({
  ...{ interval, schedule: null, tz: null, grace: 0, last_refresh: null, next_due: null, deadline: null },
  ...{ state: 'down', status: 'never', due_in_seconds: null, reason: 'no check-in yet', ...NO_RUN_VIEW },
})
/** The state fields of an item that checked in and has not failed. */
const up = { state: 'up', status: 'up', reason: null, ...NO_RUN_VIEW }

t.test('GET /api/v1/status gives every group in config order with each item state', async (t) => {
  const { app, clock } = await testApp(t)
  await app.inject({ url: '/refresh/http', headers: auth })
  clock.advance(100)
  await app.inject({ url: '/refresh/mail', headers: auth })
  clock.advance(61)

  const res = await app.inject({ url: '/api/v1/status' })
  t.equal(res.statusCode, 200)
  t.same(res.json(), {
    title: 'Test',
    time: '2026-01-15T12:02:41+00:00',
    up: false,
    groups: [
      {
        name: 'SomeGroup',
        items: [
          {
            ...every(600),
            last_refresh: '2026-01-15T12:00:00+00:00',
            next_due: '2026-01-15T12:10:00+00:00',
            deadline: '2026-01-15T12:10:00+00:00',
            ...up,
            due_in_seconds: 439,
          },
          { id: 'dns', name: 'DNS', ...never(600) },
          {
            id: 'mail',
            name: 'SMTP/IMAP',
            interval: 60,
            schedule: null,
            tz: null,
            grace: 0,
            last_refresh: '2026-01-15T12:01:40+00:00',
            next_due: '2026-01-15T12:02:40+00:00',
            deadline: '2026-01-15T12:02:40+00:00',
            ...up,
            state: 'down',
            status: 'late',
            reason: 'late by 1s: no check-in by the deadline',
            due_in_seconds: -1,
          },
        ],
      },
      {
        name: 'Group #2',
        items: [
          {
            ...every(600),
            last_refresh: '2026-01-15T12:00:00+00:00',
            next_due: '2026-01-15T12:10:00+00:00',
            deadline: '2026-01-15T12:10:00+00:00',
            ...up,
            due_in_seconds: 439,
          },
          { id: 'dns-internal', name: 'Internal DNS', ...never(600) },
        ],
      },
    ],
    scripts: [],
  })
})

t.test('a cron item shows its schedule, zone and grace, and its due time and deadline in its own zone', async (t) => {
  const clock = new FakeClock(Date.parse('2025-03-08T12:00:00Z'))
  const cronConfig = config(yamlConfig({ groups: "\n    Backups:\n      - {name: Nightly, id: nightly, schedule: '30 2 * * *', tz: America/New_York}\n" }))
  const { app } = await testApp(t, { clock, config: cronConfig })
  const item = async () => (await app.inject({ url: '/api/v1/status' })).json().groups[0].items[0]
  t.same(await item(), { id: 'nightly', name: 'Nightly', ...never(3600), interval: null, schedule: '30 2 * * *', tz: 'America/New_York', grace: 3600 })
  await app.inject({ url: '/refresh/nightly', headers: auth })
  t.match(
    await item(),
    {
      last_refresh: '2025-03-08T07:00:00-05:00',
      next_due: '2025-03-09T03:00:00-04:00',
      deadline: '2025-03-09T04:00:00-04:00',
      state: 'up',
      due_in_seconds: 20 * 3600,
    },
    'the 02:30 that does not exist on the spring-forward day is due at 03:00 EDT',
  )
  clock.t = Date.parse('2025-03-09T08:00:01Z')
  t.match(await item(), { state: 'down', due_in_seconds: -1 }, 'one second past the deadline')
  await app.inject({ url: '/refresh/nightly', headers: auth })
  t.match(await item(), { next_due: '2025-03-10T02:30:00-04:00', state: 'up' }, 'a check-in moves next_due to the next occurrence')
})

t.test('health and readiness answer under the Prometheus paths', async (t) => {
  const { app } = await testApp(t)
  const healthy = await app.inject({ url: '/-/healthy' })
  t.equal(healthy.statusCode, 200)
  t.equal(healthy.body, 'statuspage is healthy.\n')
  const ready = await app.inject({ url: '/-/ready' })
  t.equal(ready.statusCode, 200)
  t.equal(ready.body, 'statuspage is ready.\n')
})

t.test('an unknown route is a JSON 404 naming it', async (t) => {
  const { app } = await testApp(t)
  const res = await app.inject({ url: '/nope?x=1' })
  t.equal(res.statusCode, 404)
  t.same(res.json(), { statusCode: 404, code: 'SP_ERR_NOT_FOUND', error: 'Not Found', message: 'no route GET /nope' })
})

t.test('the server time is given in the server time zone, with its offset', async (t) => {
  inZone(t, 'Europe/Berlin')
  const { app } = await testApp(t)
  t.equal((await app.inject({ url: '/api/v1/status' })).json().time, '2026-01-15T13:00:00+01:00')
  process.env.TZ = 'America/St_Johns'
  t.equal((await app.inject({ url: '/api/v1/status' })).json().time, '2026-01-15T08:30:00-03:30')
})

t.test('script times in the status carry the offset; the Scripto API keeps its naive UTC form', async (t) => {
  inZone(t, 'Europe/Berlin')
  const { app } = await testApp(t)
  const headers = { ...auth, 'content-type': 'application/json' }
  for (const last_exec of ['2026-01-15T11:00:00', null]) {
    await app.inject({ method: 'POST', url: '/api/v1/script', headers, payload: { name: 'a.sh', server: 'h', status: true, last_exec } })
  }
  const scripts = (await app.inject({ url: '/api/v1/status' })).json().scripts as { id: number; last_exec: string | null }[]
  t.same(
    scripts.map((s) => [s.id, s.last_exec]),
    [
      [2, null],
      [1, '2026-01-15T12:00:00+01:00'],
    ],
  )
  t.equal((await app.inject({ url: '/api/v1/script/1' })).json().last_exec, '2026-01-15T11:00:00')
})

t.test('a URL that does not decode is a 400 in the one error shape', async (t) => {
  const { app } = await testApp(t)
  const res = await app.inject({ url: '/refresh/%' })
  t.equal(res.statusCode, 400)
  t.same(res.json(), { statusCode: 400, code: 'FST_ERR_BAD_URL', error: 'Bad Request', message: "url: '/refresh/%' is not a valid url component" })
})

t.test('/-/ready answers 503 in the error shape while the server drains, and 200 before', async (t) => {
  const { app } = await testApp(t)
  // A request the test holds open keeps its connection busy, so the server drains instead of closing
  // it; /-/ready follows on that connection once draining has begun.
  let entered: () => void
  let release: () => void
  const holding = new Promise<void>((resolve) => (entered = resolve))
  const released = new Promise<void>((resolve) => (release = resolve))
  app.get('/hold', async () => {
    entered()
    await released
    return 'held'
  })
  let draining: () => void
  const drainingStarted = new Promise<void>((resolve) => (draining = resolve))
  app.addHook('preClose', async () => draining())
  let asked: () => void
  const readyAsked = new Promise<void>((resolve) => (asked = resolve))
  let closing = false
  app.addHook('onRequest', async (request) => {
    if (closing && request.url === '/-/ready') asked()
  })
  await app.listen({ host: '127.0.0.1', port: 0 })
  const { port } = app.server.address() as AddressInfo
  t.equal((await fetch(`http://127.0.0.1:${port}/-/ready`)).status, 200)

  const socket = connect(port, '127.0.0.1')
  let raw = ''
  socket.on('data', (d) => (raw += d))
  socket.write('GET /hold HTTP/1.1\r\nHost: statuspage\r\n\r\n')
  await holding
  closing = true
  const closed = app.close()
  await drainingStarted
  socket.write('GET /-/ready HTTP/1.1\r\nHost: statuspage\r\n\r\n')
  await readyAsked
  release!()
  await once(socket, 'close')
  await closed
  const ready = raw.slice(raw.indexOf('HTTP/1.1', 1))
  t.match(raw, /^HTTP\/1\.1 200 OK\r\n/, 'the held request was answered')
  t.match(ready, /^HTTP\/1\.1 503 Service Unavailable\r\n/)
  t.same(JSON.parse(ready.split('\r\n\r\n')[1]!), {
    statusCode: 503,
    code: 'SP_ERR_SHUTTING_DOWN',
    error: 'Service Unavailable',
    message: 'statuspage is shutting down',
  })
})
