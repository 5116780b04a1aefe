// The row codec both stores write with (src/store/rows.ts): every check defined in the store is a
// check_def row whose fields are JSON in spec; a script's come back as they went in, and a value
// JSON cannot hold is refused before it is written.
import t from 'tap'
import { NEW_SCRIPT, type ScriptFields } from '../src/domain/script.js'
import type { Stored } from '../src/store/core.js'
import { type CheckDefRow, ScriptFieldError, storedFromRow, storedRow } from '../src/store/rows.js'

const FULL: ScriptFields = {
  ...NEW_SCRIPT,
  name: 'report.py',
  server: 'app2',
  status: false,
  lastExec: Date.UTC(2026, 10, 30, 0, 30),
  periodicity: 1e21,
  schedule: '0 6 * * *',
  tz: 'Asia/Kolkata',
  grace: 900.5,
  maxRuntime: 3600,
  minRuntime: 0,
  failureThreshold: 2,
  recoveryThreshold: 3,
  manualResume: true,
  streak: { failures: 2, successes: 0, failing: true, lastFailure: 5000, lastFailureReason: 'exit status 2' },
}

const row = (fields: ScriptFields, id = 7): CheckDefRow => storedRow(id, { source: 'scripto', script: { ...fields, id } as never })
/** The script a row holds. */
const fromRow = (r: CheckDefRow) => {
  const stored = storedFromRow(r)
  if (stored.source !== 'scripto') throw new Error(`a row of source ${stored.source}`)
  return stored.script
}
/** A script's row: what writing `fields` stores, or the error naming the field. */
const toRow = (fields: ScriptFields) => row(fields)

t.test("a script's fields go into spec under Scripto's names and come back as they went in", async (t) => {
  const written = row(FULL)
  t.equal(written.source, 'scripto')
  t.equal(written.key, 'scripto:7', "its key is its scriptKey, as its signals'")
  t.same(Object.keys(JSON.parse(written.spec)), [
    'name',
    'server',
    'status',
    'last_exec',
    'periodicity',
    'schedule',
    'tz',
    'grace',
    'max_runtime',
    'min_runtime',
    'failure_threshold',
    'recovery_threshold',
    'manual_resume',
  ])
  t.same(fromRow(written), { id: 7, ...FULL })
  for (const periodicity of ['hourly', 'monthly', 3600, null] as const) t.equal(fromRow(row({ ...FULL, periodicity })).periodicity, periodicity)
  t.same(fromRow(row(NEW_SCRIPT)), { id: 7, ...NEW_SCRIPT }, 'a new script, its nulls kept')
})

t.test('a row a migration moved from the columns reads as the columns did', async (t) => {
  // SQLite's json_object of the old columns: flags as 0/1 (manual_resume NULL before it was set), periodicity as text.
  const spec = { name: 'rotate.sh', server: 'db1', status: 0, last_exec: 5000, periodicity: '86400', schedule: null, tz: null, grace: 30.0 }
  const migrated: CheckDefRow = { id: 1, source: 'scripto', key: null, spec: JSON.stringify(spec), created: null, updated: null, run_state: null }
  t.match(fromRow(migrated), { id: 1, name: 'rotate.sh', status: false, lastExec: 5000, periodicity: 86400, grace: 30, maxRuntime: null, manualResume: false })
  t.match(fromRow(migrated).streak, { failures: 1, failing: true }, 'a row from before runs: its last status is its streak')
})

t.test('a value JSON cannot hold, or of the wrong type, is refused with the field named, before anything is written', async (t) => {
  const cases: [Partial<ScriptFields>, RegExp][] = [
    [{ name: null as unknown as string }, /script field name must be text, not null/],
    [{ grace: Number.NaN }, /script field grace must be a finite number or null, not NaN/],
    [{ maxRuntime: Number.POSITIVE_INFINITY }, /max_runtime/],
    [{ status: 1 as unknown as boolean }, /script field status must be true or false, not 1/],
    [{ periodicity: Number.NaN }, /periodicity/],
    [{ tz: 5 as unknown as string }, /script field tz must be text or null, not 5/],
  ]
  for (const [fields, message] of cases) t.throws(() => toRow({ ...FULL, ...fields }), message)
  let error: unknown
  try {
    toRow({ ...FULL, grace: Number.NaN })
  } catch (err) {
    error = err
  }
  t.type(error, ScriptFieldError, 'the drivers fail such a write alone, as one the database refuses')
})

t.test('a definition of the checks API is a row of the same table: its id the key, its spec as the API took it', async (t) => {
  const definition = { id: 'backup', source: 'api', spec: { name: 'Backup', interval: '1h', tags: ['prod'] }, created: 1000, updated: 2000 } as const
  const stored: Stored = { source: 'api', definition }
  const written = storedRow(3, stored)
  t.match(written, { id: 3, key: 'backup', source: 'api', created: 1000, updated: 2000, run_state: null })
  t.same(storedFromRow(written), stored)
})
