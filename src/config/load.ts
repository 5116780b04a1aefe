// config.yml -> a validated, normalised, frozen Config; or the list of problems, one line each.
import { createHash } from 'node:crypto'
import { readFileSync } from 'node:fs'
import { Ajv } from 'ajv'
import yaml from 'js-yaml'
import { isScriptKey, SCRIPT_KEY_PREFIX, timingFault, type CheckSpec } from '../domain/check.js'
import type { Group, Item } from '../domain/item.js'
import { NO_WINDOWS, type MaintenanceWindow } from '../domain/maintenance.js'
import type { Periodicity, ScriptDefaults } from '../domain/script.js'
import { DURATION_RANGE, parseDuration } from '../domain/duration.js'
import { DEFAULT_LIMITS, type RunLimits } from '../domain/run.js'
import { cronSchedule, isTimeZone, unknownZone } from '../domain/schedule.js'
import { describeAjvErrors, readablePath } from '../errors.js'
import { configSchema, type RawConfig, type RawItem, type RawWindows } from './schema.js'

export type { Item } from '../domain/item.js'

export interface Config {
  readonly title: string
  readonly token: string
  /** statuspage.keys: named keys with scopes, each kept as the SHA-256 digest of its secret. */
  readonly keys: readonly AccessKey[]
  /** false: reading the page, the badges, the status API and /metrics needs a read key. */
  readonly public: boolean
  /** What ?create=1 creates an unknown id with (the fields of a check, its group) and how many at most; undefined: off. */
  readonly autoProvision: { readonly fields: Omit<RawCheck, 'name'> & { readonly group: string }; readonly maxChecks: number } | undefined
  /** The key of the /ping/<key>/... URLs; undefined: they are off. */
  readonly pingKey: string | undefined
  readonly interval: number
  /** Zone of cron schedules that name none. */
  readonly tz: string
  readonly refreshInterval: number
  /** Whether the public check pages show each run's output. */
  readonly showOutput: boolean
  readonly groups: readonly Group[]
  /** Every item of every group: config.yml's in page order, then those of the checks API (see defined.ts). */
  readonly items: readonly Item[]
  /** The distinct ids, each with the items it refreshes. */
  readonly itemsById: ReadonlyMap<string, readonly Item[]>
  readonly scripto: {
    readonly enabled: boolean
    readonly requireToken: boolean
  }
  /** What a script that says nothing itself is checked by: default_periodicity, tz and grace. */
  readonly scriptDefaults: ScriptDefaults
  /** What a check of the checks API that says nothing itself is checked by. */
  readonly checkDefaults: CheckDefaults
  readonly runLog: {
    /** Entries shown per check. */
    readonly keep: number
    /** Seconds an output is kept. */
    readonly maxAge: number
    /** Bytes all outputs together are kept under. */
    readonly maxBytes: number
  }
  readonly flips: {
    /** Seconds a flip is kept (a check's last one always is). */
    readonly maxAge: number
    /** Flips kept per check. */
    readonly maxPerCheck: number
  }
}

export type Scope = 'read' | 'ping' | 'write' | 'admin'

export interface AccessKey {
  readonly name: string
  /** SHA-256 of the secret. */
  readonly digest: Buffer
  readonly scopes: readonly Scope[]
  /** The tags of the checks it may act on; undefined: every check. */
  readonly tags: readonly string[] | undefined
  /** Whether config.yml holds the secret itself rather than its digest (warned about at start). */
  readonly plain: boolean
}

const DIGEST = /^sha256:([0-9a-f]{64})$/i

export type ConfigResult = { ok: true; config: Config } | { ok: false; errors: string[] }

export const TOKEN_HINT = 'generate one with: head -c 1000 /dev/urandom | sha512sum | cut -c 1-64'

/** The token of the shipped config.yml: an example, which a test keeps equal to the file's. */
export const SHIPPED_TOKEN = '41b82191ab42ee29ddea8d7cdbf187bd4b69972959015f4134270760573c8bb1'

// useDefaults fills title, interval... from the schema, so the defaults are written once.
const validate = new Ajv({ allErrors: true, useDefaults: true, verbose: true, strict: true, strictTypes: false }).compile<RawConfig>(configSchema)

/** Parses and validates config text. `label` (the file name) starts every error line. */
export function parseConfig(text: string, label: string): ConfigResult {
  let data: unknown
  try {
    data = yaml.load(text, { filename: label })
  } catch (err) {
    if (err instanceof yaml.YAMLException) {
      const { line, column } = err.mark
      return { ok: false, errors: [`${label}: line ${line + 1}, column ${column + 1}: ${err.reason}`] }
    }
    throw err
  }
  if (data === undefined || data === null) {
    return { ok: false, errors: [`${label}: the file is empty; it needs a 'statuspage' section`] }
  }
  if (!validate(data)) {
    return {
      ok: false,
      errors: describeAjvErrors(validate.errors ?? [], data).map((line) =>
        /^statuspage\.(token|ping_key): must be at least/.test(line) ? `${label}: ${line}; ${TOKEN_HINT}` : `${label}: ${line}`,
      ),
    }
  }
  const errors: string[] = []
  const config = normalise(data, (path, fault) => errors.push(`${label}: ${readablePath(path, data)}: ${fault}`))
  return errors.length > 0 ? { ok: false, errors } : { ok: true, config }
}

export function loadConfig(path: string): ConfigResult {
  const label = path
  let text: string
  try {
    text = readFileSync(path, 'utf8')
  } catch (err) {
    const { code, message } = err as NodeJS.ErrnoException
    return { ok: false, errors: [`${label}: cannot read the file (${code ?? message})`] }
  }
  return parseConfig(text, label)
}

/** A JSON pointer to `keys` (escaped as RFC 6901 says), for readablePath. */
const pointer = (...keys: (string | number)[]) => keys.map((k) => `/${String(k).replace(/~/g, '~0').replace(/\//g, '~1')}`).join('')

/** Grace of a check that names none and whose config names none. */
const DEFAULT_GRACE = { interval: 0, cron: 3600 } as const

/** What a check that says nothing itself is checked by, and the windows it is in: kept in the Config for the checks defined later (checks API). */
export interface CheckDefaults {
  readonly interval: number
  readonly grace: number | undefined
  readonly tz: string
  /** statuspage.maintenance. */
  readonly maintenance: readonly MaintenanceWindow[]
  /** Each group's windows with statuspage.maintenance, for the groups of config.yml. */
  readonly groupWindows: ReadonlyMap<string, readonly MaintenanceWindow[]>
}

/** A check's fields as config.yml and the checks API give them (the item schema), without its id. */
export type RawCheck = Omit<RawItem, 'id'>

/** Reports a fault at `path`, a JSON pointer to the field. */
type Fault = (path: string, message: string) => void

/** Seconds of a duration field, reporting what is wrong with it. */
function secondsOf(fault: Fault) {
  return (value: number | string | undefined, path: string, positive = false): number | undefined => {
    if (value === undefined) return undefined
    const n = parseDuration(value)
    // The schema has refused what is neither a number from 0 nor a duration string.
    if (n === undefined) fault(path, DURATION_RANGE)
    else if (positive && n === 0) fault(path, 'must be greater than 0')
    return n
  }
}

/** Maintenance windows as given at `path`, compiled in zone `tz` unless they name one. */
function windowsOf(raw: RawWindows | undefined, path: (string | number)[], tz: string, fault: Fault): readonly MaintenanceWindow[] {
  const seconds = secondsOf(fault)
  return (raw ?? []).map((w, i) => {
    const zone = w.tz ?? tz
    const schedule = cronSchedule(w.schedule, zone)
    if ('error' in schedule) fault(pointer(...path, i, w.tz !== undefined && !isTimeZone(w.tz) ? 'tz' : 'schedule'), schedule.error)
    const length = seconds(w.duration, pointer(...path, i, 'duration'), true) ?? 0
    // A window that does not compile is reported above; the config is then refused.
    return Object.freeze({ schedule: schedule as MaintenanceWindow['schedule'], seconds: length, key: `${w.schedule}\0${zone}\0${length}` })
  })
}

/** Windows of one check: its own, its group's and everywhere's, one shared array when it adds none. */
function joined(...lists: (readonly MaintenanceWindow[])[]): readonly MaintenanceWindow[] {
  const some = lists.filter((l) => l.length > 0)
  return some.length === 0 ? NO_WINDOWS : some.length === 1 ? some[0]! : Object.freeze(some.flat())
}

/**
 * A check of config.yml or of the checks API as an Item: its schedule or interval, grace, limits
 * and windows, by the one set of rules. `path` points at its fields; what is wrong is reported
 * through `fault`, and the item is still made (a schedule that does not compile falls back on the
 * interval), so that a stored check always shows.
 */
export function compileCheck(
  it: RawCheck,
  place: { id: string; group: string; index: number; source: Item['source'] },
  defaults: CheckDefaults,
  path: readonly (string | number)[],
  fault: Fault,
): Item {
  const at = (key?: string) => (key === undefined ? pointer(...path) : pointer(...path, key))
  const seconds = secondsOf(fault)
  const { tz } = defaults
  const maintenance = joined(defaults.groupWindows.get(place.group) ?? defaults.maintenance, windowsOf(it.maintenance, [...path, 'maintenance'], tz, fault))
  const manualResume = it.manual_resume ?? false
  const grace = seconds(it.grace, at('grace'))
  const limits: RunLimits = Object.freeze({
    maxRuntime: seconds(it.max_runtime, at('max_runtime'), true),
    minRuntime: seconds(it.min_runtime, at('min_runtime'), true),
    failureThreshold: it.failure_threshold ?? DEFAULT_LIMITS.failureThreshold,
    recoveryThreshold: it.recovery_threshold ?? DEFAULT_LIMITS.recoveryThreshold,
  })
  let interval: number | undefined
  let check: CheckSpec
  const timing = timingFault({ schedule: it.schedule !== undefined, period: it.interval !== undefined, tz: it.tz !== undefined })
  if (timing === 'both') fault(at(), 'has both interval and schedule; give one')
  if (timing === 'tz without schedule') fault(at('tz'), 'applies to a schedule; this check has none')
  if (it.schedule !== undefined) {
    const schedule = cronSchedule(it.schedule, it.tz ?? tz)
    if ('error' in schedule) fault(at(it.tz !== undefined && !isTimeZone(it.tz) ? 'tz' : 'schedule'), schedule.error)
    check = {
      schedule: 'error' in schedule ? { kind: 'interval', seconds: defaults.interval } : schedule,
      grace: grace ?? defaults.grace ?? DEFAULT_GRACE.cron,
      limits,
      maintenance,
      manualResume,
    }
  } else {
    interval = seconds(it.interval, at('interval'), true) ?? defaults.interval
    check = {
      schedule: { kind: 'interval', seconds: interval },
      grace: grace ?? defaults.grace ?? DEFAULT_GRACE.interval,
      limits,
      maintenance,
      manualResume,
    }
  }
  return Object.freeze({
    index: place.index,
    group: place.group,
    id: place.id,
    // YAML reads `name: 5` as a number.
    name: String(it.name),
    interval,
    tags: Object.freeze([...(it.tags ?? [])]),
    source: place.source,
    check: Object.freeze(check),
  })
}

/**
 * The validated file as a Config. What the schema cannot say (a cron expression, a zone, a
 * duration of 0 where it must be positive) is checked here and reported through `fault`.
 */
function normalise(raw: RawConfig, fault: Fault): Config {
  const s = raw.statuspage
  const seconds = secondsOf(fault)
  const globalInterval = seconds(s.interval, pointer('statuspage', 'interval'), true) ?? 600
  const globalGrace = seconds(s.grace, pointer('statuspage', 'grace'))
  // The key is scoped so that a leaked crontab cannot write scripts: the token must not be it.
  if (s.ping_key === s.token) fault(pointer('statuspage', 'ping_key'), 'must differ from the token: the ping key is written in crontabs, the token gives more')
  const tz = s.tz as string
  if (!isTimeZone(tz)) fault(pointer('statuspage', 'tz'), unknownZone(tz))
  const everywhere = windowsOf(s.maintenance, ['statuspage', 'maintenance'], tz, fault)
  const groupWindows = new Map<string, readonly MaintenanceWindow[]>()
  for (const [groupName, entry] of Object.entries(s.groups)) {
    if (Array.isArray(entry)) continue
    const own = windowsOf((entry as { maintenance?: RawWindows }).maintenance, ['statuspage', 'groups', groupName, 'maintenance'], tz, fault)
    groupWindows.set(groupName, joined(everywhere, own))
  }
  const defaults: CheckDefaults = Object.freeze({ interval: globalInterval, grace: globalGrace, tz, maintenance: everywhere, groupWindows })
  const items: Item[] = []
  const groups: Group[] = Object.entries(s.groups).map(([groupName, entry]) => {
    const grouped = !Array.isArray(entry)
    const list = (grouped ? (entry as { items: RawItem[] }).items : entry) as RawItem[]
    const itemsAt = grouped ? ['statuspage', 'groups', groupName, 'items'] : ['statuspage', 'groups', groupName]
    return {
      name: groupName,
      items: list.map((it, i) => {
        // YAML reads `id: 5` as a number; the URL always carries a string.
        const id = String(it.id)
        if (isScriptKey(id))
          fault(pointer(...itemsAt, i, 'id'), `must not start with '${SCRIPT_KEY_PREFIX}': the store keeps Scripto's scripts under such keys`)
        const item = compileCheck(it, { id, group: groupName, index: items.length, source: 'config' }, defaults, [...itemsAt, i], fault)
        items.push(item)
        return item
      }),
    }
  })
  const keys: AccessKey[] = (s.keys ?? []).map((k, i) => {
    const at = (field: string) => pointer('statuspage', 'keys', i, field)
    const digested = DIGEST.exec(k.key)
    if (digested === null && k.key.startsWith('sha256:')) fault(at('key'), 'sha256: must be followed by the 64 hex digits of the digest')
    if (k.key === s.token || k.key === s.ping_key) fault(at('key'), 'must differ from the token and the ping key')
    if ((s.keys ?? []).findIndex((other) => other.name === k.name) !== i) fault(at('name'), `names another key already: ${JSON.stringify(k.name)}`)
    const digest = digested === null ? createHash('sha256').update(k.key).digest() : Buffer.from(digested[1]!, 'hex')
    return Object.freeze({
      name: k.name,
      digest,
      scopes: Object.freeze([...k.scopes] as Scope[]),
      tags: k.tags && Object.freeze([...k.tags]),
      plain: digested === null,
    })
  })
  let autoProvision: Config['autoProvision']
  if (s.auto_provision !== undefined) {
    const { max_checks, ...fields } = s.auto_provision as NonNullable<typeof s.auto_provision> & { group: string; max_checks: number }
    // Checked as the checks it creates will be (their name is their id).
    compileCheck({ name: 'x', ...fields }, { id: 'x', group: fields.group, index: 0, source: 'auto' }, defaults, ['statuspage', 'auto_provision'], fault)
    autoProvision = Object.freeze({ fields: Object.freeze(fields), maxChecks: max_checks })
  }
  const itemsById = new Map<string, Item[]>()
  for (const item of items) {
    const same = itemsById.get(item.id)
    if (same) same.push(item)
    else itemsById.set(item.id, [item])
  }
  // The schema's defaults have filled every optional key by now.
  const scripto = raw.scripto as Required<NonNullable<RawConfig['scripto']>>
  const runLog = raw.run_log as Required<NonNullable<RawConfig['run_log']>>
  const flips = raw.flips as Required<NonNullable<RawConfig['flips']>>
  return Object.freeze({
    title: s.title as string,
    token: s.token,
    keys: Object.freeze(keys),
    public: s.public as boolean,
    autoProvision,
    pingKey: s.ping_key,
    interval: globalInterval,
    tz,
    refreshInterval: s.refresh_interval as number,
    showOutput: s.show_output as boolean,
    groups: Object.freeze(groups),
    items: Object.freeze(items),
    itemsById,
    scripto: Object.freeze({
      enabled: scripto.enabled,
      requireToken: scripto.require_token,
    }),
    scriptDefaults: Object.freeze({ periodicity: scripto.default_periodicity as Periodicity, tz, grace: globalGrace, maintenance: everywhere }),
    checkDefaults: defaults,
    runLog: Object.freeze({
      keep: runLog.keep,
      maxAge: seconds(runLog.max_age, pointer('run_log', 'max_age'), true) ?? 0,
      maxBytes: Math.round(runLog.max_output_mib * 1024 * 1024),
    }),
    flips: Object.freeze({
      maxAge: seconds(flips.max_age, pointer('flips', 'max_age'), true) ?? 0,
      maxPerCheck: flips.max_per_check,
    }),
  })
}
