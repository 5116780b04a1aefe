// The floor of a check-in acknowledged after a PostgreSQL commit: bare Fastify whose requests wait
// for one single-row UPDATE per batch, on one kept connection, batched as the store batches (the
// requests of one turn of the event loop, one batch at a time). No signal is folded, no row of
// the run log written: whatever statuspage does beyond this costs more. Usage: node
// pg-floor-server.js <postgres URL>.
import Fastify from 'fastify'
import pg from 'pg'

const client = new pg.Client({ connectionString: process.argv[2] })
await client.connect()
await client.query('CREATE TABLE IF NOT EXISTS floor (id integer PRIMARY KEY, n bigint NOT NULL)')
await client.query('INSERT INTO floor VALUES (1, 0) ON CONFLICT (id) DO NOTHING')

let waiting: (() => void)[] = []
let running = false
async function run() {
  running = true
  while (waiting.length > 0) {
    await new Promise(setImmediate)
    const batch = waiting
    waiting = []
    await client.query({ name: 'floor', text: 'UPDATE floor SET n = n + $1 WHERE id = 1', values: [batch.length] })
    for (const answer of batch) answer()
  }
  running = false
}

const app = Fastify({ logger: false })
app.get('/refresh/:id/:signal?', async (_req, reply) => {
  await new Promise<void>((resolve) => {
    waiting.push(resolve)
    if (!running) void run()
  })
  return reply.type('application/json; charset=utf-8').send('{"refreshed": 1}')
})
await app.listen({ host: '127.0.0.1', port: 0 })
process.stdout.write(`${(app.server.address() as { port: number }).port}\n`)
for (const signal of ['SIGINT', 'SIGTERM'] as const)
  process.once(
    signal,
    () =>
      void app
        .close()
        .then(() => client.end())
        .then(() => process.exit(0)),
  )
