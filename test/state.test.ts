import { join } from 'node:path'
import t from 'tap'
import { FakeClock, auth, config, testApp, yamlConfig } from './helpers/app.js'

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
  t.same([...second.app.monitor.store.refreshTimes().keys()], ['http'])
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
  app.monitor.reload(config(yamlConfig({ groups: '\n    Only:\n      - {name: DNS, id: dns, interval: 5}\n' })))
  t.same([...app.monitor.store.refreshTimes()], [['dns', clock.t]])
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
