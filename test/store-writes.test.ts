// The writes' queue and the order a batch runs them in (src/store/writes.ts), alone; the contract
// suite (store.test.ts) runs them through both drivers.
import t from 'tap'
import { batchSteps, Writes, type Write } from '../src/store/writes.js'

const settles = { resolve: () => {}, reject: (_: unknown) => {} }
const signal = (id: string, at = 1, reject = settles.reject): Write => ({
  kind: 'signal',
  id,
  signal: { kind: 'success', at },
  generation: undefined,
  ...settles,
  reject,
})
const change = (key: string | undefined, reject = settles.reject): Write => ({
  kind: 'change',
  key,
  change: (current) => current,
  signal: undefined,
  ...settles,
  reject,
})
const forget = (...ids: string[]): Write => ({ kind: 'forget', ids })

t.test("a batch deletes forgotten ids' rows first, then folds every signal, then runs the changes in the order they came", async (t) => {
  const writes = [signal('a'), change('scripto:1'), change('d'), forget('x'), change(undefined), signal('b'), change('scripto:1'), forget('y', 'z')]
  const { forget: gone, signals, changes } = batchSteps(writes)
  t.same(gone, ['x', 'y', 'z'])
  t.same(signals, [writes[0], writes[5]], 'every signal, in the order queued')
  t.same(changes, [writes[1], writes[2], writes[4], writes[6]], 'every change, whatever its source, in the order queued')
})

t.test('the queue wakes its driver when it gains a write while empty, and hands over what is queued, in order', async (t) => {
  let woken = 0
  const queue = new Writes(() => woken++)
  queue.push(signal('a'))
  queue.push(change('scripto:1'))
  t.equal(woken, 1, 'once for a queue that was empty')
  t.equal(queue.size, 2)
  t.same(
    queue.peek().map((w) => w.kind),
    ['signal', 'change'],
  )
  const taken = queue.take()
  t.same(
    taken.map((w) => w.kind),
    ['signal', 'change'],
  )
  t.equal(queue.size, 0)
  queue.push(signal('b'))
  t.equal(woken, 2, 'again once the batch took what was queued')
})

t.test('an id is pending from its signal being queued until the batch that took it has ended', async (t) => {
  const queue = new Writes(() => {})
  queue.push(signal('a'))
  queue.push(signal('a', 2))
  queue.push(signal('b'))
  queue.push(change('scripto:1'))
  t.same([...queue.pendingIds()], ['a', 'b'], 'queued')
  const first = queue.take()
  queue.push(signal('b', 3))
  t.same([...queue.pendingIds()], ['a', 'b'], 'under way')
  queue.settled(first)
  t.same([...queue.pendingIds()], ['b'], 'a settled; b has a signal still queued')
  queue.settled(queue.take())
  t.same([...queue.pendingIds()], [])
})

t.test('failAll fails every queued write with the error, drops the forgets, and leaves no id pending', async (t) => {
  const queue = new Writes(() => {})
  const failed: unknown[] = []
  const err = new Error('down')
  const reject = (e: unknown) => {
    failed.push(e)
  }
  queue.push(signal('a', 1, reject))
  queue.push(forget('x'))
  queue.push(change('scripto:1', reject))
  queue.failAll(err)
  t.same(failed, [err, err])
  t.equal(queue.size, 0)
  t.same([...queue.pendingIds()], [])
})
