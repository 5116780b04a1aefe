// A script, as the Scripto API reports it: one of the two doors into the check model. Its schedule
// is a periodicity (Scripto's named periods, or seconds) or a cron expression with a zone.
import type { CheckSpec } from './check.js'
import type { MaintenanceWindow } from './maintenance.js'
import { applySignal, countRun, DEFAULT_LIMITS, NO_RUNS, NO_STREAK, type RunLimits, type Runs, type Signal, type Streak } from './run.js'
import { isShowable } from './dates.js'
import { DURATION_MAX } from './duration.js'
import { cronSchedule } from './schedule.js'

export type Periodicity = 'hourly' | 'daily' | 'weekly' | 'monthly' | number

export interface Script {
  readonly id: number
  readonly name: string
  readonly server: string
  readonly status: boolean
  /** Milliseconds since the epoch; null until the first report with a date. */
  readonly lastExec: number | null
  /** null: the config's default_periodicity applies, unless the script has a schedule. */
  readonly periodicity: Periodicity | null
  /** A cron expression, instead of a periodicity. */
  readonly schedule: string | null
  /** The zone of the schedule; null: statuspage.tz. */
  readonly tz: string | null
  /** Seconds of grace; null: statuspage.grace, else 0 for a periodicity and 1 h for a schedule. */
  readonly grace: number | null
  /** Limits on its runs, in seconds and counts; null: off (runtimes), 1 (thresholds). */
  readonly maxRuntime: number | null
  readonly minRuntime: number | null
  readonly failureThreshold: number | null
  readonly recoveryThreshold: number | null
  /** While paused, its reports are logged and ignored: only a resume releases it. */
  readonly manualResume: boolean
  /** Its open runs and last run, as its starts and reports left them. */
  readonly runs: Runs
  /** How its reports have gone, judged by its limits. */
  readonly streak: Streak
}

export type ScriptFields = Omit<Script, 'id'>

/** The fields a script's report or change of fields sets, which its definition stores; its runs and streak are its signals'. */
export type StoredScriptField = Exclude<keyof ScriptFields, 'runs' | 'streak'>

/**
 * Each stored field of a script by its name in Scripto's API, the name its stored spec keeps too:
 * the one list of them. The API's schema, its reading of a body and the row codec are typed by
 * it, so that a field added to Script is refused by the compiler until each of them has it.
 */
export const SCRIPT_FIELD_NAMES = {
  name: 'name',
  server: 'server',
  status: 'status',
  lastExec: 'last_exec',
  periodicity: 'periodicity',
  schedule: 'schedule',
  tz: 'tz',
  grace: 'grace',
  maxRuntime: 'max_runtime',
  minRuntime: 'min_runtime',
  failureThreshold: 'failure_threshold',
  recoveryThreshold: 'recovery_threshold',
  manualResume: 'manual_resume',
} as const satisfies { readonly [F in StoredScriptField]: string }

/** A stored field's name in Scripto's API. */
export type ScriptFieldName = (typeof SCRIPT_FIELD_NAMES)[StoredScriptField]

export type ScriptState = 'ok' | 'running' | 'failed' | 'late' | 'timeout' | 'never' | 'paused' | 'maintenance'

/** What the config in force says of scripts that say nothing themselves. */
export interface ScriptDefaults {
  readonly periodicity: Periodicity
  readonly tz: string
  readonly grace: number | undefined
  /** The config's maintenance windows (statuspage.maintenance). */
  readonly maintenance: readonly MaintenanceWindow[]
}

const HOURS: Record<string, number> = { hourly: 1, daily: 24, weekly: 168, monthly: 730 }

export function periodSeconds(periodicity: Periodicity): number {
  return typeof periodicity === 'number' ? periodicity : HOURS[periodicity]! * 3600
}

/** A script before anything is reported of it: what a created script has before its body applies. */
export const NEW_SCRIPT: ScriptFields = Object.freeze({
  name: '',
  server: '',
  status: true,
  lastExec: null,
  periodicity: null,
  schedule: null,
  tz: null,
  grace: null,
  ...runFieldsOf(true, null),
})

/**
 * The run fields of a script that has not had a start, whose last report said `status`: a failed
 * report is one failure. (Scripts stored before runs, and scripts in tests.)
 */
export function runFieldsOf(
  status: boolean,
  lastExec: number | null,
): Pick<Script, 'maxRuntime' | 'minRuntime' | 'failureThreshold' | 'recoveryThreshold' | 'manualResume' | 'runs' | 'streak'> {
  return {
    manualResume: false,
    maxRuntime: null,
    minRuntime: null,
    failureThreshold: null,
    recoveryThreshold: null,
    runs: NO_RUNS,
    streak: status ? NO_STREAK : { ...NO_STREAK, failures: 1, failing: true, lastFailure: lastExec ?? undefined, lastFailureReason: 'reported a failure' },
  }
}

function scriptLimits(script: Script | ScriptFields): RunLimits {
  return {
    maxRuntime: script.maxRuntime ?? DEFAULT_LIMITS.maxRuntime,
    minRuntime: script.minRuntime ?? DEFAULT_LIMITS.minRuntime,
    failureThreshold: script.failureThreshold ?? DEFAULT_LIMITS.failureThreshold,
    recoveryThreshold: script.recoveryThreshold ?? DEFAULT_LIMITS.recoveryThreshold,
  }
}

/**
 * The run fields of a script after a start or a report (a finish), the report judged by the
 * limits the script has once the report's own fields apply.
 */
export function scriptSignal(script: ScriptFields, signal: Signal): Pick<Script, 'runs' | 'streak'> {
  const { runs, finish } = applySignal(script.runs, signal)
  return { runs, streak: finish === undefined ? script.streak : countRun(script.streak, finish, scriptLimits(script)) }
}

/**
 * The fields a report or a change of fields writes to `current`: `patch`, and the run `signal`
 * finishes, judged by the limits the script has once `patch` applies (scriptSignal). A signal
 * that a pause holds (ignored) changes what the report says of its run (status, last_exec) no more
 * than the run itself. `check` is given the script as it would be stored, to refuse it (throws).
 */
export function reportedFields(
  current: ScriptFields,
  patch: Partial<ScriptFields>,
  signal: Signal | undefined,
  check?: (next: ScriptFields) => void,
): Partial<ScriptFields> {
  if (signal?.ignored === true) {
    const { status: _status, lastExec: _lastExec, ...fieldsOnly } = patch
    patch = fieldsOnly
  }
  const next = { ...current, ...patch }
  check?.(next)
  return signal === undefined ? patch : { ...patch, ...scriptSignal(next, signal) }
}

/**
 * When the script last arrived, for its schedule: its last_exec (the client's clock), its last
 * start or its last resume, whichever is latest.
 */
export function scriptArrival(script: Script): number | undefined {
  let arrival: number | undefined
  for (const at of [script.lastExec ?? undefined, script.runs.lastStart, script.runs.lastResume]) {
    if (at !== undefined && (arrival === undefined || at > arrival)) arrival = at
  }
  return arrival
}

/**
 * The script's check: its cron schedule, else its periodicity (or the default) as an interval. A
 * schedule that no longer compiles (a zone this Node no longer knows) falls back on the period.
 */
export function scriptCheck(script: Script, defaults: ScriptDefaults): CheckSpec & { periodicity: Periodicity; period: number } {
  const periodicity = script.periodicity ?? defaults.periodicity
  const period = periodSeconds(periodicity)
  const limits = scriptLimits(script)
  const { maintenance } = defaults
  const { manualResume } = script
  if (script.schedule !== null) {
    const schedule = cronSchedule(script.schedule, script.tz ?? defaults.tz)
    if (!('error' in schedule)) return { schedule, grace: script.grace ?? defaults.grace ?? 3600, limits, maintenance, manualResume, periodicity, period }
  }
  return { schedule: { kind: 'interval', seconds: period }, grace: script.grace ?? defaults.grace ?? 0, limits, maintenance, manualResume, periodicity, period }
}

/**
 * The fields of a stored script that are out of the ranges the API takes (written before it
 * checked them): they are shown as null where a time is derived from them, and should be written again.
 */
export function fieldsOutOfRange(script: Script): string[] {
  const out: string[] = []
  if (script.lastExec !== null && !isShowable(script.lastExec)) out.push(SCRIPT_FIELD_NAMES.lastExec)
  if (typeof script.periodicity === 'number' && !(script.periodicity > 0 && script.periodicity <= DURATION_MAX)) out.push(SCRIPT_FIELD_NAMES.periodicity)
  for (const field of ['grace', 'maxRuntime', 'minRuntime'] as const) {
    const seconds = script[field]
    if (seconds !== null && !(seconds >= 0 && seconds <= DURATION_MAX)) out.push(SCRIPT_FIELD_NAMES[field])
  }
  return out
}

/** The fields a query of scripts (Scripto's `q`) filters and orders on. */
export const SCRIPT_FIELDS = ['id', 'last_exec', 'name', 'server', 'status', 'periodicity'] as const satisfies readonly ('id' | ScriptFieldName)[]
export type ScriptField = (typeof SCRIPT_FIELDS)[number]

export interface ScriptFilter {
  readonly field: ScriptField
  readonly op: '==' | '!=' | '<' | '>' | '<=' | '>=' | 'like' | 'in' | 'is_null' | 'is_not_null'
  /** Already in storage form: booleans as 0/1, dates as milliseconds, periodicity as text. */
  readonly value?: unknown
}

export interface ScriptQuery {
  readonly filters: readonly ScriptFilter[]
  readonly orderBy: readonly { field: ScriptField; direction: 'asc' | 'desc' }[]
  readonly limit: number
  readonly offset: number
}

/** A script's value of `field` as a query compares it (ScriptFilter's storage form). */
function queryValue(script: Script, field: ScriptField): string | number | null {
  switch (field) {
    case 'id':
      return script.id
    case 'last_exec':
      return script.lastExec
    case 'name':
      return script.name
    case 'server':
      return script.server
    case 'status':
      return script.status ? 1 : 0
    case 'periodicity':
      return script.periodicity === null ? null : String(script.periodicity)
  }
}

/**
 * A UTF-16 code unit's place in the order of the code points it begins: the surrogates (U+10000
 * and up) after the rest of the plane. JavaScript compares strings by code unit, SQL databases by
 * UTF-8 byte (SQLite's BINARY, PostgreSQL's "C"), which is code point order; Scripto's order is
 * SQLite's.
 */
const unitRank = (unit: number) => (unit >= 0xd800 && unit <= 0xdfff ? unit + 0x2000 : unit >= 0xe000 ? unit - 0x800 : unit)

/** Two query values in SQLite's order: numbers by value, text by code point (values of one field are of one type). */
function compareValues(a: string | number, b: string | number): number {
  if (typeof a === 'number' && typeof b === 'number') return a < b ? -1 : a > b ? 1 : 0
  if (typeof a === 'number' || typeof b === 'number') return typeof a === 'number' ? -1 : 1
  const n = Math.min(a.length, b.length)
  for (let i = 0; i < n; i++) {
    const x = a.charCodeAt(i)
    const y = b.charCodeAt(i)
    if (x !== y) return unitRank(x) - unitRank(y)
  }
  return a.length - b.length
}

const asciiLower = (text: string) => text.replace(/[A-Z]/g, (c) => c.toLowerCase())

/**
 * SQLite's LIKE, as Scripto's queries had it: `%` any run of characters, `_` one character, case
 * ignored for ASCII letters only, no escape character. Written here because no library matches
 * SQL's LIKE; greedy with one remembered `%`, so that no pattern takes more than length x length
 * steps (a regular expression of many `%` backtracks without bound).
 */
function likeMatcher(pattern: string): (value: string) => boolean {
  const p = Array.from(asciiLower(pattern))
  return (text) => {
    const v = Array.from(asciiLower(text))
    let i = 0
    let j = 0
    let star = -1
    let mark = 0
    while (j < v.length) {
      if (i < p.length && p[i] !== '%' && (p[i] === '_' || p[i] === v[j])) {
        i++
        j++
      } else if (i < p.length && p[i] === '%') {
        star = i++
        mark = j
      } else if (star !== -1) {
        i = star + 1
        j = ++mark
      } else return false
    }
    while (p[i] === '%') i++
    return i === p.length
  }
}

/** Whether `script` passes `filter`, by SQL's rules: == and != match NULL as IS and IS NOT do; any other test of NULL fails. */
function filterOf({ field, op, value }: ScriptFilter): (script: Script) => boolean {
  const of = (script: Script) => queryValue(script, field)
  switch (op) {
    case 'is_null':
      return (script) => of(script) === null
    case 'is_not_null':
      return (script) => of(script) !== null
    // A field's values are of one type, and a filter's value is of its field's (or null).
    case '==':
      return (script) => of(script) === value
    case '!=':
      return (script) => of(script) !== value
    case 'like': {
      const matches = likeMatcher(value as string)
      return (script) => {
        const v = of(script)
        return typeof v === 'string' && matches(v)
      }
    }
    case 'in': {
      const values = new Set(value as (string | number)[])
      return (script) => values.has(of(script)!)
    }
    default: {
      const test = { '<': (c: number) => c < 0, '>': (c: number) => c > 0, '<=': (c: number) => c <= 0, '>=': (c: number) => c >= 0 }[op]
      return (script) => {
        const v = of(script)
        return v !== null && value !== null && value !== undefined && test(compareValues(v, value as string | number))
      }
    }
  }
}

/**
 * The scripts matching `query` in its order (then by id), and how many match without its limit and
 * offset: Scripto's `q`, with the meaning SQLite gave it (NULL first going up, last going down).
 */
export function queryScripts(scripts: readonly Script[], query: ScriptQuery): { total: number; scripts: Script[] } {
  const tests = query.filters.map(filterOf)
  const matching = scripts.filter((script) => tests.every((test) => test(script)))
  const order = [...query.orderBy, { field: 'id', direction: 'asc' } as const]
  matching.sort((a, b) => {
    for (const { field, direction } of order) {
      const x = queryValue(a, field)
      const y = queryValue(b, field)
      const c = x === null ? (y === null ? 0 : -1) : y === null ? 1 : compareValues(x, y)
      if (c !== 0) return direction === 'desc' ? -c : c
    }
    return 0
  })
  const start = Math.min(query.offset, matching.length)
  return { total: matching.length, scripts: matching.slice(start, start + Math.min(query.limit, matching.length)) }
}
