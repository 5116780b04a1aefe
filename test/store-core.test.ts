// The store's rules that both drivers share (src/store/core.ts); the contract suite (store.test.ts)
// runs them through SQLite and PostgreSQL, these pin them down alone.
import t from 'tap'
import { applySignal, NO_RUNS, type Signal } from '../src/domain/run.js'
import type { Script } from '../src/domain/script.js'
import { foldBatch, foldChanges, KeyFolds, Memory, patchedScript, recordOf, type Change, type Queued, type Stored } from '../src/store/core.js'

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

const script = (id: number, fields: Partial<Script> = {}) => Object.freeze({ id, name: `s${id}`, runs: NO_RUNS, ...fields }) as Script
const scripto = (s: Script): Stored => ({ source: 'scripto', script: s })
const defined = (id: string, name = id): Stored => ({
  source: 'api',
  definition: Object.freeze({ id, source: 'api', spec: { name }, created: 1, updated: 1 }),
})

t.test('stored checks are found by key; scripts listed in id order, definitions in the order first written, each view following each change', async (t) => {
  const memory = new Memory<number>()
  memory.put('scripto:3', 13, scripto(script(3)))
  memory.put('b', 14, defined('b'))
  memory.put('scripto:1', 11, scripto(script(1)))
  memory.put('a', 15, defined('a'))
  t.same(
    memory.scripts().map((s) => s.id),
    [1, 3],
  )
  t.same([...memory.definitions().keys()], ['b', 'a'])
  t.equal(memory.check('b')!.row, 14)
  t.equal(memory.keyIn(11), 'scripto:1')
  memory.put('scripto:2', 12, scripto(script(2)))
  memory.put('scripto:3', 13, undefined)
  memory.put('b', 14, defined('b', 'Backup'))
  t.same(
    memory.scripts().map((s) => s.id),
    [1, 2],
  )
  t.same([...memory.definitions().keys()], ['b', 'a'], 'a definition written again keeps its place')
  t.equal(memory.definitions().get('b')!.spec.name, 'Backup')
  memory.put('b', 14, undefined)
  memory.put('b', 16, defined('b'))
  t.same([...memory.definitions().keys()], ['a', 'b'], 'one deleted and made again comes last, in its new row')
  t.equal(memory.keyIn(14), undefined)
  t.equal(memory.keyIn(16), 'b')
  t.equal(memory.script(3), undefined)
  t.ok(Object.isFrozen(memory.scripts()))
  memory.clearChecks()
  t.same([memory.scripts().length, memory.definitions().size, memory.check('a')], [0, 0, undefined])
})

t.test("a script's runs are its key's: folded runs replace the row's, follow each change, and go with the script", async (t) => {
  const memory = new Memory<number>()
  const legacy = applySignal(NO_RUNS, { kind: 'start', at: T, rid: 'old' }).runs
  const row = script(7, { name: 'backup', runs: legacy })
  memory.put('scripto:7', 7, scripto(row))
  t.equal(memory.script(7)!.runs, legacy, 'a row with no signal kept keeps the runs it holds (written before runs were folded)')

  const folded = applySignal(NO_RUNS, { kind: 'success', at: T })
  memory.set('scripto:7', folded.runs, 1)
  t.equal(memory.script(7)!.runs, folded.runs, "a signal folded on the key changes the script's runs")
  t.equal(memory.scripts()[0]!.runs, folded.runs, 'and the list')
  t.equal(memory.script(7)!.name, 'backup')
  t.ok(Object.isFrozen(memory.script(7)))
  memory.put('scripto:7', 7, scripto({ ...row, name: 'nightly' }))
  t.same([memory.script(7)!.name, memory.script(7)!.runs], ['nightly', folded.runs], "a row written again takes its key's runs")

  t.same(memory.keepOnly(new Set(['a']), []), [], "the config's ids never forget a script's key")
  t.equal(memory.runs.get('scripto:7'), folded.runs)
  memory.set('b', folded.runs, 1)
  memory.put('b', 8, defined('b'))
  memory.put('scripto:7', 7, undefined)
  memory.put('b', 8, undefined)
  t.equal(memory.runs.get('scripto:7'), undefined, "a deleted check's runs go with it, whatever its source")
  t.equal(memory.state.get('scripto:7'), undefined)
  t.equal(memory.runs.get('b'), undefined)
})

t.test('a patched script keeps its id and its runs, whatever the patch says', async (t) => {
  const runs = applySignal(NO_RUNS, { kind: 'success', at: T }).runs
  const next = patchedScript(script(7, { name: 'backup', runs }), () => ({ name: 'nightly', id: 8, runs: NO_RUNS }) as never)
  t.equal(next.id, 7, 'a patch cannot move a script to another id')
  t.equal(next.name, 'nightly')
  t.equal(next.runs, runs, "the runs are the fold's, not the patch's")
  t.ok(Object.isFrozen(next))
})

t.test("a batch's changes apply in order, each on the one before; a change that throws changes nothing, a retry is not written again", async (t) => {
  const found = new Map([['scripto:7', { row: 7, stored: scripto(script(7, { name: 'backup', status: true })) }]])
  const report = (patch: (s: Script) => Partial<Script>, signal?: Omit<Signal, 'at'> & { at?: number }, key = 'scripto:7'): Change => ({
    key,
    change: (current) => (current?.source === 'scripto' ? scripto(patchedScript(current.script, patch)) : undefined),
    signal: signal === undefined ? undefined : { at: T, ...signal },
  })
  const changes = [
    report(() => ({ status: false }), { kind: 'failure', at: T + 1000, key: 'k1' }),
    report(
      () => {
        throw new Error('refused')
      },
      { kind: 'start', rid: 'r', at: T + 2000 },
    ),
    report((current) => ({ name: `${current.name}.2`, status: !current.status }), { kind: 'success', at: T + 3000 }),
    report(() => ({}), { kind: 'failure', at: T + 4000, key: 'k1' }),
    report(() => ({ name: 'ghost' }), { kind: 'success' }, 'scripto:8'),
  ]
  const folds = new KeyFolds(() => ({ runs: NO_RUNS, state: 0 }), { runs: NO_RUNS, state: 0 })
  const batch = foldChanges(
    changes,
    (key) => found.get(key),
    folds,
    () => 100,
  )
  const after = (c: Change) => {
    const answer = batch.answers.get(c)!
    return 'error' in answer ? answer : (answer.after as { script: Script } | undefined)?.script
  }
  const [first, refused, third, retry, missing] = changes.map(after)
  t.match(first, { name: 'backup', status: false })
  t.match(refused, { error: /refused/ }, 'the refused change is answered with its error')
  t.match(third, { name: 'backup.2', status: true }, 'a change sees the changes before it')
  t.equal((third as Script).runs.open.length, 0, "the refused change's start was not folded")
  t.same(retry, third, 'a retry of a recorded signal changes nothing')
  t.equal(missing, undefined, 'no such check: nothing written')
  t.same(
    folds.latest.get('scripto:7')!.signals.map((s) => s.signal.at),
    [T + 1000, T + 3000],
    "the key's signals to write: neither the refused one nor the retry",
  )
  t.equal(folds.latest.size, 1)
  t.same([...batch.rows.keys()], ['scripto:7'], 'one row written for all of them')
  const row = batch.rows.get('scripto:7')!
  t.equal(row.found, found.get('scripto:7'))
  t.equal((row.after as { script: Script }).script, retry, 'as the last change left it')
  t.equal(row.last, changes[3], 'which answers for the row')
  t.ok(Object.isFrozen(third))
})

t.test(
  'a new check is numbered once; a deleted one takes the signals folded before its deletion with it; a change cannot move a check to another key',
  async (t) => {
    let n = 40
    const number = () => ++n
    const found = new Map([['d', { row: 3, stored: defined('d') }]])
    const create: Change = { key: undefined, change: (_, row) => scripto(script(row(), { name: `new ${row()}` })), signal: { kind: 'success', at: T } }
    const signalled: Change = { key: 'd', change: (current) => current, signal: { kind: 'success', at: T } }
    const remove: Change = { key: 'd', change: () => undefined, signal: undefined }
    const again: Change = { key: 'd', change: () => defined('d', 'again'), signal: { kind: 'start', rid: 'r', at: T + 1 } }
    const moved: Change = { key: 'e', change: () => defined('f'), signal: undefined }
    // What d's signals were at before the batch: a success, four signals kept.
    const kept = { runs: applySignal(NO_RUNS, { kind: 'success', at: T - 1000 }).runs, state: 4 }
    const empty = { runs: NO_RUNS, state: 0 }
    const folds = new KeyFolds((key) => (key === 'd' ? kept : empty), empty)
    const batch = foldChanges([create, signalled, remove, again, moved], (key) => found.get(key), folds, number)
    const made = batch.rows.get('scripto:41')!
    t.match(made, { found: undefined, deleted: false, row: 41 }, 'numbered by the store, its key from its number')
    t.equal((made.after as { script: Script }).script.name, 'new 41', 'the number asked for twice is one')
    t.equal((made.after as { script: Script }).script.runs.lastSignal, T, 'its signal folded on it')
    const d = batch.rows.get('d')!
    t.match(d, { deleted: true, row: 42, last: again }, 'deleted, then made again in a new row')
    t.equal(d.found!.row, 3)
    const d2 = folds.latest.get('d')!
    t.same(
      d2.signals.map((s) => s.signal.kind),
      ['start'],
      'the signal folded before the deletion goes with it',
    )
    t.equal(d2.base, empty, "the one after it starts afresh: the deletion took the key's signals")
    t.equal(d2.runs.lastSignal, T + 1)
    t.equal(d2.runs.open.length, 1)
    t.match(batch.answers.get(moved), { error: /a change of e gave f/ })
    t.notOk(batch.rows.has('e') || batch.rows.has('f'))
  },
)
