import t from 'tap'
import { NO_WINDOWS } from '../../src/domain/maintenance.js'
import { parseScriptoDate } from '../../src/domain/dates.js'
import {
  NEW_SCRIPT,
  periodSeconds,
  queryScripts,
  reportedFields,
  runFieldsOf,
  type Script,
  type ScriptFields,
  type ScriptQuery,
} from '../../src/domain/script.js'
import { scriptStatus } from '../../src/domain/snapshot.js'

const now = Date.UTC(2026, 0, 15, 12, 30, 45, 500)

t.test("the named periods are Scripto's 1, 24, 168 and 730 hours; a number is seconds", async (t) => {
  t.same(
    ['hourly', 'daily', 'weekly', 'monthly', 90].map((p) => periodSeconds(p as never)),
    [3600, 86_400, 604_800, 2_628_000, 90],
  )
})

const DEFAULTS = { periodicity: 'daily', tz: 'UTC', grace: undefined, maintenance: NO_WINDOWS } as const
const status = (lastExec: number | null, ok: boolean, periodicity: 'daily' | 'hourly') =>
  scriptStatus(
    { id: 1, name: 's', server: 'h', status: ok, lastExec, periodicity, schedule: null, tz: null, grace: null, ...runFieldsOf(ok, lastExec) },
    DEFAULTS,
    now,
  ).state

t.test('a script is late only once now is past last_exec + period', async (t) => {
  const day = 86_400_000
  t.equal(status(now - day, true, 'daily'), 'ok', 'exactly one period ago')
  t.equal(status(now - day - 1, true, 'daily'), 'late', 'one millisecond more')
  t.equal(status(now - day - 1, false, 'daily'), 'late', 'late wins over failed')
})

t.test('a script that never ran is never; a failed report is failed until it is late', async (t) => {
  t.equal(status(null, true, 'hourly'), 'never')
  t.equal(status(null, false, 'hourly'), 'never')
  t.equal(status(now - 1000, false, 'hourly'), 'failed')
  t.equal(status(now - 1000, true, 'hourly'), 'ok')
})

t.test('Scripto date keywords mean now and today', async (t) => {
  t.equal(parseScriptoDate('CURRENT_TIMESTAMP', now), now)
  t.equal(parseScriptoDate('LOCALTIMESTAMP', now), now)
  t.equal(parseScriptoDate('CURRENT_DATE', now), Date.UTC(2026, 0, 15))
  t.equal(parseScriptoDate('current_timestamp', now), undefined, 'matched exactly, as Scripto did')
})

t.test('ISO 8601 dates and date-times are read as UTC unless they carry an offset', async (t) => {
  const cases: [string, number][] = [
    ['2017-08-02T14:16:25', Date.UTC(2017, 7, 2, 14, 16, 25)],
    ['2017-08-02 14:16:25', Date.UTC(2017, 7, 2, 14, 16, 25)],
    ['2017-08-02T14:16', Date.UTC(2017, 7, 2, 14, 16)],
    ['2017-08-02', Date.UTC(2017, 7, 2)],
    ['2017-08-02T14:16:25.25Z', Date.UTC(2017, 7, 2, 14, 16, 25, 250)],
    ['2017-08-02T14:16:25+02:00', Date.UTC(2017, 7, 2, 12, 16, 25)],
    ['2017-08-02T14:16:25-0330', Date.UTC(2017, 7, 2, 17, 46, 25)],
  ]
  for (const [text, ms] of cases) t.equal(parseScriptoDate(text, now), ms, text)
})

t.test('anything else is refused, dates that do not exist included', async (t) => {
  for (const text of ['', 'yesterday', '2026-02-30', '2026-13-01', '2026-01-01T24:00:00', '2026-1-1', '1501682185', '2017-08-02T14:16:25+2']) {
    t.equal(parseScriptoDate(text, now), undefined, JSON.stringify(text))
  }
})

t.test("a script query filters, orders and pages as SQLite did Scripto's q", async (t) => {
  let id = 0
  const script = (name: string, more: Partial<Script> = {}): Script => ({ ...NEW_SCRIPT, id: ++id, name, server: 'h', ...more })
  const scripts = [
    script('Backup.sh', { lastExec: 3000, periodicity: 'daily' }),
    script('backup-db.sh', { lastExec: null, status: false }),
    script('zeta.sh', { lastExec: 1000, server: 'other', periodicity: 90 }),
    script('a_b.sh', { lastExec: 2000 }),
  ]
  const names = (query: Partial<ScriptQuery>, among = scripts) => {
    const found = queryScripts(among, { filters: [], orderBy: [], limit: 100, offset: 0, ...query })
    return { total: found.total, names: found.scripts.map((s) => s.name) }
  }
  t.same(names({ filters: [{ field: 'name', op: 'like', value: 'backup%' }] }), { total: 2, names: ['Backup.sh', 'backup-db.sh'] }, 'like ignores case')
  t.same(names({ filters: [{ field: 'name', op: 'like', value: 'a\\_%' }] }), { total: 0, names: [] }, 'like has no escape character')
  t.same(names({ filters: [{ field: 'name', op: 'like', value: '______-%' }] }), { total: 1, names: ['backup-db.sh'] }, '_ is one character')
  t.same(
    names({ orderBy: [{ field: 'last_exec', direction: 'asc' }] }),
    { total: 4, names: ['backup-db.sh', 'zeta.sh', 'a_b.sh', 'Backup.sh'] },
    'nulls first going up',
  )
  t.same(
    names({ orderBy: [{ field: 'last_exec', direction: 'desc' }] }),
    { total: 4, names: ['Backup.sh', 'a_b.sh', 'zeta.sh', 'backup-db.sh'] },
    'nulls last going down',
  )
  t.same(
    names({ orderBy: [{ field: 'name', direction: 'asc' }] }),
    { total: 4, names: ['Backup.sh', 'a_b.sh', 'backup-db.sh', 'zeta.sh'] },
    'names in byte order',
  )
  t.same(names({ filters: [{ field: 'last_exec', op: '==', value: null }] }), { total: 1, names: ['backup-db.sh'] }, '== null matches null')
  t.same(names({ filters: [{ field: 'last_exec', op: '!=', value: 1000 }] }), { total: 3, names: ['Backup.sh', 'backup-db.sh', 'a_b.sh'] }, '!= keeps nulls')
  t.same(
    names({ filters: [{ field: 'last_exec', op: '<', value: 5000 }] }),
    { total: 3, names: ['Backup.sh', 'zeta.sh', 'a_b.sh'] },
    'any other test of null fails',
  )
  t.same(names({ filters: [{ field: 'periodicity', op: 'in', value: ['90', 'daily'] }] }), { total: 2, names: ['Backup.sh', 'zeta.sh'] })
  t.same(names({ filters: [{ field: 'periodicity', op: 'is_null' }] }), { total: 2, names: ['backup-db.sh', 'a_b.sh'] })
  t.same(names({ filters: [{ field: 'id', op: 'in', value: [] }] }), { total: 0, names: [] })
  t.same(
    names({
      filters: [
        { field: 'status', op: '==', value: 0 },
        { field: 'server', op: '==', value: 'h' },
      ],
    }),
    { total: 1, names: ['backup-db.sh'] },
  )
  t.same(names({ filters: [{ field: 'last_exec', op: '>=', value: 2000 }] }), { total: 2, names: ['Backup.sh', 'a_b.sh'] })
  t.same(names({ limit: 2, offset: 1 }), { total: 4, names: ['backup-db.sh', 'zeta.sh'] }, 'total counts without limit and offset')
  t.same(names({ limit: Number.MAX_SAFE_INTEGER, offset: Number.MAX_SAFE_INTEGER }), { total: 4, names: [] })
  t.same(names({ filters: [{ field: 'id', op: '>', value: Number.MAX_SAFE_INTEGER }] }), { total: 0, names: [] }, 'the largest id a client can send')

  const wide = [script('\u{1F600}.sh'), script('\uFFFD.sh'), script('\u00C9t\u00E9.sh'), script('\u00E9t\u00E9.sh')]
  t.same(
    names({ orderBy: [{ field: 'name', direction: 'asc' }] }, wide).names,
    ['\u00C9t\u00E9.sh', '\u00E9t\u00E9.sh', '\uFFFD.sh', '\u{1F600}.sh'],
    'in code point order, as UTF-8 bytes are',
  )
  t.same(
    names({ filters: [{ field: 'name', op: 'like', value: '\u00E9%' }] }, wide).names,
    ['\u00E9t\u00E9.sh'],
    'case is ignored for ASCII letters only, as SQLite does',
  )
  t.same(
    names({ filters: [{ field: 'name', op: 'like', value: '_.sh' }] }, wide).names,
    ['\u{1F600}.sh', '\uFFFD.sh'],
    '_ is one character beyond the plane too',
  )
})

t.test('a like pattern of many % is matched without backtracking: at most length x length steps', async (t) => {
  const long = { ...NEW_SCRIPT, id: 1, name: 'a'.repeat(5000) } as Script
  const like = (value: string) => queryScripts([long], { filters: [{ field: 'name', op: 'like', value }], orderBy: [], limit: 10, offset: 0 }).total
  // A backtracking matcher (a regular expression) would not finish these within the test's time.
  t.equal(like(`${'%a'.repeat(200)}%b`), 0)
  t.equal(like(`${'%a'.repeat(200)}%`), 1)
  t.equal(like(`${'%a'.repeat(5001)}`), 0, 'one a more than the name has')
})

t.test("a report's fields: the patch, and its run judged by the limits the patch gives; a held report changes no run and no status", async (t) => {
  const failing = (patch: Partial<ScriptFields>) => reportedFields(NEW_SCRIPT, patch, { kind: 'failure', at: 1000 })
  t.match(failing({ status: false }), { status: false, streak: { failures: 1, failing: true } }, 'one failure is down by the default threshold')
  t.match(
    failing({ status: false, failureThreshold: 3 }),
    { failureThreshold: 3, streak: { failures: 1, failing: false } },
    'the threshold sent with it applies',
  )
  const held = reportedFields(NEW_SCRIPT, { status: false, lastExec: 900, server: 'h2' }, { kind: 'failure', at: 1000, ignored: true })
  t.same(held.server, 'h2', 'its fields apply')
  t.notOk('status' in held || 'lastExec' in held, 'what it says of its run does not')
  t.same(held.streak, NEW_SCRIPT.streak, 'nor does the run')
  t.same(reportedFields(NEW_SCRIPT, { name: 'x' }, undefined), { name: 'x' }, 'a change of fields only')
  const seen: ScriptFields[] = []
  reportedFields({ ...NEW_SCRIPT, schedule: '0 3 * * *' }, { tz: 'Europe/Berlin' }, undefined, (next) => seen.push(next))
  t.match(seen, [{ schedule: '0 3 * * *', tz: 'Europe/Berlin' }], 'check sees the script as it would be stored')
  t.throws(
    () =>
      reportedFields(NEW_SCRIPT, { name: 'x' }, undefined, () => {
        throw new Error('refused')
      }),
    /refused/,
  )
})
