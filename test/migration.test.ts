// Databases written by an earlier statuspage open in place with nothing lost. The fixtures in
// test/fixtures/v5 were written over HTTP by the code of commit 460fb9b (make.sh there): items with
// runs, outputs and a manual pause; scripts with reports, a start, outputs, a pause and a deleted
// one. Each store opens its fixture with today's code, then takes new writes after the old ones.
import { copyFileSync, readFileSync } from 'node:fs'
import { join } from 'node:path'
import pg from 'pg'
import t from 'tap'
import { buildApp } from '../src/app.js'
import { loadConfig, parseConfig } from '../src/config/load.js'
import { isScriptKey } from '../src/domain/check.js'
import { FakeClock } from './helpers/app.js'
import { backends, type Backend } from './helpers/backends.js'

const FIXTURES = join(import.meta.dirname, 'fixtures', 'v5')
const loaded = loadConfig(join(FIXTURES, 'config.yml'))
if (!loaded.ok) throw new Error(loaded.errors.join('\n'))
const CONFIG = loaded.config
const auth = { 'x-token': CONFIG.token }
/** After the fixtures were written (2026-12-02 17:02 UTC): the signals are minutes old. */
const NOW = Date.UTC(2026, 11, 2, 17, 30)

/** A database of `backend` holding its fixture, as the earlier code left it. */
async function fixture(t: Parameters<Backend['fresh']>[0], backend: Backend): Promise<string> {
  const location = await backend.fresh(t)
  if (backend.name === 'SQLite') {
    copyFileSync(join(FIXTURES, 'statuspage.db'), location)
    return location
  }
  const client = new pg.Client({ connectionString: location })
  await client.connect()
  try {
    await client.query(readFileSync(join(FIXTURES, 'postgres.sql'), 'utf8'))
  } finally {
    await client.end()
  }
  return location
}

const open = async (t: Parameters<Backend['fresh']>[0], database: string) => {
  const app = await buildApp({ config: CONFIG, database, now: new FakeClock(NOW).now, logger: false, metricsCacheMs: 0 })
  t.teardown(() => app.close())
  return app
}
type App = Awaited<ReturnType<typeof open>>

const get = async (app: App, url: string) => {
  const res = await app.inject({ url, headers: auth })
  return { status: res.statusCode, body: res.json() as Record<string, unknown> }
}

/** A run log as the fields a person reads, newest first; the times and seqs each strictly descending. */
async function log(t: Parameters<Backend['fresh']>[0], app: App, url: string) {
  const { status, body } = await get(app, `${url}?limit=100`)
  t.equal(status, 200, url)
  const runs = body.runs as Record<string, unknown>[]
  for (let i = 1; i < runs.length; i++) {
    t.ok((runs[i - 1]!.seq as number) > (runs[i]!.seq as number), `${url}: seqs descend`)
    t.ok(Date.parse(runs[i - 1]!.time as string) >= Date.parse(runs[i]!.time as string), `${url}: times descend`)
  }
  return runs.map((r) => [r.kind, r.rid, r.exit_status, r.output, r.ignored, r.user_agent])
}

const UA = 'fixture/1.0'

for (const backend of backends(t)) {
  t.test(`${backend.name}: a database written before one check store keeps every item, script, signal, output and pause`, async (t) => {
    const database = await fixture(t, backend)
    const app = await open(t, database)

    t.same(await log(t, app, '/api/v1/items/backup/runs'), [
      ['failure', 'r2', 1, 'dumping db...\nERROR: disk full\n', false, UA],
      ['start', 'r2', null, null, false, UA],
      ['success', 'r1', null, 'dumping db...\ndone: 3 files\n', false, UA],
      ['start', 'r1', null, null, false, UA],
    ])
    t.same(await log(t, app, '/api/v1/items/web/runs'), [
      ['log', null, null, 'a note', false, UA],
      ['success', null, null, null, false, UA],
      ['success', null, null, null, false, UA],
    ])
    t.same(await log(t, app, '/api/v1/items/sync/runs'), [
      ['success', null, null, null, true, UA],
      ['pause', null, null, null, false, UA],
      ['success', null, null, 'synced 12 objects', false, UA],
    ])
    t.same(await log(t, app, '/api/v1/script/1/runs'), [
      ['failure', 's1', 2, 'rotate: permission denied\n', false, UA],
      ['start', 's1', null, null, false, UA],
      ['success', null, null, null, false, UA],
    ])
    t.same(await log(t, app, '/api/v1/script/3/runs'), [
      ['failure', null, null, 'while paused\n', true, UA],
      ['pause', null, null, null, false, UA],
      ['success', null, null, '42 rows\n', false, UA],
    ])

    const items = Object.fromEntries(((await get(app, '/api/v1/status')).body.groups as { items: Record<string, unknown>[] }[])[0]!.items.map((i) => [i.id, i]))
    t.match(items.backup, { status: 'failed', reason: 'exit status 1', consecutive_failures: 1, last_start: String })
    t.match(items.web, { status: 'up', last_refresh: String })
    t.match(items.sync, { status: 'paused', manual_resume: true, paused_since: String })

    t.same((await get(app, '/api/v1/script/2')).status, 404, 'a script deleted before stays deleted')
    const rotate = await get(app, '/api/v1/script/1')
    t.match(rotate.body, {
      id: 1,
      name: 'rotate.sh',
      server: 'db1',
      status: false,
      last_exec: '2026-11-30T11:00:00',
      periodicity: 'hourly',
      consecutive_failures: 1,
      reason: String,
    })
    const report = await get(app, '/api/v1/script/3')
    t.match(report.body, {
      id: 3,
      name: 'report.py',
      status: true,
      last_exec: '2026-11-30T00:30:00',
      schedule: '0 6 * * *',
      tz: 'Asia/Kolkata',
      grace: 900,
      max_runtime: 3600,
      failure_threshold: 2,
      manual_resume: true,
      state: 'paused',
    })

    // New writes go after the old ones: a new script takes a new id, new signals later seqs.
    const created = await app.inject({ method: 'POST', url: '/api/v1/script', headers: auth, payload: { name: 'new.sh', server: 'db2', status: 1 } })
    t.equal(created.json().id, 4, 'ids are never reused, a deleted one included')
    const oldTop = ((await get(app, '/api/v1/script/1/runs')).body.runs as { seq: number }[])[0]!.seq
    const itemTop = ((await get(app, '/api/v1/items/web/runs')).body.runs as { seq: number }[])[0]!.seq
    await app.inject({ method: 'PUT', url: '/api/v1/script/1', headers: auth, payload: { status: 1, output: 'fixed' } })
    await app.inject({ url: '/refresh/web', headers: auth })
    const scriptTop = ((await get(app, '/api/v1/script/1/runs')).body.runs as { seq: number; output: string }[])[0]!
    t.ok(scriptTop.seq > Math.max(oldTop, itemTop), 'a new report comes after every old signal')
    t.equal(scriptTop.output, 'fixed')
    t.ok(((await get(app, '/api/v1/items/web/runs')).body.runs as { seq: number }[])[0]!.seq > scriptTop.seq)
    t.match((await get(app, '/api/v1/script/1')).body, { status: true, consecutive_failures: 0 })

    // A reload that drops an item deletes that item's log, and no script's: they share one log.
    const fewer = parseConfig(readFileSync(join(FIXTURES, 'config.yml'), 'utf8').replace(/.*id: sync.*\n/, ''), 'config.yml')
    if (!fewer.ok) throw new Error(fewer.errors.join('\n'))
    await app.monitor.reload(fewer.config)
    const keys = [...app.monitor.runs().keys()].sort()
    t.same(
      keys.filter((key) => !isScriptKey(key)),
      ['backup', 'web'],
      "the dropped item's runs go",
    )
    t.same(keys.filter(isScriptKey), ['scripto:1', 'scripto:3', 'scripto:4'], "and no script's: a script's runs are folded from its signals as an item's")
    t.equal(((await get(app, '/api/v1/script/3/runs')).body.runs as unknown[]).length, 3)

    // And all of it again after a restart on the migrated database.
    await app.close()
    const again = await open(t, database)
    t.equal(((await get(again, '/api/v1/script/1/runs')).body.runs as unknown[]).length, 4)
    t.equal(((await get(again, '/api/v1/items/backup/runs')).body.runs as unknown[]).length, 4)
    t.equal(((await get(again, '/api/v1/items/web/runs')).body.runs as unknown[]).length, 4)
    t.equal((await get(again, '/api/v1/script/4')).status, 200)
  })
}
