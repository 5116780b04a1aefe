import { join } from 'node:path'
import Database from 'better-sqlite3'
import t from 'tap'
import { groupCommit } from '../src/store/sqlite/group-commit.js'

/** A table whose single-row inserts use no statement journal: SQLITE_FULL rolls back the whole transaction. */
function fullSoon(path: string) {
  const db = new Database(path)
  db.pragma('journal_mode = WAL')
  db.exec('CREATE TABLE t (id INTEGER PRIMARY KEY, v TEXT)')
  db.pragma(`max_page_count = ${(db.pragma('page_count', { simple: true }) as number) + 2}`)
  return db
}

t.test('when SQLite rolls back the whole transaction, no write of that batch is acknowledged and none commits alone', async (t) => {
  const path = join(t.testdir(), 'full.db')
  const db = fullSoon(path)
  t.teardown(() => db.close())
  const batches = groupCommit(db)
  const insert = db.prepare('INSERT INTO t (v) VALUES (?)')
  const write = (v: string) => batches.write(() => ({ result: insert.run(v).lastInsertRowid }))
  const results = await Promise.allSettled([write('before'), write('x'.repeat(50_000)), write('after')])

  t.same(
    results.map((r) => r.status),
    ['rejected', 'rejected', 'fulfilled'],
    'the write before the fault was rolled back with it; the one after ran in the next batch',
  )
  t.match((results[0] as PromiseRejectedResult).reason, { code: 'SQLITE_FULL' })
  const rows = new Database(path, { readonly: true })
  t.teardown(() => rows.close())
  t.same(rows.prepare('SELECT v FROM t').all(), [{ v: 'after' }], 'disk holds exactly the acknowledged write')
})

t.test('a write that fails alone leaves the rest of its batch to commit', async (t) => {
  const db = new Database(join(t.testdir(), 'ok.db'))
  t.teardown(() => db.close())
  db.exec('CREATE TABLE t (v TEXT NOT NULL)')
  const batches = groupCommit(db)
  const insert = db.prepare('INSERT INTO t (v) VALUES (?)')
  const write = (v: string | null) => batches.write(() => ({ result: insert.run(v).changes }))
  const results = await Promise.allSettled([write('a'), write(null), write('b')])
  t.same(
    results.map((r) => r.status),
    ['fulfilled', 'rejected', 'fulfilled'],
  )
  t.same(db.prepare('SELECT v FROM t').all(), [{ v: 'a' }, { v: 'b' }])
})

t.test('a write with savepoints of its own commits with its batch; one that throws fails the whole batch, with the rows it left', async (t) => {
  const db = new Database(join(t.testdir(), 'own.db'))
  t.teardown(() => db.close())
  db.exec('CREATE TABLE t (v TEXT NOT NULL)')
  const batches = groupCommit(db)
  const insert = db.prepare('INSERT INTO t (v) VALUES (?)')
  const own = (values: string[], fail = false) =>
    batches.write(
      () => {
        for (const v of values) insert.run(v)
        if (fail) throw new Error('a bug after some rows')
        return { result: values.length }
      },
      { ownSavepoints: true },
    )
  const plain = (v: string) => batches.write(() => ({ result: insert.run(v).changes }))
  const first = await Promise.allSettled([plain('a'), own(['b', 'c'])])
  t.same(
    first.map((r) => r.status),
    ['fulfilled', 'fulfilled'],
  )
  const second = await Promise.allSettled([plain('d'), own(['e'], true), plain('f')])
  t.same(
    second.map((r) => r.status),
    ['rejected', 'rejected', 'fulfilled'],
    'the batch was rolled back with the rows the failed write left; the write after it ran in the next batch',
  )
  t.same(db.prepare('SELECT v FROM t').all(), [{ v: 'a' }, { v: 'b' }, { v: 'c' }, { v: 'f' }])
})
