// Scripto's ?q=<json> (Flask-Restless): filters, order_by, limit, offset, turned into a ScriptQuery
// whose values are already in storage form. Anything malformed is a BadRequestError naming the
// place in q and the fault.
import { Ajv } from 'ajv'
import { parseScriptoDate } from '../domain/dates.js'
import { BadRequestError, describeAjvErrors } from '../errors.js'
import { SCRIPT_FIELDS, type ScriptField, type ScriptFilter, type ScriptQuery } from '../domain/script.js'

// Flask-Restless's spellings of each operator.
const OPS: Record<string, ScriptFilter['op']> = {
  '==': '==',
  eq: '==',
  equals: '==',
  equal_to: '==',
  '!=': '!=',
  ne: '!=',
  neq: '!=',
  not_equal_to: '!=',
  '<': '<',
  lt: '<',
  '>': '>',
  gt: '>',
  '<=': '<=',
  le: '<=',
  lte: '<=',
  leq: '<=',
  '>=': '>=',
  ge: '>=',
  gte: '>=',
  geq: '>=',
  like: 'like',
  in: 'in',
  is_null: 'is_null',
  is_not_null: 'is_not_null',
}

const qSchema = {
  type: 'object',
  additionalProperties: false,
  properties: {
    filters: {
      type: 'array',
      maxItems: 50,
      items: {
        type: 'object',
        additionalProperties: false,
        required: ['name', 'op'],
        properties: { name: { enum: SCRIPT_FIELDS }, op: { enum: Object.keys(OPS) }, val: {} },
      },
    },
    order_by: {
      type: 'array',
      maxItems: SCRIPT_FIELDS.length,
      items: {
        type: 'object',
        additionalProperties: false,
        required: ['field'],
        properties: { field: { enum: SCRIPT_FIELDS }, direction: { enum: ['asc', 'desc'] } },
      },
    },
    // SQLite takes a LIMIT or OFFSET only as a 64-bit integer; JSON numbers past 2^53 are not exact.
    limit: { type: 'integer', minimum: 0, maximum: Number.MAX_SAFE_INTEGER },
    offset: { type: 'integer', minimum: 0, maximum: Number.MAX_SAFE_INTEGER },
  },
} as const

interface RawQ {
  filters?: { name: ScriptField; op: string; val?: unknown }[]
  order_by?: { field: ScriptField; direction?: 'asc' | 'desc' }[]
  limit?: number
  offset?: number
}

const validateQ = new Ajv({ allErrors: true, verbose: true, strict: true }).compile<RawQ>(qSchema)

/** One filter value in storage form, or a description of what is wrong with it. */
function storageValue(field: ScriptField, val: unknown, now: number): { value: unknown } | { fault: string } {
  switch (field) {
    case 'id':
      return Number.isSafeInteger(val) ? { value: val } : { fault: 'must be an integer' }
    case 'name':
    case 'server':
      return typeof val === 'string' ? { value: val } : { fault: 'must be a string' }
    case 'status':
      return val === true || val === 1 ? { value: 1 } : val === false || val === 0 ? { value: 0 } : { fault: 'must be true, false, 1 or 0' }
    case 'last_exec': {
      const ms = typeof val === 'string' ? parseScriptoDate(val, now) : undefined
      return ms === undefined ? { fault: 'must be an ISO 8601 date or date-time' } : { value: ms }
    }
    case 'periodicity':
      return typeof val === 'string' || typeof val === 'number' ? { value: String(val) } : { fault: 'must be a string or a number' }
  }
}

function filterOf(raw: NonNullable<RawQ['filters']>[number], i: number, now: number): ScriptFilter {
  const op = OPS[raw.op]!
  const at = `q.filters[${i}].val`
  if (op === 'is_null' || op === 'is_not_null') return { field: raw.name, op }
  if (!('val' in raw)) throw new BadRequestError(`${at}: is required with op '${raw.op}'`)
  if (raw.val === null && (op === '==' || op === '!=')) return { field: raw.name, op, value: null }
  if (op === 'like') {
    if (raw.name !== 'name' && raw.name !== 'server') throw new BadRequestError(`q.filters[${i}].name: like works on name and server only`)
    if (typeof raw.val !== 'string') throw new BadRequestError(`${at}: must be a string pattern`)
    return { field: raw.name, op, value: raw.val }
  }
  if (op === 'in') {
    if (!Array.isArray(raw.val) || raw.val.length > 1000) throw new BadRequestError(`${at}: must be a list of at most 1000 values`)
    const values = raw.val.map((v, j) => {
      const r = storageValue(raw.name, v, now)
      if ('fault' in r) throw new BadRequestError(`${at}[${j}]: ${r.fault}`)
      return r.value
    })
    return { field: raw.name, op, value: values }
  }
  const r = storageValue(raw.name, raw.val, now)
  if ('fault' in r) throw new BadRequestError(`${at}: ${r.fault}`)
  return { field: raw.name, op, value: r.value }
}

/** Parses `q`; throws BadRequestError when it is not a valid query. */
export function parseScriptQuery(q: string | undefined, now: number): ScriptQuery {
  if (q === undefined || q === '') return { filters: [], orderBy: [], limit: Number.MAX_SAFE_INTEGER, offset: 0 }
  let data: unknown
  try {
    data = JSON.parse(q)
  } catch (err) {
    throw new BadRequestError(`q: is not valid JSON (${(err as Error).message})`)
  }
  if (!validateQ(data)) throw new BadRequestError(describeAjvErrors(validateQ.errors ?? [], data, 'q').join('; '))
  return {
    filters: (data.filters ?? []).map((f, i) => filterOf(f, i, now)),
    orderBy: (data.order_by ?? []).map((o) => ({ field: o.field, direction: o.direction ?? 'asc' })),
    limit: data.limit ?? Number.MAX_SAFE_INTEGER,
    offset: data.offset ?? 0,
  }
}
