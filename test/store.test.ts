// The store contract, on both backends: what any Store must do, whatever keeps it.
import Database from 'better-sqlite3'
import pg from 'pg'
import t, { type Test } from 'tap'
import type { CheckDefinition } from '../src/domain/definition.js'
import type { Flip, FlipState } from '../src/domain/flip.js'
import type { Signal } from '../src/domain/run.js'
import { scriptKey } from '../src/domain/check.js'
import { NEW_SCRIPT, scriptSignal } from '../src/domain/script.js'
import { openStore } from '../src/store/open.js'
import { SIGNALS_KEPT, TRIM_SLACK, type ScriptFields, type Store } from '../src/store/contract.js'
import { backends } from './helpers/backends.js'
import { pgRows } from './helpers/postgres.js'
import { lastSignals, refreshIds } from './helpers/db.js'

const fields = (name: string, more: Partial<ScriptFields> = {}): ScriptFields => ({ ...NEW_SCRIPT, name, server: 'h', ...more })

for (const backend of backends(t)) {
  const open = async (t: Test, location?: string) => {
    const at = location ?? (await backend.fresh(t))
    const store = await openStore(at)
    return { store, location: at }
  }

  t.test(`${backend.name}: writes queued together resolve once committed, and a fresh open reads them`, async (t) => {
    const { store, location } = await open(t)
    const writes = [refreshIds(store, ['a'], 1), refreshIds(store, ['b'], 2), store.createScript(fields('x.sh'))]
    t.equal(lastSignals(store).size, 0, 'not in memory before the commit')
    const [, , script] = await Promise.all(writes)
    t.same(
      [...lastSignals(store)],
      [
        ['a', 1],
        ['b', 2],
      ],
    )
    t.same(script, { id: 1, ...fields('x.sh') })
    t.same(
      await backend.rows(location, 'SELECT id, at FROM check_signal ORDER BY id'),
      [
        { id: 'a', at: 1 },
        { id: 'b', at: 2 },
      ],
      'on disk once resolved',
    )
    await store.close()
    const reopened = (await open(t, location)).store
    t.same(
      [...lastSignals(reopened)],
      [
        ['a', 1],
        ['b', 2],
      ],
    )
    t.same(reopened.scripts(), [script])
    await reopened.close()
  })

  t.test(`${backend.name}: a pause, an ignored signal and a resume are kept in order, and read back after a reopen`, async (t) => {
    const { store, location } = await open(t)
    await store.recordSignal('a', { kind: 'success', at: 1000 })
    await store.recordSignal('a', { kind: 'pause', at: 2000 })
    await store.recordSignal('a', { kind: 'failure', at: 3000, ignored: true })
    t.match(store.runs().get('a'), { lastSignal: 1000, paused: 2000, streak: { failures: 0 } })
    await store.close()
    const reopened = (await open(t, location)).store
    t.teardown(() => reopened.close())
    t.match(reopened.runs().get('a'), { lastSignal: 1000, paused: 2000, streak: { failures: 0 } }, 'the ignored failure is still ignored')
    t.same(
      (await reopened.runLog('a', { keep: 10, before: undefined, limit: 10 })).map((e) => [e.signal.kind, e.signal.ignored ?? false]),
      [
        ['failure', true],
        ['pause', false],
        ['success', false],
      ],
    )
    t.same(
      await reopened.finishes('a'),
      [{ seq: (await reopened.finishes('a'))[0]!.seq, at: 1000, succeeded: true, exitStatus: undefined, duration: undefined }],
      'an ignored finish counts in no streak',
    )
    await reopened.recordSignal('a', { kind: 'resume', at: 4000 })
    t.match(reopened.runs().get('a'), { lastSignal: 4000, paused: undefined, lastResume: 4000 })
  })

  t.test(`${backend.name}: a write that fails fails alone; the others queued with it commit`, async (t) => {
    const { store, location } = await open(t)
    t.teardown(() => store.close())
    const results = await Promise.allSettled([
      store.createScript(fields('ok-1.sh')),
      store.createScript({ ...fields('bad'), name: null as unknown as string }),
      refreshIds(store, ['a'], 5),
      store.updateScript(1, () => {
        throw new Error('refused by its patch')
      }),
      store.createScript(fields('ok-2.sh')),
    ])
    t.same(
      results.map((r) => r.status),
      ['fulfilled', 'rejected', 'fulfilled', 'rejected', 'fulfilled'],
    )
    t.match((results[1] as PromiseRejectedResult).reason, /name/)
    t.match((results[3] as PromiseRejectedResult).reason, /refused by its patch/)
    t.same(
      store.scripts().map((s) => s.name),
      ['ok-1.sh', 'ok-2.sh'],
    )
    t.same(
      (await backend.rows<{ spec: string }>(location, 'SELECT spec FROM check_def ORDER BY id')).map((row) => JSON.parse(row.spec).name),
      ['ok-1.sh', 'ok-2.sh'],
    )
    t.same([...lastSignals(store)], [['a', 5]])
  })

  t.test(`${backend.name}: updates and deletes queued together apply in order`, async (t) => {
    const { store } = await open(t)
    t.teardown(() => store.close())
    const { id } = await store.createScript(fields('a.sh'))
    const [first, second, deleted, afterDelete] = await Promise.all([
      store.updateScript(id, () => ({ status: false })),
      store.updateScript(id, (current) => ({ name: `${current.name}.b` })),
      store.deleteScript(id),
      store.updateScript(id, () => ({ status: true })),
    ])
    t.match(first, { name: 'a.sh', status: false })
    t.match(second, { name: 'a.sh.b', status: false }, 'sees the update before it')
    t.equal(deleted, true)
    t.equal(afterDelete, undefined, 'a deleted script cannot be updated')
    t.equal(await store.deleteScript(id), false, 'nor deleted twice')
    t.same(store.scripts(), [])
    const next = await store.createScript(fields('c.sh'))
    t.ok(next.id > id, 'the id of a deleted script is not handed out again')
  })

  t.test(`${backend.name}: close commits what is queued`, async (t) => {
    const { store, location } = await open(t)
    const pending = refreshIds(store, ['late'], 42)
    await store.close()
    t.same([...(await pending)], ['late'])
    const reopened = (await open(t, location)).store
    t.same([...lastSignals(reopened)], [['late', 42]])
    await reopened.close()
  })

  t.test(`${backend.name}: a numeric periodicity reads back as a number, however it is written`, async (t) => {
    const { store, location } = await open(t)
    for (const periodicity of [90, 0.5, 1e21, 'weekly'] as const) await store.createScript({ ...fields('p.sh'), periodicity })
    await store.close()
    const reopened = (await open(t, location)).store
    t.same(
      reopened.scripts().map((s) => s.periodicity),
      [90, 0.5, 1e21, 'weekly'],
    )
    await reopened.close()
  })

  t.test(`${backend.name}: a signal queued before keepOnlyItems forgets its id is not written, even when the id comes back`, async (t) => {
    const { store, location } = await open(t)
    const queued = refreshIds(store, ['a', 'b'], 5)
    store.keepOnlyItems(new Set(['a']))
    store.keepOnlyItems(new Set(['a', 'b']))
    const later = refreshIds(store, ['b'], 7)
    t.same([...(await queued)], ['a'], 'the first batch wrote a only')
    t.same([...(await later)], ['b'], 'a signal after the id came back is written')
    await store.close()
    t.same(await backend.rows(location, 'SELECT id, at FROM check_signal ORDER BY id'), [
      { id: 'a', at: 5 },
      { id: 'b', at: 7 },
    ])
  })

  t.test(`${backend.name}: keepOnlyItems deletes the stored signals of the ids it drops`, async (t) => {
    const { store, location } = await open(t)
    await refreshIds(store, ['a', 'b'], 5)
    store.keepOnlyItems(new Set(['b']))
    t.same([...lastSignals(store)], [['b', 5]], 'forgotten in memory at once')
    await refreshIds(store, ['b'], 6)
    await store.close()
    t.same(await backend.rows(location, 'SELECT DISTINCT id FROM check_signal'), [{ id: 'b' }])
    const reopened = (await open(t, location)).store
    t.same([...lastSignals(reopened)], [['b', 6]])
    await reopened.close()
  })

  t.test(`${backend.name}: an id dropped and brought back in one turn starts afresh: its old signals are deleted, and a signal after is kept`, async (t) => {
    const { store, location } = await open(t)
    await store.recordSignal('a', { kind: 'failure', at: 1000 })
    store.keepOnlyItems(new Set())
    store.keepOnlyItems(new Set(['a']))
    const record = await store.recordSignal('a', { kind: 'success', at: 2000 })
    const { store: fresh } = await open(t)
    await fresh.recordSignal('a', { kind: 'success', at: 2000 })
    t.same(record?.runs, fresh.runs().get('a'), 'folded on nothing, as in a store that never had a')
    await fresh.close()
    await store.close()
    t.same(await backend.rows(location, 'SELECT id, at FROM check_signal'), [{ id: 'a', at: 2000 }])
    const reopened = (await open(t, location)).store
    t.same(reopened.runs().get('a'), record?.runs)
    await reopened.close()
  })

  t.test(`${backend.name}: the last signal never goes back, even when a signal says an earlier time`, async (t) => {
    const { store, location } = await open(t)
    await store.recordSignal('a', { kind: 'start', at: 5000 })
    const record = await store.recordSignal('a', { kind: 'success', at: 3000 })
    t.equal(record?.runs.lastSignal, 5000)
    t.equal(record?.finish?.duration, 0, 'a run cannot last less than nothing')
    await store.close()
    const reopened = (await open(t, location)).store
    t.equal(reopened.runs().get('a')?.lastSignal, 5000)
    t.same(
      (await reopened.finishes('a')).map(({ at, succeeded, duration }) => ({ at, succeeded, duration })),
      [{ at: 5000, succeeded: true, duration: 0 }],
    )
    await reopened.close()
  })

  t.test(`${backend.name}: each id keeps its last signals, and its runs and finishes read the same after a reopen`, async (t) => {
    const { store, location } = await open(t)
    // Batches of one to five signals: rows of different sizes, trimmed whole.
    for (let i = 0; i < SIGNALS_KEPT + 100; ) {
      const batch = []
      for (let k = 0; k <= i % 5; k++, i++) {
        batch.push(store.recordSignal('busy', { kind: i % 2 === 0 ? 'start' : i % 6 === 1 ? 'failure' : 'success', at: 1000 * i, rid: `r${i >> 1}` }))
      }
      await Promise.all(batch)
    }
    await store.recordSignal('quiet', { kind: 'success', at: 7 })
    const runs = store.runs().get('busy')
    const finishes = await store.finishes('busy')
    t.ok(finishes.length >= 100, `the kept finishes are read (${finishes.length})`)
    t.ok(
      finishes.every((f, i) => i === 0 || f.seq > finishes[i - 1]!.seq),
      'finishes come oldest first',
    )
    await store.close()
    const kept = (await backend.rows<{ n: number }>(location, "SELECT sum(n) AS n FROM check_signal WHERE id = 'busy'"))[0]!.n
    t.ok(kept >= SIGNALS_KEPT && kept <= SIGNALS_KEPT + 64, `between ${SIGNALS_KEPT} and ${SIGNALS_KEPT + 64} kept (${kept})`)
    t.same(await backend.rows(location, "SELECT sum(n) AS n FROM check_signal WHERE id = 'quiet'"), [{ n: 1 }], 'other ids keep theirs')
    const reopened = (await open(t, location)).store
    t.same(reopened.runs().get('busy'), runs, 'open runs, last duration and streak as before')
    t.same(await reopened.finishes('busy'), finishes)
    await reopened.close()
  })
}

for (const backend of backends(t)) {
  const open = async (t: Test, location?: string) => {
    const at = location ?? (await backend.fresh(t))
    return { store: await openStore(at), location: at }
  }
  const curl = { address: '10.0.0.7', userAgent: 'curl/8.5.0' }
  const cron = { address: '10.0.0.8', userAgent: '' }
  const output = (text: string, bytes = Buffer.byteLength(text)) => ({ text, bytes })
  /** The log as a client would read it: kind, time, source and output. */
  const shown = (entries: Awaited<ReturnType<Store['runLog']>>) =>
    entries.map(({ signal, output }) => ({ kind: signal.kind, at: signal.at, source: signal.source, output }))

  t.test(`${backend.name}: the run log gives each signal newest first, with its source and output, and survives a restart`, async (t) => {
    const { store, location } = await open(t)
    await Promise.all([
      store.recordSignal('job', { kind: 'start', at: 1000, source: curl }),
      store.recordSignal('job', { kind: 'log', at: 1500, source: curl, output: output('step 1 done\n') }),
      store.recordSignal('job', { kind: 'failure', at: 2000, exitStatus: 3, source: cron, output: output('disk <full> & "quoted"', 20_000) }),
    ])
    const expected = [
      { kind: 'failure', at: 2000, source: cron, output: { text: 'disk <full> & "quoted"', bytes: 20_000 } },
      { kind: 'log', at: 1500, source: curl, output: { text: 'step 1 done\n', bytes: 12 } },
      { kind: 'start', at: 1000, source: curl, output: undefined },
    ]
    t.same(shown(await store.runLog('job', { keep: 100, before: undefined, limit: 10 })), expected)
    t.same(store.runs().get('job')!.lastSignal, 2000, 'a log signal changes nothing: the failure is the last signal')
    t.same(shown(await store.runLog('other', { keep: 100, before: undefined, limit: 10 })), [], 'an id without signals has an empty log')
    await store.close()
    const reopened = (await open(t, location)).store
    t.teardown(() => reopened.close())
    t.same(shown(await reopened.runLog('job', { keep: 100, before: undefined, limit: 10 })), expected)
  })

  t.test(`${backend.name}: a signal has the same seq when answered, in the run log and after a restart`, async (t) => {
    const { store, location } = await open(t)
    // Two ids interleaved in one batch: each id's row must give back the seqs its signals were answered with.
    const records = await Promise.all(
      ['a', 'b', 'a', 'b', 'a'].map((id, i) => store.recordSignal(id, { kind: 'success', at: i + 1, output: output(`${id}${i}`) })),
    )
    const answered = records.filter((_, i) => i % 2 === 0).map((r) => r!.seq)
    const logged = async (s: Store) => (await s.runLog('a', { keep: 100, before: undefined, limit: 10 })).map((e) => [e.seq, e.output?.text])
    t.same(await logged(store), answered.map((seq, k) => [seq, `a${k * 2}`]).reverse())
    await store.close()
    const reopened = (await open(t, location)).store
    t.teardown(() => reopened.close())
    t.same(await logged(reopened), answered.map((seq, k) => [seq, `a${k * 2}`]).reverse())
  })

  t.test(`${backend.name}: the signals recorded in one turn of the event loop are written in one batch`, async (t) => {
    const { store, location } = await open(t)
    await Promise.all(Array.from({ length: 20 }, (_, i) => store.recordSignal('job', { kind: 'success', at: 1000 * (i + 1) })))
    // One batch writes an id's signals in rows of 16: a first signal sent on its own would make a row of 1.
    t.same(await backend.rows(location, 'SELECT n FROM check_signal ORDER BY seq'), [{ n: 16 }, { n: 4 }])
    await store.close()
  })

  t.test(
    `${backend.name}: the reports to a script in one turn are written as an item's signals, in rows, each answered with the script after it`,
    async (t) => {
      const { store, location } = await open(t)
      const { id } = await store.createScript(fields('a.sh'))
      const reports = await Promise.all(
        Array.from({ length: 20 }, (_, i) =>
          store.updateScript(id, (current) => ({ name: `${current.name}.${i}`, status: i % 2 === 0 }), {
            kind: i % 2 === 0 ? 'success' : 'failure',
            at: 1000 * (i + 1),
          }),
        ),
      )
      t.same(
        reports.map((s) => [s!.name.split('.').length - 3, s!.status, s!.runs.lastSignal]),
        Array.from({ length: 20 }, (_, i) => [i, i % 2 === 0, 1000 * (i + 1)]),
        'each patch sees the reports before it, and each answer has its own signal',
      )
      t.same(await backend.rows(location, 'SELECT n FROM check_signal ORDER BY seq'), [{ n: 16 }, { n: 4 }])
      const log = await store.runLog(scriptKey(id), { keep: 100, before: undefined, limit: 100 })
      t.same(
        log.map((e) => e.signal.at),
        Array.from({ length: 20 }, (_, i) => 1000 * (20 - i)),
      )
      await store.close()
      const reopened = (await open(t, location)).store
      t.teardown(() => reopened.close())
      t.same(reopened.getScript(id), reports[19], 'the last answer is what is stored')
    },
  )

  t.test(`${backend.name}: a script created with a start and reported in the same turn has the run closed, its signals logged in order`, async (t) => {
    const { store, location } = await open(t)
    const created = store.createScript(fields('a.sh'), { kind: 'start', at: 1000, rid: 'r' })
    // The script created by the write queued before it: its id is the first.
    const [script, reported] = await Promise.all([created, store.updateScript(1, () => ({ status: true }), { kind: 'success', at: 4000, rid: 'r' })])
    t.equal(script.runs.open.length, 1)
    t.equal(reported!.runs.open.length, 0, 'the report closed the run the creation opened')
    t.equal(reported!.runs.lastSignal, 4000)
    const log = await store.runLog(scriptKey(1), { keep: 100, before: undefined, limit: 100 })
    t.same(
      log.map((e) => [e.signal.kind, e.signal.duration]),
      [
        ['success', 3],
        ['start', undefined],
      ],
    )
    await store.close()
    const reopened = (await open(t, location)).store
    t.teardown(() => reopened.close())
    t.same(reopened.getScript(1)!.runs, reported!.runs)
  })

  t.test(`${backend.name}: a report whose row cannot be written (a field of the wrong type) fails alone; the reports queued with it commit`, async (t) => {
    const { store, location } = await open(t)
    const a = await store.createScript(fields('a.sh'))
    const b = await store.createScript(fields('b.sh'))
    const results = await Promise.allSettled([
      store.updateScript(a.id, () => ({ status: false }), { kind: 'failure', at: 1000 }),
      store.updateScript(b.id, () => ({ name: null as unknown as string }), { kind: 'success', at: 1000 }),
      store.updateScript(a.id, (current) => ({ name: `${current.name}.2` }), { kind: 'success', at: 2000 }),
    ])
    t.same(
      results.map((r) => r.status),
      ['fulfilled', 'rejected', 'fulfilled'],
    )
    t.match((results[1] as PromiseRejectedResult).reason, /name/)
    t.match(store.getScript(a.id), { name: 'a.sh.2', status: false, runs: { lastSignal: 2000 } })
    t.match(store.getScript(b.id), { name: 'b.sh', runs: { lastSignal: undefined } }, 'the refused report changed nothing')
    const logged = async (s: Store, id: number) => (await s.runLog(scriptKey(id), { keep: 100, before: undefined, limit: 100 })).map((e) => e.signal.at)
    t.same(await logged(store, a.id), [2000, 1000])
    t.same(await logged(store, b.id), [], 'nor logged its signal')
    await store.close()
    const reopened = (await open(t, location)).store
    t.teardown(() => reopened.close())
    t.same(reopened.getScript(a.id), store.getScript(a.id))
    t.same(await logged(reopened, b.id), [])
  })

  t.test(`${backend.name}: the run log pages by seq, across rows and batches`, async (t) => {
    const { store } = await open(t)
    t.teardown(() => store.close())
    // 40 signals in batches of 20: rows of 16 and 4 in each.
    for (let batch = 0; batch < 2; batch++) {
      await Promise.all(Array.from({ length: 20 }, (_, i) => store.recordSignal('job', { kind: 'success', at: 1000 * (batch * 20 + i + 1), source: curl })))
    }
    const times: number[] = []
    let before: number | undefined
    for (;;) {
      const page = await store.runLog('job', { keep: 100, before, limit: 7 })
      if (page.length === 0) break
      t.ok(page.length <= 7)
      times.push(...page.map((e) => e.signal.at))
      before = page.at(-1)!.seq
    }
    t.same(
      times,
      Array.from({ length: 40 }, (_, i) => 1000 * (40 - i)),
      'every signal once, newest first',
    )
    const newest = await store.runLog('job', { keep: 25, before: undefined, limit: 100 })
    t.same(
      newest.map((e) => e.signal.at),
      times.slice(0, 25),
      'keep bounds the log',
    )
    t.same(await store.runLog('job', { keep: 25, before: newest[20]!.seq, limit: 100 }), newest.slice(21), 'and every page of it')
  })

  t.test(`${backend.name}: outputs go with their signals when the signals are trimmed or the item is dropped`, async (t) => {
    const { store, location } = await open(t)
    t.teardown(() => store.close())
    for (let i = 0; i < SIGNALS_KEPT + 100; i += 20) {
      await Promise.all(Array.from({ length: 20 }, (_, j) => store.recordSignal('busy', { kind: 'success', at: i + j + 1, output: output(`run ${i + j}`) })))
    }
    const [bodies] = await backend.rows<{ n: number }>(location, 'SELECT count(*) AS n FROM signal_body')
    const [signals] = await backend.rows<{ n: number }>(location, 'SELECT sum(n) AS n FROM check_signal')
    t.equal(Number(bodies!.n), Number(signals!.n), 'an output per kept signal, no more')
    t.ok(Number(signals!.n) < SIGNALS_KEPT + 100, 'some were trimmed')
    const log = await store.runLog('busy', { keep: 1000, before: undefined, limit: 1000 })
    t.ok(
      log.every((e) => e.output?.text === `run ${e.signal.at - 1}`),
      'each kept signal still has its own output',
    )
    store.keepOnlyItems(new Set())
    await store.recordSignal('other', { kind: 'success', at: 1 })
    t.same(await backend.rows(location, 'SELECT id FROM signal_body'), [], 'none left of a dropped item')
  })

  t.test(`${backend.name}: retention drops outputs by age, then the oldest beyond a total size down to a lower one, step by step`, async (t) => {
    const { store, location } = await open(t)
    t.teardown(() => store.close())
    const kib = 'x'.repeat(1024)
    await Promise.all(Array.from({ length: 10 }, (_, i) => store.recordSignal(`job-${i % 2}`, { kind: 'success', at: (i + 1) * 1000, output: output(kib) })))
    const left = async () => (await backend.rows<{ at: number }>(location, 'SELECT at FROM signal_body ORDER BY at')).map((r) => Number(r.at))
    t.equal(await store.pruneOutputs({ before: 3500, maxBytes: 1e9, downTo: 1e9, limit: 2 }), 2, 'a step deletes at most its limit')
    t.equal(await store.pruneOutputs({ before: 3500, maxBytes: 1e9, downTo: 1e9, limit: 2 }), 1)
    t.equal(await store.pruneOutputs({ before: 3500, maxBytes: 1e9, downTo: 1e9, limit: 2 }), 0, 'none older, and under the size')
    t.same(await left(), [4000, 5000, 6000, 7000, 8000, 9000, 10_000])
    t.equal(await store.pruneOutputs({ before: 0, maxBytes: 6 * 1024, downTo: 6 * 1024, limit: 1 }), 1, 'a step deletes at most its limit')
    t.equal(await store.pruneOutputs({ before: 0, maxBytes: 5 * 1024, downTo: 3.5 * 1024, limit: 10 }), 3, 'as many of the oldest as bring them down to downTo')
    t.equal(await store.pruneOutputs({ before: 0, maxBytes: 3 * 1024, downTo: 0, limit: 10 }), 0, 'none while they hold no more than maxBytes')
    t.same(await left(), [8000, 9000, 10_000], 'the newest that fit in the size')
    const log = await store.runLog('job-1', { keep: 100, before: undefined, limit: 10 })
    t.same(
      log.map((e) => [e.signal.at, e.output?.text.length]),
      [
        [10_000, 1024],
        [8000, 1024],
        [6000, undefined],
        [4000, undefined],
        [2000, undefined],
      ],
      'signals stay; their outputs go',
    )
  })
}

for (const backend of backends(t)) {
  t.test(`${backend.name}: a script's run log keeps its newest signals with their outputs, and goes with the script`, async (t) => {
    const location = await backend.fresh(t)
    const store = await openStore(location)
    t.teardown(() => store.close())
    const created = await store.createScript(fields('a.sh'), { kind: 'success', at: 1, output: { text: 'created', bytes: 7 } })
    // Each write applies its signal to the script's runs, as a report does.
    const writes = Array.from({ length: SIGNALS_KEPT + 2 * TRIM_SLACK + 10 }, (_, i) => {
      const signal: Signal = { kind: i % 2 === 0 ? 'start' : 'failure', at: i + 2, output: { text: `run ${i}`, bytes: 5 + String(i).length } }
      return store.updateScript(created.id, (current) => ({ lastExec: i + 2, ...scriptSignal(current, signal) }), signal)
    })
    await Promise.all(writes)
    const log = await store.runLog(scriptKey(created.id), { keep: 1000, before: undefined, limit: 1000 })
    t.equal(log.length, SIGNALS_KEPT, 'the newest, as many as an item keeps')
    t.same(log[0]!.output, { text: `run ${SIGNALS_KEPT + 2 * TRIM_SLACK + 9}`, bytes: 8 })
    t.equal(log[1]!.signal.kind, 'start')
    t.equal(log[0]!.signal.duration, 0.001, 'a finish keeps the duration of the run it ended')
    const [bodies] = await backend.rows<{ n: number }>(location, "SELECT count(*) AS n FROM signal_body WHERE id = 'scripto:1'")
    // A row holds up to ROW_SIGNALS_MAX signals of a key, as an item's: every signal here had an output.
    const [entries] = await backend.rows<{ n: number }>(location, "SELECT coalesce(sum(n), 0) AS n FROM check_signal WHERE id = 'scripto:1'")
    t.equal(Number(bodies!.n), Number(entries!.n), 'no output outlives its entry')
    t.ok(Number(entries!.n) <= SIGNALS_KEPT + TRIM_SLACK, `trimmed now and then: ${entries!.n} entries stored`)
    t.equal(await store.deleteScript(created.id), true)
    t.same(await backend.rows(location, 'SELECT seq FROM check_signal'), [])
    t.same(await backend.rows(location, 'SELECT seq FROM signal_body'), [])
  })
}

/** Runs `sql` on the database at `location` on a connection of its own, as another writer would. */
async function execute(backend: { name: string }, location: string, sql: string): Promise<void> {
  if (backend.name === 'SQLite') {
    const db = new Database(location)
    db.exec(sql)
    db.close()
  } else await pgRows(location, sql)
}

for (const backend of backends(t)) {
  t.test(`${backend.name}: a check defined in the store by another source is no script: Scripto's API neither sees nor writes it`, async (t) => {
    const location = await backend.fresh(t)
    const first = await openStore(location)
    await first.createScript(fields('a.sh'))
    await first.close()
    // As a checks API would define one (its id from the same sequence as scripts').
    const seq = backend.name === 'SQLite' ? '' : ', seq'
    await execute(backend, location, `INSERT INTO check_def (spec, source${seq}) VALUES ('{"name":"api check"}', 'api'${seq === '' ? '' : ', 0'})`)
    const [{ id: other } = { id: 0 }] = await backend.rows<{ id: number }>(location, "SELECT id FROM check_def WHERE source = 'api'")
    t.equal(Number(other), 2)

    const store = await openStore(location)
    t.teardown(() => store.close())
    t.same(
      store.scripts().map((s) => s.name),
      ['a.sh'],
    )
    t.equal(store.getScript(2), undefined)
    t.equal(await store.updateScript(2, () => ({ name: 'taken' })), undefined)
    t.equal(await store.deleteScript(2), false)
    t.equal((await store.createScript(fields('b.sh'))).id, 3, 'its id is never handed to a script')
    t.same(
      await backend.rows(location, 'SELECT spec, source FROM check_def WHERE id = 2'),
      [{ spec: '{"name":"api check"}', source: 'api' }],
      'and it is left as it was',
    )
  })
}

/** A definition as the checks API would write it. */
const defined = (id: string, spec: Record<string, unknown>, at = 1000): CheckDefinition => ({ id, source: 'api', spec, created: at, updated: at })

for (const backend of backends(t)) {
  t.test(`${backend.name}: definitions are created, changed in order, deleted, and read back after a reopen`, async (t) => {
    const location = await backend.fresh(t)
    const store = await openStore(location)
    // Queued together: each change sees the one before it.
    const [created, , renamed] = await Promise.all([
      store.changeDefinition('backup', () => defined('backup', { name: 'Backup', interval: '1h' })),
      store.changeDefinition('sync', () => defined('sync', { name: 'Sync', schedule: '0 3 * * *', tags: ['prod'] })),
      store.changeDefinition('backup', (current) => current && { ...current, spec: { ...current.spec, name: 'Nightly backup' }, updated: 2000 }),
    ])
    t.same(created?.spec, { name: 'Backup', interval: '1h' })
    t.same(renamed, { id: 'backup', source: 'api', spec: { name: 'Nightly backup', interval: '1h' }, created: 1000, updated: 2000 })
    t.same([...store.definitions().keys()].sort(), ['backup', 'sync'])
    t.equal(store.definitions().get('backup'), renamed, 'memory holds what the write resolved to')
    const untouched = await store.changeDefinition('sync', (current) => current)
    t.same(untouched, store.definitions().get('sync'), 'the same definition back: it stands as it was')
    await t.rejects(
      store.changeDefinition('sync', () => {
        throw new Error('refused')
      }),
      /refused/,
    )
    t.same(store.definitions().get('sync')?.spec, { name: 'Sync', schedule: '0 3 * * *', tags: ['prod'] }, 'a change that throws changes nothing')
    t.equal(await store.changeDefinition('sync', () => undefined), undefined)
    t.notOk(store.definitions().has('sync'), 'deleted')
    t.equal(await store.changeDefinition('nothing', (current) => current), undefined, 'no definition, none made')
    const script = await store.createScript(fields('a.sh'))
    t.same(
      store.scripts().map((s) => s.name),
      ['a.sh'],
      'definitions are no scripts',
    )
    t.ok(script.id > 2, "a script's id is never a definition's row")
    await store.close()

    const reopened = await openStore(location)
    t.teardown(() => reopened.close())
    t.same([...reopened.definitions().values()], [renamed])
    t.same(await backend.rows(location, "SELECT key, source, spec, created, updated FROM check_def WHERE source <> 'scripto'"), [
      { key: 'backup', source: 'api', spec: JSON.stringify({ name: 'Nightly backup', interval: '1h' }), created: 1000, updated: 2000 },
    ])
    t.same(
      await backend.rows(location, "SELECT key FROM check_def WHERE source = 'scripto'"),
      [{ key: `scripto:${script.id}` }],
      "a script's row has its key too, its signals'",
    )
    t.same(
      reopened.scripts().map((s) => s.name),
      ['a.sh'],
      "Scripto's reads see scripts only",
    )
  })

  if (backend.name !== 'SQLite') {
    t.test(`${backend.name}: a key that another writer makes while a batch looks for it: the batch runs again, on that row`, async (t) => {
      const location = await backend.fresh(t)
      const store = await openStore(location)
      t.teardown(() => store.close())
      // Another replica's transaction has made the key and not yet committed: the batch's lock finds no row, and its insert waits.
      const other = new pg.Client({ connectionString: location })
      await other.connect()
      t.teardown(() => other.end())
      await other.query('BEGIN')
      await other.query(
        `INSERT INTO check_def (key, source, spec, created, updated, seq) VALUES ('race', 'api', '{"name":"theirs"}', 1, 1, nextval('change_seq') * 16)`,
      )
      const seen: (string | undefined)[] = []
      const mine = store.changeDefinition('race', (current) => {
        seen.push(current?.spec.name as string | undefined)
        return current ?? defined('race', { name: 'mine' })
      })
      await new Promise((resolve) => setTimeout(resolve, 300))
      await other.query('COMMIT')
      t.equal((await mine)?.spec.name, 'theirs', 'the change ran again on the row the other made, and kept it')
      t.same(seen, [undefined, 'theirs'])
      t.equal(store.lockRetries, 1)
      t.same(await backend.rows(location, "SELECT spec FROM check_def WHERE key = 'race'"), [{ spec: '{"name":"theirs"}' }])
    })
  }

  t.test(`${backend.name}: a deleted check's signals and outputs go with its row, whatever its source, and stay gone after a reopen`, async (t) => {
    const location = await backend.fresh(t)
    const store = await openStore(location)
    await store.changeDefinition('d', () => defined('d', { name: 'D' }))
    await store.recordSignal('d', { kind: 'success', at: 1000, output: { text: 'done', bytes: 4 } })
    const script = await store.createScript(fields('a.sh'), { kind: 'failure', at: 1000, output: { text: 'oops', bytes: 4 } })
    const key = `scripto:${script.id}`
    t.ok(store.runs().has('d') && store.runs().has(key))
    t.equal(await store.changeDefinition('d', () => undefined), undefined)
    t.equal(await store.deleteScript(script.id), true)
    t.notOk(store.runs().has('d'), "the definition's runs went with it")
    t.notOk(store.runs().has(key), "and the script's")
    t.same(await backend.rows(location, 'SELECT id FROM check_signal UNION ALL SELECT id FROM signal_body'), [], 'and their rows, outputs included')
    await store.close()
    const reopened = await openStore(location)
    t.teardown(() => reopened.close())
    t.same([reopened.runs().size, reopened.definitions().size, reopened.scripts().length], [0, 0, 0])
    t.same(await reopened.runLog('d', { keep: 10, before: undefined, limit: 10 }), [])
    await reopened.changeDefinition('d', () => defined('d', { name: 'D again' }))
    t.notOk(reopened.runs().has('d'), 'made again, it starts with no signal')
  })

  t.test(`${backend.name}: a definition created, deleted and created again in one batch ends as the last change says`, async (t) => {
    const store = await openStore(await backend.fresh(t))
    t.teardown(() => store.close())
    await Promise.all([
      store.changeDefinition('x', () => defined('x', { name: 'one' })),
      store.changeDefinition('x', () => undefined),
      store.changeDefinition('x', (current) => (current === undefined ? defined('x', { name: 'two' }) : current)),
    ])
    t.same(store.definitions().get('x')?.spec, { name: 'two' })
    await store.changeDefinition('x', () => undefined)
    t.equal(store.definitions().size, 0)
  })

  t.test(
    `${backend.name}: flips are recorded once per seq, paged newest first, pruned by age and count but never a check's last, and read back after a reopen`,
    async (t) => {
      const location = await backend.fresh(t)
      const store = await openStore(location)
      const flip = (key: string, seq: number, at: number, from: FlipState, to: FlipState, reason: string | null = null): Flip => ({
        key,
        seq,
        at,
        from,
        to,
        reason,
      })
      t.same(await store.recordFlips([flip('a', 1, 1000, 'never', 'up'), flip('b', 1, 1500, 'never', 'up')]), [
        flip('a', 1, 1000, 'never', 'up'),
        flip('b', 1, 1500, 'never', 'up'),
      ])
      t.same(store.flipHeads().get('a'), { seq: 1, at: 1000, to: 'up' })
      // A stale judge (another replica's view) tries the same seq again: nothing is written.
      t.same(await store.recordFlips([flip('a', 1, 1200, 'never', 'late'), flip('a', 2, 2000, 'up', 'late', 'no check-in by the deadline')]), [
        flip('a', 2, 2000, 'up', 'late', 'no check-in by the deadline'),
      ])
      t.same(await store.recordFlips([flip('b', 1, 1600, 'never', 'late')]), [], 'a seq taken is refused')
      t.same(store.flipHeads().get('b'), { seq: 1, at: 1500, to: 'up' }, 'the head is the flip that was there')
      for (let seq = 3; seq <= 8; seq++) await store.recordFlips([flip('a', seq, seq * 1000, seq % 2 ? 'late' : 'up', seq % 2 ? 'up' : 'late')])
      t.same(
        (await store.flipLog('a', { before: undefined, limit: 3 })).map((f) => f.seq),
        [8, 7, 6],
      )
      t.same(
        (await store.flipLog('a', { before: 6, limit: 10 })).map((f) => f.seq),
        [5, 4, 3, 2, 1],
      )
      t.same(
        (await store.flipLog('a', { before: 1e20, limit: 1 })).map((f) => f.seq),
        [8],
        'a before past any seq the store can hold is past every flip',
      )
      t.same(
        (await store.flipLog('a', { before: undefined, since: 6500, limit: 10 })).map((f) => f.seq),
        [8, 7],
        'since a time',
      )
      t.same(
        [...store.recentFlips()].map(([key, flips]) => [key, flips.map((f) => f.seq)]),
        [
          ['a', [1, 2, 3, 4, 5, 6, 7, 8]],
          ['b', [1]],
        ],
        'in memory, oldest first, by key',
      )
      await store.close()
      const reopened = await openStore(location)
      t.same(reopened.flipHeads().get('a'), { seq: 8, at: 8000, to: 'late' }, 'heads read back')
      t.same(
        [...reopened.recentFlips()].map(([key, flips]) => [key, flips.map((f) => f.seq)]),
        [
          ['a', [8]],
          ['b', [1]],
        ],
        'of flips older than a day, only the newest is read back into memory',
      )
      t.equal(await reopened.pruneFlips({ before: 3500, keep: 100, limit: 100 }), 3, "by age: a's 1-3; b's only flip stays, however old")
      t.equal(await reopened.pruneFlips({ before: 0, keep: 2, limit: 100 }), 3, 'by count: the newest 2 of a stay')
      t.same(
        (await reopened.flipLog('a', { before: undefined, limit: 10 })).map((f) => f.seq),
        [8, 7],
      )
      t.same(
        (await reopened.flipLog('b', { before: undefined, limit: 10 })).map((f) => f.seq),
        [1],
      )
      t.same(await reopened.recordFlips([flip('a', 9, 9000, 'late', 'up')]), [flip('a', 9, 9000, 'late', 'up')], 'the next seq follows the kept one')
      await reopened.close()
    },
  )
}
