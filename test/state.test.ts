import { join } from 'node:path'
import t from 'tap'
import { FakeClock, auth, config, testApp, yamlConfig } from './helpers/app.js'
import { holdWriteLock, LAST_REFRESH, lastSignals, onDisk, refreshHeldByLock, waitUntil } from './helpers/db.js'
import { metricLines } from './helpers/metrics.js'

t.test('refresh times survive a restart on the same database', async (t) => {
  const dbPath = join(t.testdir(), 'nested', 'folder', 'statuspage.db')
  const clock = new FakeClock()
  const first = await testApp(t, { dbPath, clock })
  await first.app.inject({ url: '/refresh/http', headers: auth })
  await first.app.close()

  clock.advance(30)
  const second = await testApp(t, { dbPath, clock })
  const items = second.app.monitor.snapshot().groups[0]!.items
  t.same(
    items.map((s) => [s.item.id, s.state, s.dueIn]),
    [
      ['http', 'up', 570],
      ['dns', 'down', null],
      ['mail', 'down', null],
    ],
  )
})

t.test('an item removed from the config is forgotten; an added one starts never refreshed', async (t) => {
  const dbPath = join(t.testdir(), 'statuspage.db')
  const first = await testApp(t, { dbPath })
  await first.app.inject({ url: '/refresh/dns', headers: auth })
  await first.app.inject({ url: '/refresh/http', headers: auth })
  await first.app.close()

  const smaller = config(yamlConfig({ groups: '\n    G:\n      - {name: HTTP, id: http}\n      - {name: New, id: new}\n' }))
  const second = await testApp(t, { dbPath, config: smaller })
  t.same([...lastSignals(second.app.monitor).keys()], ['http'])
  t.same(
    second.app.monitor.snapshot().items.map((s) => [s.item.id, s.state]),
    [
      ['http', 'up'],
      ['new', 'down'],
    ],
  )
})

t.test('a reload keeps the state of the items the new config still has', async (t) => {
  const { app, clock } = await testApp(t)
  await app.inject({ url: '/refresh/dns', headers: auth })
  await app.inject({ url: '/refresh/mail', headers: auth })
  await app.monitor.reload(config(yamlConfig({ groups: '\n    Only:\n      - {name: DNS, id: dns, interval: 5}\n' })))
  t.same([...lastSignals(app.monitor)], [['dns', clock.t]])
  clock.advance(6)
  t.same(
    app.monitor.snapshot().items.map((s) => [s.item.id, s.state]),
    [['dns', 'down']],
    'the new interval is in force',
  )
})

t.test('a database written by a newer statuspage is refused with a clear error', async (t) => {
  const dbPath = join(t.testdir(), 'statuspage.db')
  const { app } = await testApp(t, { dbPath })
  await app.close()
  const Database = (await import('better-sqlite3')).default
  const db = new Database(dbPath)
  db.pragma('user_version = 99')
  db.close()
  await t.rejects(testApp(t, { dbPath }), /database schema version 99 is newer than this statuspage understands/)
})

const ABC = config(yamlConfig({ groups: '\n    G:\n      - {name: A, id: a}\n      - {name: B, id: b}\n      - {name: C, id: c}\n' }))

t.test('a refresh in flight when a reload removes and re-adds its item is not written: the item shows never', async (t) => {
  const { app, dbPath } = await testApp(t, { config: ABC })
  const { answer, release } = await refreshHeldByLock(app, dbPath, 'b')
  await app.monitor.reload(config(yamlConfig({ groups: '\n    G:\n      - {name: A, id: a}\n      - {name: C, id: c}\n' })))
  await app.monitor.reload(ABC)
  release()
  const res = await answer
  t.equal(res.body, '{"refreshed": 0}', 'the client is told nothing was refreshed')
  t.same(
    app.monitor.snapshot().items.map((s) => [s.item.id, s.state, s.lastRefresh]),
    [
      ['a', 'down', undefined],
      ['b', 'down', undefined],
      ['c', 'down', undefined],
    ],
  )
  await app.close()
  t.same(onDisk(dbPath, `SELECT id FROM ${LAST_REFRESH}`), [], 'nothing on disk either')
})

t.test('a refresh in flight across a reload that reorders the items is counted for its own item', async (t) => {
  const { app, dbPath } = await testApp(t, { config: ABC })
  const { answer, release } = await refreshHeldByLock(app, dbPath, 'b')
  // b moves from position 1 to 2; position 1 is now a.
  await app.monitor.reload(config(yamlConfig({ groups: '\n    G:\n      - {name: C, id: c}\n      - {name: A, id: a}\n      - {name: B, id: b}\n' })))
  release()
  t.equal((await answer).body, '{"refreshed": 1}')
  t.same(await metricLines(app, 'statuspage_refreshes_total'), [
    'statuspage_refreshes_total{group="G",id="c",name="C"} 0',
    'statuspage_refreshes_total{group="G",id="a",name="A"} 0',
    'statuspage_refreshes_total{group="G",id="b",name="B"} 1',
  ])
})

t.test('while another process holds the write lock, the service answers at once and acknowledges check-ins only once on disk', async (t) => {
  const { app, dbPath } = await testApp(t)
  const lock = holdWriteLock(dbPath)
  const acked: string[] = []
  const checkIns = ['http', 'dns', 'mail'].map((id) =>
    app.inject({ url: `/refresh/${id}`, headers: auth }).then((res) => {
      acked.push(id)
      return res
    }),
  )
  await waitUntil(() => app.monitor.storeHealth.lockRetries >= 2, 'retried twice')
  for (const url of ['/-/healthy', '/metrics', '/api/v1/status']) {
    const started = performance.now()
    const res = await app.inject({ url })
    const ms = performance.now() - started
    t.equal(res.statusCode, 200, url)
    t.ok(ms < 100, `${url} answered in ${ms.toFixed(1)} ms while the lock is held`)
  }
  t.same(acked, [], 'no check-in is acknowledged while the lock is held')
  t.equal(lock.count(`SELECT count(*) AS n FROM ${LAST_REFRESH}`), 0)
  lock.release()
  t.same(
    (await Promise.all(checkIns)).map((r) => r.statusCode),
    [200, 200, 200],
  )
  t.same(
    onDisk(dbPath, `SELECT id FROM ${LAST_REFRESH} ORDER BY id`),
    [{ id: 'dns' }, { id: 'http' }, { id: 'mail' }],
    'every acknowledged check-in is on disk',
  )
  const [retries] = await metricLines(app, 'statuspage_store_lock_retries_total')
  t.ok(Number(retries!.split(' ')[1]) >= 2, `the retries are counted: ${retries}`)
})

t.test('a reload that puts an item on a schedule keeps its last check-in and computes its new due time from it', async (t) => {
  const { app, clock } = await testApp(t, { clock: new FakeClock(Date.parse('2026-01-15T10:20:00Z')) })
  await app.inject({ url: '/refresh/dns', headers: auth })
  await app.monitor.reload(config(yamlConfig({ groups: "\n    G:\n      - {name: DNS, id: dns, schedule: '0 */6 * * *', grace: 5m}\n" })))
  const [dns] = app.monitor.snapshot().items
  t.equal(dns!.lastRefresh, clock.t)
  t.same([dns!.due!.nextDue, dns!.due!.deadline], [Date.parse('2026-01-15T12:00:00Z'), Date.parse('2026-01-15T12:05:00Z')])
})
