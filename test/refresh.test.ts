import { readFileSync } from 'node:fs'
import t from 'tap'
import { SHIPPED_TOKEN } from '../src/config/load.js'
import { FAILED_AUTH_PER_MINUTE } from '../src/plugins/token-failures.js'
import { TOKEN, auth, config, logSink, testApp } from './helpers/app.js'
import { metricLines } from './helpers/metrics.js'
import { lastSignals } from './helpers/db.js'

t.test('a refresh without a token is refused with 403 and changes nothing', async (t) => {
  const { app } = await testApp(t)
  const res = await app.inject({ url: '/refresh/http' })
  t.equal(res.statusCode, 403)
  t.same(res.json(), {
    statusCode: 403,
    code: 'SP_ERR_TOKEN_MISSING',
    error: 'Forbidden',
    message: 'token missing: send it as the X-Token header or as Authorization: Bearer <token>',
  })
  t.equal(lastSignals(app.monitor).size, 0)
})

t.test('a refresh with a wrong token is refused with 403 and changes nothing', async (t) => {
  const { app } = await testApp(t)
  for (const headers of [{ 'x-token': `${TOKEN}x` }, { 'x-token': 'short' }, { authorization: 'Bearer nope' }]) {
    const res = await app.inject({ url: '/refresh/http', headers })
    t.equal(res.statusCode, 403)
    t.same(res.json(), { statusCode: 403, code: 'SP_ERR_TOKEN_WRONG', error: 'Forbidden', message: 'token is wrong' })
  }
  t.equal(lastSignals(app.monitor).size, 0)
})

t.test('the token is checked before anything else, even for an id too long to be valid', async (t) => {
  const { app } = await testApp(t)
  const res = await app.inject({ url: `/refresh/${'x'.repeat(300)}` })
  t.equal(res.statusCode, 403)
})

t.test('an id in two groups refreshes both and answers exactly as the original', async (t) => {
  const { app, clock } = await testApp(t)
  const res = await app.inject({ url: '/refresh/http', headers: auth })
  t.equal(res.statusCode, 200)
  t.equal(res.headers['content-type'], 'application/json; charset=utf-8')
  t.equal(res.body, '{"refreshed": 2}')
  t.same([...lastSignals(app.monitor)], [['http', clock.t]])
})

t.test('an id in one group refreshes one item', async (t) => {
  const { app } = await testApp(t)
  const res = await app.inject({ url: '/refresh/dns', headers: auth })
  t.equal(res.body, '{"refreshed": 1}')
})

t.test('POST refreshes too, with Authorization: Bearer and whatever body the client sends', async (t) => {
  const { app, clock } = await testApp(t)
  const res = await app.inject({
    method: 'POST',
    url: '/refresh/mail',
    headers: { authorization: `Bearer ${TOKEN}`, 'content-type': 'application/x-www-form-urlencoded' },
    payload: 'a=1',
  })
  t.equal(res.statusCode, 200)
  t.equal(res.body, '{"refreshed": 1}')
  t.equal(lastSignals(app.monitor).get('mail'), clock.t)
})

t.test('HEAD checks in too, as curl -I does, with the token', async (t) => {
  const { app, clock } = await testApp(t)
  const res = await app.inject({ method: 'HEAD', url: '/refresh/dns', headers: auth })
  t.equal(res.statusCode, 200)
  t.equal(res.body, '')
  t.equal(lastSignals(app.monitor).get('dns'), clock.t)
  t.equal((await app.inject({ method: 'HEAD', url: '/refresh/mail' })).statusCode, 403, 'not without the token')
  t.equal(lastSignals(app.monitor).has('mail'), false)
})

t.test('check-ins are not access-logged unless asked', async (t) => {
  const sink = logSink()
  const { app } = await testApp(t, { logger: sink.logger })
  await app.inject({ url: '/refresh/http', headers: auth })
  t.same(sink.lines, [])
})

t.test('an unknown id is not an error: 0 refreshed, a warning logged, nothing stored', async (t) => {
  const sink = logSink()
  const { app } = await testApp(t, { logger: sink.logger })
  const res = await app.inject({ url: '/refresh/nope', headers: auth })
  t.equal(res.statusCode, 200)
  t.equal(res.body, '{"refreshed": 0}')
  t.equal(lastSignals(app.monitor).size, 0)
  const warning = sink.lines.map((l) => JSON.parse(l)).find((l) => l.level === 40)
  t.match(warning, { id: 'nope', msg: 'refresh of an id that no check has (more of it this minute are not logged)' })
})

t.test('the token never appears in a log line, access log included', async (t) => {
  const sink = logSink()
  const { app } = await testApp(t, { logger: sink.logger, logRequests: true })
  await app.inject({ url: '/refresh/http', headers: auth })
  await app.inject({ url: '/refresh/http', headers: { authorization: `Bearer ${TOKEN}` } })
  await app.inject({ url: '/refresh/http', headers: { 'x-token': `${TOKEN}-wrong` } })
  t.ok(sink.lines.filter((l) => l.includes('"msg":"request completed"')).length === 3, 'requests were logged')
  t.notOk(sink.lines.some((l) => l.includes(TOKEN)))
})

t.test('wrong tokens are throttled per address; the right token never is', async (t) => {
  const { app } = await testApp(t)
  const wrong = () => app.inject({ url: '/refresh/http', headers: { 'x-token': 'guess' }, remoteAddress: '10.0.0.9' })
  for (let i = 0; i < FAILED_AUTH_PER_MINUTE; i++) t.equal((await wrong()).statusCode, 403)
  const throttled = await wrong()
  t.equal(throttled.statusCode, 429)
  t.equal(throttled.headers['retry-after'], '60')
  t.same(throttled.json(), {
    statusCode: 429,
    code: 'SP_ERR_TOO_MANY_FAILURES',
    error: 'Too Many Requests',
    message: `too many requests with a missing or wrong token from this address: at most ${FAILED_AUTH_PER_MINUTE} a minute`,
  })
  for (let i = 0; i < FAILED_AUTH_PER_MINUTE * 2; i++) {
    const ok = await app.inject({ url: '/refresh/http', headers: auth, remoteAddress: '10.0.0.9' })
    if (ok.statusCode !== 200) t.fail(`check-in ${i} from the same address: ${ok.statusCode}`)
  }
  t.equal(
    (await app.inject({ url: '/refresh/http', headers: { 'x-token': 'guess' }, remoteAddress: '10.0.0.10' })).statusCode,
    403,
    'another address is not throttled',
  )
  t.equal(lastSignals(app.monitor).get('http'), app.monitor.now())
  t.same(
    await metricLines(app, 'statuspage_refresh_rejected_total'),
    [`statuspage_refresh_rejected_total ${FAILED_AUTH_PER_MINUTE + 2}`],
    '403s and 429s are counted',
  )
})

const wrongRefresh = (remoteAddress: string, headers: Record<string, string> = {}) => ({
  url: '/refresh/http',
  headers: { 'x-token': 'guess', ...headers },
  remoteAddress,
})
const wrongScriptWrite = (remoteAddress: string) => ({
  method: 'POST' as const,
  url: '/api/v1/script',
  headers: { 'x-token': 'guess', 'content-type': 'application/json' },
  payload: '{}',
  remoteAddress,
})

t.test('failed tokens are counted once per address over every guarded route', async (t) => {
  const { app } = await testApp(t)
  for (let i = 0; i < FAILED_AUTH_PER_MINUTE / 2; i++) {
    t.equal((await app.inject(wrongRefresh('10.0.0.7'))).statusCode, 403)
    t.equal((await app.inject(wrongScriptWrite('10.0.0.7'))).statusCode, 403)
  }
  t.equal((await app.inject(wrongScriptWrite('10.0.0.7'))).statusCode, 429, 'the script API shares the refresh budget')
  t.equal((await app.inject(wrongRefresh('10.0.0.7'))).statusCode, 429)
})

t.test("an address's window ends one minute after its first failure, on the app's clock", async (t) => {
  const { app, clock } = await testApp(t)
  for (let i = 0; i < FAILED_AUTH_PER_MINUTE; i++) await app.inject(wrongRefresh('10.0.0.8'))
  t.equal((await app.inject(wrongRefresh('10.0.0.8'))).statusCode, 429)
  clock.advance(59.999)
  t.equal((await app.inject(wrongRefresh('10.0.0.8'))).statusCode, 429, 'still throttled just before the minute ends')
  clock.advance(0.001)
  t.equal((await app.inject(wrongRefresh('10.0.0.8'))).statusCode, 403, 'a new window begins at the minute')
})

t.test('behind a trusted proxy, each client address behind it has its own budget', async (t) => {
  const forwarded = (client: string) => wrongRefresh('127.0.0.1', { 'x-forwarded-for': client })
  const behind = await testApp(t, { trustProxy: '127.0.0.1' })
  for (let i = 0; i < FAILED_AUTH_PER_MINUTE; i++) await behind.app.inject(forwarded('203.0.113.5'))
  t.equal((await behind.app.inject(forwarded('203.0.113.5'))).statusCode, 429)
  t.equal((await behind.app.inject(forwarded('203.0.113.6'))).statusCode, 403, 'another client behind the same proxy is not throttled')

  const untrusted = await testApp(t)
  for (let i = 0; i < FAILED_AUTH_PER_MINUTE; i++) await untrusted.app.inject(forwarded('203.0.113.5'))
  t.equal((await untrusted.app.inject(forwarded('203.0.113.6'))).statusCode, 429, 'without --trust-proxy, X-Forwarded-For is not believed')
})

t.test('logs that an operator can use: a wrong token once per address and minute, then throttling; unknown ids once a minute', async (t) => {
  const sink = logSink()
  const { app, clock } = await testApp(t, { logger: sink.logger })
  const warnings = () => sink.lines.map((l) => JSON.parse(l) as { level: number; msg: string; address?: string; id?: string }).filter((l) => l.level === 40)
  for (let i = 0; i < FAILED_AUTH_PER_MINUTE + 5; i++) await app.inject({ url: '/refresh/http', headers: { 'x-token': 'wrong' } })
  t.same(
    warnings().map((w) => [w.msg, w.address]),
    [
      ['a request with a wrong token (more from this address this minute are not logged)', '127.0.0.1'],
      ['too many requests with a missing or wrong token from this address: 429 until its minute is over', '127.0.0.1'],
    ],
    'two lines for 35 failures',
  )
  for (let i = 0; i < 5; i++) await app.inject({ url: '/refresh/nope', headers: auth })
  t.equal(warnings().filter((w) => w.id === 'nope').length, 1, 'an unknown id once a minute')
  clock.advance(61)
  await app.inject({ url: '/refresh/nope', headers: auth })
  await app.inject({ url: '/refresh/http', headers: {} })
  t.equal(warnings().filter((w) => w.id === 'nope').length, 2, 'and again the next minute')
  t.match(warnings().at(-1), { msg: 'a request with a missing token (more from this address this minute are not logged)' })
})

t.test('the example token of the shipped config.yml is warned about at start', async (t) => {
  const text = readFileSync('config.yml', 'utf8')
  t.match(text, `token: ${SHIPPED_TOKEN}`, "SHIPPED_TOKEN is the shipped file's")
  const sink = logSink()
  await testApp(t, { config: config(text), logger: sink.logger })
  t.ok(sink.lines.some((l) => l.includes('statuspage.token is the example of the shipped config.yml')))
  const quiet = logSink()
  await testApp(t, { logger: quiet.logger })
  t.notOk(
    quiet.lines.some((l) => l.includes('example of the shipped')),
    'not for another token',
  )
})
