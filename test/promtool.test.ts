// promtool (Debian's prometheus package) lints the exposition.
import { spawnSync } from 'node:child_process'
import t from 'tap'
import { auth, testApp } from './helpers/app.js'
import { requireBinary } from './helpers/binaries.js'

t.test('promtool check metrics finds nothing to report', async (t) => {
  const promtool = requireBinary(t, 'promtool', 'apt-get install prometheus')
  if (!promtool) return
  const { app, clock } = await testApp(t)
  // Every family with samples: a run with a duration, a failure, a run still open, limits set.
  await app.inject({ url: '/refresh/http/start', headers: auth })
  clock.advance(2)
  await app.inject({ url: '/refresh/http', headers: auth })
  await app.inject({ url: '/refresh/dns/3', headers: auth })
  await app.inject({ url: '/refresh/mail/start', headers: auth })
  const json = { ...auth, 'content-type': 'application/json' }
  await app.inject({
    method: 'POST',
    url: '/api/v1/script',
    headers: json,
    payload: { name: 'a', server: 'h', status: 1, last_exec: 'CURRENT_TIMESTAMP', max_runtime: 60, min_runtime: 1 },
  })
  await app.inject({ method: 'POST', url: '/api/v1/script/1/start', headers: json, payload: {} })
  await app.inject({ method: 'PATCH', url: '/api/v1/script/1', headers: json, payload: { status: 0, duration: 3 } })
  await app.inject({ method: 'POST', url: '/api/v1/script/1/start', headers: json, payload: {} })
  const body = (await app.inject({ url: '/metrics' })).body
  for (const family of ['running', 'timed_out', 'failed', 'consecutive_failures', 'last_start_seconds', 'last_duration_seconds', 'last_failure_seconds']) {
    t.match(body, new RegExp(`^statuspage_item_${family}\\{`, 'm'), `item ${family} has samples`)
    t.match(body, new RegExp(`^statuspage_script_${family}\\{`, 'm'), `script ${family} has samples`)
  }
  const res = spawnSync(promtool, ['check', 'metrics'], { input: body, encoding: 'utf8' })
  t.equal(res.status, 0, res.stderr)
  t.equal(res.stdout + res.stderr, '', 'no lint findings')
})
