// Runs against the real CLI, with curl and with scripts/statuspage-run, as the README shows them.
// These measure real durations, so they wait for real time; every other rule is tested on a fixed
// clock (domain/run.test.ts, runs.test.ts).
import { createServer } from 'node:net'
import t, { type Test } from 'tap'
import { TOKEN, yamlConfig } from './helpers/app.js'
import { requireBinary } from './helpers/binaries.js'
import { exec, startService } from './helpers/cli.js'

const KEY = 'ping-key-0123456789abcdef0123456789ab'
const GROUPS = `
    Jobs:
      - {name: Backup, id: backup, interval: 1h}
      - {name: Strict, id: strict, interval: 1h}
      - {name: Lenient, id: lenient, interval: 1h, failure_threshold: 2}
      - {name: Hangs, id: hangs, interval: 1h, max_runtime: 2s}
      - {name: Quick, id: quick, interval: 1h, min_runtime: 1s}
      - {name: Pinged, id: pinged, interval: 1h}
      - {name: Refreshed, id: refreshed, interval: 1h}
      - {name: "Odd id", id: "odd id/é", interval: 1h}
`

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms))

async function service(t: Test) {
  const svc = await startService(t, yamlConfig({ groups: GROUPS, extra: `  ping_key: ${KEY}\n` }))
  const item = async (id: string) => {
    const status = (await (await fetch(`${svc.url}/api/v1/status`)).json()) as { groups: { items: Record<string, unknown>[] }[] }
    return status.groups[0]!.items.find((i) => i.id === id)!
  }
  return { ...svc, item }
}

t.test('curl against the real CLI: duration, exit status and thresholds, max and min run time', async (t) => {
  const curl = requireBinary(t, 'curl', 'apt-get install curl')
  if (!curl) return
  const { url, item } = await service(t)
  const signal = (path: string) => exec(curl, ['-fsS', '-m', '10', '-H', `X-Token: ${TOKEN}`, `${url}/refresh/${path}`])

  t.equal((await signal('backup/start')).stdout, '{"refreshed": 1}')
  await sleep(1200)
  await signal('backup/0')
  const done = await item('backup')
  t.ok((done.last_duration as number) >= 1.2 && (done.last_duration as number) < 2.5, `last_duration ≈ 1.2 (${done.last_duration})`)
  t.match(done, { status: 'up' })

  await signal('strict/3')
  await signal('lenient/3')
  t.match(await item('strict'), { status: 'failed', state: 'down', reason: 'exit status 3' }, 'failure_threshold 1: failed')
  t.match(await item('lenient'), { status: 'up', state: 'up', consecutive_failures: 1 }, 'failure_threshold 2: still up')

  const started = Date.now()
  await signal('hangs/start')
  t.match(await item('hangs'), { status: 'running' })
  // Polled, not slept: the first answer that says timeout must come after 2 s, and soon after.
  while ((await item('hangs')).status !== 'timeout') {
    if (Date.now() - started > 10_000) throw new Error('still not timeout after 10 s')
    await sleep(50)
  }
  const after = Date.now() - started
  t.ok(after >= 2000 && after < 5000, `timeout after 2 s (${after} ms)`)

  await signal('quick/start')
  await sleep(100)
  await signal('quick')
  t.match(await item('quick'), { status: 'failed', reason: /^too fast: ran 0\.\ds, min_runtime 1s$/ })
})

t.test('the ping URLs with curl give the same state as the /refresh signals', async (t) => {
  const curl = requireBinary(t, 'curl', 'apt-get install curl')
  if (!curl) return
  const { url, item } = await service(t)
  const viaPing = await exec(curl, ['-fsS', '-m', '10', '--retry', '5', `${url}/ping/${KEY}/pinged/start`])
  t.same([viaPing.code, viaPing.stdout], [0, 'OK'])
  await exec(curl, ['-fsS', '-m', '10', '-H', `X-Token: ${TOKEN}`, `${url}/refresh/refreshed/start`])
  await sleep(300)
  t.equal((await exec(curl, ['-fsS', '-m', '10', '--retry', '5', `${url}/ping/${KEY}/pinged/0`])).stdout, 'OK')
  await exec(curl, ['-fsS', '-m', '10', '-H', `X-Token: ${TOKEN}`, `${url}/refresh/refreshed/0`])
  const [a, b] = [await item('pinged'), await item('refreshed')]
  const same = (i: Record<string, unknown>) => ({
    state: i.state,
    status: i.status,
    reason: i.reason,
    consecutive_failures: i.consecutive_failures,
    ran: typeof i.last_duration,
  })
  t.same(same(a), same(b))
  t.same(same(a), { state: 'up', status: 'up', reason: null, consecutive_failures: 0, ran: 'number' })
  const wrong = await exec(curl, ['-sS', '-m', '10', '-w', '%{http_code}', `${url}/ping/${KEY}x/pinged`])
  t.equal(wrong.stdout, 'not found404')
})

t.test('statuspage-run wraps a command for an item: start, exit status with the same rid, the exit status passed on', async (t) => {
  if (!requireBinary(t, 'curl', 'apt-get install curl')) return
  const { url, item, logs } = await service(t)
  const wrap = (args: string[], env: NodeJS.ProcessEnv = { STATUSPAGE_TOKEN: TOKEN }) => exec('sh', ['scripts/statuspage-run', '--url', url, ...args], env)

  const failed = await wrap(['--item', 'strict', '--', 'sh', '-c', 'sleep 0.3; echo out; echo err >&2; exit 3'])
  t.same([failed.code, failed.stdout, failed.stderr], [3, 'out\n', 'err\n'], 'the exit status, stdout and stderr pass through')
  const strict = await item('strict')
  t.match(strict, { status: 'failed', reason: 'exit status 3' })
  t.ok((strict.last_duration as number) >= 0.3, `the run was timed (${strict.last_duration})`)
  const runLog = async (id: string) =>
    (
      (await (await fetch(`${url}/api/v1/items/${encodeURIComponent(id)}/runs`, { headers: { 'x-token': TOKEN } })).json()) as {
        runs: Record<string, unknown>[]
      }
    ).runs
  const [finish, start] = await runLog('strict')
  t.match(finish, { kind: 'failure', exit_status: 3, user_agent: /^curl\//, output_cut: false })
  t.same(String(finish!.output).split('\n').sort(), ['', 'err', 'out'], "the command's stdout and stderr go with its exit status")
  t.equal(finish!.rid, start!.rid, 'the start and the finish share the run id')

  const long = await wrap(['--item', 'lenient', '--', 'seq', '1', '5000'])
  t.equal(long.stdout.length, 23_893, 'all of it passes through')
  const [tail] = await runLog('lenient')
  t.equal(String(tail!.output), long.stdout.slice(-10_240), 'the last 10 KiB go, where the job says how it ended')

  const ok = await wrap(['--item', 'odd id/é', '--', 'true'])
  t.equal(ok.code, 0)
  t.match(await item('odd id/é'), { status: 'up', last_duration: Number }, 'an id with a space, a slash and é is escaped in the URL')

  const pinged = await wrap(['--item', 'pinged', '--ping-key', KEY, '--', 'sh', '-c', 'exit 0'], {})
  t.equal(pinged.code, 0)
  t.match(await item('pinged'), { status: 'up', last_duration: Number }, 'with a ping key instead of the token')

  const missing = await wrap(['--item', 'backup', '--', 'no-such-command-here'])
  t.equal(missing.code, 127, 'a command that does not exist: 127, as the shell says')
  t.match(await item('backup'), { status: 'failed', reason: 'exit status 127' })
  t.notOk(JSON.stringify(logs).includes(TOKEN), 'the token is not in the service log')
})

t.test('statuspage-run wraps a command for a script, with its duration', async (t) => {
  if (!requireBinary(t, 'curl', 'apt-get install curl')) return
  const { url, report } = await service(t)
  await report({ name: 'backup.sh', server: 'db1', status: 1 })
  const res = await exec(
    'sh',
    ['scripts/statuspage-run', '--url', url, '--script', '1', '--', 'sh', '-c', 'sleep 0.2; printf \'say "hi" \\\\ then\\ttab\\n\'; echo oops >&2; exit 4'],
    { STATUSPAGE_TOKEN: TOKEN },
  )
  t.equal(res.code, 4)
  t.equal(res.stdout, 'say "hi" \\ then\ttab\n')
  const [finish] = ((await (await fetch(`${url}/api/v1/script/1/runs`, { headers: { 'x-token': TOKEN } })).json()) as { runs: Record<string, unknown>[] }).runs
  t.match(finish, { kind: 'failure', exit_status: 4, user_agent: /^curl\// })
  t.same(
    String(finish!.output).split('\n').sort(),
    ['', 'oops', 'say "hi" \\ then\ttab'],
    "its output, quotes, backslash and tab included, goes to the script's run log",
  )
  const script = (await (await fetch(`${url}/api/v1/script/1`)).json()) as Record<string, unknown>
  t.match(script, { state: 'failed', status: false, reason: 'exit status 4', last_exec: String })
  t.ok((script.last_duration as number) >= 0.2 && (script.last_duration as number) < 5, `the duration the wrapper measured (${script.last_duration})`)
})

t.test('a statuspage that is down neither blocks nor fails the job', async (t) => {
  if (!requireBinary(t, 'curl', 'apt-get install curl')) return
  // A port that nothing listens on: bound, then closed.
  const server = createServer()
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  const { port } = server.address() as { port: number }
  await new Promise((resolve) => server.close(resolve))
  const started = Date.now()
  const res = await exec(
    'sh',
    ['scripts/statuspage-run', '--url', `http://127.0.0.1:${port}`, '--item', 'x', '--retries', '1', '--timeout', '2', '--', 'sh', '-c', 'exit 5'],
    {
      STATUSPAGE_TOKEN: TOKEN,
    },
  )
  t.equal(res.code, 5, 'the exit status of the job')
  t.match(res.stderr, /^statuspage-run: could not send the start to statuspage \(curl exit 7\)/m)
  t.match(res.stderr, /^statuspage-run: could not send the exit status 5 to statuspage \(curl exit 7\)/m)
  t.ok(Date.now() - started < 15_000, `gave up in ${Date.now() - started} ms`)
})

t.test('statuspage-run refuses bad usage with exit 2 and a line saying what is wrong', async (t) => {
  const cases: [string[], string][] = [
    [['--url', 'http://x', '--item', 'a'], 'statuspage-run: give the command to run after --'],
    [['--item', 'a', '--', 'true'], 'statuspage-run: --url (or STATUSPAGE_URL) is required'],
    [['--url', 'http://x', '--', 'true'], 'statuspage-run: give --item ID or --script ID'],
    [['--url', 'http://x', '--item', 'a', '--script', '1', '--', 'true'], 'statuspage-run: give --item or --script, not both'],
    [['--url', 'http://x', '--script', 'one', '--', 'true'], "statuspage-run: --script must be a number, got 'one'"],
    [['--url', 'http://x', '--item', 'a', '--retries', 'x', '--', 'true'], "statuspage-run: --retries must be a whole number, got 'x'"],
  ]
  for (const [args, message] of cases) {
    const res = await exec('sh', ['scripts/statuspage-run', ...args], { STATUSPAGE_URL: '' })
    t.same([res.code, res.stderr], [2, `${message}\n`], message)
  }
})

t.test('a crontab line is the whole definition: statuspage-run --schedule defines the check, which runs, goes late and recovers', async (t) => {
  if (!requireBinary(t, 'curl', 'apt-get install curl')) return
  const { url } = await service(t)
  const check = async (id: string) => (await (await fetch(`${url}/api/v1/checks/${id}`, { headers: { 'x-token': TOKEN } })).json()) as Record<string, unknown>
  // Due every second (a schedule with seconds first) with 2 s of grace: late within the test, and
  // surely up right after a run.
  const line = [
    '--item',
    'nightly',
    '--schedule',
    '* * * * * *',
    '--tz',
    'Europe/Berlin',
    '--grace',
    '2',
    '--max-runtime',
    '2h',
    '--name',
    'Nightly "sync"\\',
    '--tag',
    'cron',
    '--tag',
    'db',
  ]
  const run = () => exec('sh', ['scripts/statuspage-run', '--url', url, ...line, '--', 'true'], { STATUSPAGE_TOKEN: TOKEN })

  const first = await run()
  t.same([first.code, first.stderr], [0, ''])
  t.match(await check('nightly'), {
    name: 'Nightly "sync"\\',
    source: 'api',
    tags: ['cron', 'db'],
    schedule: '* * * * * *',
    tz: 'Europe/Berlin',
    grace: 2,
    max_runtime: 7200,
    status: 'up',
    last_duration: Number,
  })
  await sleep(3500)
  t.match(await check('nightly'), { status: 'late' }, 'no run by its due time and grace: late')
  t.equal((await run()).code, 0)
  t.match(await check('nightly'), { status: 'up' }, 'the next run recovers it')

  const configured = await exec('sh', ['scripts/statuspage-run', '--url', url, '--item', 'backup', '--schedule', '0 3 * * *', '--', 'true'], {
    STATUSPAGE_TOKEN: TOKEN,
  })
  t.same([configured.code, configured.stderr], [0, "statuspage-run: config.yml defines 'backup': its check stays as the file says\n"])
  t.match(await check('backup'), { interval: 3600, schedule: null, status: 'up' })

  const warning =
    "statuspage-run: statuspage knows no check 'no-such-check' (or the ping key is not for it): nothing was recorded; check --item, or define the check with --schedule or --interval\n"
  const unknown = await exec('sh', ['scripts/statuspage-run', '--url', url, '--item', 'no-such-check', '--', 'sh', '-c', 'exit 3'], { STATUSPAGE_TOKEN: TOKEN })
  t.same([unknown.code, unknown.stderr], [3, warning], "an unknown check is warned about once; the exit status is the command's")
  const unknownPing = await exec('sh', ['scripts/statuspage-run', '--url', url, '--item', 'no-such-check', '--ping-key', KEY, '--', 'true'], {})
  t.same([unknownPing.code, unknownPing.stderr], [0, warning], 'through a ping URL too')

  const help = await exec('sh', ['scripts/statuspage-run', '--help'], {})
  t.equal(help.code, 0)
  t.match(help.stdout, /^\n {2}statuspage-run --url URL --item ID/)
  t.match(help.stdout, /\(repeatable\)\. A check that config\.yml defines is left as the file says, with a warning\.\n$/, '--help prints the whole usage')

  const keyOnly = await exec('sh', ['scripts/statuspage-run', '--url', url, '--item', 'x', '--interval', '1h', '--ping-key', KEY, '--', 'true'], {})
  t.equal(keyOnly.code, 2)
  t.match(keyOnly.stderr, 'check options need the token')
})
