import { readFileSync, writeFileSync, mkdirSync } from 'node:fs'
import { join } from 'node:path'
import t from 'tap'
import { loadConfig, parseConfig } from '../src/config/load.js'
import { DEFAULT_LIMITS } from '../src/domain/run.js'
import { configSchema } from '../src/config/schema.js'
import { TOKEN, config, yamlConfig } from './helpers/app.js'

const errorsOf = (text: string) => {
  const r = parseConfig(text, 'config.yml')
  return r.ok ? [] : r.errors
}

t.test('the shipped config.yml loads as it is', async (t) => {
  const r = loadConfig('config.yml')
  if (!r.ok) throw new Error(r.errors.join('\n'))
  t.same(
    r.config.groups.map((g) => [g.name, g.items.map((i) => i.id)]),
    [
      ['SomeGroup', ['http', 'dns', 'mail', 'backup']],
      ['Group #2', ['http', 'dns-internal']],
    ],
  )
  t.equal(r.config.itemsById.get('http')?.length, 2)
  const backup = r.config.itemsById.get('backup')![0]!.check
  t.match(backup, { schedule: { kind: 'cron', expression: '30 2 * * *', tz: 'Europe/Berlin' }, grace: 1800 }, 'a cron item in a zone other than UTC')
})

t.test('the seed README example loads unchanged, with the defaults filled in', async (t) => {
  const r = parseConfig(
    `statuspage:\n  token: ${TOKEN}\n  groups:\n    A:\n      - name: x\n        id: x\n      - name: y\n        id: y\n        interval: 60\n`,
    'config.yml',
  )
  if (!r.ok) throw new Error(r.errors.join('\n'))
  const c = r.config
  t.equal(c.title, 'Status')
  t.equal(c.interval, 600)
  t.equal(c.refreshInterval, 120)
  t.same(
    c.items.map((i) => [i.id, i.interval]),
    [
      ['x', 600],
      ['y', 60],
    ],
  )
  t.same(c.scripto, { enabled: true, requireToken: true })
  t.same(c.scriptDefaults, { periodicity: 'daily', tz: 'UTC', grace: undefined, maintenance: [] })
})

t.test('an id or name written as a YAML number becomes the string the URL carries', async (t) => {
  const r = parseConfig(yamlConfig({ groups: '\n    G:\n      - name: 2024\n        id: 5\n' }), 'config.yml')
  if (!r.ok) throw new Error(r.errors.join('\n'))
  t.same(r.config.items[0], {
    index: 0,
    group: 'G',
    id: '5',
    name: '2024',
    interval: 600,
    tags: [],
    source: 'config',
    check: { schedule: { kind: 'interval', seconds: 600 }, grace: 0, limits: DEFAULT_LIMITS, maintenance: [], manualResume: false },
  })
  t.ok(r.config.itemsById.has('5'))
})

t.test('groups keep the order of the file', async (t) => {
  const r = parseConfig(
    yamlConfig({ groups: '\n    Zeta:\n      - {name: a, id: a}\n    Alpha:\n      - {name: b, id: b}\n    Mid:\n      - {name: c, id: c}\n' }),
    'x',
  )
  t.same(r.ok && r.config.groups.map((g) => g.name), ['Zeta', 'Alpha', 'Mid'])
})

t.test('the scripto section is validated and its values taken', async (t) => {
  const r = parseConfig(yamlConfig({ top: 'scripto:\n  require_token: false\n  default_periodicity: 3600\n' }), 'x')
  t.same(r.ok && [r.config.scripto, r.config.scriptDefaults.periodicity], [{ enabled: true, requireToken: false }, 3600])
})

t.test('each bad config gets one line naming the file, the path and the fault', async (t) => {
  const cases: [string, string, string[]][] = [
    ['missing token', 'statuspage:\n  groups:\n    A:\n      - {name: a, id: a}\n', ["config.yml: statuspage: must have required property 'token'"]],
    [
      'token too short',
      'statuspage:\n  token: abc\n  groups:\n    A:\n      - {name: a, id: a}\n',
      ['config.yml: statuspage.token: must be at least 32 characters; generate one with: head -c 1000 /dev/urandom | sha512sum | cut -c 1-64'],
    ],
    [
      'numeric token',
      `statuspage:\n  token: ${'1'.repeat(40)}\n  groups:\n    A:\n      - {name: a, id: a}\n`,
      ['config.yml: statuspage.token: must be string'],
    ],
    ['missing groups', `statuspage:\n  token: ${TOKEN}\n`, ["config.yml: statuspage: must have required property 'groups'"]],
    ['empty groups', `statuspage:\n  token: ${TOKEN}\n  groups: {}\n`, ['config.yml: statuspage.groups: must not be empty']],
    ['a group with no items', yamlConfig({ groups: '\n    SomeGroup: []\n' }), ['config.yml: statuspage.groups.SomeGroup: must not be empty']],
    [
      'an item without id',
      yamlConfig({ groups: '\n    SomeGroup:\n      - {name: a, id: a}\n      - {name: b}\n' }),
      ["config.yml: statuspage.groups.SomeGroup[1]: must have required property 'id'"],
    ],
    [
      'an item without name, in a group whose name needs quoting',
      yamlConfig({ groups: '\n    "Group #2":\n      - {id: a}\n' }),
      ['config.yml: statuspage.groups["Group #2"][0]: must have required property \'name\''],
    ],
    ['an empty id', yamlConfig({ groups: '\n    G:\n      - {name: a, id: ""}\n' }), ['config.yml: statuspage.groups.G[0].id: must not be empty']],
    ['a fractional id', yamlConfig({ groups: '\n    G:\n      - {name: a, id: 1.5}\n' }), ['config.yml: statuspage.groups.G[0].id: must be string or integer']],
    ['a zero interval', yamlConfig({ extra: '  interval: 0\n' }), ['config.yml: statuspage.interval: must be greater than 0']],
    [
      'a negative item interval',
      yamlConfig({ groups: '\n    G:\n      - {name: a, id: a, interval: -5}\n' }),
      ['config.yml: statuspage.groups.G[0].interval: must be greater than 0'],
    ],
    [
      'an interval in words',
      yamlConfig({ extra: '  interval: ten minutes\n' }),
      ['config.yml: statuspage.interval: must be seconds or a duration such as 90s, 15m, 2h, 1d, 1w or 1h30m'],
    ],
    [
      'a misspelt key',
      yamlConfig({ extra: '  intervall: 60\n' }),
      [
        "config.yml: statuspage: unknown key 'intervall' (allowed: title, token, ping_key, keys, public, auto_provision, interval, tz, grace, refresh_interval, show_output, maintenance, groups)",
      ],
    ],
    [
      'an unknown item key',
      yamlConfig({ groups: '\n    G:\n      - {name: a, id: a, internal: 5}\n' }),
      [
        "config.yml: statuspage.groups.G[0]: unknown key 'internal' (allowed: name, id, interval, schedule, tz, grace, max_runtime, min_runtime, failure_threshold, recovery_threshold, manual_resume, maintenance, tags)",
      ],
    ],
    [
      'a cron minute out of range',
      yamlConfig({ groups: "\n    Backups:\n      - {name: a, id: a, schedule: '61 * * * *'}\n" }),
      ["config.yml: statuspage.groups.Backups[0].schedule: '61 * * * *': minute 61 is out of range 0-59"],
    ],
    [
      'an unknown zone on an item',
      yamlConfig({ groups: "\n    G:\n      - {name: a, id: a, schedule: '@daily', tz: Mars/Base}\n" }),
      ["config.yml: statuspage.groups.G[0].tz: 'Mars/Base' is not a known IANA time zone (such as Europe/Berlin or UTC)"],
    ],
    [
      'an unknown default zone',
      yamlConfig({ extra: '  tz: Berlin\n' }),
      ["config.yml: statuspage.tz: 'Berlin' is not a known IANA time zone (such as Europe/Berlin or UTC)"],
    ],
    [
      'interval and schedule together',
      yamlConfig({ groups: "\n    G:\n      - {name: a, id: a, interval: 60, schedule: '@hourly'}\n" }),
      ['config.yml: statuspage.groups.G[0]: has both interval and schedule; give one'],
    ],
    [
      "an id that names a script's log",
      yamlConfig({ groups: '\n    G:\n      - {name: a, id: "scripto:1"}\n' }),
      ["config.yml: statuspage.groups.G[0].id: must not start with 'scripto:': the store keeps Scripto's scripts under such keys"],
    ],
    [
      'a zone without a schedule',
      yamlConfig({ groups: '\n    G:\n      - {name: a, id: a, tz: UTC}\n' }),
      ['config.yml: statuspage.groups.G[0].tz: applies to a schedule; this check has none'],
    ],
    [
      'a grace in words',
      yamlConfig({ extra: '  grace: an hour\n' }),
      ['config.yml: statuspage.grace: must be seconds or a duration such as 90s, 15m, 2h, 1d, 1w or 1h30m'],
    ],
    ['an interval of 0s', yamlConfig({ extra: '  interval: 0s\n' }), ['config.yml: statuspage.interval: must be greater than 0']],
    ['an unknown top-level key', `${yamlConfig()}extra: 1\n`, ["config.yml: (top level): unknown key 'extra' (allowed: statuspage, scripto, run_log, flips)"]],
    ['a run log keeping more than the signals kept', yamlConfig({ top: 'run_log:\n  keep: 1000\n' }), ['config.yml: run_log.keep: must be at most 256']],
    ['an output age of 0', yamlConfig({ top: 'run_log:\n  max_age: 0s\n' }), ['config.yml: run_log.max_age: must be greater than 0']],
    [
      'a bad periodicity',
      yamlConfig({ top: 'scripto:\n  default_periodicity: yearly\n' }),
      ['config.yml: scripto.default_periodicity: must be one of: hourly, daily, weekly, monthly'],
    ],
    ['a YAML syntax error', 'statuspage:\n  title: x\n   token: y\n', ['config.yml: line 3, column 9: bad indentation of a mapping entry']],
    ['a duplicated key', `statuspage:\n  token: ${TOKEN}\n  token: ${TOKEN}\n`, ['config.yml: line 3, column 3: duplicated mapping key']],
    ['an empty file', '', ["config.yml: the file is empty; it needs a 'statuspage' section"]],
    ['a list instead of a mapping', '- a\n- b\n', ['config.yml: (top level): must be object']],
  ]
  for (const [what, text, expected] of cases) t.same(errorsOf(text), expected, what)
})

t.test('schedules, zones, graces and durations: their defaults and what they override', async (t) => {
  const c = config(
    yamlConfig({
      extra: '  interval: 15m\n  tz: Europe/Berlin\n',
      groups:
        "\n    G:\n      - {name: a, id: a}\n      - {name: b, id: b, schedule: '30 2 * * *'}\n      - {name: c, id: c, schedule: '@daily', tz: Asia/Kolkata, grace: 1h30m}\n      - {name: d, id: d, interval: 2h, grace: 90}\n",
    }),
  )
  const spec = (i: number) => {
    const { check, interval } = c.items[i]!
    const s = check.schedule
    return { interval, grace: check.grace, schedule: s.kind === 'cron' ? `${s.expression} ${s.tz}` : `every ${s.seconds}` }
  }
  t.same(spec(0), { interval: 900, grace: 0, schedule: 'every 900' }, 'interval checks keep the original rule: no grace')
  t.same(spec(1), { interval: undefined, grace: 3600, schedule: '30 2 * * * Europe/Berlin' }, 'cron checks get an hour of grace and the default zone')
  t.same(spec(2), { interval: undefined, grace: 5400, schedule: '@daily Asia/Kolkata' })
  t.same(spec(3), { interval: 7200, grace: 90, schedule: 'every 7200' })
  const graced = config(yamlConfig({ extra: '  grace: 5m\n', groups: "\n    G:\n      - {name: a, id: a}\n      - {name: b, id: b, schedule: '@daily'}\n" }))
  t.same(
    graced.items.map((i) => i.check.grace),
    [300, 300],
    'statuspage.grace applies to both kinds',
  )
})

t.test('every problem of a file is listed, not only the first', async (t) => {
  t.same(errorsOf('statuspage:\n  token: short\n  title: 5\n  groups:\n    A:\n      - {id: a}\n'), [
    'config.yml: statuspage.title: must be string',
    'config.yml: statuspage.token: must be at least 32 characters; generate one with: head -c 1000 /dev/urandom | sha512sum | cut -c 1-64',
    "config.yml: statuspage.groups.A[0]: must have required property 'name'",
  ])
})

t.test('a file that cannot be read is named with the reason', async (t) => {
  const dir = t.testdir()
  t.same(loadConfig(join(dir, 'missing.yml')), { ok: false, errors: [`${join(dir, 'missing.yml')}: cannot read the file (ENOENT)`] })
  mkdirSync(join(dir, 'folder.yml'))
  t.same(loadConfig(join(dir, 'folder.yml')), { ok: false, errors: [`${join(dir, 'folder.yml')}: cannot read the file (EISDIR)`] })
  writeFileSync(join(dir, 'ok.yml'), yamlConfig())
  t.equal(loadConfig(join(dir, 'ok.yml')).ok, true)
})

t.test('the shipped config.schema.json is the schema the code validates with', async (t) => {
  t.same(JSON.parse(readFileSync('src/config/config.schema.json', 'utf8')), configSchema, 'run `npm run schema` to regenerate it')
})
