// Refreshes at a steady 1,000 req/s in a process of its own (the server under test runs in the
// bench's), then prints the p99 latency in milliseconds: argv url, seconds, ids (comma-separated).
import autocannon from 'autocannon'
import { BENCH_TOKEN } from './fixtures.js'

const [url, seconds, ids] = process.argv.slice(2) as [string, string, string]
const result = await autocannon({
  url,
  connections: 10,
  overallRate: 1000,
  duration: Number(seconds),
  headers: { 'x-token': BENCH_TOKEN },
  requests: ids.split(',').map((id) => ({ method: 'GET' as const, path: `/refresh/${id}` })),
})
if (result.non2xx > 0 || result.errors > 0) throw new Error(`${result.non2xx} non-2xx, ${result.errors} errors`)
process.stdout.write(`${JSON.stringify({ p99: result.latency.p99 })}\n`)
