// The store's rules that both drivers share (src/store/core.ts); the contract suite (store.test.ts)
// runs them through SQLite and PostgreSQL, these pin them down alone.
import t from 'tap'
import { applySignal, NO_RUNS, type Signal } from '../src/domain/run.js'
import type { Script } from '../src/domain/script.js'
import { foldBatch, foldScriptUpdates, KeyFolds, Memory, patchedScript, recordOf, type Queued, type ScriptUpdate } from '../src/store/core.js'

const T = Date.UTC(2026, 0, 15, 12)
const op = (id: string, signal: Omit<Signal, 'at'> & { at?: number }, generation?: number): Queued => ({ id, signal: { at: T, ...signal }, generation })

t.test('a batch folds each id in the order queued, on its base, and answers each signal with the runs after it', async (t) => {
  const ops = [op('a', { kind: 'start', rid: 'r1' }), op('b', { kind: 'success' }), op('a', { kind: 'success', rid: 'r1', at: T + 5000 })]
  const folded = foldBatch(ops, () => ({ runs: NO_RUNS }))
  t.same([...folded.latest.keys()], ['a', 'b'], 'ids in the order of their first signal')
  const a = folded.latest.get('a')!
  t.equal(a.signals.length, 2)
  for (const [i, s] of a.signals.entries()) s.seq = 10 + i
  folded.latest.get('b')!.signals[0]!.seq = 20
  const start = recordOf(folded, ops[0]!)
  const finish = recordOf(folded, ops[2]!)
  t.equal(start.seq, 10)
  t.equal(start.runs.open.length, 1, 'the start left its run open')
  t.equal(finish.seq, 11)
  t.equal(finish.runs.open.length, 0, 'the finish closed it')
  t.equal(finish.finish?.duration, 5, 'and measured it (s)')
  t.equal(finish.finish?.seq, 11)
  t.equal(recordOf(folded, ops[1]!).seq, 20)
})

t.test('a signal older than the last one is taken as arriving then', async (t) => {
  const folded = foldBatch([op('a', { kind: 'success', at: T + 1000 }), op('a', { kind: 'success', at: T })], () => ({ runs: NO_RUNS }))
  t.same(
    folded.latest.get('a')!.signals.map((s) => s.signal.at),
    [T + 1000, T + 1000],
  )
})

t.test('a retry is answered as recorded and not written; an id of retries only is not written at all', async (t) => {
  const first = foldBatch([op('a', { kind: 'success', key: 'k1' })], () => ({ runs: NO_RUNS }))
  const after = first.latest.get('a')!.runs
  const again = op('a', { kind: 'success', key: 'k1', at: T + 1000 })
  const folded = foldBatch([again, op('b', { kind: 'success' })], (id) => ({ runs: id === 'a' ? after : NO_RUNS }))
  t.same([...folded.latest.keys()], ['b'])
  const record = recordOf(folded, again)
  t.equal(record.seq, 0, 'a retry has no seq of its own')
  t.equal(record.runs.lastSignal, T, 'and changes nothing')
})

t.test('keepOnly forgets the ids not kept, and the queued signals of those ids', async (t) => {
  const memory = new Memory<number>()
  memory.set('a', NO_RUNS, 1)
  memory.set('b', NO_RUNS, 2)
  const queuedA = op('a', { kind: 'success' }, memory.generation('a'))
  const queuedC = op('c', { kind: 'success' }, memory.generation('c'))
  const queuedB = op('b', { kind: 'success' }, memory.generation('b'))
  t.same(memory.keepOnly(new Set(['b', 'c']), ['a', 'b', 'c']), ['a'])
  t.same([...memory.runs.keys()], ['b'])
  t.equal(memory.state.get('a'), undefined)
  t.notOk(memory.isLive(queuedA), "a's queued signal is dropped")
  t.ok(memory.isLive(queuedB), "b's is written")
  t.ok(memory.isLive(queuedC), "c's is written: c is kept")
  t.ok(memory.isLive(op('a', { kind: 'success' }, memory.generation('a'))), 'a signal queued after it is written')
  t.same(memory.base('z', 0), { runs: NO_RUNS, state: 0 })
})

t.test('scripts are listed in id order, and the list follows each change', async (t) => {
  const memory = new Memory<number>()
  // Only the id matters here.
  const script = (id: number) => ({ id }) as Script
  memory.putScript(3, script(3))
  memory.putScript(1, script(1))
  t.same(
    memory.scripts().map((s) => s.id),
    [1, 3],
  )
  memory.putScript(2, script(2))
  memory.putScript(3, undefined)
  t.same(
    memory.scripts().map((s) => s.id),
    [1, 2],
  )
  t.ok(Object.isFrozen(memory.scripts()))
})

t.test("a script's runs are its key's: folded runs replace the row's, follow each change, and go with the script", async (t) => {
  const memory = new Memory<number>()
  const legacy = applySignal(NO_RUNS, { kind: 'start', at: T, rid: 'old' }).runs
  const row = { id: 7, name: 'backup', runs: legacy } as unknown as Script
  memory.putScript(7, row)
  t.equal(memory.script(7)!.runs, legacy, 'a row with no signal kept keeps the runs it holds (written before runs were folded)')

  const folded = applySignal(NO_RUNS, { kind: 'success', at: T })
  memory.set('scripto:7', folded.runs, 1)
  t.equal(memory.script(7)!.runs, folded.runs, "a signal folded on the key changes the script's runs")
  t.equal(memory.scripts()[0]!.runs, folded.runs, 'and the list')
  t.equal(memory.script(7)!.name, 'backup')
  t.ok(Object.isFrozen(memory.script(7)))
  memory.putScript(7, { ...row, name: 'nightly' })
  t.same([memory.script(7)!.name, memory.script(7)!.runs], ['nightly', folded.runs], "a row written again takes its key's runs")
  t.equal(memory.withRuns(row).runs, folded.runs, 'as does a row read by a query')

  t.same(memory.keepOnly(new Set(['a']), []), [], "the config's ids never forget a script's key")
  t.equal(memory.runs.get('scripto:7'), folded.runs)
  memory.putScript(7, undefined)
  t.equal(memory.runs.get('scripto:7'), undefined, "a deleted script's runs go with it")
  t.equal(memory.state.get('scripto:7'), undefined)
})

t.test('a patched script keeps its id, and takes the runs it is given', async (t) => {
  const current = { id: 7, name: 'backup', runs: NO_RUNS } as unknown as Script
  const runs = applySignal(NO_RUNS, { kind: 'success', at: T }).runs
  const next = patchedScript(current, () => ({ name: 'nightly', id: 8, runs: NO_RUNS }) as never, runs)
  t.equal(next.id, 7, 'a patch cannot move a script to another id')
  t.equal(next.name, 'nightly')
  t.equal(next.runs, runs, "the fold's runs, not the patch's")
  t.ok(Object.isFrozen(next))
})

t.test("a batch's script updates apply in order, each on the one before; a patch that throws changes nothing, a retry is not written again", async (t) => {
  const script = { id: 7, name: 'backup', status: true, runs: NO_RUNS } as unknown as Script
  const update = (patch: ScriptUpdate['patch'], signal?: Omit<Signal, 'at'> & { at?: number }, id = 7): ScriptUpdate => ({
    id,
    patch,
    signal: signal === undefined ? undefined : { at: T, ...signal },
  })
  const updates = [
    update(() => ({ status: false }), { kind: 'failure', at: T + 1000, key: 'k1' }),
    update(
      () => {
        throw new Error('refused')
      },
      { kind: 'start', rid: 'r', at: T + 2000 },
    ),
    update((current) => ({ name: `${current.name}.2`, status: !current.status }), { kind: 'success', at: T + 3000 }),
    update(() => ({}), { kind: 'failure', at: T + 4000, key: 'k1' }),
    update(() => ({ name: 'ghost' }), { kind: 'success' }, 8),
  ]
  const folds = new KeyFolds(() => ({ runs: NO_RUNS, state: 0 }))
  const batch = foldScriptUpdates(updates, (id) => (id === 7 ? script : undefined), folds)
  const [first, refused, third, retry, missing] = updates.map((u) => batch.answers.get(u))
  t.match(first, { name: 'backup', status: false })
  t.match(refused, { error: /refused/ }, 'the refused patch is answered with its error')
  t.match(third, { name: 'backup.2', status: true }, 'a patch sees the updates before it')
  t.equal((third as Script).runs.open.length, 0, "the refused update's start was not folded")
  t.same(retry, third, 'a retry of a recorded signal changes nothing')
  t.equal(missing, undefined, 'no such script')
  const key = folds.latest.get('scripto:7')!
  t.same(
    key.signals.map((s) => s.signal.at),
    [T + 1000, T + 3000],
    "the key's signals to write: neither the refused one nor the retry",
  )
  t.equal(folds.latest.size, 1)
  t.same([...batch.scripts.keys()], [7])
  t.equal(batch.scripts.get(7), retry, 'each script as the batch leaves it: its last update')
  t.ok(Object.isFrozen(third))
})
