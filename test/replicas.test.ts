// Replicas on one real PostgreSQL: they agree, never collide or mix, and ride out the database
// stopping and starting again. Each test has a cluster of its own, since some stop it.
import { join } from 'node:path'
import t, { type Test } from 'tap'
import type { CheckDefinition } from '../src/domain/definition.js'
import { scriptKey } from '../src/domain/check.js'
import type { Signal } from '../src/domain/run.js'
import { NEW_SCRIPT, scriptSignal } from '../src/domain/script.js'
import { Monitor } from '../src/monitor.js'
import { noteOf } from '../src/store/postgres/store.js'
import { openStore } from '../src/store/open.js'
import type { SignalRecord, Store } from '../src/store/contract.js'
import { auth, config, FakeClock, testApp, TOKEN, yamlConfig } from './helpers/app.js'
import { startCli } from './helpers/cli.js'
import { waitUntil } from './helpers/db.js'
import { pgRows, startCluster, type Cluster } from './helpers/postgres.js'

const fields = (name: string) => ({ ...NEW_SCRIPT, name, server: name })

/** Two stores (replicas) on a fresh database of a fresh cluster; undefined when skipped. */
async function twoReplicas(t: Test): Promise<{ a: Store; b: Store; url: string; cluster: Cluster } | undefined> {
  const cluster = startCluster(t)
  if (cluster === undefined) return undefined
  const url = await cluster.createDatabase()
  const a = await openStore(url)
  const b = await openStore(url)
  t.teardown(async () => {
    await a.close()
    await b.close()
  })
  return { a, b, url, cluster }
}

/** The signals another replica told `store` of, as they come. */
function heard(store: Store): { id: string; record: SignalRecord }[] {
  const seen: { id: string; record: SignalRecord }[] = []
  store.onSignals((id, record) => seen.push({ id, record }))
  return seen
}

t.test('a signal acknowledged by one replica reaches the other within 2 s, with what it did', async (t) => {
  const r = await twoReplicas(t)
  if (r === undefined) return
  const { a, b } = r
  const onB = heard(b)
  const started = Date.now()
  await a.recordSignal('backup', { kind: 'start', at: 1000, rid: 'r1' })
  // The run's finish goes to the other replica: it pairs it with the start it learned of.
  await waitUntil(() => b.runs().get('backup')?.open.length === 1, 'B knows of the start', 2000)
  const finish = await b.recordSignal('backup', { kind: 'failure', at: 4500, rid: 'r1', exitStatus: 3 })
  t.equal(finish?.finish?.duration, 3.5, 'the duration spans the two replicas')
  await waitUntil(() => a.runs().get('backup')?.lastDuration === 3.5, 'A knows of the finish', 2000)
  t.ok(Date.now() - started < 4000, 'both ways within 2 s each')
  t.same(a.runs().get('backup'), b.runs().get('backup'), 'both replicas hold the same runs')
  t.same(
    onB.map(({ id, record }) => [id, record.runs.open.length]),
    [['backup', 1]],
    "B was told of A's start",
  )
  t.match(a.runs().get('backup')?.streak, { failures: 1, failing: true })
})

t.test('a replica closes promptly while changes of another are still to be read', async (t) => {
  const cluster = startCluster(t)
  if (cluster === undefined) return
  const url = await cluster.createDatabase()
  const a = await openStore(url)
  t.teardown(() => a.close())
  for (let round = 0; round < 20; round++) {
    const b = await openStore(url)
    // A's notifications reach B while it closes: some arrive before, some during the close.
    const writes = Promise.all(Array.from({ length: 20 }, (_, i) => a.recordSignal(`item-${i}`, { kind: 'success', at: round * 100 + i })))
    await new Promise((resolve) => setTimeout(resolve, round % 5))
    const closed = await Promise.race([b.close().then(() => true), new Promise((resolve) => setTimeout(() => resolve(false), 3000))])
    t.equal(closed, true, `round ${round}: closed`)
    await writes
    if (!closed) break
  }
})

t.test('batches of both replicas to the same ids, in any order, all commit and agree', async (t) => {
  const r = await twoReplicas(t)
  if (r === undefined) return
  const { a, b, url } = r
  const ids = Array.from({ length: 20 }, (_, i) => `item-${i}`)
  // Each replica writes its ids in its own order: without one order of locks they would deadlock.
  const write = (store: Store, order: string[], at: number) =>
    Promise.all(order.flatMap((id) => [store.recordSignal(id, { kind: 'start', at }), store.recordSignal(id, { kind: 'success', at: at + 1 })]))
  for (let round = 0; round < 10; round++) {
    const results = await Promise.all([write(a, ids, 1000 * round), write(b, [...ids].reverse(), 1000 * round + 500)])
    t.ok(results.flat().every((record) => record !== undefined))
  }
  await waitUntil(() => ids.every((id) => JSON.stringify(a.runs().get(id)) === JSON.stringify(b.runs().get(id))), 'the replicas agree', 2000)
  t.same(await pgRows(url, 'SELECT sum(n)::integer AS n FROM check_signal'), [{ n: 20 * 2 * 2 * 10 }], 'every signal is stored once')
  t.equal(a.lockRetries + b.lockRetries, 0, 'no batch deadlocked and ran again')
  const fresh = await openStore(url)
  t.teardown(() => fresh.close())
  for (const id of ids) t.same(fresh.runs().get(id), a.runs().get(id), `${id}: a fresh open folds the same runs`)
})

t.test('batches written back to back by both replicas, each while the one before is under way, lose nothing and agree', async (t) => {
  const r = await twoReplicas(t)
  if (r === undefined) return
  const { a, b, url } = r
  // A signal per event-loop turn: each replica keeps batches under way one behind the other, and
  // the other replica's writes make some of them find their ids moved on.
  const stream = async (store: Store, who: number) => {
    const records = []
    for (let i = 0; i < 300; i++) {
      // Runs of a start, its finish, and a check-in without a rid; each run a rid of its own.
      records.push(
        store.recordSignal(`item-${i % 5}`, {
          kind: i % 3 === 0 ? 'start' : 'success',
          at: 10 * i + who,
          rid: i % 3 === 2 ? undefined : `r${who}-${i - (i % 3)}`,
        }),
      )
      if (i % 3 === 0) await new Promise((resolve) => setImmediate(resolve))
    }
    return Promise.all(records)
  }
  const [fromA, fromB] = await Promise.all([stream(a, 0), stream(b, 1)])
  t.ok(
    [...fromA, ...fromB].every((record) => record !== undefined),
    'all 600 acknowledged',
  )
  for (const [who, records] of [
    ['A', fromA],
    ['B', fromB],
  ] as const) {
    for (let k = 0; k < 5; k++) {
      const seqs = records.filter((_, i) => i % 5 === k).map((record) => record!.seq)
      t.same(
        seqs,
        [...seqs].sort((x, y) => x - y),
        `${who}: item-${k}'s signals in the order they were sent`,
      )
    }
  }
  const stored = await pgRows<{ seq: number; n: number }>(url, 'SELECT seq, n FROM check_signal')
  const have = new Set(stored.flatMap((row) => Array.from({ length: row.n }, (_, k) => row.seq + k)))
  t.same(
    [...fromA, ...fromB].filter((record) => !have.has(record!.seq)),
    [],
    'every acknowledged signal is stored under its seq',
  )
  t.same(await pgRows(url, 'SELECT sum(n)::integer AS n FROM check_signal'), [{ n: 600 }], 'every signal is stored once')
  const fresh = await openStore(url)
  t.teardown(() => fresh.close())
  await waitUntil(
    () => [0, 1, 2, 3, 4].every((i) => JSON.stringify(a.runs().get(`item-${i}`)) === JSON.stringify(b.runs().get(`item-${i}`))),
    'the replicas agree',
    2000,
  )
  for (let i = 0; i < 5; i++) t.same(a.runs().get(`item-${i}`), fresh.runs().get(`item-${i}`), `item-${i}: as a fresh open folds it`)
})

t.test('a signal for an id whose rows another replica deleted is stored, not lost', async (t) => {
  const r = await twoReplicas(t)
  if (r === undefined) return
  const { a, b, url } = r
  await a.recordSignal('x', { kind: 'success', at: 1 })
  await waitUntil(() => b.runs().get('x') !== undefined, 'B knows x', 2000)
  // A's config no longer has x: its rows go. B still has it, and folds on what it knew.
  a.keepOnlyItems(new Set())
  await a.recordSignal('other', { kind: 'success', at: 2 }).catch(() => undefined)
  await waitUntil(async () => (await pgRows(url, "SELECT id FROM item_state WHERE id = 'x'")).length === 0, 'x deleted', 2000)
  const record = await b.recordSignal('x', { kind: 'success', at: 3 })
  t.same(await pgRows(url, "SELECT sum(n)::integer AS n FROM check_signal WHERE id = 'x'"), [{ n: 1 }], 'the acknowledged signal is stored')
  t.equal(record?.runs.lastSignal, 3)
})

t.test('script ids from two replicas never collide, and each sees every script', async (t) => {
  const r = await twoReplicas(t)
  if (r === undefined) return
  const { a, b } = r
  const created = await Promise.all(Array.from({ length: 40 }, (_, i) => (i % 2 === 0 ? a : b).createScript(fields(`s${i}.sh`))))
  const ids = created.map((s) => s.id)
  t.equal(new Set(ids).size, 40, 'forty distinct ids')
  await waitUntil(() => a.scripts().length === 40 && b.scripts().length === 40, 'both see all forty', 2000)
  t.same(a.scripts(), b.scripts())
  await b.deleteScript(ids[0]!)
  await waitUntil(() => a.getScript(ids[0]!) === undefined, 'A sees the delete', 2000)
})

t.test('concurrent reports to one script from two replicas apply one after the other, never mixed', async (t) => {
  const r = await twoReplicas(t)
  if (r === undefined) return
  const { a, b, url } = r
  const { id } = await a.createScript(fields('shared.sh'))
  await waitUntil(() => b.getScript(id) !== undefined, 'B knows the script', 2000)
  // Each report reads the script as it stands and writes two fields together.
  const report = (store: Store, who: string, i: number) =>
    store.updateScript(id, (current) => ({ name: `${who}-${i}`, server: `${who}-${i}`, grace: (current.grace ?? 0) + 1 }))
  await Promise.all(Array.from({ length: 30 }, (_, i) => [report(a, 'a', i), report(b, 'b', i)]).flat())
  const [stored] = await pgRows<{ name: string; server: string; grace: number }>(
    url,
    `SELECT spec::json ->> 'name' AS name, spec::json ->> 'server' AS server, (spec::json ->> 'grace')::float AS grace FROM check_def WHERE id = ${id}`,
  )
  t.equal(stored!.grace, 60, 'no report was lost: each read the one before it')
  t.equal(stored!.name, stored!.server, 'the fields of one report, never a mix')
  await waitUntil(() => a.getScript(id)?.grace === 60 && b.getScript(id)?.grace === 60, 'both replicas hold the last report', 2000)
  t.same(a.getScript(id), b.getScript(id))
})

t.test("a script's runs are its signals' on both replicas: reports from both, each folded once and in one order", async (t) => {
  const r = await twoReplicas(t)
  if (r === undefined) return
  const { a, b, url } = r
  const { id } = await a.createScript(fields('shared.sh'), { kind: 'success', at: 500 })
  const key = scriptKey(id)
  await waitUntil(() => b.getScript(id) !== undefined, 'B knows the script', 2000)
  // Each replica starts and finishes runs of its own (rids a-i, b-i), interleaved with the other's.
  const run = async (store: Store, who: string, i: number) => {
    const at = 1000 + i * 100
    const start: Signal = { kind: 'start', at, rid: `${who}-${i}` }
    await store.updateScript(id, (current) => scriptSignal(current, start), start)
    const finish: Signal = { kind: i % 3 === 0 ? 'failure' : 'success', at: at + 40, rid: `${who}-${i}`, exitStatus: i % 3 === 0 ? 1 : 0 }
    await store.updateScript(id, (current) => ({ status: finish.kind === 'success', ...scriptSignal(current, finish) }), finish)
  }
  await Promise.all(Array.from({ length: 15 }, (_, i) => [run(a, 'a', i), run(b, 'b', i)]).flat())
  t.same(await pgRows(url, `SELECT sum(n)::integer AS n FROM check_signal WHERE id = '${key}'`), [{ n: 1 + 60 }], 'every signal stored once')
  const log = await a.runLog(key, { keep: 1000, before: undefined, limit: 1000 })
  t.equal(log.length, 61)
  // A signal older than the script's last is taken as arriving then: durations vary, but each finish has its start's.
  t.equal(log.filter((e) => e.signal.kind !== 'start' && e.signal.duration !== undefined).length, 30, 'every finish found its start, whichever replica took it')
  await waitUntil(() => JSON.stringify(a.getScript(id)) === JSON.stringify(b.getScript(id)), 'the replicas agree on the script', 2000)
  t.equal(a.getScript(id)!.runs, a.runs().get(key), "a script's runs are its key's")
  t.same(b.runs().get(key), a.runs().get(key))
  t.equal(a.getScript(id)!.runs.open.length, 0, 'no run left open')
  const fresh = await openStore(url)
  t.teardown(() => fresh.close())
  t.same(fresh.getScript(id), a.getScript(id), 'a fresh open reads the same script and runs')
  t.equal(a.lockRetries + b.lockRetries, 0, 'no batch deadlocked')
})

t.test('while PostgreSQL is down writes fail at once and nothing is acknowledged; both replicas recover by themselves', async (t) => {
  const r = await twoReplicas(t)
  if (r === undefined) return
  const { a, b, url, cluster } = r
  const onB = heard(b)
  // A stream of check-ins, cut by the stop: every one acknowledged must be stored.
  const acknowledged: number[] = []
  const refused: unknown[] = []
  let n = 0
  let streaming = true
  const stream = (async () => {
    while (streaming) {
      const at = ++n
      await a.recordSignal('stream', { kind: 'success', at }).then(
        () => acknowledged.push(at),
        // Refused at once while down: a client waits before it tries again.
        (err: unknown) => {
          refused.push(err)
          return new Promise((resolve) => setTimeout(resolve, 5))
        },
      )
    }
  })()
  await waitUntil(() => acknowledged.length >= 20, 'some check-ins acknowledged')
  cluster.stop('fast')
  await waitUntil(() => !a.up && !b.up, 'both replicas see the database gone')
  const failed = await a.recordSignal('x', { kind: 'success', at: 1 }).catch((err: unknown) => err)
  t.match(failed, { code: 'SP_ERR_STORE_UNAVAILABLE', statusCode: 503 }, 'a write while down fails with the 503 error')
  await t.rejects(a.createScript(fields('down.sh')), { code: 'SP_ERR_STORE_UNAVAILABLE' })
  t.ok(refused.length > 0, 'the stream was refused while down')
  cluster.start()
  await waitUntil(() => a.up && b.up, 'both replicas answer again', 10_000)
  streaming = false
  await stream
  const stored = new Set((await pgRows<{ at: number }>(url, "SELECT at FROM check_signal WHERE id = 'stream'")).map((row) => row.at))
  const lost = acknowledged.filter((at) => !stored.has(at))
  t.same(lost, [], `all ${acknowledged.length} acknowledged check-ins are stored`)
  await a.recordSignal('after', { kind: 'success', at: 77 })
  await waitUntil(() => b.runs().get('after')?.lastSignal === 77, 'B hears of writes after the recovery', 2000)
  await waitUntil(() => b.runs().get('stream')?.lastSignal === a.runs().get('stream')?.lastSignal, 'B caught up with the stream', 2000)
  t.ok(onB.some(({ id }) => id === 'after'))
})

t.test('an app on a database that stops: 503 with the error shape, not ready, store_up 0; then back without a restart', async (t) => {
  const cluster = startCluster(t)
  if (cluster === undefined) return
  const dbPath = await cluster.createDatabase()
  const { app } = await testApp(t, { dbPath, clock: new FakeClock() })
  const store = () => app.inject({ url: '/metrics' }).then((res) => /^statuspage_store_up (\d)$/m.exec(res.body)?.[1])
  t.equal(await store(), '1')
  t.equal((await app.inject({ url: '/refresh/dns', headers: auth })).statusCode, 200)
  cluster.stop('fast')
  await waitUntil(() => !app.monitor.storeHealth.up, 'the app sees the database gone')
  const refused = await app.inject({ url: '/refresh/http', headers: auth })
  t.equal(refused.statusCode, 503)
  t.equal(refused.headers['retry-after'], '1')
  t.same(refused.json(), {
    statusCode: 503,
    code: 'SP_ERR_STORE_UNAVAILABLE',
    error: 'Service Unavailable',
    message: 'the database is unreachable: nothing was recorded; try again',
  })
  const report = await app.inject({ method: 'POST', url: '/api/v1/script', headers: auth, payload: { name: 'a.sh', server: 'h', status: true } })
  t.equal(report.statusCode, 503)
  const ready = await app.inject({ url: '/-/ready' })
  t.equal(ready.statusCode, 503)
  t.equal(ready.json().code, 'SP_ERR_STORE_UNAVAILABLE')
  t.equal((await app.inject({ url: '/-/healthy' })).statusCode, 200, 'alive all the same')
  t.equal(await store(), '0', '/metrics still serves, and says so')
  t.equal((await app.inject({ url: '/' })).statusCode, 200, 'the page still serves')
  cluster.start()
  await waitUntil(() => app.monitor.storeHealth.up, 'the app sees the database back', 10_000)
  t.equal((await app.inject({ url: '/-/ready' })).statusCode, 200)
  t.equal(await store(), '1')
  t.equal((await app.inject({ url: '/refresh/http', headers: auth })).statusCode, 200)
  const status = (await app.inject({ url: '/api/v1/status' })).json() as { groups: { items: { id: string; status: string }[] }[] }
  t.same(
    status.groups.flatMap((g) => g.items.filter((i) => i.status === 'up').map((i) => i.id)).sort(),
    ['dns', 'http', 'http'],
    'both check-ins kept, none from the outage',
  )
})

t.test('thresholds count finishes from both replicas', async (t) => {
  const cluster = startCluster(t)
  if (cluster === undefined) return
  const dbPath = await cluster.createDatabase()
  const cfg = config(yamlConfig({ groups: '\n    G:\n      - {name: Backup, id: backup, interval: 3600, failure_threshold: 2}\n' }))
  const clock = new FakeClock()
  const a = (await testApp(t, { dbPath, clock, config: cfg })).app
  const b = (await testApp(t, { dbPath, clock, config: cfg })).app
  const state = (app: typeof a) =>
    app
      .inject({ url: '/api/v1/status' })
      .then((res) => (res.json() as { groups: { items: { status: string; consecutive_failures: number }[] }[] }).groups[0]!.items[0]!)
  t.equal((await a.inject({ url: '/refresh/backup/1', headers: auth })).statusCode, 200)
  t.match(await state(a), { status: 'up', consecutive_failures: 1 }, 'one failure is under the threshold')
  await waitUntil(() => b.monitor.runs().get('backup') !== undefined, 'B heard of the failure', 2000)
  t.equal((await b.inject({ url: '/refresh/backup/1', headers: auth })).statusCode, 200)
  t.match(await state(b), { status: 'failed', consecutive_failures: 2 }, "B counts A's failure and its own")
  await waitUntil(() => a.monitor.runs().get('backup')?.streak.failures === 2, 'A heard of the second', 2000)
  t.match(await state(a), { status: 'failed', consecutive_failures: 2 }, 'A agrees')
})

t.test('two real replicas: a check-in sent to one shows on the other within 2 s; kill -9 loses nothing acknowledged', async (t) => {
  const cluster = startCluster(t)
  if (cluster === undefined) return
  const url = await cluster.createDatabase()
  const dir = t.testdir({ 'config.yml': yamlConfig() })
  const args = ['--db', url, join(dir, 'config.yml')]
  const a = await startCli(t, args)
  // The other replica finds its database as platforms give it, in DATABASE_URL.
  const b = await startCli(t, [join(dir, 'config.yml')], { DATABASE_URL: url, STATUSPAGE_DB: '' })
  const headers = { 'x-token': TOKEN }
  const lastRefresh = async (base: string, id: string) => {
    const status = (await (await fetch(`${base}/api/v1/status`)).json()) as { groups: { items: { id: string; last_refresh: string | null }[] }[] }
    return status.groups.flatMap((g) => g.items).find((i) => i.id === id)?.last_refresh ?? null
  }
  const sent = Date.now()
  t.equal((await fetch(`${a.url}/refresh/dns`, { headers })).status, 200)
  let seen: string | null = null
  while (seen === null && Date.now() - sent < 2000) seen = await lastRefresh(b.url, 'dns')
  t.not(seen, null, `B shows A's check-in after ${Date.now() - sent} ms`)
  t.match(await (await fetch(`${b.url}/metrics`)).text(), /^statuspage_item_up\{[^}]*id="dns"[^}]*\} 1$/m, "and in B's /metrics")

  // A stream of refreshes to A, one at a time, killed mid-stream: at most the one in flight may be
  // stored without its answer.
  let acknowledged = 0
  const stream = (async () => {
    for (let i = 0; ; i++) {
      const res = await fetch(`${a.url}/refresh/${['http', 'mail', 'dns-internal'][i % 3]}`, { headers }).catch(() => undefined)
      if (res === undefined) return
      t.equal(res.status, 200)
      acknowledged++
    }
  })()
  await waitUntil(() => acknowledged >= 50, 'refreshes acknowledged')
  a.child.kill('SIGKILL')
  await stream
  const [{ n }] = (await pgRows<{ n: number }>(url, "SELECT coalesce(sum(n), 0)::integer AS n FROM check_signal WHERE id <> 'dns'")) as [{ n: number }]
  t.ok(n >= acknowledged && n <= acknowledged + 1, `every acknowledged refresh is stored (${acknowledged} acknowledged, ${n} stored)`)
})

t.test('a payload on the channel that is not a note is ignored, and the replicas go on agreeing', async (t) => {
  const r = await twoReplicas(t)
  if (r === undefined) return
  const { a, b, url } = r
  // Any session on the database may NOTIFY on the channel: none of these may crash a replica, nor
  // reach its SQL (a note's seqs are written into syncRange's query).
  for (const payload of [
    'null',
    '5',
    'not json',
    '{"r":1}',
    '{"r":"x","d":5}',
    '{"r":"x","d":[1,"2"]}',
    '{"r":"x","lo":"1; DROP TABLE check_def","hi":2}',
    '{"r":"x","lo":9,"hi":2}',
  ]) {
    await pgRows(url, `NOTIFY statuspage_changes, '${payload}'`)
  }
  await a.recordSignal('after', { kind: 'success', at: 1000 })
  await waitUntil(() => b.runs().get('after')?.lastSignal === 1000, "B hears of A's signal", 2000)
  t.same(await pgRows(url, "SELECT count(*)::int AS n FROM information_schema.tables WHERE table_name = 'check_def'"), [{ n: 1 }])
})

t.test('a note is read field by field', async (t) => {
  t.same(noteOf('{"r":"a","lo":16,"hi":47}'), { r: 'a', lo: 16, hi: 47 })
  t.same(noteOf('{"r":"a","d":[3,4],"extra":1}'), { r: 'a', d: [3, 4] })
  t.same(noteOf('{"r":"a","all":true}'), { r: 'a', all: true })
  for (const payload of [
    'null',
    '[]',
    '{"lo":1,"hi":2}',
    '{"r":"a","lo":1}',
    '{"r":"a","lo":1.5,"hi":2}',
    '{"r":"a","lo":3,"hi":2}',
    '{"r":"a","d":"1"}',
    '{"r":"a","all":1}',
  ]) {
    t.equal(noteOf(payload), undefined, payload)
  }
})

t.test('notes are hints: a note naming a live script as deleted, or a huge range, makes no replica forget anything nor read the signal table', async (t) => {
  const r = await twoReplicas(t)
  if (r === undefined) return
  const { a, b, url } = r
  const script = await a.createScript(fields('kept.sh'))
  await a.recordSignal('live', { kind: 'success', at: 1000 })
  await waitUntil(() => b.getScript(script.id) !== undefined && b.runs().get('live') !== undefined, 'B knows of both', 2000)
  // 20,000 rows that no note of a replica names: reading them would be the whole table.
  await pgRows(
    url,
    "INSERT INTO check_signal (id, seq, prev, token, at, n, signals) SELECT 'bulk' || g, g * 16, 0, 'x', 1, 1, '[[0,\"ok\"]]' FROM generate_series(1000000, 1019999) g",
  )
  /** A change noted after the notes sent: once each replica has the other's, it has read them. */
  const settled = async (at: number) => {
    await a.recordSignal('after', { kind: 'success', at })
    await b.recordSignal('after-b', { kind: 'success', at })
    await waitUntil(() => b.runs().get('after')?.lastSignal === at && a.runs().get('after-b')?.lastSignal === at, 'both hear of the later changes', 2000)
  }
  await pgRows(url, `NOTIFY statuspage_changes, '{"r":"x","d":[${script.id}]}'`)
  await settled(2000)
  for (const [name, store] of [
    ['A', a],
    ['B', b],
  ] as const)
    t.same(store.getScript(script.id), script, `${name} keeps the script the note said was deleted`)
  const before = [a.remoteRows, b.remoteRows]
  await pgRows(url, `NOTIFY statuspage_changes, '{"r":"x","lo":0,"hi":9007199254740991}'`)
  await settled(3000)
  for (const [name, store] of [
    ['A', a],
    ['B', b],
  ] as const) {
    t.equal(store.runs().get('live')?.lastSignal, 1000, `${name} keeps its runs`)
    t.equal(store.runs().get('bulk1000000'), undefined, `${name} folded none of the unnoted rows`)
  }
  const read = [a.remoteRows - before[0]!, b.remoteRows - before[1]!]
  t.ok(
    read.every((n) => n <= 2 * 4097 + 10),
    `rows read for the notes: ${read.join(', ')} (at most 4,097 per table per note)`,
  )
  await b.deleteScript(script.id)
  await waitUntil(() => a.getScript(script.id) === undefined, "A believes B's real deletion", 2000)
})

t.test('a check defined on one replica is in force on the other within 2 s; a create races to one winner; a delete reaches both', async (t) => {
  const r = await twoReplicas(t)
  if (r === undefined) return
  const { a, b } = r
  const file = config(yamlConfig({ groups: '\n    Jobs:\n      - {name: Backup, id: backup}\n' }))
  const clock = new FakeClock()
  const [onA, onB] = await Promise.all([Monitor.open(file, a, clock.now), Monitor.open(file, b, clock.now)])
  const definition = (id: string, name: string): CheckDefinition => ({ id, source: 'api', spec: { name, interval: 60 }, created: 1, updated: 1 })
  const started = Date.now()
  await onA.changeDefinition('sync', () => definition('sync', 'Sync'))
  t.ok(onA.config.itemsById.has('sync'), 'in force where it was written once it resolves')
  await waitUntil(() => onB.config.itemsById.get('sync')?.[0]?.name === 'Sync', 'B has the check', 2000)
  t.ok(Date.now() - started < 2000)
  // A check-in on B is a check-in of the check A defined.
  await onB.signal('sync', { kind: 'success' })
  await waitUntil(() => onA.itemStatuses(onA.config.itemsById.get('sync')!)[0]?.status === 'up', 'A sees the check-in', 2000)

  // Both replicas create the same id at once, each only if it is new: one wins, the other sees it.
  const createOnly = (monitor: Monitor, name: string) =>
    monitor.changeDefinition('race', (current) => {
      if (current !== undefined) throw new Error(`exists as ${String(current.spec.name)}`)
      return definition('race', name)
    })
  const results = await Promise.allSettled([createOnly(onA, 'from A'), createOnly(onB, 'from B')])
  t.equal(results.filter((x) => x.status === 'fulfilled').length, 1, 'one create wins')
  t.match(
    results.find((x) => x.status === 'rejected'),
    { reason: { message: /^exists as from [AB]$/ } },
  )
  await waitUntil(() => onA.config.itemsById.has('race') && onB.config.itemsById.has('race'), 'both have it', 2000)
  t.equal(onA.config.itemsById.get('race')![0]!.name, onB.config.itemsById.get('race')![0]!.name)

  await onB.changeDefinition('sync', () => undefined)
  await waitUntil(() => !onA.config.itemsById.has('sync'), 'A forgets it', 2000)
  t.notOk(a.runs().has('sync'), 'and its signals')
})

t.test('two real replicas record each flip once: late, recovered, three failures, paused, with one killed mid-way', async (t) => {
  const cluster = startCluster(t)
  if (cluster === undefined) return
  const url = await cluster.createDatabase()
  const dir = t.testdir({ 'config.yml': yamlConfig({ groups: '\n    Jobs:\n      - {name: Backup, id: backup, interval: 4, failure_threshold: 3}\n' }) })
  const args = ['--db', url, join(dir, 'config.yml')]
  const a = await startCli(t, args)
  const b = await startCli(t, args)
  const headers = { 'x-token': TOKEN }
  const flips = () =>
    pgRows<{ seq: number; from_state: string; to_state: string }>(url, "SELECT seq, from_state, to_state FROM check_flip WHERE key = 'backup' ORDER BY seq")
  const logged = () => [...a.logs, ...b.logs].filter((l) => l.check === 'backup')

  t.equal((await fetch(`${a.url}/refresh/backup`, { headers })).status, 200)
  // Both replicas judge every check each second: past the deadline, both find it late.
  await waitUntil(async () => (await flips()).some((f) => f.to_state === 'late'), 'late recorded', 15_000)
  await waitUntil(() => logged().some((l) => l.to === 'late'), 'and logged', 5000)
  a.child.kill('SIGKILL')
  t.equal((await fetch(`${b.url}/refresh/backup`, { headers })).status, 200)
  for (let i = 0; i < 3; i++) t.equal((await fetch(`${b.url}/refresh/backup/1`, { headers })).status, 200)
  t.equal((await fetch(`${b.url}/api/v1/items/backup/pause`, { method: 'POST', headers })).status, 200)
  await waitUntil(async () => (await flips()).length >= 5, 'five flips', 10_000)
  // Some ticks of the survivor later, nothing more.
  await new Promise((resolve) => setTimeout(resolve, 2500))
  const expected = [
    ['never', 'up'],
    ['up', 'late'],
    ['late', 'up'],
    ['up', 'failed'],
    ['failed', 'paused'],
  ]
  t.same(
    (await flips()).map((f) => [f.seq, f.from_state, f.to_state]),
    expected.map(([from, to], i) => [i + 1, from, to]),
    'each once, in order',
  )
  t.same(
    logged()
      .map((l) => [l.seq, l.from, l.to])
      .sort((x, y) => Number(x[0]) - Number(y[0])),
    expected.map(([from, to], i) => [i + 1, from, to]),
    'one log line per flip, on the replica that recorded it',
  )
  const api = (await (await fetch(`${b.url}/api/v1/checks/backup/flips`, { headers })).json()) as { flips: { to: string }[] }
  t.same(
    api.flips.map((f) => f.to),
    ['paused', 'failed', 'up', 'late', 'up'],
  )
})
