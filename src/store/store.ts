// The only SQL in the service. SQLite (better-sqlite3, WAL) holds item refresh times and script
// reports; reads that run on every scrape come from an in-memory copy kept in step with each write.
import { mkdirSync } from 'node:fs'
import { dirname } from 'node:path'
import Database from 'better-sqlite3'
import type { Periodicity } from '../config/schema.js'
import { migrate } from './migrations.js'

export interface Script {
  readonly id: number
  readonly name: string
  readonly server: string
  readonly status: boolean
  /** Milliseconds since the epoch; null until the first report with a date. */
  readonly lastExec: number | null
  /** null: the config's default_periodicity applies. */
  readonly periodicity: Periodicity | null
}

export type ScriptFields = Omit<Script, 'id'>

export const SCRIPT_FIELDS = ['id', 'last_exec', 'name', 'server', 'status', 'periodicity'] as const
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

export interface Store {
  /** Last refresh (ms) of every item id that has one. Reflects every write returned so far. */
  refreshTimes(): ReadonlyMap<string, number>
  /** Records that `ids` were refreshed at `at` (ms). Durable once it returns. */
  recordRefresh(ids: readonly string[], at: number): void
  /** Forgets the refresh times of ids that the config no longer has. */
  keepOnlyItems(ids: ReadonlySet<string>): void

  /** Every script, in id order. */
  scripts(): readonly Script[]
  getScript(id: number): Script | undefined
  /** Durable once it returns. */
  createScript(fields: ScriptFields): Script
  /** Applies the given fields; undefined when there is no such script. Durable once it returns. */
  updateScript(id: number, patch: Partial<ScriptFields>): Script | undefined
  deleteScript(id: number): boolean
  /** The scripts matching `query`, and how many match without limit and offset. */
  queryScripts(query: ScriptQuery): { total: number; scripts: Script[] }

  close(): void
}

interface ScriptRow {
  id: number
  name: string
  server: string
  status: number
  last_exec: number | null
  periodicity: string | null
}

const COLUMN: Record<ScriptField, string> = {
  id: 'id',
  last_exec: 'last_exec',
  name: 'name',
  server: 'server',
  status: 'status',
  periodicity: 'periodicity',
}

const fromRow = (r: ScriptRow): Script =>
  Object.freeze({
    id: r.id,
    name: r.name,
    server: r.server,
    status: r.status === 1,
    lastExec: r.last_exec,
    periodicity: r.periodicity === null ? null : periodicityFromText(r.periodicity),
  })

const periodicityFromText = (text: string): Periodicity => (/^[0-9.]+$/.test(text) ? Number(text) : (text as Periodicity))

const toRow = (s: ScriptFields) => ({
  name: s.name,
  server: s.server,
  status: s.status ? 1 : 0,
  last_exec: s.lastExec,
  periodicity: s.periodicity === null ? null : String(s.periodicity),
})

/** Opens (creating the file and its folder if needed) and migrates the database at `path`. */
export function openStore(path: string): Store {
  if (path !== ':memory:') mkdirSync(dirname(path), { recursive: true })
  const db = new Database(path)
  db.pragma('journal_mode = WAL')
  // NORMAL in WAL mode: a commit survives a crash of this process (kill -9); only a power loss
  // can take back the last commits.
  db.pragma('synchronous = NORMAL')
  db.pragma('busy_timeout = 5000')
  migrate(db)

  const upsertRefresh = db.prepare(
    'INSERT INTO item_refresh (id, last_refresh) VALUES (?, ?) ON CONFLICT (id) DO UPDATE SET last_refresh = excluded.last_refresh',
  )
  const deleteRefresh = db.prepare('DELETE FROM item_refresh WHERE id = ?')
  const insertScript = db.prepare(
    'INSERT INTO script (name, server, status, last_exec, periodicity) VALUES (@name, @server, @status, @last_exec, @periodicity) RETURNING *',
  )
  const updateScriptRow = db.prepare(
    'UPDATE script SET name = @name, server = @server, status = @status, last_exec = @last_exec, periodicity = @periodicity WHERE id = @id',
  )
  const deleteScriptRow = db.prepare('DELETE FROM script WHERE id = ?')

  const refreshes = new Map<string, number>()
  for (const row of db.prepare('SELECT id, last_refresh FROM item_refresh').all() as { id: string; last_refresh: number }[]) {
    refreshes.set(row.id, row.last_refresh)
  }
  const scripts = new Map<number, Script>()
  for (const row of db.prepare('SELECT * FROM script ORDER BY id').all() as ScriptRow[]) scripts.set(row.id, fromRow(row))
  let scriptList: readonly Script[] | undefined

  const recordRefresh = db.transaction((ids: readonly string[], at: number) => {
    for (const id of ids) upsertRefresh.run(id, at)
  })
  const keepOnlyItems = db.transaction((gone: readonly string[]) => {
    for (const id of gone) deleteRefresh.run(id)
  })

  return {
    refreshTimes: () => refreshes,
    recordRefresh(ids, at) {
      recordRefresh(ids, at)
      for (const id of ids) refreshes.set(id, at)
    },
    keepOnlyItems(ids) {
      const gone = [...refreshes.keys()].filter((id) => !ids.has(id))
      keepOnlyItems(gone)
      for (const id of gone) refreshes.delete(id)
    },

    scripts: () => (scriptList ??= Object.freeze([...scripts.values()])),
    getScript: (id) => scripts.get(id),
    createScript(fields) {
      const script = fromRow(insertScript.get(toRow(fields)) as ScriptRow)
      scripts.set(script.id, script)
      scriptList = undefined
      return script
    },
    updateScript(id, patch) {
      const current = scripts.get(id)
      if (current === undefined) return undefined
      const next: Script = Object.freeze({ ...current, ...patch, id })
      updateScriptRow.run({ ...toRow(next), id })
      scripts.set(id, next)
      scriptList = undefined
      return next
    },
    deleteScript(id) {
      if (deleteScriptRow.run(id).changes === 0) return false
      scripts.delete(id)
      scriptList = undefined
      return true
    },
    queryScripts(query) {
      const { where, params } = whereClause(query.filters)
      const total = (db.prepare(`SELECT count(*) AS n FROM script ${where}`).get(params) as { n: number }).n
      const order = [...query.orderBy.map((o) => `${COLUMN[o.field]} ${o.direction === 'desc' ? 'DESC' : 'ASC'}`), 'id ASC'].join(', ')
      const rows = db
        .prepare(`SELECT * FROM script ${where} ORDER BY ${order} LIMIT ? OFFSET ?`)
        .all(...params, query.limit, query.offset) as ScriptRow[]
      return { total, scripts: rows.map(fromRow) }
    },

    close: () => db.close(),
  }
}

// Field names come from a fixed list and values are bound parameters: nothing from the
// request is spliced into the SQL text.
function whereClause(filters: readonly ScriptFilter[]): { where: string; params: unknown[] } {
  const params: unknown[] = []
  const terms = filters.map(({ field, op, value }) => {
    const col = COLUMN[field]
    switch (op) {
      case 'is_null':
        return `${col} IS NULL`
      case 'is_not_null':
        return `${col} IS NOT NULL`
      case 'in': {
        const values = value as unknown[]
        params.push(...values)
        return values.length === 0 ? '0' : `${col} IN (${values.map(() => '?').join(', ')})`
      }
      case 'like':
        params.push(value)
        return `${col} LIKE ?`
      case '==':
        params.push(value)
        return `${col} IS ?`
      case '!=':
        params.push(value)
        return `${col} IS NOT ?`
      default:
        params.push(value)
        return `${col} ${op} ?`
    }
  })
  return { where: terms.length === 0 ? '' : `WHERE ${terms.join(' AND ')}`, params }
}
