// promtool (Debian's prometheus package) lints the exposition.
import { spawnSync } from 'node:child_process'
import t from 'tap'
import { auth, testApp } from './helpers/app.js'
import { requireBinary } from './helpers/binaries.js'

t.test('promtool check metrics finds nothing to report', async (t) => {
  const promtool = requireBinary(t, 'promtool', 'apt-get install prometheus')
  if (!promtool) return
  const { app } = await testApp(t)
  await app.inject({ url: '/refresh/http', headers: auth })
  await app.inject({ method: 'POST', url: '/api/v1/script', headers: { ...auth, 'content-type': 'application/json' }, payload: { name: 'a', server: 'h', status: 1, last_exec: 'CURRENT_TIMESTAMP' } })
  const body = (await app.inject({ url: '/metrics' })).body
  const res = spawnSync(promtool, ['check', 'metrics'], { input: body, encoding: 'utf8' })
  t.equal(res.status, 0, res.stderr)
  t.equal(res.stdout + res.stderr, '', 'no lint findings')
})
