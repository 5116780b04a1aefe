import t from 'tap'
import { RUN_KEYS, auth, testApp } from './helpers/app.js'

type App = Awaited<ReturnType<typeof testApp>>['app']
const json = { ...auth, 'content-type': 'application/json' }

async function seeded(t: Parameters<typeof testApp>[0]) {
  const { app } = await testApp(t)
  const rows = [
    { name: 'backup.sh', server: 'db1', status: 1, last_exec: '2026-01-15T10:00:00' },
    { name: 'backup.sh', server: 'db2', status: 0, last_exec: '2026-01-15T09:00:00' },
    { name: 'rotate.sh', server: 'web1', status: 1, last_exec: '2026-01-14T23:00:00', periodicity: 'weekly' },
    { name: 'report.py', server: 'web1', status: 1 },
  ]
  for (const row of rows) await app.inject({ method: 'POST', url: '/api/v1/script', headers: json, payload: row })
  for (let i = 0; i < 21; i++) {
    await app.inject({ method: 'POST', url: '/api/v1/script', headers: json, payload: { name: `bulk-${i}.sh`, server: 'batch', status: 1 } })
  }
  return app
}

const list = async (app: App, query: Record<string, unknown>) => {
  const params = new URLSearchParams()
  for (const [k, v] of Object.entries(query)) params.set(k, typeof v === 'string' ? v : JSON.stringify(v))
  return app.inject({ url: `/api/v1/script?${params}` })
}
const ids = (res: { json(): { objects: { id: number }[] } }) => res.json().objects.map((o) => o.id)

t.test("the list uses Scripto's envelope, 10 per page by default", async (t) => {
  const app = await seeded(t)
  const res = await list(app, {})
  t.equal(res.statusCode, 200)
  const body = res.json()
  t.same(Object.keys(body), ['num_results', 'objects', 'page', 'total_pages'])
  t.same([body.num_results, body.page, body.total_pages], [25, 1, 3])
  t.same(ids(res), [1, 2, 3, 4, 5, 6, 7, 8, 9, 10])
  t.same(Object.keys(body.objects[0]), [
    'id',
    'last_exec',
    'name',
    'server',
    'status',
    'periodicity',
    'schedule',
    'tz',
    'grace',
    'state',
    'next_due',
    'deadline',
    ...RUN_KEYS,
  ])
})

t.test('page and results_per_page page through the results', async (t) => {
  const app = await seeded(t)
  const last = await list(app, { page: '3', results_per_page: '10' })
  t.same(ids(last), [21, 22, 23, 24, 25])
  t.same(last.json().total_pages, 3)
  const beyond = await list(app, { page: '9' })
  t.same(ids(beyond), [])
  const big = await list(app, { results_per_page: '100' })
  t.equal(big.json().objects.length, 25)
  t.equal(big.json().total_pages, 1)
})

t.test('page and results_per_page out of range are 400s naming them', async (t) => {
  const app = await seeded(t)
  for (const [query, message] of [
    [{ results_per_page: '101' }, 'querystring.results_per_page: must be at most 100'],
    [{ results_per_page: '0' }, 'querystring.results_per_page: must be at least 1'],
    [{ page: '0' }, 'querystring.page: must be at least 1'],
    [{ page: 'two' }, 'querystring.page: must be integer'],
  ] as const) {
    const res = await list(app, query)
    t.equal(res.statusCode, 400)
    t.equal(res.json().message, message)
  }
})

t.test('q filters with each operator', async (t) => {
  const app = await seeded(t)
  const cases: [unknown, number[]][] = [
    [[{ name: 'name', op: '==', val: 'backup.sh' }], [1, 2]],
    [
      [
        { name: 'name', op: 'eq', val: 'backup.sh' },
        { name: 'status', op: '==', val: false },
      ],
      [2],
    ],
    [[{ name: 'status', op: '==', val: 0 }], [2]],
    [[{ name: 'server', op: '!=', val: 'batch' }], [1, 2, 3, 4]],
    [[{ name: 'last_exec', op: '<', val: '2026-01-15' }], [3]],
    [[{ name: 'last_exec', op: '>=', val: '2026-01-15T09:00:00' }], [1, 2]],
    [[{ name: 'last_exec', op: '>', val: '2026-01-15T11:00:00+02:00' }], [1]],
    [[{ name: 'id', op: '<=', val: 2 }], [1, 2]],
    [[{ name: 'name', op: 'like', val: 'r%' }], [3, 4]],
    [[{ name: 'server', op: 'in', val: ['db2', 'web1'] }], [2, 3, 4]],
    [[{ name: 'id', op: 'in', val: [] }], []],
    [
      [
        { name: 'last_exec', op: 'is_null' },
        { name: 'server', op: '!=', val: 'batch' },
      ],
      [4],
    ],
    [[{ name: 'last_exec', op: 'is_not_null' }], [1, 2, 3]],
    [[{ name: 'periodicity', op: '==', val: 'weekly' }], [3]],
    [
      [
        { name: 'last_exec', op: '==', val: null },
        { name: 'id', op: '<', val: 6 },
      ],
      [4, 5],
    ],
  ]
  for (const [filters, expected] of cases) {
    const res = await list(app, { q: { filters }, results_per_page: '100' })
    t.equal(res.statusCode, 200, JSON.stringify(filters))
    t.same(ids(res), expected, JSON.stringify(filters))
  }
})

t.test('q order_by sorts; limit and offset choose the results that pages then split', async (t) => {
  const app = await seeded(t)
  const filters = [{ name: 'server', op: '!=', val: 'batch' }]
  const byDate = await list(app, { q: { filters, order_by: [{ field: 'last_exec', direction: 'desc' }] } })
  t.same(ids(byDate), [1, 2, 3, 4], 'nulls last when descending')
  const byName = await list(app, { q: { filters, order_by: [{ field: 'name' }, { field: 'server', direction: 'desc' }] } })
  t.same(ids(byName), [2, 1, 4, 3])
  const window = await list(app, { q: { limit: 5, offset: 2 }, results_per_page: '2', page: '3' })
  t.same(ids(window), [7])
  t.same([window.json().num_results, window.json().total_pages], [5, 3])
})

t.test('a malformed q is a 400 that says what is wrong', async (t) => {
  const app = await seeded(t)
  const broken = await app.inject({ url: `/api/v1/script?q=${encodeURIComponent('{')}` })
  t.equal(broken.statusCode, 400)
  t.match(broken.json().message, /^q: is not valid JSON \(.*position 1/, "JSON.parse's wording varies with the Node version")
  const cases: [string, string][] = [
    ['[]', 'q: must be object'],
    ['{"filter": []}', "q: unknown key 'filter' (allowed: filters, order_by, limit, offset)"],
    ['{"filters": [{"name": "nme", "op": "==", "val": 1}]}', 'q.filters[0].name: must be one of: id, last_exec, name, server, status, periodicity'],
    [
      '{"filters": [{"name": "name", "op": "~", "val": 1}]}',
      'q.filters[0].op: must be one of: ==, eq, equals, equal_to, !=, ne, neq, not_equal_to, <, lt, >, gt, <=, le, lte, leq, >=, ge, gte, geq, like, in, is_null, is_not_null',
    ],
    ['{"filters": [{"name": "name", "op": "=="}]}', "q.filters[0].val: is required with op '=='"],
    ['{"filters": [{"name": "id", "op": "==", "val": "1"}]}', 'q.filters[0].val: must be an integer'],
    ['{"filters": [{"name": "last_exec", "op": "<", "val": "soon"}]}', 'q.filters[0].val: must be an ISO 8601 date or date-time'],
    ['{"filters": [{"name": "status", "op": "in", "val": [true, "x"]}]}', 'q.filters[0].val[1]: must be true, false, 1 or 0'],
    ['{"filters": [{"name": "status", "op": "in", "val": 1}]}', 'q.filters[0].val: must be a list of at most 1000 values'],
    ['{"filters": [{"name": "id", "op": "like", "val": "1%"}]}', 'q.filters[0].name: like works on name and server only'],
    ['{"order_by": [{"field": "name", "direction": "up"}]}', 'q.order_by[0].direction: must be one of: asc, desc'],
    ['{"limit": -1}', 'q.limit: must be at least 0'],
    ['{"offset": 1e20}', 'q.offset: must be at most 9007199254740991'],
    ['{"limit": 18446744073709551616}', 'q.limit: must be at most 9007199254740991'],
    ['{"offset": 1.5}', 'q.offset: must be integer'],
  ]
  for (const [q, message] of cases) {
    const res = await app.inject({ url: `/api/v1/script?q=${encodeURIComponent(q)}` })
    t.equal(res.statusCode, 400, q)
    t.same(res.json(), { statusCode: 400, code: 'SP_ERR_BAD_REQUEST', error: 'Bad Request', message }, q)
  }
})

t.test('the largest offset, limit and page a client may send answer an empty page, not an error', async (t) => {
  const app = await seeded(t)
  for (const [q, page] of [
    ['{"offset": 9007199254740991}', '1'],
    ['{"limit": 9007199254740991, "offset": -0}', '1000000000'],
    ['{"offset": 1e3}', '1'],
  ]) {
    const res = await app.inject({ url: `/api/v1/script?page=${page}&q=${encodeURIComponent(q!)}` })
    t.equal(res.statusCode, 200, `${q} page ${page}`)
    t.same(res.json().objects, [], `${q} page ${page}`)
  }
  for (const [query, message] of <[string, string][]>[
    ['page=1e20', 'querystring.page: must be at most 1000000000'],
    ['page=1e309', 'querystring.page: must be at most 1000000000'],
    ['results_per_page=1e309', 'querystring.results_per_page: must be at most 100'],
  ]) {
    const res = await app.inject({ url: `/api/v1/script?${query}` })
    t.equal(res.statusCode, 400, query)
    t.equal(res.json().message, message, query)
  }
})

t.test('SQL in a filter value is only ever a value', async (t) => {
  const app = await seeded(t)
  const res = await list(app, { q: { filters: [{ name: 'name', op: '==', val: "x' OR '1'='1" }] } })
  t.same(ids(res), [])
  t.equal(app.monitor.scripts().length, 25)
})
