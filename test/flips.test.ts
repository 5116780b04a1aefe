// Flips through HTTP: each change of a check's state recorded once, as it happens, with the time it
// happened; told in the log; paged by the API; shown on the check page with availability and
// monthly downtimes. Fixed clock; the evaluator's tick is Monitor.evaluate, called by hand.
import t from 'tap'
import { auth, config, logSink, T0, testApp, yamlConfig } from './helpers/app.js'
import { waitUntil } from './helpers/db.js'

const KEY = 'ping-key-0123456789abcdef0123456789ab'
const GROUPS = `
    Jobs:
      - {name: Backup, id: backup, interval: 1h, failure_threshold: 3}
      - {name: Sync, id: sync, interval: 1m, max_runtime: 10m}
`
type App = Awaited<ReturnType<typeof testApp>>['app']
interface FlipView {
  seq: number
  time: string
  from: string
  to: string
  reason: string | null
}

const setup = async (t: Parameters<typeof testApp>[0]) => {
  const sink = logSink()
  const { app, clock } = await testApp(t, { config: config(yamlConfig({ groups: GROUPS, extra: `  ping_key: ${KEY}\n` })), logger: sink.logger })
  return { app, clock, lines: sink.lines }
}
const flipsOf = async (app: App, id: string, query = '') => {
  const res = await app.inject({ url: `/api/v1/checks/${id}/flips${query}`, headers: auth })
  if (res.statusCode !== 200) throw new Error(`${res.statusCode} ${res.body}`)
  return res.json() as { id: string; flips: FlipView[]; next_before: number | null }
}
/** Waits for `n` flips of `id` (a flip a signal made is recorded after the answer), then gives them oldest first. */
const settled = async (app: App, id: string, n: number) => {
  await waitUntil(async () => (await flipsOf(app, id)).flips.length >= n, `${n} flips of ${id}`, 5000)
  // The evaluator finds nothing more to record.
  t.same(await app.monitor.evaluate(), [], 'nothing left to record')
  return (await flipsOf(app, id)).flips.reverse()
}
const ping = (app: App, path: string) => app.inject({ url: `/ping/${KEY}/${path}` })
const iso = (ms: number) => new Date(ms).toISOString().replace('.000Z', '+00:00')

t.test('late, recovered, three failures and a pause: exactly those flips, in order, once each, in the API, the log and the page', async (t) => {
  const { app, clock, lines } = await setup(t)
  t.equal((await ping(app, 'backup')).statusCode, 200)
  t.same(await settled(app, 'backup', 1), [{ seq: 1, time: iso(T0), from: 'never', to: 'up', reason: null }], 'its first check-in')

  clock.advance(3600.5)
  t.same(await app.monitor.evaluate(), [], 'half a second past the deadline it is late, but not yet recorded (another replica may have a check-in)')
  clock.advance(1.5)
  const [late] = await app.monitor.evaluate()
  t.match(late, { key: 'backup', seq: 2, at: T0 + 3600_000, from: 'up', to: 'late', reason: 'no check-in by the deadline' }, 'dated at the deadline')

  clock.advance(60)
  await ping(app, 'backup')
  const recoveredAt = clock.t
  await settled(app, 'backup', 3)
  for (let i = 0; i < 2; i++) {
    clock.advance(10)
    await ping(app, 'backup/fail')
  }
  await app.monitor.evaluate()
  t.equal((await flipsOf(app, 'backup')).flips.length, 3, 'two failures of three are no change of state')
  clock.advance(10)
  await ping(app, 'backup/fail')
  const failedAt = clock.t
  await settled(app, 'backup', 4)
  clock.advance(5)
  t.equal((await app.inject({ method: 'POST', url: '/api/v1/items/backup/pause', headers: auth })).statusCode, 200)
  const flips = await settled(app, 'backup', 5)
  t.same(
    flips.map((f) => [f.seq, f.time, f.from, f.to]),
    [
      [1, iso(T0), 'never', 'up'],
      [2, iso(T0 + 3600_000), 'up', 'late'],
      [3, iso(recoveredAt), 'late', 'up'],
      [4, iso(failedAt), 'up', 'failed'],
      [5, iso(failedAt + 5000), 'failed', 'paused'],
    ],
  )
  t.match(flips[3]!.reason, /3 failures in a row/)

  clock.advance(7200)
  await app.monitor.evaluate()
  t.equal((await flipsOf(app, 'backup')).flips.length, 5, 'paused past its deadline: no flip')

  const page1 = await flipsOf(app, 'backup', '?limit=2')
  t.same(
    page1.flips.map((f) => f.seq),
    [5, 4],
  )
  t.equal(page1.next_before, 4)
  t.same(
    (await flipsOf(app, 'backup', '?limit=2&before=4')).flips.map((f) => f.seq),
    [3, 2],
  )

  const logged = lines.map((l) => JSON.parse(l) as Record<string, unknown>).filter((l) => l.check === 'backup')
  t.same(
    logged.map((l) => [l.level, l.from, l.to, l.name]),
    [
      [30, 'never', 'up', 'Backup'],
      [40, 'up', 'late', 'Backup'],
      [30, 'late', 'up', 'Backup'],
      [40, 'up', 'failed', 'Backup'],
      [30, 'failed', 'paused', 'Backup'],
    ],
    'one line per flip: warn going down, info otherwise',
  )
  t.match(logged[1], { msg: 'check Backup is late: no check-in by the deadline', at: new Date(T0 + 3600_000).toISOString() })

  const html = (await app.inject({ url: '/item/backup' })).body
  const shown = [...html.matchAll(/<tr class="flip [a-z]+" data-status="([a-z]+)">/g)].map((m) => m[1])
  t.same(shown, ['paused', 'failed', 'up', 'late', 'up'], 'the page lists the flips among the runs, newest first')
  t.match(html, /Failed → .*Paused/s)
  t.match(html, /<h2>Downtime<\/h2>/)
  t.match(html, /January 2026/)
})

t.test('a run past max_runtime times out when it did; availability comes from flips, over more than the run log keeps', async (t) => {
  const { app, clock } = await setup(t)
  for (let i = 0; i < 300; i++) {
    await ping(app, 'sync')
    clock.advance(60)
  }
  // 300 minutes of check-ins, more than the 256 signals an id keeps; then a run that hangs.
  await ping(app, 'sync/start')
  const started = clock.t
  clock.advance(11 * 60)
  await app.monitor.evaluate()
  clock.advance(60)
  await ping(app, 'sync')
  const flips = await settled(app, 'sync', 3)
  t.same(
    flips.map((f) => [f.time, f.to]),
    [
      [iso(T0), 'up'],
      [iso(started + 600_000), 'timeout'],
      [iso(clock.t), 'up'],
    ],
  )
  const html = (await app.inject({ url: '/item/sync' })).body
  // 2 minutes down of 312 minutes judged, over the check's life (under 24 h).
  const ratio = (Math.floor(((312 - 2) / 312) * 1000) / 10).toFixed(1)
  t.match(html, new RegExp(`<span class="pct">${ratio.replace('.', '\\.')}%</span> 24 h <span class="since">over 5h12m</span>`))
})

t.test('flips of a script, under scripto:<n>; an unknown check is 404 naming the id; reads need a key', async (t) => {
  const { app, clock } = await setup(t)
  const created = await app.inject({
    method: 'POST',
    url: '/api/v1/script',
    headers: { ...auth, 'content-type': 'application/json' },
    payload: { last_exec: 'CURRENT_TIMESTAMP', name: 'nightly.sh', server: 'db1', status: 1, periodicity: 3600 },
  })
  t.equal(created.statusCode, 201)
  const { id } = created.json() as { id: number }
  clock.advance(3602)
  await app.monitor.evaluate()
  const flips = await settled(app, `scripto:${id}`, 2)
  t.same(
    flips.map((f) => [f.from, f.to]),
    [
      ['never', 'up'],
      ['up', 'late'],
    ],
  )
  const missing = await app.inject({ url: '/api/v1/checks/nope/flips', headers: auth })
  t.equal(missing.statusCode, 404)
  t.match(missing.json(), { message: 'id: no check has the id "nope"' })
  t.equal((await app.inject({ url: '/api/v1/checks/backup/flips' })).statusCode, 403)
  t.equal((await app.inject({ url: '/api/v1/checks/backup/flips?limit=0', headers: auth })).statusCode, 400)
})

t.test('a maintenance window is two flips, at its start and its end, found by the timer', async (t) => {
  const groups = '\n    Jobs:\n      - {name: Mail, id: mail, interval: 1h, maintenance: [{schedule: "0 13 * * *", duration: 30m}]}\n'
  const { app, clock } = await testApp(t, { config: config(yamlConfig({ groups })) })
  // T0 is 12:00 UTC: the window is 13:00 to 13:30.
  await app.inject({ url: '/refresh/mail', headers: auth })
  await settled(app, 'mail', 1)
  clock.advance(50 * 60)
  await app.inject({ url: '/refresh/mail', headers: auth })
  clock.advance(10 * 60 + 5)
  await app.monitor.evaluate()
  clock.advance(35 * 60)
  await app.monitor.evaluate()
  const flips = await settled(app, 'mail', 3)
  t.same(
    flips.map((f) => [f.time, f.from, f.to]),
    [
      [iso(T0), 'never', 'up'],
      [iso(T0 + 3600_000), 'up', 'maintenance'],
      [iso(T0 + 90 * 60_000), 'maintenance', 'up'],
    ],
    'into it at its start, out of it at its end, though the ticks that found them came later',
  )
})

t.test("retention: a sweep deletes flips past flips.max_age and beyond flips.max_per_check, never a check's last", async (t) => {
  const top = '\nflips:\n  max_age: 2h\n  max_per_check: 3\n'
  const { app, clock } = await testApp(t, { config: config(yamlConfig({ groups: GROUPS, extra: `  ping_key: ${KEY}\n`, top })), flipSweepMs: 50 })
  // Sweeps run all along: wait on each check's newest flip, which they never delete.
  const recorded = (id: string, seq: number) => waitUntil(() => (app.monitor.flips.flipHeads().get(id)?.seq ?? 0) >= seq, `flip ${seq} of ${id}`, 5000)
  // sync: up at T0, late a minute later, never again. backup: up, then late and up again four
  // times, an hour apart: 9 flips, the last at T0 + 4 h.
  await ping(app, 'sync')
  await ping(app, 'backup')
  await recorded('backup', 1)
  for (let i = 0; i < 4; i++) {
    clock.advance(3602)
    await app.monitor.evaluate()
    await ping(app, 'backup')
    await recorded('backup', 3 + 2 * i)
  }
  await recorded('sync', 2)
  await waitUntil(async () => (await flipsOf(app, 'backup')).flips.length === 3 && (await flipsOf(app, 'sync')).flips.length === 1, 'the sweeps', 5000)
  t.same(
    (await flipsOf(app, 'backup')).flips.map((f) => f.seq),
    [9, 8, 7],
    'the newest 3 of backup (the others also past 2 h)',
  )
  t.same(
    (await flipsOf(app, 'sync')).flips.map((f) => [f.seq, f.to]),
    [[2, 'late']],
    "sync's last flip, 4 h old, stays: it is its state",
  )
})
