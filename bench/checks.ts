// The checks API at scale: 100,000 checks defined in the store, listed a page at a time with a tag
// filter, and one more written (each write puts every check in force again). In process (inject):
// the server's own work, without a load generator.
import { mkdtempSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { buildApp } from '../src/app.js'
import { openStore } from '../src/store/open.js'
import { BENCH_TOKEN, benchConfig } from './fixtures.js'
import { median, type Row } from './table.js'

export async function checksBench(count = 100_000): Promise<Row[]> {
  const database = join(mkdtempSync(join(tmpdir(), 'statuspage-bench-')), 'sp.db')
  const store = await openStore(database)
  const at = Date.now()
  // A tenth tagged prod, in 50 groups: written in one batch, as a deploy script's PUTs would be over time.
  await Promise.all(
    Array.from({ length: count }, (_, i) =>
      store.changeDefinition(`check-${i}`, () => ({
        id: `check-${i}`,
        source: 'api',
        spec: { name: `Check ${i}`, group: `G${i % 50}`, interval: 600, tags: i % 10 === 0 ? ['prod', 'db'] : ['dev'] },
        created: at,
        updated: at,
      })),
    ),
  )
  await store.close()
  const app = await buildApp({ config: benchConfig(10), database, logger: false })
  const headers = { 'x-token': BENCH_TOKEN }
  const list: number[] = []
  for (let page = 0; page < 20; page++) {
    const start = performance.now()
    const res = await app.inject({ url: `/api/v1/checks?tag=prod&limit=100&offset=${(page * 487) % (count / 10 - 100)}`, headers })
    list.push(performance.now() - start)
    if (res.statusCode !== 200 || res.json<{ checks: unknown[] }>().checks.length !== 100) throw new Error(`list: ${res.statusCode} ${res.body.slice(0, 200)}`)
  }
  const writes: number[] = []
  for (let i = 0; i < 5; i++) {
    const start = performance.now()
    const res = await app.inject({ method: 'PUT', url: `/api/v1/checks/added-${i}`, headers, payload: { name: `Added ${i}`, interval: '1h' } })
    writes.push(performance.now() - start)
    if (res.statusCode !== 201) throw new Error(`put: ${res.statusCode} ${res.body.slice(0, 200)}`)
  }
  await app.close()
  const n = count.toLocaleString('en')
  const listMs = median(list)
  return [
    {
      what: `GET /api/v1/checks?tag=prod of ${n} API checks, a page of 100 (median of 20, in process)`,
      statuspage: `${listMs.toFixed(1)} ms`,
      baseline: '',
      ratio: '',
      goal: `< 100 ms${listMs < 100 ? '' : '  MISSED'}`,
    },
    {
      what: `PUT /api/v1/checks/<new id> among ${n} (median of 5, in process): committed and in force`,
      statuspage: `${median(writes).toFixed(0)} ms`,
      baseline: '',
      ratio: '',
      goal: '',
    },
  ]
}
