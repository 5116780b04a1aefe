// The SQLite store's own behaviour: another process's lock, a full disk, old databases. What every
// store does is in store.test.ts.
import { join } from 'node:path'
import Database from 'better-sqlite3'
import t from 'tap'
import { NEW_SCRIPT } from '../src/domain/script.js'
import { openSqliteStore as openStore } from '../src/store/sqlite/store.js'
import type { ScriptFields } from '../src/store/contract.js'
import { holdWriteLock, LAST_REFRESH, lastSignals, onDisk, refreshIds, SIGNALS, waitUntil } from './helpers/db.js'

const fields = (name: string): ScriptFields => ({ ...NEW_SCRIPT, name, server: 'h' })

t.test('writes of one turn commit together: nothing is on disk before the commit, all of it after', async (t) => {
  const path = join(t.testdir(), 'sp.db')
  const store = openStore(path)
  t.teardown(() => store.close())
  const writes = [refreshIds(store, ['a'], 1), refreshIds(store, ['b'], 2), store.createScript(fields('x.sh'))]
  t.equal(lastSignals(store).size, 0, 'not visible before the commit')
  const other = new Database(path, { readonly: true })
  t.equal((other.prepare(`SELECT count(*) AS n FROM ${LAST_REFRESH}`).get() as { n: number }).n, 0, 'not on disk before the commit')
  const [, , script] = await Promise.all(writes)
  t.same(
    [...lastSignals(store)],
    [
      ['a', 1],
      ['b', 2],
    ],
  )
  t.equal((other.prepare(`SELECT count(*) AS n FROM ${LAST_REFRESH}`).get() as { n: number }).n, 2, 'on disk once resolved')
  t.same(script, { id: 1, ...fields('x.sh') })
  other.close()
})

t.test('while another connection holds the write lock, writes wait without blocking the event loop, then commit', async (t) => {
  const path = join(t.testdir(), 'sp.db')
  const store = openStore(path)
  t.teardown(() => store.close())
  const lock = holdWriteLock(path)
  let settled = false
  const pending = Promise.all([refreshIds(store, ['a'], 1), store.createScript(fields('held.sh'))]).finally(() => (settled = true))
  await waitUntil(() => store.lockRetries >= 3, 'retried three times')
  // The event loop turns freely meanwhile: a timer of 1 ms fires in far less than the old 5 s busy wait.
  const started = performance.now()
  await new Promise((resolve) => setTimeout(resolve, 1))
  t.ok(performance.now() - started < 100, 'a timer fires while the lock is held')
  t.equal(settled, false, 'nothing is acknowledged while the lock is held')
  t.equal(lock.count(`SELECT count(*) AS n FROM ${LAST_REFRESH}`), 0, 'nothing is on disk')
  lock.release()
  const [written, script] = await pending
  t.same([...written], ['a'])
  t.same(onDisk(path, `SELECT id, last_refresh FROM ${LAST_REFRESH}`), [{ id: 'a', last_refresh: 1 }], 'the refresh is on disk once acknowledged')
  t.same(onDisk(path, `SELECT id, spec ->> 'name' AS name FROM check_def`), [{ id: script.id, name: 'held.sh' }])
})

t.test('when SQLite rolls back the whole batch (disk full), memory, disk and every answer agree', async (t) => {
  const path = join(t.testdir(), 'sp.db')
  openStore(path).close()
  const pages = onDisk<{ page_count: number }>(path, 'PRAGMA page_count')[0]!.page_count
  // Room for a little more than the empty schema, as on a disk that is nearly full.
  const store = openStore(path, { maxPages: pages + 1 })
  t.teardown(() => store.close())
  const writes = [fields('small-1.sh'), { ...fields('x'.repeat(200)), server: 'y'.repeat(40_000) }, fields('small-2.sh'), fields('small-3.sh')].map((f) =>
    store.createScript(f),
  )
  const results = await Promise.allSettled(writes)
  t.match((results[1] as PromiseRejectedResult).reason, { code: 'SQLITE_FULL' }, 'the big write hit the page limit')
  const stored = onDisk<{ id: number; name: string }>(path, `SELECT id, spec ->> 'name' AS name FROM check_def ORDER BY id`)
  t.same(
    store.scripts().map((s) => ({ id: s.id, name: s.name })),
    stored,
    'memory shows what a fresh open of the file shows',
  )
  for (const [i, r] of results.entries()) {
    const name = i === 1 ? 'x'.repeat(200) : `small-${i === 0 ? 1 : i}.sh`
    const onFile = stored.some((s) => s.name === name)
    t.equal(r.status === 'fulfilled', onFile, `write ${i} was ${r.status === 'fulfilled' ? 'acknowledged' : 'refused'} and is ${onFile ? '' : 'not '}on disk`)
  }
})

t.test('a database from before runs keeps its refreshes: each becomes a success signal, in time order', async (t) => {
  const path = join(t.testdir(), 'sp.db')
  const old = new Database(path)
  old.exec(`CREATE TABLE item_refresh (id TEXT PRIMARY KEY, last_refresh INTEGER NOT NULL) WITHOUT ROWID;
    CREATE TABLE script (id INTEGER PRIMARY KEY AUTOINCREMENT, name TEXT NOT NULL, server TEXT NOT NULL, status INTEGER NOT NULL, last_exec INTEGER, periodicity TEXT);
    ALTER TABLE script ADD COLUMN schedule TEXT; ALTER TABLE script ADD COLUMN tz TEXT; ALTER TABLE script ADD COLUMN grace REAL;
    INSERT INTO item_refresh VALUES ('b', 2000), ('a', 3000);
    INSERT INTO script (name, server, status, last_exec) VALUES ('failed.sh', 'h', 0, 5000);
    PRAGMA user_version = 3;`)
  old.close()
  t.same(onDisk(path, 'PRAGMA auto_vacuum'), [{ auto_vacuum: 0 }])
  const store = openStore(path)
  t.same(onDisk(path, 'PRAGMA auto_vacuum'), [{ auto_vacuum: 2 }], 'rewritten once to give deleted pages back (incremental)')
  t.same(
    lastSignals(store),
    new Map([
      ['a', 3000],
      ['b', 2000],
    ]),
  )
  t.same(store.runs().get('a')?.streak, { failures: 0, successes: 1, failing: false, lastFailure: undefined, lastFailureReason: undefined })
  t.match(store.getScript(1), { status: false, streak: { failures: 1, failing: true, lastFailure: 5000 } }, 'a failed script stays failed')
  const next = await store.recordSignal('a', { kind: 'start', at: 4000 })
  store.close()
  t.same(onDisk(path, `SELECT id, seq, kind FROM ${SIGNALS} ORDER BY seq`), [
    { id: 'b', seq: 1, kind: 'ok' },
    { id: 'a', seq: 2, kind: 'ok' },
    { id: 'a', seq: 3, kind: 'start' },
  ])
  t.equal(next?.seq, 3, 'new signals come after the migrated ones')
})
