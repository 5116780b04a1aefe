// WAL checkpoints on a worker thread (src/store/sqlite/checkpointer.ts): started once the WAL grows, the
// event loop's connection no longer checkpoints, and the WAL stays bounded while writes go on.
import { statSync } from 'node:fs'
import { join } from 'node:path'
import Database from 'better-sqlite3'
import t from 'tap'
import { checkpointer } from '../src/store/sqlite/checkpointer.js'
import { waitUntil } from './helpers/db.js'

const MiB = 1024 * 1024

t.test('starts once the WAL passes 1 MiB, keeps it within the 16 MiB journal size limit while writes go on, and closes cleanly', async (t) => {
  const path = join(t.testdir(), 'wal.db')
  const db = new Database(path)
  db.pragma('journal_mode = WAL')
  db.pragma('synchronous = NORMAL')
  db.pragma(`journal_size_limit = ${16 * MiB}`)
  db.exec('CREATE TABLE t (n INTEGER PRIMARY KEY, body TEXT NOT NULL)')
  const errors: unknown[] = []
  const cp = checkpointer(db, path, (err) => errors.push(err))
  const insert = db.prepare('INSERT INTO t (body) VALUES (?)')
  const body = 'x'.repeat(10_000)
  const wal = () => statSync(`${path}-wal`).size
  let written = 0
  const write = (n: number) => {
    for (let i = 0; i < n; i++) {
      insert.run(body)
      written++
      cp.committed()
    }
  }

  write(50)
  t.notOk(cp.started, 'a small WAL needs no thread')
  t.equal(db.pragma('wal_autocheckpoint', { simple: true }), 1000, "SQLite's own checkpoint until then")
  while (!cp.started) write(1)
  t.ok(wal() >= MiB, `started at ${wal()} bytes of WAL`)
  await waitUntil(() => db.pragma('wal_autocheckpoint', { simple: true }) === 0, 'handed over to the thread')

  // 40 MiB more, in turns that let the thread run between them, as a server's batches do.
  let largest = 0
  for (let turn = 0; turn < 200; turn++) {
    write(20)
    largest = Math.max(largest, wal())
    await new Promise((resolve) => setTimeout(resolve, 2))
  }
  t.ok(largest <= 16 * MiB, `the WAL stayed bounded: ${(largest / MiB).toFixed(1)} MiB at most, for ${((written * body.length) / MiB).toFixed(0)} MiB written`)
  await waitUntil(() => statSync(path).size > 30 * MiB, 'checkpointed into the database file')

  await cp.close()
  db.close()
  t.same(errors, [])
  const reopened = new Database(path, { readonly: true })
  t.teardown(() => reopened.close())
  t.equal((reopened.prepare('SELECT count(*) AS n FROM t').get() as { n: number }).n, written, 'every row is there after close')
})

t.test('closing before it ever started does nothing', async (t) => {
  const path = join(t.testdir(), 'small.db')
  const db = new Database(path)
  db.pragma('journal_mode = WAL')
  const cp = checkpointer(db, path, () => {})
  cp.committed()
  await cp.close()
  t.notOk(cp.started)
  db.close()
})
