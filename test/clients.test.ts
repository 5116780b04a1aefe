// The clients that operators run: the seed READMEs' curl lines, scripts/scripto-send and the
// README's Python example, each against the real CLI over HTTP.
import { readFileSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import t from 'tap'
import { TOKEN, yamlConfig } from './helpers/app.js'
import { requireBinary } from './helpers/binaries.js'
import { exec, MAIN, startService } from './helpers/cli.js'

const getScript = async (url: string, id: number) => (await fetch(`${url}/api/v1/script/${id}`)).json() as Promise<Record<string, unknown>>

t.test("the seed READMEs' curl examples get the answers shown there", async (t) => {
  const curl = requireBinary(t, 'curl', 'apt-get install curl')
  if (!curl) return
  const { url } = await startService(t)

  const refresh = await exec(curl, ['-si', '--header', `X-Token: ${TOKEN}`, `${url}/refresh/dns`])
  t.match(refresh.stdout, /^HTTP\/1\.1 200 OK\r\n/)
  t.match(refresh.stdout, /\r\ncontent-type: application\/json; charset=utf-8\r\n/i)
  t.match(refresh.stdout, /\r\ncontent-length: 16\r\n/i)
  t.match(refresh.stdout, /\r\n\r\n\{"refreshed": 1\}$/)
  t.match((await exec(curl, ['-s', '--header', `X-Token: ${TOKEN}`, `${url}/refresh/http`])).stdout, /^\{"refreshed": 2\}$/)

  // Scripto's examples, with the token header added.
  const host = 'myserver.local'
  const created = await exec(curl, [
    '-i',
    '-s',
    '-H',
    'Content-Type: application/json',
    '-H',
    `X-Token: ${TOKEN}`,
    '-XPOST',
    `${url}/api/v1/script`,
    '-d',
    `{"last_exec":"CURRENT_TIMESTAMP", "name": "test_curl.sh", "server": "${host}", "status": 0}`,
  ])
  t.match(created.stdout, /^HTTP\/1\.1 201 Created\r\n/)
  t.match(created.stdout, /\r\nlocation: \/api\/v1\/script\/1\r\n/i)
  t.match(JSON.parse(created.stdout.split('\r\n\r\n')[1]!), { id: 1, name: 'test_curl.sh', server: host, status: false })

  const updated = await exec(curl, [
    '-i',
    '-s',
    '-H',
    'Content-Type: application/json',
    '-H',
    `X-Token: ${TOKEN}`,
    '-XPUT',
    `${url}/api/v1/script/1`,
    '-d',
    `{"last_exec":"CURRENT_TIMESTAMP", "name": "test_curl.sh", "server": "${host}", "status": 1}`,
  ])
  t.match(updated.stdout, /^HTTP\/1\.1 200 OK\r\n/)
  t.match(JSON.parse(updated.stdout.split('\r\n\r\n')[1]!), { id: 1, status: true, state: 'ok' })

  const deleted = await exec(curl, ['-i', '-s', '-H', 'Content-Type: application/json', '-H', `X-Token: ${TOKEN}`, '-XDELETE', `${url}/api/v1/script/1`])
  t.match(deleted.stdout, /^HTTP\/1\.1 204 No Content\r\n/)
  t.equal((await fetch(`${url}/api/v1/script/1`)).status, 404)
})

t.test('scripto-send creates, updates and wraps a command, passing its exit code on', async (t) => {
  if (!requireBinary(t, 'curl', 'apt-get install curl')) return
  const { url } = await startService(t)
  const send = (args: string[], env: NodeJS.ProcessEnv = { STATUSPAGE_TOKEN: TOKEN }) => exec('sh', ['scripts/scripto-send', '--url', url, ...args], env)

  const created = await send(['--name', 'nightly "backup".sh', '--server', 'db1', '--status', '1', '--periodicity', 'weekly'])
  t.same([created.code, created.stdout, created.stderr], [0, '1\n', ''])
  t.match(await getScript(url, 1), { name: 'nightly "backup".sh', server: 'db1', status: true, periodicity: 'weekly', state: 'ok' })

  const failed = await send(['--id', '1', '--status', '0'])
  t.equal(failed.code, 0)
  t.match(await getScript(url, 1), { name: 'nightly "backup".sh', status: false, state: 'failed' })

  const wrapped = await send(['--id', '1', '--', 'sh', '-c', 'echo working; exit 3'])
  t.same([wrapped.code, wrapped.stdout], [3, 'working\n'], "the command's output and exit code pass through")
  t.match(await getScript(url, 1), { status: false })

  const ok = await send(['--id', '1', '--periodicity', '3600', '--', 'true'])
  t.equal(ok.code, 0)
  t.match(await getScript(url, 1), { status: true, periodicity: 3600 })

  const refused = await send(['--id', '1', '--status', '1'], { STATUSPAGE_TOKEN: 'wrong' })
  t.equal(refused.code, 1)
  t.match(refused.stderr, /^scripto-send: could not report to .*\/api\/v1\/script\/1: \{"statusCode":403,"code":"SP_ERR_TOKEN_WRONG"/)

  const wrappedRefused = await send(['--id', '1', '--', 'sh', '-c', 'exit 0'], { STATUSPAGE_TOKEN: 'wrong' })
  t.equal(wrappedRefused.code, 0, "a failed report does not change the job's own exit code")

  const usage = await send(['--status', 'maybe', '--id', '1'])
  t.same([usage.code, usage.stderr], [2, 'scripto-send: --status must be 0 or 1 (or give a command after --)\n'])
})

t.test("the README's Python example reports a run", async (t) => {
  const python = requireBinary(t, 'python3', 'apt-get install python3')
  if (!python) return
  const { url } = await startService(t)
  const readme = readFileSync('README.md', 'utf8')
  const code = /```python\n([\s\S]*?)```/.exec(readme)?.[1]
  t.ok(code, 'the README has a python example')
  const file = join(t.testdir(), 'nightly_report.py')
  writeFileSync(file, code!)
  const created = await exec('sh', ['scripts/scripto-send', '--url', url, '--name', 'nightly_report.py', '--status', '0'], { STATUSPAGE_TOKEN: TOKEN })
  const id = created.stdout.trim()
  const res = await exec(python, [file], { STATUSPAGE_URL: url, STATUSPAGE_TOKEN: TOKEN, SCRIPTO_ID: id })
  t.same([res.code, res.stderr], [0, ''])
  t.match(await getScript(url, Number(id)), { name: 'nightly_report.py', status: true, state: 'ok' })
})

t.test('a check-in is recorded whatever body and Content-Type the client tool sends', async (t) => {
  const curl = requireBinary(t, 'curl', 'apt-get install curl')
  const wget = requireBinary(t, 'wget', 'apt-get install wget')
  const python = requireBinary(t, 'python3', 'apt-get install python3')
  if (!curl || !wget || !python) return
  const groups = `\n    Tools:\n${['a', 'b', 'c', 'd', 'e', 'f', 'g', 'h'].map((id) => `      - {name: ${id}, id: ${id}}\n`).join('')}`
  const { url } = await startService(t, yamlConfig({ groups }))
  const token = `X-Token: ${TOKEN}`
  const pyPost = `import sys, urllib.request
r = urllib.request.Request(sys.argv[1], data=b'', method='POST', headers={'X-Token': sys.argv[2]})
print(urllib.request.urlopen(r, timeout=10).read().decode(), end='')`
  const tools: [string, string, string, string[]][] = [
    ['a', 'curl -X POST', curl, ['-s', '-X', 'POST', '-H', token, `${url}/refresh/a`]],
    ['b', "curl -d ''", curl, ['-s', '-d', '', '-H', token, `${url}/refresh/b`]],
    ['c', 'curl, JSON type, no body', curl, ['-s', '-X', 'POST', '-H', 'Content-Type: application/json', '-H', token, `${url}/refresh/c`]],
    [
      'd',
      'curl, JSON type, a body that is not JSON',
      curl,
      ['-s', '-H', 'Content-Type: application/json', '-d', 'backup finished, 3 files', '-H', token, `${url}/refresh/d`],
    ],
    ['e', 'curl, JSON type, broken JSON', curl, ['-s', '-H', 'Content-Type: application/json', '-d', '{"partial": ', '-H', token, `${url}/refresh/e`]],
    ['f', 'curl --data-binary @file (4 KiB)', curl, ['-s', '--data-binary', `@${MAIN}`, '-H', 'Content-Type: text/plain', '-H', token, `${url}/refresh/f`]],
    ['g', 'wget --post-data=', wget, ['-q', '-O', '-', '--post-data=', `--header=${token}`, `${url}/refresh/g`]],
    ['h', "Python urllib.request POST data=b''", python, ['-c', pyPost, `${url}/refresh/h`, TOKEN]],
  ]
  for (const [id, tool, file, args] of tools) {
    const res = await exec(file, args)
    t.same([res.code, res.stdout], [0, '{"refreshed": 1}'], `${id}: ${tool}`)
  }
  const status = (await (await fetch(`${url}/api/v1/status`)).json()) as { groups: { items: { id: string; state: string }[] }[] }
  t.same(
    status.groups[0]!.items.filter((i) => i.state !== 'up').map((i) => i.id),
    [],
    'every check-in was recorded',
  )
})

t.test("a curl check-in on the shipped config's cron item moves its next_due to the next 02:30 in Berlin", async (t) => {
  const curl = requireBinary(t, 'curl', 'apt-get install curl')
  if (!curl) return
  const shipped = readFileSync('config.yml', 'utf8')
  const token = /^ {2}token: (\S+)/m.exec(shipped)![1]!
  const { url } = await startService(t, shipped)
  const backup = async () => {
    const status = (await (await fetch(`${url}/api/v1/status`)).json()) as { groups: { items: Record<string, unknown>[] }[] }
    return status.groups.flatMap((g) => g.items).find((i) => i.id === 'backup')!
  }
  t.match(await backup(), { schedule: '30 2 * * *', tz: 'Europe/Berlin', grace: 1800, next_due: null })
  t.equal((await exec(curl, ['-fsS', '-H', `X-Token: ${token}`, `${url}/refresh/backup`])).stdout, '{"refreshed": 1}')
  const { next_due, deadline, state } = await backup()
  t.equal(state, 'up')
  t.match(next_due, /^\d{4}-\d{2}-\d{2}T02:30:00\+0[12]:00$/, "the next 02:30, with Berlin's offset")
  const ahead = Date.parse(next_due as string) - Date.now()
  t.ok(ahead > 0 && ahead <= 25 * 3600_000, 'within the next day')
  t.equal(Date.parse(deadline as string) - Date.parse(next_due as string), 1800_000, 'deadline = next_due + grace')
})
