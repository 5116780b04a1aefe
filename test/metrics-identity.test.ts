// renderFamilies must write exactly what prom-client's registry writes for the same values.
import fc from 'fast-check'
import t from 'tap'
import { naiveRegistry } from '../bench/naive-metrics.js'
import { itemRuns, refreshed, runsOf } from '../bench/fixtures.js'
import { runFieldsOf } from '../src/domain/script.js'
import { snapshot } from '../src/domain/snapshot.js'
import { renderFamilies, type Counts, type Format } from '../src/metrics/families.js'
import type { Script } from '../src/store/contract.js'
import { T0, config, yamlConfig } from './helpers/app.js'

const tricky = config(
  yamlConfig({
    groups: `
    'quote " and \\ back':
      - {name: "line\\nbreak", id: a, tags: [prod, db]}
      - {name: "tab\\there é ✓", id: b, interval: 1.5, tags: [prod]}
    Plain:
      - {name: 'it''s', id: a}
      - {name: never, id: c}
`,
  }),
)
const scripts: Script[] = [
  {
    id: 1,
    name: 'back\\slash "q"',
    server: 'h\nx',
    status: true,
    lastExec: T0 - 1000,
    periodicity: null,
    schedule: null,
    tz: null,
    grace: null,
    ...runFieldsOf(true, null),
  },
  {
    id: 2,
    name: 'failed',
    server: 'h',
    status: false,
    lastExec: T0 - 1234,
    periodicity: 'hourly',
    schedule: null,
    tz: null,
    grace: null,
    ...runFieldsOf(false, T0 - 1234),
  },
  { id: 3, name: 'never', server: 'h', status: true, lastExec: null, periodicity: 90, schedule: null, tz: null, grace: null, ...runFieldsOf(true, null) },
]
const board = itemRuns(
  tricky,
  new Map([
    [
      'a',
      runsOf([
        { kind: 'start', at: T0 - 1700 },
        { kind: 'failure', at: T0 - 500, exitStatus: 3 },
      ]),
    ],
    ...refreshed(new Map([['b', T0 - 2000]])),
  ]),
)
const snap = snapshot(tricky, board.dues, board.runs, scripts, T0)
const counts: Counts = {
  refreshes: [3, 0, 3, 0],
  reports: new Map([
    [1, 2],
    [2, 1],
  ]),
}

for (const format of ['text', 'openmetrics'] as Format[]) {
  t.test(`${format}: the same bytes as prom-client's registry`, async (t) => {
    const expected = await naiveRegistry(() => ({ snapshot: snap, counts }), format).metrics()
    const families = renderFamilies(snap, counts, format).toString()
    const ours = format === 'text' ? `${families}\n` : `${families}\n# EOF\n`
    t.equal(ours, expected)
    t.match(ours, /name="line\\nbreak"/, 'a newline in a label is escaped')
    t.match(ours, /group="quote \\" and \\\\ back"/, 'quotes and backslashes are escaped')
  })
}

t.test('times of any millisecond, and values that are not, are written as prom-client writes them', async (t) => {
  const plain = config(
    yamlConfig({ groups: `\n    G:\n${Array.from({ length: 8 }, (_, i) => `      - {name: n${i}, id: i${i}, interval: 0.001}\n`).join('')}` }),
  )
  const noCounts: Counts = { refreshes: new Float64Array(8), reports: new Map() }
  await fc.assert(
    fc.asyncProperty(
      fc.array(
        fc.oneof(
          fc.integer({ min: 1, max: 2 ** 32 * 1000 + 5000 }),
          fc.double({ min: 0, max: 5e12, noNaN: true }),
          fc.constantFrom(1, 999, 1000, 1001, 4_294_967_295_000, 4_294_967_294_999),
        ),
        { minLength: 8, maxLength: 8 },
      ),
      async (times) => {
        const board = itemRuns(plain, refreshed(new Map(times.map((ms, i) => [`i${i}`, ms]))))
        const s = snapshot(plain, board.dues, board.runs, [], T0)
        const expected = await naiveRegistry(() => ({ snapshot: s, counts: noCounts }), 'text').metrics()
        const ours = `${renderFamilies(s, noCounts, 'text').toString()}\n`
        if (ours !== expected) throw new Error(`differs for ${JSON.stringify(times)}`)
      },
    ),
    { numRuns: 300 },
  )
  t.pass('300 random sets of times')
})
