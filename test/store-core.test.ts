// The store's rules that both drivers share (src/store/core.ts); the contract suite (store.test.ts)
// runs them through SQLite and PostgreSQL, these pin them down alone.
import t from 'tap'
import { applySignal, NO_RUNS, type Signal } from '../src/domain/run.js'
import type { Script } from '../src/domain/script.js'
import { foldBatch, Memory, recordOf, ScriptWrites, trimEvery, type Queued } from '../src/store/core.js'
import { signalsOf } from '../src/store/rows.js'
import { TRIM_SLACK } from '../src/store/store.js'

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

t.test('a log is trimmed once every `slack` writes of its script', async (t) => {
  const due = trimEvery(3)
  t.same(
    [1, 1, 2, 1, 2, 2, 1].map((id) => due(id)),
    [false, false, false, true, false, true, false],
  )
})

t.test("a script's write: the patched script keeps its id, and its signal is logged once, with its run's duration, trimmed every TRIM_SLACK", async (t) => {
  const writes = new ScriptWrites()
  const current = { id: 7, name: 'backup', runs: NO_RUNS } as unknown as Script
  const next = writes.patched(current, () => ({ name: 'nightly', id: 8 }) as never)
  t.equal(next.id, 7, 'a patch cannot move a script to another id')
  t.equal(next.name, 'nightly')
  t.ok(Object.isFrozen(next))

  t.equal(writes.entry(7, NO_RUNS, undefined), undefined, 'no signal, no entry')
  const start: Signal = { kind: 'start', at: T, rid: 'r1' }
  const open = applySignal(NO_RUNS, start).runs
  t.equal(writes.entry(7, open, start), undefined, 'a retry of a start already recorded is not logged again')
  const finish = writes.entry(7, open, { kind: 'success', at: T + 3000, rid: 'r1' })!
  t.equal(finish.key, 'scripto:7')
  t.same(
    signalsOf({ id: finish.key, seq: 1, at: finish.signal.at, n: 1, signals: finish.text }).map((s) => [s.signal.kind, s.signal.duration]),
    [['success', 3]],
    'the entry keeps the duration of the run it finished',
  )
  // entry() above counted one write of script 7; the trim comes at the TRIM_SLACK-th.
  const trims = Array.from({ length: TRIM_SLACK * 2 }, () => writes.entry(7, NO_RUNS, { kind: 'success', at: T })!.trim)
  t.same(
    trims.flatMap((due, i) => (due ? [i + 2] : [])),
    [TRIM_SLACK, TRIM_SLACK * 2],
  )
})
