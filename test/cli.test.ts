import { once } from 'node:events'
import { readFileSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import t from 'tap'
import { TOKEN, yamlConfig } from './helpers/app.js'
import { runCli, startCli } from './helpers/cli.js'

t.test('the CLI serves refreshes, survives a broken config on SIGHUP and applies a good one', async (t) => {
  const dir = t.testdir()
  const configPath = join(dir, 'config.yml')
  writeFileSync(configPath, yamlConfig())
  const cli = await startCli(t, ['--db', join(dir, 'db', 'sp.db'), configPath])

  const refreshed = await fetch(`${cli.url}/refresh/http`, { headers: { 'x-token': TOKEN } })
  t.equal(refreshed.status, 200)
  t.equal(await refreshed.text(), '{"refreshed": 2}')

  writeFileSync(configPath, 'statuspage:\n  token: short\n')
  cli.child.kill('SIGHUP')
  const refused = await cli.waitForLog((l) => l.msg === 'config reload refused; the previous config stays in force')
  t.same(refused.errors, [
    `${configPath}: statuspage: must have required property 'groups'`,
    `${configPath}: statuspage.token: must be at least 32 characters; generate one with: head -c 1000 /dev/urandom | sha512sum | cut -c 1-64`,
  ])
  const still = await fetch(`${cli.url}/refresh/http`, { headers: { 'x-token': TOKEN } })
  t.equal(await still.text(), '{"refreshed": 2}', 'the old config still serves')

  writeFileSync(configPath, yamlConfig({ groups: '\n    G:\n      - {name: HTTP, id: http}\n      - {name: Fresh, id: fresh}\n' }))
  cli.child.kill('SIGHUP')
  await cli.waitForLog((l) => l.msg === 'config reloaded')
  const status = (await (await fetch(`${cli.url}/api/v1/status`)).json()) as { groups: { items: { id: string; state: string }[] }[] }
  t.same(
    status.groups.map((g) => g.items.map((i) => [i.id, i.state])),
    [
      [
        ['http', 'up'],
        ['fresh', 'down'],
      ],
    ],
    'the new config is in force and http kept its state',
  )
  t.notOk(
    cli.logs.some((l) => JSON.stringify(l).includes(TOKEN)),
    'the token is never logged',
  )

  cli.child.kill('SIGTERM')
  const [code] = await once(cli.child, 'exit')
  t.equal(code, 0, 'SIGTERM stops it cleanly')
})

t.test('a bad config stops start-up with exit code 2 and one line per problem, no stack trace', async (t) => {
  const dir = t.testdir()
  const configPath = join(dir, 'config.yml')
  writeFileSync(configPath, 'statuspage:\n  token: abc\n  groups:\n    A:\n      - {name: a}\n')
  const res = await runCli(['--db', join(dir, 'sp.db'), configPath])
  t.equal(res.code, 2)
  t.equal(
    res.stderr,
    `${configPath}: statuspage.token: must be at least 32 characters; generate one with: head -c 1000 /dev/urandom | sha512sum | cut -c 1-64\n` +
      `${configPath}: statuspage.groups.A[0]: must have required property 'id'\n`,
  )
})

t.test('a missing config file stops start-up with exit code 2', async (t) => {
  const res = await runCli(['--db', join(t.testdir(), 'sp.db'), 'no-such-file.yml'])
  t.equal(res.code, 2)
  t.equal(res.stderr, 'no-such-file.yml: cannot read the file (ENOENT)\n')
})

t.test('bad flags are refused with exit code 2', async (t) => {
  const unknown = await runCli(['--nope'])
  t.equal(unknown.code, 2)
  t.match(unknown.stderr, /^statuspage: Unknown option '--nope'/)
  const port = await runCli(['--port', 'http'])
  t.equal(port.code, 2)
  t.equal(port.stderr, "statuspage: --port: must be a number from 0 to 65535, got 'http'\n")
})

t.test('--trust-proxy refuses what is not an address, a CIDR or a boolean', async (t) => {
  for (const bad of ['proxy.example.com', '10.0.0.0/33', '10.0.0.1,nope', '::1/x', '2']) {
    const res = await runCli(['--trust-proxy', bad])
    t.equal(res.code, 2, bad)
    t.match(res.stderr, /^statuspage: --trust-proxy: '[^']+' is not an address, a CIDR, loopback, linklocal or uniquelocal/, bad)
  }
})

t.test('TRUST_PROXY makes the real service count failed tokens per forwarded client', async (t) => {
  const dir = t.testdir({ 'config.yml': yamlConfig() })
  const cli = await startCli(t, ['--db', join(dir, 'sp.db'), join(dir, 'config.yml')], { TRUST_PROXY: 'loopback' })
  const wrong = (client: string) => fetch(`${cli.url}/refresh/http`, { headers: { 'x-token': 'guess', 'x-forwarded-for': client } }).then((r) => r.status)
  for (let i = 0; i < 30; i++) await wrong('198.51.100.1')
  t.equal(await wrong('198.51.100.1'), 429)
  t.equal(await wrong('198.51.100.2'), 403, 'another client behind the proxy keeps its own budget')
})

t.test('--help prints the usage and exits 0', async (t) => {
  const res = await runCli(['--help'])
  t.equal(res.code, 0)
  t.match(res.stdout, /^Usage: statuspage \[options\] \[config\.yml\]/)
  t.match(res.stdout, /--db <path|url>/)
  t.match(res.stdout, /--trust-proxy <proxies>/)
})

t.test("log lines name their level and tell the time in ISO 8601; LOG_FORMAT=raw keeps pino's numbers", async (t) => {
  const dir = t.testdir({ 'config.yml': yamlConfig() })
  const readable = await startCli(t, ['--db', join(dir, 'a.db'), join(dir, 'config.yml')])
  const started = await readable.waitForLog((l) => l.msg === 'statuspage started')
  t.equal(started.level, 'info')
  t.match(started.time, /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/)
  const raw = await startCli(t, ['--db', join(dir, 'b.db'), join(dir, 'config.yml')], { LOG_FORMAT: 'raw' })
  const rawStarted = await raw.waitForLog((l) => l.msg === 'statuspage started')
  t.equal(rawStarted.level, 30)
  t.type(rawStarted.time, 'number')
})

t.test('--version prints the version of package.json and of Node', async (t) => {
  const { version } = JSON.parse(readFileSync('package.json', 'utf8')) as { version: string }
  for (const flag of ['--version', '-V']) {
    const res = await runCli([flag])
    t.same([res.code, res.stdout], [0, `statuspage ${version} (Node ${process.versions.node})\n`], flag)
  }
})

t.test('an unusable database path stops start-up with exit code 1 and the reason', async (t) => {
  const dir = t.testdir({ 'config.yml': yamlConfig(), 'a-file': 'x' })
  const res = await runCli(['--db', join(dir, 'a-file', 'sp.db'), join(dir, 'config.yml')])
  t.equal(res.code, 1)
  t.equal(res.stderr, `statuspage: cannot open the database ${join(dir, 'a-file', 'sp.db')}: ${join(dir, 'a-file')} is not a folder\n`)
})
