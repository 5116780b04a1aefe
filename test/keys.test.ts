// Scoped keys and the private mode: each key does what its scopes and tags allow and nothing else,
// wrong keys are throttled as wrong tokens are and right ones never, secrets stay out of the logs;
// a private instance shows nothing without a read key, but for badges with a signed URL.
import { createHash } from 'node:crypto'
import t from 'tap'
import { parseConfig } from '../src/config/load.js'
import { FAILED_AUTH_PER_MINUTE } from '../src/plugins/token-failures.js'
import { badgeSignature } from '../src/routes/auth.js'
import { auth, config, logSink, testApp, TOKEN, yamlConfig } from './helpers/app.js'

const GROUPS = `
    Jobs:
      - {name: Backup, id: backup, interval: 1h, tags: [prod]}
      - {name: Report, id: report, interval: 1h}
`
const PING_KEY = 'ping-key-0123456789abcdef0123456789abcdef'
const secret = (name: string) => `${name}-secret-0123456789abcdef0123456789`
const digest = (name: string) => `sha256:${createHash('sha256').update(secret(name)).digest('hex')}`
const KEYS = `  ping_key: ${PING_KEY}
  keys:
    - {name: reader, key: '${digest('reader')}', scopes: [read]}
    - {name: pinger, key: '${digest('pinger')}', scopes: [ping], tags: [prod]}
    - {name: writer, key: '${digest('writer')}', scopes: [write]}
    - {name: prod-writer, key: '${digest('prod-writer')}', scopes: [write], tags: [prod]}
    - {name: plain, key: '${secret('plain')}', scopes: [admin]}
`
const as = (name: string) => ({ 'x-token': secret(name) })
const bearer = (name: string) => ({ authorization: `Bearer ${secret(name)}` })

async function open(t: Parameters<typeof testApp>[0], extra = '') {
  const sink = logSink()
  const { app } = await testApp(t, { config: config(yamlConfig({ groups: GROUPS, extra: KEYS + extra })), logger: sink.logger })
  return { app, lines: sink.lines }
}

t.test('each key does what its scopes allow: read reads, ping checks in, write defines, admin all', async (t) => {
  const { app, lines } = await open(t)
  const req = (method: 'GET' | 'PUT', url: string, headers: Record<string, string>, body?: unknown) =>
    app.inject({
      method,
      url,
      headers: { ...headers, ...(body === undefined ? {} : { 'content-type': 'application/json' }) },
      payload: body === undefined ? undefined : JSON.stringify(body),
    })

  t.equal((await req('GET', '/api/v1/checks', as('reader'))).statusCode, 200)
  const refused = await req('PUT', '/api/v1/checks/new', as('reader'), { name: 'New' })
  t.equal(refused.statusCode, 403)
  t.equal(refused.json().message, 'key "reader" lacks the write scope')
  t.equal((await req('GET', '/refresh/backup', as('reader'))).statusCode, 403, 'read is no ping')

  t.equal((await req('GET', '/refresh/backup', as('pinger'))).statusCode, 200)
  t.equal((await req('GET', '/api/v1/checks', bearer('pinger'))).statusCode, 403, 'ping is no read')

  t.equal((await req('PUT', '/api/v1/checks/new', bearer('writer'), { name: 'New' })).statusCode, 201)
  t.equal((await req('GET', '/refresh/new', as('writer'))).statusCode, 200, 'write includes ping')
  t.equal((await req('GET', '/api/v1/checks/new', as('writer'))).statusCode, 200, 'and read')
  const script = await app.inject({
    method: 'POST',
    url: '/api/v1/script',
    headers: { ...as('writer'), 'content-type': 'application/json' },
    payload: '{"name": "a.sh", "server": "h", "status": true}',
  })
  t.equal(script.statusCode, 201, "write includes Scripto's writes")

  t.equal((await req('PUT', '/api/v1/checks/other', as('plain'), { name: 'Other' })).statusCode, 201, 'admin, from a plain secret')
  t.ok(
    lines.some((l) => l.includes('"key":"plain"') && l.includes('plain secret')),
    'a plain secret is warned about',
  )
  t.notOk(
    lines.some((l) => ['reader', 'pinger', 'writer', 'plain'].some((n) => l.includes(secret(n)))),
    'no secret is logged',
  )
})

t.test('a key limited to tags acts only on checks with one of them', async (t) => {
  const { app } = await open(t)
  t.equal((await app.inject({ url: '/refresh/backup', headers: as('pinger') })).statusCode, 200)
  const outside = await app.inject({ url: '/refresh/report', headers: as('pinger') })
  t.equal(outside.statusCode, 403)
  t.equal(outside.json().message, 'key "pinger" is limited to checks tagged prod; "report" has none of them')
  t.same(
    [(await app.inject({ url: `/ping/${secret('pinger')}/backup` })).body, (await app.inject({ url: `/ping/${secret('pinger')}/report` })).statusCode],
    ['OK', 404],
    'in a ping URL too',
  )
  t.equal((await app.inject({ url: `/ping/${secret('reader')}/backup` })).statusCode, 404, 'a key without ping scope pings nothing')
  t.equal((await app.inject({ url: `/ping/${PING_KEY}/report` })).statusCode, 200, 'the ping key pings every check')

  const put = (id: string, body: unknown) =>
    app.inject({
      method: 'PUT',
      url: `/api/v1/checks/${id}`,
      headers: { ...as('prod-writer'), 'content-type': 'application/json' },
      payload: JSON.stringify(body),
    })
  t.equal((await put('p1', { name: 'P1', tags: ['prod'] })).statusCode, 201)
  t.equal((await put('p2', { name: 'P2' })).statusCode, 403, 'a check without one of its tags is refused')
  const list = (await app.inject({ url: '/api/v1/checks', headers: as('prod-writer') })).json()
  t.same(
    list.checks.map((c: { id: string }) => c.id),
    ['backup', 'p1'],
    'the list shows its checks only',
  )
  t.equal((await app.inject({ url: '/api/v1/checks/report', headers: as('prod-writer') })).statusCode, 403)
  t.equal((await app.inject({ method: 'POST', url: '/api/v1/items/report/pause', headers: as('prod-writer') })).statusCode, 403)
  t.equal((await app.inject({ method: 'POST', url: '/api/v1/items/backup/pause', headers: as('prod-writer') })).statusCode, 200)
})

t.test('wrong keys count toward the failed-token limit; right keys without the scope never do', async (t) => {
  const { app } = await open(t)
  for (let i = 0; i < FAILED_AUTH_PER_MINUTE + 5; i++) {
    const res = await app.inject({
      method: 'PUT',
      url: '/api/v1/checks/x',
      headers: { ...as('reader'), 'content-type': 'application/json' },
      payload: '{"name": "x"}',
    })
    if (res.statusCode !== 403) return t.fail(`answer ${i}: ${res.statusCode}`)
  }
  for (let i = 0; i < FAILED_AUTH_PER_MINUTE; i++) await app.inject({ url: '/refresh/backup', headers: { 'x-token': `wrong-${i}` } })
  t.equal((await app.inject({ url: '/refresh/backup', headers: { 'x-token': 'wrong' } })).statusCode, 429, 'wrong keys are throttled')
  t.equal((await app.inject({ url: '/refresh/backup', headers: auth })).statusCode, 200, 'the right token never is')
})

t.test('a private instance shows nothing without a read key; badges embed through signed URLs', async (t) => {
  const { app } = await open(t, '  public: false\n')
  for (const url of ['/', '/item/backup', '/api/v1/status', '/metrics', '/badge/backup.svg', '/badge/group/Jobs.svg', '/api/v1/script']) {
    t.equal((await app.inject({ url })).statusCode, 403, `${url} without a key`)
    t.equal((await app.inject({ url, headers: bearer('reader') })).statusCode, 200, `${url} with a read key`)
  }
  t.equal((await app.inject({ url: '/metrics', headers: bearer('pinger') })).statusCode, 403, 'a ping key cannot read')
  t.equal((await app.inject({ url: '/-/healthy' })).statusCode, 200, 'health stays open')
  t.equal((await app.inject({ url: '/refresh/backup', headers: auth })).statusCode, 200, 'check-ins work as before')

  const { badge } = (await app.inject({ url: '/api/v1/checks/backup', headers: as('reader') })).json()
  t.equal(badge, `/badge/backup.svg?sig=${badgeSignature('/badge/backup.svg', TOKEN)}`)
  const signed = await app.inject({ url: badge })
  t.equal(signed.statusCode, 200)
  t.match(signed.body, '<svg')
  t.equal((await app.inject({ url: badge.replace('backup.svg', 'report.svg') })).statusCode, 403, 'a signature is for its path only')
  t.equal((await app.inject({ url: `/badge/backup.svg?sig=${'0'.repeat(64)}` })).statusCode, 403)
  const badges = (await app.inject({ url: '/api/v1/badges', headers: as('reader') })).json()
  t.same(Object.keys(badges.groups), ['Jobs'])
  t.equal((await app.inject({ url: badges.groups.Jobs })).statusCode, 200)
  t.equal((await app.inject({ url: badges.tags.prod })).statusCode, 200)
})

t.test('keys are checked at load: a bad digest, a repeated name, a key that is the token', async (t) => {
  const errors = (keys: string) => {
    const r = parseConfig(yamlConfig({ groups: GROUPS, extra: `  keys:\n${keys}` }), 'config.yml')
    return r.ok ? [] : r.errors
  }
  t.same(errors(`    - {name: a, key: 'sha256:${'z'.repeat(64)}', scopes: [read]}\n`), [
    'config.yml: statuspage.keys[0].key: sha256: must be followed by the 64 hex digits of the digest',
  ])
  t.same(errors(`    - {name: a, key: '${secret('a')}', scopes: [read]}\n    - {name: a, key: '${secret('b')}', scopes: [read]}\n`), [
    'config.yml: statuspage.keys[1].name: names another key already: "a"',
  ])
  t.same(errors(`    - {name: a, key: '${TOKEN}', scopes: [read]}\n`), ['config.yml: statuspage.keys[0].key: must differ from the token and the ping key'])
  t.same(errors(`    - {name: a, key: '${secret('a')}', scopes: [sudo]}\n`), [
    'config.yml: statuspage.keys[0].scopes[0]: must be one of: read, ping, write, admin',
  ])
})
