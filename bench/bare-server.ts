// The floor: a bare Fastify app answering what statuspage answers, with no work behind it.
import Fastify, { type FastifyReply } from 'fastify'

const app = Fastify({ logger: false })
const refreshed = async (_req: unknown, reply: FastifyReply) => reply.type('application/json; charset=utf-8').send('{"refreshed": 1}')
app.get('/refresh/:id/:signal?', refreshed)
// A check-in with a job's output: the body read, and dropped.
app.addContentTypeParser('text/plain', { parseAs: 'string' }, (_req, body, done) => done(null, body))
app.post('/refresh/:id/:signal?', refreshed)
app.put('/api/v1/script/:id', async (req) => ({ id: Number((req.params as { id: string }).id), ...(req.body as object) }))
await app.listen({ host: '127.0.0.1', port: 0 })
process.stdout.write(`${(app.server.address() as { port: number }).port}\n`)
for (const signal of ['SIGINT', 'SIGTERM'] as const) process.once(signal, () => void app.close().then(() => process.exit(0)))
