// The status snapshot built in slices (snapshotSteps) is the snapshot built at once, and lets
// other work run while it is built.
import t from 'tap'
import { snapshot, snapshotSteps } from '../../src/domain/snapshot.js'
import { benchConfig, benchRuns, benchScripts, itemRuns } from '../../bench/fixtures.js'

const NOW = Date.UTC(2026, 11, 2, 12)

t.test('20,000 items: built in slices it yields between them, and is the snapshot built at once', async (t) => {
  const config = benchConfig(20_000)
  const { dues, runs } = itemRuns(config, benchRuns(config, NOW))
  const scripts = benchScripts(50, NOW)
  const steps = snapshotSteps(config, dues, runs, scripts, NOW)
  let yields = 0
  let step = steps.next()
  while (!step.done) {
    yields++
    step = steps.next()
  }
  t.ok(yields >= 2, `yielded ${yields} times`)
  const whole = snapshot(config, dues, runs, scripts, NOW)
  t.same(step.value, whole)
  t.ok(whole.itemsDown > 0 && whole.itemsDown < 20_000, `some items down (${whole.itemsDown}): the count is compared, not trivially 0`)
})

t.test('an item that checks in between two slices is shown as it is when its slice is read', async (t) => {
  const config = benchConfig(20_000)
  const { dues, runs } = itemRuns(config, benchRuns(config, NOW))
  const last = config.items.length - 1
  const steps = snapshotSteps(config, dues, runs, [], NOW)
  steps.next()
  const later = { runs: { ...runs[last]!.runs, lastSignal: NOW }, streak: runs[last]!.streak }
  runs[last] = later
  let step = steps.next()
  while (!step.done) step = steps.next()
  t.equal(step.value.items[last]!.lastRefresh, NOW)
})
