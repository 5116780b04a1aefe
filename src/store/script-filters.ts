// The WHERE clause of a script query (check_def's rows that are scripts), for both stores: one set
// of operators, written in each database's SQL. Field names come from a fixed list and values are
// bound parameters: nothing from the request is spliced into the SQL text.
import { IS_SCRIPT } from './rows.js'
import type { ScriptField, ScriptFilter } from '../domain/script.js'

/** How a database writes what the operators mean (SQLite's meaning: = and != match NULL as IS does). */
export interface Dialect {
  /** The placeholder of the nth parameter, from 1. */
  param(n: number): string
  /** A column as it compares and orders. */
  column(field: ScriptField): string
  /** A condition that matches nothing (`in` an empty list). */
  readonly never: string
  /** Null-safe equality and inequality. */
  readonly is: string
  readonly isNot: string
  /** LIKE that ignores case and has no escape character. */
  like(field: ScriptField, param: string): string
}

export function whereClause(filters: readonly ScriptFilter[], dialect: Dialect): { where: string; params: unknown[] } {
  const params: unknown[] = []
  const param = (value: unknown) => dialect.param(params.push(value))
  const terms = filters.map(({ field, op, value }) => {
    const col = dialect.column(field)
    switch (op) {
      case 'is_null':
        return `${field} IS NULL`
      case 'is_not_null':
        return `${field} IS NOT NULL`
      case 'in': {
        const values = value as unknown[]
        return values.length === 0 ? dialect.never : `${col} IN (${values.map(param).join(', ')})`
      }
      case 'like':
        return dialect.like(field, param(value))
      case '==':
        return `${col} ${dialect.is} ${param(value)}`
      case '!=':
        return `${col} ${dialect.isNot} ${param(value)}`
      default:
        return `${col} ${op} ${param(value)}`
    }
  })
  return { where: `WHERE ${[IS_SCRIPT, ...terms].join(' AND ')}`, params }
}
