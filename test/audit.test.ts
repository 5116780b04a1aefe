// The second audit's findings (issue 21), one test each: values out of range are refused and, if
// stored before, shown as null; NUL is refused on both stores; secrets stay out of the logs; the
// right token is never refused; exit statuses are plain decimal.
import { once } from 'node:events'
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs'
import { Agent, request } from 'node:http'
import { connect } from 'node:net'
import Database from 'better-sqlite3'
import t from 'tap'
import { parseConfig } from '../src/config/load.js'
import { NEW_SCRIPT } from '../src/domain/script.js'
import { openStore } from '../src/store/open.js'
import { auth, config, FakeClock, logSink, T0, testApp, TOKEN, yamlConfig } from './helpers/app.js'
import { backends } from './helpers/backends.js'
import { startCluster } from './helpers/postgres.js'
import { startService } from './helpers/cli.js'
import { waitUntil } from './helpers/db.js'

const PING_KEY = 'ping-key-0123456789abcdef0123456789abcdef'
const GROUPS = `
    G:
      - name: A
        id: a
`
const scriptBody = (more: object) => ({ name: 'backup.sh', server: 'db1', status: true, last_exec: 'CURRENT_TIMESTAMP', ...more })

t.test('durations past ten years are refused in the API with a 400 naming the field and the range, and store nothing', async (t) => {
  const { app } = await testApp(t)
  const created = await app.inject({ method: 'POST', url: '/api/v1/script', headers: auth, payload: scriptBody({}) })
  t.equal(created.statusCode, 201)
  for (const [field, value, message] of [
    ['grace', 1e30, 'body.grace: must be at most 315576000'],
    ['grace', '99999999999999w', 'body.grace: must be at most 10 years (315576000 seconds)'],
    ['max_runtime', '5200w', 'body.max_runtime: must be at most 10 years (315576000 seconds)'],
    ['min_runtime', 315_576_001, 'body.min_runtime: must be at most 315576000'],
    ['periodicity', 1e30, 'body.periodicity: must be at most 315576000'],
    ['duration', 1e30, 'body.duration: must be at most 315576000'],
  ] as const) {
    const res = await app.inject({
      method: 'PUT',
      url: '/api/v1/script/1',
      headers: auth,
      payload: { [field]: value, ...(field === 'duration' ? { status: true } : {}) },
    })
    t.equal(res.statusCode, 400, `${field} ${value}`)
    t.match(res.json().message, message)
  }
  const script = (await app.inject({ url: '/api/v1/script/1' })).json()
  t.same([script.grace, script.max_runtime, script.min_runtime, script.last_duration], [0, null, null, null], 'nothing changed')
  const ten = await app.inject({ method: 'PUT', url: '/api/v1/script/1', headers: auth, payload: { grace: '520w', max_runtime: 315_576_000 } })
  t.equal(ten.statusCode, 200, 'ten years is taken')
})

t.test('a last_exec outside the years 1970 to 9999 in some zone is refused; one inside it is shown as given', async (t) => {
  const { app } = await testApp(t)
  for (const last of ['9999-12-31T23:59:59+14:00'.replace('+14:00', '-01:00'), '9999-12-31T10:00:00Z', '1969-12-31T23:59:59Z', '1970-01-01T11:59:59Z']) {
    const res = await app.inject({ method: 'POST', url: '/api/v1/script', headers: auth, payload: scriptBody({ last_exec: last }) })
    t.equal(res.statusCode, 400, last)
    t.match(res.json().message, `body.last_exec: must lie within the years 1970 to 9999 in every time zone`)
  }
  t.same((await app.inject({ url: '/api/v1/script' })).json().objects, [], 'nothing stored')
  const res = await app.inject({
    method: 'POST',
    url: '/api/v1/script',
    headers: auth,
    payload: scriptBody({ last_exec: '9999-12-31T23:59:59+14:00', periodicity: 'daily' }),
  })
  t.equal(res.statusCode, 201, 'the last instant of 9999 at +14:00 is taken')
  t.equal(res.json().last_exec, '9999-12-31T09:59:59')
  t.equal(res.json().next_due, null, 'a due time past the year 9999 is null, not "+010000-…"')
  const page = await app.inject({ url: '/script/1' })
  t.equal(page.statusCode, 200)
  t.notMatch(page.body, 'NaN')
})

t.test('a config with a duration past ten years is refused, naming the path and the range', async (t) => {
  const cases = [
    ['  interval: 1e30\n', 'statuspage.interval: must be at most 315576000'],
    ['  grace: 99999999999999w\n', 'statuspage.grace: must be at most 10 years (315576000 seconds)'],
    ['  refresh_interval: 1e30\n', 'statuspage.refresh_interval: must be at most 315576000'],
    ['  maintenance:\n    - schedule: "0 2 * * *"\n      duration: 1e30\n', 'statuspage.maintenance[0].duration: must be at most 315576000'],
    ['  maintenance:\n    - schedule: "0 2 * * *"\n      duration: 99999w\n', 'statuspage.maintenance[0].duration: must be at most 10 years'],
  ] as const
  for (const [extra, message] of cases) {
    const result = parseConfig(yamlConfig({ groups: GROUPS, extra }), 'config.yml')
    t.equal(result.ok, false, extra.trim())
    if (!result.ok) t.match(result.errors.join('\n'), `config.yml: ${message}`)
  }
  const item = parseConfig(yamlConfig({ groups: '\n    G:\n      - { name: A, id: a, grace: 1e30 }\n' }), 'config.yml')
  t.equal(item.ok, false)
  if (!item.ok) t.match(item.errors.join('\n'), 'statuspage.groups.G[0].grace: must be at most 315576000')
})

t.test('an interval of ten years shows its due time, and every time on every page is a valid date or null', async (t) => {
  const { app } = await testApp(t, { config: config(yamlConfig({ groups: '\n    G:\n      - { name: A, id: a, interval: 520w, grace: 520w }\n' })) })
  t.equal((await app.inject({ url: '/refresh/a', headers: auth })).statusCode, 200)
  const item = (await app.inject({ url: '/api/v1/status' })).json().groups[0].items[0]
  t.equal(item.next_due, '2036-01-03T12:00:00+00:00')
  t.equal(item.deadline, '2045-12-21T12:00:00+00:00')
  for (const url of ['/', '/item/a', '/badge/a.svg', '/metrics']) {
    const res = await app.inject({ url })
    t.equal(res.statusCode, 200, url)
    t.notMatch(res.body, 'NaN', url)
  }
})

for (const backend of backends(t)) {
  t.test(
    `${backend.name}: scripts stored with values out of range (before ranges were checked) are shown with null times and a warning, never a 500`,
    async (t) => {
      const location = await backend.fresh(t)
      const store = await openStore(location)
      await store.createScript({ ...NEW_SCRIPT, name: 'huge grace', server: 'h', grace: 1e30, lastExec: T0 })
      await store.createScript({ ...NEW_SCRIPT, name: 'far', server: 'h', lastExec: Date.UTC(9999, 11, 31, 23), periodicity: 1e30 })
      await store.close()
      const { lines, logger } = logSink()
      const { app } = await testApp(t, { dbPath: location, logger, clock: new FakeClock(T0 + 1000) })
      for (const url of [
        '/api/v1/status',
        '/api/v1/script',
        '/api/v1/script/1',
        '/api/v1/script/2',
        '/',
        '/script/1',
        '/script/2',
        '/badge/script/1.svg',
        '/metrics',
      ]) {
        const res = await app.inject({ url })
        t.equal(res.statusCode, 200, url)
        t.notMatch(res.body, /NaN|Invalid Date/, url)
      }
      const [huge, far] = (await app.inject({ url: '/api/v1/script' })).json().objects
      t.same([huge.grace, huge.deadline, huge.last_exec], [1e30, null, '2026-01-15T12:00:00'])
      t.same([far.last_exec, far.next_due], [null, null])
      const put = await app.inject({ method: 'PUT', url: '/api/v1/script/1', headers: auth, payload: { status: false } })
      t.equal(put.statusCode, 200, 'a report to it is answered')
      const warnings = lines.map((l) => JSON.parse(l)).filter((l) => l.level === 40 && l.script !== undefined)
      t.same(
        warnings.map((w) => [w.script, w.fields]),
        [
          [1, ['grace']],
          [2, ['last_exec', 'periodicity']],
        ],
      )
    },
  )

  t.test(`${backend.name}: text with NUL is refused with a 400 naming the field, and stores nothing`, async (t) => {
    const { app } = await testApp(t, { dbPath: await backend.fresh(t) })
    for (const field of ['name', 'server', 'schedule', 'tz', 'last_exec']) {
      const res = await app.inject({ method: 'POST', url: '/api/v1/script', headers: auth, payload: scriptBody({ [field]: 'a\u0000b' }) })
      t.equal(res.statusCode, 400, field)
      t.match(res.json().message, `body.${field}: must not contain a NUL character (\\u0000)`)
    }
    t.equal((await app.inject({ method: 'POST', url: '/api/v1/script', headers: auth, payload: scriptBody({}) })).statusCode, 201)
    const put = await app.inject({ method: 'PUT', url: '/api/v1/script/1', headers: auth, payload: { server: 'x\u0000' } })
    t.equal(put.statusCode, 400)
    t.same(
      (await app.inject({ url: '/api/v1/script' })).json().objects.map((s: { server: string }) => s.server),
      ['db1'],
    )
  })
}

t.test('a config id, name, group or title with NUL is a config error naming it', async (t) => {
  const cases = [
    ['\n    G:\n      - { name: A, id: "a\\0b" }\n', 'statuspage.groups.G[0].id: must not contain a NUL character'],
    ['\n    G:\n      - { name: "A\\0", id: a }\n', 'statuspage.groups.G[0].name: must not contain a NUL character'],
    ['\n    "G\\0":\n      - { name: A, id: a }\n', 'statuspage.groups: has an invalid key'],
  ] as const
  for (const [groups, message] of cases) {
    const result = parseConfig(yamlConfig({ groups }), 'config.yml')
    t.equal(result.ok, false, message)
    if (!result.ok) t.match(result.errors.join('\n'), message)
  }
})

t.test('the ping key never reaches the log, however the ping URL is spelled', async (t) => {
  const { lines, logger } = logSink()
  const { app } = await testApp(t, { config: config(yamlConfig({ groups: GROUPS, extra: `  ping_key: ${PING_KEY}\n` })), logger, logRequests: true })
  const encoded = PING_KEY.replace('-', '%2D')
  for (const url of [
    `/ping/${PING_KEY}/a`,
    `//ping/${PING_KEY}/a`,
    `/%70ing/${PING_KEY}/a/fail`,
    `/%70ing/${encoded}/a`,
    `/ping%2F${PING_KEY}/a`,
    `/ping//${PING_KEY}/a`,
    `/PING/${PING_KEY}/a`,
  ]) {
    await app.inject({ url })
  }
  t.ok(lines.length >= 14, 'every request was logged')
  const leaked = lines.filter((l) => l.includes(PING_KEY.slice(9)) || l.includes(encoded.slice(9)))
  t.same(leaked, [], 'no line holds the key')
  t.match(lines.join('\n'), '/%70ing/[redacted]/a/fail')
})

t.test('an empty X-Token beside the right Bearer token is the right token, never counted nor throttled', async (t) => {
  const { app } = await testApp(t, { config: config(yamlConfig({ groups: GROUPS })) })
  for (let i = 0; i < 40; i++) {
    const res = await app.inject({ url: '/refresh/a', headers: { 'x-token': '', authorization: `Bearer ${TOKEN}` } })
    t.equal(res.statusCode, 200, `request ${i + 1}`)
    if (res.statusCode !== 200) break
  }
  const wrongBeside = await app.inject({ url: '/refresh/a', headers: { 'x-token': 'wrong', authorization: `Bearer ${TOKEN}` } })
  t.equal(wrongBeside.statusCode, 200, 'a wrong X-Token beside the right Bearer is right too')
  const empty = await app.inject({ url: '/refresh/a', headers: { 'x-token': '', authorization: 'Bearer ' } })
  t.same([empty.statusCode, empty.json().code], [403, 'SP_ERR_TOKEN_MISSING'])
})

t.test('exit statuses are taken in plain decimal only: 01 and 0255 are a 400, and change nothing', async (t) => {
  const { app } = await testApp(t, { config: config(yamlConfig({ groups: GROUPS, extra: `  ping_key: ${PING_KEY}\n` })) })
  for (const status of ['01', '0255', '00', '007']) {
    const refresh = await app.inject({ url: `/refresh/a/${status}`, headers: auth })
    t.equal(refresh.statusCode, 400, `/refresh/a/${status}`)
    t.match(refresh.json().message, `exit status: must be written without leading zeros (${Number(status)}), got ${status}`)
    t.equal((await app.inject({ url: `/ping/${PING_KEY}/a/${status}` })).statusCode, 400)
  }
  t.same((await app.inject({ url: '/api/v1/items/a/runs', headers: auth })).json().runs, [], 'nothing logged')
  for (const status of ['0', '1', '255']) t.equal((await app.inject({ url: `/refresh/a/${status}`, headers: auth })).statusCode, 200, status)
})

/** Sends `head` on a raw connection, then `drip` every 200 ms; resolves to the answer and when it came (ms). */
function slowClient(url: string, head: string, drip: string): Promise<{ ms: number; status: string; headers: string; body: string }> {
  const { hostname, port } = new URL(url)
  return new Promise((resolve) => {
    const socket = connect(Number(port), hostname)
    const t0 = Date.now()
    let out = ''
    socket.on('data', (d) => (out += d))
    socket.on('error', () => {})
    socket.write(head)
    const timer = setInterval(() => socket.writable && socket.write(drip), 200)
    const stop = setTimeout(() => socket.destroy(), 8000)
    socket.on('close', () => {
      clearInterval(timer)
      clearTimeout(stop)
      const [headers = '', body = ''] = out.split('\r\n\r\n')
      resolve({ ms: Date.now() - t0, status: headers.split('\r\n')[0] ?? '', headers, body })
    })
  })
}

t.test("slow headers and slow bodies are cut at the deadline with a 408 in the service's error shape; oversized headers get a 431 so too", async (t) => {
  const { app } = await testApp(t, { config: config(yamlConfig({ groups: GROUPS })), requestTimeoutMs: 1000 })
  const url = await app.listen({ host: '127.0.0.1', port: 0 })
  const [headers, body, json] = await Promise.all([
    slowClient(url, 'GET /refresh/a HTTP/1.1\r\nHost: x\r\n', 'X-Slow: 1\r\n'),
    slowClient(url, `POST /refresh/a HTTP/1.1\r\nHost: x\r\nX-Token: ${TOKEN}\r\nContent-Length: 1000\r\n\r\n`, 'a'),
    slowClient(url, `POST /api/v1/script HTTP/1.1\r\nHost: x\r\nX-Token: ${TOKEN}\r\nContent-Type: application/json\r\nContent-Length: 1000\r\n\r\n`, ' '),
  ])
  t.equal(headers.status, 'HTTP/1.1 408 Request Timeout')
  t.same(JSON.parse(headers.body), { statusCode: 408, code: 'SP_ERR_REQUEST_TIMEOUT', error: 'Request Timeout', message: 'headers: must arrive within 1 s' })
  for (const [what, answer] of [
    ['a check-in body', body],
    ['a JSON body', json],
  ] as const) {
    t.equal(answer.status, 'HTTP/1.1 408 Request Timeout', what)
    t.same(
      JSON.parse(answer.body),
      { statusCode: 408, code: 'SP_ERR_REQUEST_TIMEOUT', error: 'Request Timeout', message: 'body: must arrive within 1 s of the headers' },
      what,
    )
    t.match(answer.headers.toLowerCase(), 'connection: close', what)
  }
  for (const answer of [headers, body, json]) t.ok(answer.ms < 3500, `cut after ${answer.ms} ms`)
  t.same((await app.inject({ url: '/api/v1/items/a/runs', headers: auth })).json().runs, [], 'nothing recorded')
  const big = await slowClient(url, `GET /refresh/a HTTP/1.1\r\nHost: x\r\nX-Big: ${'b'.repeat(20_000)}\r\n\r\n`, '')
  t.equal(big.status, 'HTTP/1.1 431 Request Header Fields Too Large')
  t.same(JSON.parse(big.body), {
    statusCode: 431,
    code: 'SP_ERR_HEADERS_TOO_LARGE',
    error: 'Request Header Fields Too Large',
    message: 'headers: must be at most 16 KiB in all',
  })
})

t.test('SIGTERM under load: every request already sent is answered, the last answer on each connection says Connection: close, none is reset', async (t) => {
  const cli = await startService(t, yamlConfig({ groups: GROUPS }))
  const { hostname, port } = new URL(cli.url)
  const agent = new Agent({ keepAlive: true, maxSockets: 50 })
  t.teardown(() => agent.destroy())
  const tally = { answered: 0, closing: 0, refused: 0, reset: [] as string[] }
  let stopped = false
  const refresh = () =>
    new Promise<void>((resolve) => {
      const req = request({ host: hostname, port, path: '/refresh/a', headers: { 'x-token': TOKEN }, agent }, (res) => {
        res.resume()
        res.on('end', () => {
          tally.answered++
          if (res.headers.connection === 'close') tally.closing++
          resolve()
        })
      })
      req.on('error', (err: NodeJS.ErrnoException) => {
        // Refused: the port no longer accepts, and nothing was sent. Anything else lost a request.
        if (err.code === 'ECONNREFUSED') tally.refused++
        else tally.reset.push(err.code ?? err.message)
        stopped = true
        resolve()
      })
      req.end()
    })
  const client = async () => {
    while (!stopped) await refresh()
  }
  const clients = Array.from({ length: 50 }, client)
  await new Promise((resolve) => setTimeout(resolve, 1000))
  const answeredBefore = tally.answered
  cli.child.kill('SIGTERM')
  const [code] = await once(cli.child, 'exit')
  stopped = true
  await Promise.all(clients)
  t.equal(code, 0, 'stopped cleanly')
  t.ok(answeredBefore > 100, `under load: ${answeredBefore} answers in the first second`)
  t.same(tally.reset, [], `no request reset (${tally.answered} answered, ${tally.refused} refused at connect)`)
  t.ok(tally.closing > 0, `${tally.closing} last answers said Connection: close`)
})

for (const backend of backends(t)) {
  t.test(
    `${backend.name}: past 16 open runs, a start drops the oldest with a log line and a count, and its finish still gets its duration by rid`,
    async (t) => {
      const { lines, logger } = logSink()
      const { app, clock } = await testApp(t, { dbPath: await backend.fresh(t), logger, config: config(yamlConfig({ groups: GROUPS })) })
      for (let i = 0; i < 100; i++) {
        t.equal((await app.inject({ url: `/refresh/a/start?rid=r${i}`, headers: auth })).statusCode, 200)
        clock.advance(1)
      }
      for (let i = 0; i < 100; i++) t.equal((await app.inject({ url: `/refresh/a?rid=r${i}`, headers: auth })).statusCode, 200)
      const { runs } = (await app.inject({ url: '/api/v1/items/a/runs?limit=100', headers: auth })).json()
      const finishes = runs.filter((r: { kind: string }) => r.kind === 'success')
      t.equal(finishes.length, 100)
      t.same(
        finishes.filter((r: { duration_seconds: number | null }) => r.duration_seconds === null),
        [],
        'every finish has a duration',
      )
      t.equal(finishes.find((r: { rid: string }) => r.rid === 'r0').duration_seconds, 100, 'the first run, dropped 84 starts ago, ran 100 s')
      const metrics = (await app.inject({ url: '/metrics' })).body
      t.match(metrics, /^statuspage_runs_dropped_total 84$/m)
      const dropped = lines.map((l) => JSON.parse(l)).filter((l) => l.msg?.startsWith('run dropped'))
      t.equal(dropped.length, 84)
      t.same([dropped[0].item, dropped[0].rid, dropped[0].level], ['a', 'r0', 40])

      t.equal((await app.inject({ method: 'POST', url: '/api/v1/script', headers: auth, payload: scriptBody({}) })).statusCode, 201)
      for (let i = 0; i < 17; i++) await app.inject({ method: 'POST', url: '/api/v1/script/1/start', headers: auth, payload: { rid: `s${i}` } })
      clock.advance(30)
      const report = await app.inject({ method: 'PUT', url: '/api/v1/script/1', headers: auth, payload: { status: true, rid: 's0' } })
      t.equal(report.json().last_duration, 30, "a script's dropped run keeps its duration too")
      t.match((await app.inject({ url: '/metrics' })).body, /^statuspage_runs_dropped_total 85$/m)
      t.same(
        lines
          .map((l) => JSON.parse(l))
          .filter((l) => l.msg?.startsWith('run dropped') && l.script === 1)
          .map((l) => l.rid),
        ['s0'],
      )
    },
  )
}

t.test('/-/ready answers 503 while SQLite writes fail (a full disk), and 200 once they commit again', async (t) => {
  const { app, clock } = await testApp(t, {
    maxPages: 40,
    retentionMs: 20,
    config: config(yamlConfig({ groups: GROUPS, top: '\nrun_log:\n  max_age: 1s\n' })),
  })
  t.equal((await app.inject({ url: '/-/ready' })).statusCode, 200)
  let status = 200
  for (let i = 0; i < 100 && status === 200; i++)
    status = (await app.inject({ method: 'POST', url: '/refresh/a/log', headers: auth, payload: `${i} `.repeat(5000) })).statusCode
  t.equal(status, 500, 'the disk filled up')
  const ready = await app.inject({ url: '/-/ready' })
  t.same([ready.statusCode, ready.json().code], [503, 'SP_ERR_STORE_UNAVAILABLE'])
  t.match((await app.inject({ url: '/metrics' })).body, /^statuspage_store_up 0$/m)
  // Retention deletes the old outputs: the next write commits.
  clock.advance(10)
  await waitUntil(async () => (await app.inject({ url: '/-/ready' })).statusCode === 200, 'ready again', 5000)
  t.equal((await app.inject({ url: '/refresh/a', headers: auth })).statusCode, 200)
  t.match((await app.inject({ url: '/metrics' })).body, /^statuspage_store_up 1$/m)
})

t.test(
  'SQLite: under a stream of 10 KiB outputs, all of them stay within a tenth over max_output_mib, and deleted outputs give their space back to the file',
  async (t) => {
    const ids = Array.from({ length: 10 }, (_, i) => `c${i}`)
    const groups = `\n    G:\n${ids.map((id) => `      - { name: ${id}, id: ${id} }`).join('\n')}\n`
    const { app, dbPath, clock } = await testApp(t, {
      retentionMs: 200,
      config: config(yamlConfig({ groups, top: '\nrun_log:\n  max_output_mib: 2\n  max_age: 1h\n' })),
    })
    const reader = new Database(dbPath, { readonly: true })
    t.teardown(() => reader.close())
    const total = reader.prepare('SELECT coalesce(sum(kept), 0) AS bytes FROM signal_body')
    const output = 'x'.repeat(10 * 1024)
    let most = 0
    for (let round = 0; round < 200; round++) {
      const answers = await Promise.all(ids.map((id) => app.inject({ method: 'POST', url: `/refresh/${id}`, headers: auth, payload: output })))
      t.ok(answers.every((a) => a.statusCode === 200))
      most = Math.max(most, (total.get() as { bytes: number }).bytes)
    }
    const limit = 2 * 1024 * 1024
    t.ok(most <= limit * 1.1, `20 MB sent, at most ${(most / limit).toFixed(2)} of max_output_mib kept at once`)
    const size = () => statSync(dbPath).size + (existsSync(`${dbPath}-wal`) ? statSync(`${dbPath}-wal`).size : 0)
    const loaded = size()
    t.ok(loaded < 10 * limit, `the file and its WAL hold ${(loaded / 1024 / 1024).toFixed(1)} MiB`)
    t.equal(reader.pragma('auto_vacuum', { simple: true }), 2, 'incremental auto_vacuum')
    // Every output past max_age: the next sweep deletes them all, and the pages go back to the file.
    const pages = reader.pragma('page_count', { simple: true }) as number
    clock.advance(7200)
    await waitUntil(() => (total.get() as { bytes: number }).bytes === 0, 'the old outputs deleted', 5000)
    await waitUntil(() => (reader.pragma('page_count', { simple: true }) as number) < pages / 2, `fewer than half of the ${pages} pages`, 5000)
  },
)

for (const backend of backends(t)) {
  t.test(`${backend.name}: a retried signal, known by its rid or its Idempotency-Key, is recorded and counted once`, async (t) => {
    const { app } = await testApp(t, { dbPath: await backend.fresh(t), config: config(yamlConfig({ groups: GROUPS, extra: `  ping_key: ${PING_KEY}\n` })) })
    const send = (url: string, headers: Record<string, string> = {}) => app.inject({ url, headers: { ...auth, ...headers } })
    // Each sent twice, as a client does that did not get the first answer.
    const twice = async (url: string, headers: Record<string, string> = {}) => {
      for (let i = 0; i < 2; i++) t.equal((await send(url, headers)).statusCode, 200, `${url}, try ${i + 1}`)
    }
    await twice('/refresh/a/start?rid=r1')
    await twice('/refresh/a/fail?rid=r1')
    for (let i = 0; i < 2; i++) t.equal((await app.inject({ url: `/ping/${PING_KEY}/a/fail?rid=r2` })).body, 'OK')
    await twice('/refresh/a/3', { 'idempotency-key': 'k-1' })
    await twice('/refresh/a/4', { 'idempotency-key': '"k-2"' })
    const item = (await app.inject({ url: '/api/v1/status' })).json().groups[0].items[0]
    t.equal(item.consecutive_failures, 4, 'four failures, each once')
    const { runs } = (await app.inject({ url: '/api/v1/items/a/runs', headers: auth })).json()
    t.same(runs.map((r: { kind: string; rid: string | null; exit_status: number | null }) => [r.kind, r.rid, r.exit_status]).reverse(), [
      ['start', 'r1', null],
      ['failure', 'r1', null],
      ['failure', 'r2', null],
      ['failure', null, 3],
      ['failure', null, 4],
    ])
    t.equal((await send('/refresh/a/fail', { 'idempotency-key': 'k-3' })).statusCode, 200)
    t.equal((await app.inject({ url: '/api/v1/status' })).json().groups[0].items[0].consecutive_failures, 5, 'a new key is a new signal')
    t.equal((await send('/refresh/a/start?rid=r1')).statusCode, 200)
    t.equal((await send('/refresh/a/fail?rid=r1')).statusCode, 200)
    t.equal((await app.inject({ url: '/api/v1/status' })).json().groups[0].items[0].consecutive_failures, 6, 'a rid started again is a new run')
    t.equal((await send('/refresh/a', { 'idempotency-key': '' })).statusCode, 200, 'an empty key is no key')
    t.equal((await send('/refresh/a', { 'idempotency-key': 'k'.repeat(201) })).statusCode, 400, 'a key over 200 characters is refused')
    const bad = await send('/refresh/a', { 'idempotency-key': 'has space' })
    t.same(
      [bad.statusCode, bad.json().message],
      [400, 'Idempotency-Key: must be 1 to 200 visible ASCII characters without a double quote (or those in double quotes), given once'],
    )

    t.equal((await app.inject({ method: 'POST', url: '/api/v1/script', headers: auth, payload: scriptBody({ failure_threshold: 3 }) })).statusCode, 201)
    for (let i = 0; i < 2; i++) {
      const report = await app.inject({
        method: 'PUT',
        url: '/api/v1/script/1',
        headers: { ...auth, 'idempotency-key': 'report-1' },
        payload: { status: false },
      })
      t.equal(report.json().consecutive_failures, 1, 'a retried report counts once')
    }
    t.same(
      (await app.inject({ url: '/api/v1/script/1/runs', headers: auth })).json().runs.map((r: { kind: string }) => r.kind),
      ['failure', 'success'],
      'and is logged once, after the report that created it',
    )
  })
}

/** Stops (SIGSTOP) or resumes (SIGCONT) a cluster's postmaster and every server process, as a network partition would freeze them. */
function freeze(url: string, signal: 'SIGSTOP' | 'SIGCONT'): void {
  const dir = decodeURIComponent(/host=([^&]+)/.exec(url)![1]!)
  const postmaster = Number(readFileSync(`${dir}/data/postmaster.pid`, 'utf8').split('\n')[0])
  const children = readdirSync('/proc')
    .filter((p) => /^\d+$/.test(p))
    .filter((p) => {
      try {
        return (
          Number(
            readFileSync(`/proc/${p}/stat`, 'utf8')
              .replace(/^.*\) /, '')
              .split(' ')[1],
          ) === postmaster
        )
      } catch {
        return false
      }
    })
  for (const pid of [postmaster, ...children.map(Number)]) process.kill(pid, signal)
}

t.test('PostgreSQL frozen under load: writes answer 503 within 2 s, and their retries, once it answers again, are counted once', async (t) => {
  const cluster = startCluster(t)
  if (cluster === undefined) return
  const dbPath = await cluster.createDatabase()
  const { app } = await testApp(t, { dbPath, config: config(yamlConfig({ groups: '\n    G:\n      - { name: A, id: a }\n      - { name: B, id: b }\n' })) })
  t.teardown(() => freeze(dbPath, 'SIGCONT'))
  t.equal((await app.inject({ url: '/refresh/a', headers: auth })).statusCode, 200)
  const fail = (i: number) => app.inject({ url: `/refresh/a/fail`, headers: { ...auth, 'idempotency-key': `fail-${i}` } })
  const start = (i: number) => app.inject({ url: `/refresh/b/start?rid=run-${i}`, headers: auth })
  freeze(dbPath, 'SIGSTOP')
  const began = Date.now()
  const first = await Promise.all(Array.from({ length: 20 }, (_, i) => (i % 2 === 0 ? fail(i) : start(i))))
  const waited = Date.now() - began
  freeze(dbPath, 'SIGCONT')
  t.same([...new Set(first.map((r) => r.statusCode))], [503], 'every write refused')
  t.ok(waited < 2500, `answered within ${waited} ms`)
  t.same([...new Set(first.map((r) => r.json().code))], ['SP_ERR_STORE_UNAVAILABLE'])
  await waitUntil(async () => (await app.inject({ url: '/-/ready' })).statusCode === 200, 'ready again', 15_000)
  // The clients try again, as they were told to: every write is recorded once, whether the first try committed or not.
  const again = await Promise.all(Array.from({ length: 20 }, (_, i) => (i % 2 === 0 ? fail(i) : start(i))))
  t.same([...new Set(again.map((r) => r.statusCode))], [200])
  const item = (await app.inject({ url: '/api/v1/status' })).json().groups[0].items[0]
  t.equal(item.consecutive_failures, 10, 'ten failures, each counted once')
  const log = async (id: string) =>
    (await app.inject({ url: `/api/v1/items/${id}/runs?limit=100`, headers: auth })).json().runs.map((r: { kind: string }) => r.kind)
  t.equal((await log('a')).filter((kind: string) => kind === 'failure').length, 10, 'each failure logged once')
  t.same(await log('b'), Array(10).fill('start'), 'each start logged once')
  t.equal(app.monitor.runs().get('b')?.open.length, 10, 'ten runs open')
})
