// config.yml -> a validated, normalised, frozen Config; or the list of problems, one line each.
import { readFileSync } from 'node:fs'
import { Ajv } from 'ajv'
import yaml from 'js-yaml'
import { describeAjvErrors } from '../errors.js'
import { configSchema, type Periodicity, type RawConfig } from './schema.js'

export interface Item {
  /** Position in Config.items: lets per-item data (metric label strings) live in arrays. */
  readonly index: number
  readonly group: string
  readonly id: string
  readonly name: string
  /** Seconds the item stays up after a refresh. */
  readonly interval: number
}

export interface Group {
  readonly name: string
  readonly items: readonly Item[]
}

export interface Config {
  readonly title: string
  readonly token: string
  readonly interval: number
  readonly refreshInterval: number
  readonly groups: readonly Group[]
  /** Every item of every group, in page order. */
  readonly items: readonly Item[]
  /** The distinct ids, each with the items it refreshes. */
  readonly itemsById: ReadonlyMap<string, readonly Item[]>
  readonly scripto: {
    readonly enabled: boolean
    readonly requireToken: boolean
    readonly defaultPeriodicity: Periodicity
  }
}

export type ConfigResult = { ok: true; config: Config } | { ok: false; errors: string[] }

const TOKEN_HINT = 'generate one with: head -c 1000 /dev/urandom | sha512sum | cut -c 1-64'

// useDefaults fills title, interval... from the schema, so the defaults are written once.
const validate = new Ajv({ allErrors: true, useDefaults: true, verbose: true, strict: true, strictTypes: false }).compile<RawConfig>(
  configSchema,
)

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
        line.startsWith('statuspage.token: must be at least') ? `${label}: ${line}; ${TOKEN_HINT}` : `${label}: ${line}`,
      ),
    }
  }
  return { ok: true, config: normalise(data) }
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

function normalise(raw: RawConfig): Config {
  const s = raw.statuspage
  const globalInterval = s.interval as number
  const items: Item[] = []
  const groups: Group[] = Object.entries(s.groups).map(([groupName, list]) => ({
    name: groupName,
    items: (list as NonNullable<typeof list>).map((it) => {
      // YAML reads `id: 5` as a number; the URL always carries a string.
      const item: Item = Object.freeze({
        index: items.length,
        group: groupName,
        id: String(it.id),
        name: String(it.name),
        interval: it.interval ?? globalInterval,
      })
      items.push(item)
      return item
    }),
  }))
  const itemsById = new Map<string, Item[]>()
  for (const item of items) {
    const same = itemsById.get(item.id)
    if (same) same.push(item)
    else itemsById.set(item.id, [item])
  }
  // The schema's defaults have filled every optional key by now.
  const scripto = raw.scripto as Required<NonNullable<RawConfig['scripto']>>
  return Object.freeze({
    title: s.title as string,
    token: s.token,
    interval: globalInterval,
    refreshInterval: s.refresh_interval as number,
    groups: Object.freeze(groups),
    items: Object.freeze(items),
    itemsById,
    scripto: Object.freeze({
      enabled: scripto.enabled,
      requireToken: scripto.require_token,
      defaultPeriodicity: scripto.default_periodicity as Periodicity,
    }),
  })
}
