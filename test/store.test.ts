import { join } from 'node:path'
import Database from 'better-sqlite3'
import t from 'tap'
import { openStore, type ScriptFields } from '../src/store/store.js'

const fields = (name: string): ScriptFields => ({ name, server: 'h', status: true, lastExec: null, periodicity: null })

t.test('writes of one turn commit together, and each resolves once committed', async (t) => {
  const path = join(t.testdir(), 'sp.db')
  const store = openStore(path)
  t.teardown(() => store.close())
  const writes = [store.recordRefresh(['a'], 1), store.recordRefresh(['b'], 2), store.createScript(fields('x.sh'))]
  t.equal(store.refreshTimes().size, 0, 'not visible before the commit')
  const other = new Database(path, { readonly: true })
  t.equal((other.prepare('SELECT count(*) AS n FROM item_refresh').get() as { n: number }).n, 0, 'not on disk before the commit')
  const [, , script] = await Promise.all(writes)
  t.same([...store.refreshTimes()], [['a', 1], ['b', 2]])
  t.equal((other.prepare('SELECT count(*) AS n FROM item_refresh').get() as { n: number }).n, 2, 'on disk once resolved')
  t.same(script, { id: 1, ...fields('x.sh') })
  other.close()
})

t.test('a write that fails fails alone; the others of its batch commit', async (t) => {
  const store = openStore(join(t.testdir(), 'sp.db'))
  t.teardown(() => store.close())
  const results = await Promise.allSettled([
    store.createScript(fields('ok-1.sh')),
    store.createScript({ ...fields('bad'), name: null as unknown as string }),
    store.createScript(fields('ok-2.sh')),
  ])
  t.same(results.map((r) => r.status), ['fulfilled', 'rejected', 'fulfilled'])
  t.match((results[1] as PromiseRejectedResult).reason, /NOT NULL constraint failed: script\.name/)
  t.same(store.scripts().map((s) => s.name), ['ok-1.sh', 'ok-2.sh'])
})

t.test('updates and deletes queued together apply in order', async (t) => {
  const store = openStore(join(t.testdir(), 'sp.db'))
  t.teardown(() => store.close())
  const { id } = await store.createScript(fields('a.sh'))
  const [first, second, deleted, afterDelete] = await Promise.all([
    store.updateScript(id, { status: false }),
    store.updateScript(id, { name: 'b.sh' }),
    store.deleteScript(id),
    store.updateScript(id, { status: true }),
  ])
  t.match(first, { name: 'a.sh', status: false })
  t.match(second, { name: 'b.sh', status: false }, 'sees the update before it')
  t.equal(deleted, true)
  t.equal(afterDelete, undefined, 'a deleted script cannot be updated')
  t.same(store.scripts(), [])
})

t.test('close commits what is queued', async (t) => {
  const path = join(t.testdir(), 'sp.db')
  const store = openStore(path)
  const pending = store.recordRefresh(['late'], 42)
  store.close()
  await pending
  const reopened = openStore(path)
  t.same([...reopened.refreshTimes()], [['late', 42]])
  reopened.close()
})

t.test('a numeric periodicity reads back as a number, however it is written', async (t) => {
  const path = join(t.testdir(), 'sp.db')
  const store = openStore(path)
  for (const periodicity of [90, 0.5, 1e21, 'weekly'] as const) await store.createScript({ ...fields('p.sh'), periodicity })
  store.close()
  const reopened = openStore(path)
  t.same(reopened.scripts().map((s) => s.periodicity), [90, 0.5, 1e21, 'weekly'])
  reopened.close()
})

t.test('after a batch fails as a whole, the next refreshes are committed', async (t) => {
  const path = join(t.testdir(), 'sp.db')
  const store = openStore(path)
  t.teardown(() => store.close())
  // Another connection holds the write lock: the batch cannot begin and fails as a whole.
  const other = new Database(path, { timeout: 0 })
  other.pragma('busy_timeout = 0')
  other.exec('BEGIN IMMEDIATE')
  const failed = store.recordRefresh(['a'], 1)
  const settled = await Promise.allSettled([failed])
  other.exec('ROLLBACK')
  other.close()
  t.equal(settled[0]!.status, 'rejected', 'the blocked batch is refused')
  await store.recordRefresh(['b'], 2)
  t.same([...store.refreshTimes()], [['b', 2]], 'a later refresh is not tied to the failed batch')
})
