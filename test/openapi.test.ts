// The OpenAPI document: served at /api/openapi.json, clean under Redocly's recommended rules, naming
// every route the app serves with its scope and error shape, and good enough that a client
// generated from it (openapi-typescript types, openapi-fetch) type-checks and runs the checks API.
import { execFile } from 'node:child_process'
import { writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { pathToFileURL } from 'node:url'
import { promisify } from 'node:util'
import t from 'tap'
import { config, TOKEN, testApp, yamlConfig } from './helpers/app.js'

const run = promisify(execFile)
/** Redocly's and openapi-typescript's CLIs, quiet and offline. */
const cli = (bin: string, args: string[]) =>
  run(join('node_modules', '.bin', bin), args, { env: { ...process.env, REDOCLY_TELEMETRY: 'off', REDOCLY_SUPPRESS_UPDATE_NOTICE: 'true', NO_COLOR: '1' } })

/** Every route of printRoutes' tree, as `METHOD /path/{param}`; HEAD (Fastify's, with each GET) left out. */
function routesOf(tree: string): string[] {
  const out: string[] = []
  const stack: string[] = []
  for (const line of tree.split('\n')) {
    const m = /^[│ ]*(?:[├└]── )?(\S+) \(([A-Z, ]+)\)$/.exec(line)
    if (m === null) continue
    // Each level of the tree is four characters wide; the root has no branch.
    const level = line.indexOf('── ') === -1 ? 0 : (line.indexOf('── ') + 3) / 4
    stack.length = level
    const parent = stack.at(-1) ?? ''
    const path = parent === '/' ? `/${m[1]}` : `${parent}${m[1]}`
    stack.push(path)
    for (const method of m[2]!.split(', ')) if (method !== 'HEAD') out.push(`${method} ${path.replace(/:(\w+)/g, '{$1}')}`)
  }
  return out.sort()
}

t.test('the document lints clean, and names every route with its scope and the error shape', async (t) => {
  const { app } = await testApp(t, { config: config(yamlConfig({ extra: '  ping_key: ping-key-0123456789abcdef0123456789abcdef\n' })) })
  const res = await app.inject({ url: '/api/openapi.json' })
  t.equal(res.statusCode, 200)
  const doc = res.json() as {
    openapi: string
    paths: Record<string, Record<string, { security: unknown[]; description: string; responses: Record<string, unknown> }>>
  }
  t.equal(doc.openapi, '3.1.0')

  const file = join(t.testdir(), 'openapi.json')
  writeFileSync(file, res.body)
  const lint = await cli('redocly', ['lint', '--format', 'stylish', file]).catch((err: { stdout: string; stderr: string }) => err)
  const failed = 'code' in lint && Boolean(lint.code)
  t.notOk(failed, failed ? `redocly lint fails:\n${lint.stdout}${lint.stderr}` : 'redocly lint passes')
  t.notMatch(lint.stdout, /warning/i, 'with no warning')

  const documented = Object.entries(doc.paths)
    .flatMap(([path, item]) => Object.keys(item).map((method) => `${method.toUpperCase()} ${path}`))
    .sort()
  const served = routesOf(app.printRoutes({ commonPrefix: false })).filter((r) => r !== 'GET /api/openapi.json')
  t.ok(served.length > 30, `${served.length} routes`)
  t.same(documented, served, 'every route the app serves is in the document, and nothing else')

  const op = (method: string, path: string) => doc.paths[path]![method]!
  t.same(op('put', '/api/v1/checks/{id}').security, [{ token: [] }, { bearer: [] }])
  t.match(op('put', '/api/v1/checks/{id}').description, 'Needs the token or a key with the write scope.')
  t.match(op('get', '/api/v1/checks').description, 'the read scope')
  t.match(op('get', '/refresh/{id}').description, 'the ping scope')
  t.match(op('get', '/metrics').description, 'the read scope (statuspage.public: false')
  t.same(op('get', '/-/healthy').security, [], 'health needs nothing')
  t.match(op('post', '/api/v1/checks').responses['4XX'], {
    content: { 'application/json': { schema: { required: ['statusCode', 'code', 'error', 'message'] } } },
  })
})

const CLIENT = `import createClient from 'openapi-fetch'
import type { paths } from './api.js'

/** The checks API end to end, through a client generated from the document. */
export async function exercise(baseUrl: string, token: string) {
  const client = createClient<paths>({ baseUrl, headers: { 'x-token': token } })
  const created = await client.PUT('/api/v1/checks/{id}', { params: { path: { id: 'from-client' } }, body: { name: 'From the client', interval: '1h', tags: ['gen'] } })
  const patched = await client.PATCH('/api/v1/checks/{id}', { params: { path: { id: 'from-client' } }, body: { grace: '5m' } })
  const listed = await client.GET('/api/v1/checks', { params: { query: { tag: ['gen'] } } })
  const refused = await client.POST('/api/v1/checks', { body: { id: 'from-client', name: 'Again' } })
  const deleted = await client.DELETE('/api/v1/checks/{id}', { params: { path: { id: 'from-client' } } })
  return {
    created: created.response.status,
    patched: patched.response.status,
    listed: listed.response.status,
    total: (listed.data as { total?: number } | undefined)?.total,
    refused: [refused.response.status, (refused.error as { code?: string } | undefined)?.code],
    deleted: deleted.response.status,
  }
}
`

t.test('a client generated from the document type-checks and runs the checks API', async (t) => {
  const { app } = await testApp(t, { config: config(yamlConfig()) })
  const dir = t.testdir()
  writeFileSync(join(dir, 'openapi.json'), (await app.inject({ url: '/api/openapi.json' })).body)
  await cli('openapi-typescript', [join(dir, 'openapi.json'), '-o', join(dir, 'api.d.ts')])
  writeFileSync(join(dir, 'client.ts'), CLIENT)
  const tsc = await run(join('node_modules', '.bin', 'tsc'), [
    '--noEmit',
    '--strict',
    '--module',
    'nodenext',
    '--moduleResolution',
    'nodenext',
    '--target',
    'es2022',
    '--skipLibCheck',
    '--types',
    'node',
    join(dir, 'client.ts'),
  ]).catch((err: { stdout: string }) => err)
  const wrong = 'code' in tsc && Boolean(tsc.code)
  t.notOk(wrong, wrong ? `the client does not type-check:\n${tsc.stdout}` : 'the client type-checks against the generated types')

  await app.listen({ host: '127.0.0.1', port: 0 })
  const { port } = app.server.address() as { port: number }
  const { exercise } = (await import(pathToFileURL(join(dir, 'client.ts')).href)) as { exercise: (url: string, token: string) => Promise<unknown> }
  t.same(await exercise(`http://127.0.0.1:${port}`, TOKEN), {
    created: 201,
    patched: 200,
    listed: 200,
    total: 1,
    refused: [409, 'SP_ERR_CONFLICT'],
    deleted: 204,
  })
})
