// A SIGHUP reload of a large config whose items have all checked in: due times are carried over for
// the items that kept their schedule, so the reload computes no cron occurrence for them.
import { mkdtempSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { Monitor } from '../src/monitor.js'
import { openStore } from '../src/store/open.js'
import { benchConfig } from './fixtures.js'
import { median, type Row } from './table.js'

export async function reloadBench(items = 100_000): Promise<Row> {
  const store = await openStore(join(mkdtempSync(join(tmpdir(), 'statuspage-bench-')), 'sp.db'))
  const config = benchConfig(items, { cron: true })
  const at = Date.now()
  await Promise.all([...config.itemsById.keys()].map((id) => store.recordSignal(id, { kind: 'success', at })))
  const monitor = await Monitor.open(config, store, Date.now)
  const times: number[] = []
  for (let i = 0; i < 3; i++) {
    const next = benchConfig(items, { cron: true })
    const start = performance.now()
    await monitor.reload(next)
    times.push(performance.now() - start)
  }
  await store.close()
  const ms = median(times)
  return {
    what: `reload (SIGHUP) of ${items.toLocaleString('en')} cron items, each checked in, config unchanged`,
    statuspage: `${ms.toFixed(0)} ms`,
    baseline: '',
    ratio: '',
    goal: `< 1000 ms${ms < 1000 ? '' : '  MISSED'}`,
  }
}
