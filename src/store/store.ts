// The only SQL in the service. SQLite (better-sqlite3, WAL) holds item refresh times and script
// reports; reads that run on every scrape come from an in-memory copy kept in step with each write.
import { existsSync, mkdirSync, statSync } from 'node:fs'
import { dirname } from 'node:path'
import Database from 'better-sqlite3'
import type { Periodicity, Script, ScriptFields } from '../domain/script.js'
import { groupCommit } from './group-commit.js'
import { migrate } from './migrations.js'

export type { Script, ScriptFields } from '../domain/script.js'

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

/**
 * Writes are group-committed: each returns a promise that settles once its transaction has
 * committed, so a caller that answers after awaiting it never acknowledges what a crash could take
 * back. The writes of one event-loop turn share one transaction (each in its own savepoint, so one
 * failing write fails alone). Reads see a write once its promise has resolved.
 */
export interface Store {
  /** Last refresh (ms) of every item id that has one. */
  refreshTimes(): ReadonlyMap<string, number>
  /**
   * Records that `ids` were refreshed at `at` (ms). Resolves, once committed, to the ids of the
   * batch that were written: an id that keepOnlyItems forgot before the commit is not among them.
   */
  recordRefresh(ids: readonly string[], at: number): Promise<ReadonlySet<string>>
  /**
   * Forgets, at once, the refresh times of ids not in `ids` (start and reload), including ones
   * queued and not yet committed; their rows are deleted with the next batch.
   */
  keepOnlyItems(ids: ReadonlySet<string>): void

  /** Every script, in id order. */
  scripts(): readonly Script[]
  getScript(id: number): Script | undefined
  createScript(fields: ScriptFields): Promise<Script>
  /**
   * Applies the fields that `patch` gives for the script as it stands when the write runs (after
   * the writes queued before it); undefined when there is no such script. When `patch` throws,
   * the write fails with that error and changes nothing.
   */
  updateScript(id: number, patch: (current: Script) => Partial<ScriptFields>): Promise<Script | undefined>
  deleteScript(id: number): Promise<boolean>
  /** The scripts matching `query`, and how many match without limit and offset. */
  queryScripts(query: ScriptQuery): { total: number; scripts: Script[] }

  /** Batches that found the database locked by another process and were tried again later. */
  readonly lockRetries: number
  /** Commits what is queued, then closes the database. */
  close(): void
}

export interface StoreOptions {
  /** Told of a write that no caller awaits (the deletes of keepOnlyItems) when it fails. */
  onError?: (err: unknown, what: string) => void
  /** Caps the database at this many pages, as a full disk would; for tests of write failures. */
  maxPages?: number
}

interface ScriptRow {
  id: number
  name: string
  server: string
  status: number
  last_exec: number | null
  periodicity: string | null
  schedule: string | null
  tz: string | null
  grace: number | null
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
    schedule: r.schedule,
    tz: r.tz,
    grace: r.grace,
  })

/** Named periods are words; anything else was written from a number (String(1e21) is "1e+21"). */
const periodicityFromText = (text: string): Periodicity => (Number.isNaN(Number(text)) ? (text as Periodicity) : Number(text))

const toRow = (s: ScriptFields) => ({
  name: s.name,
  server: s.server,
  status: s.status ? 1 : 0,
  last_exec: s.lastExec,
  periodicity: s.periodicity === null ? null : String(s.periodicity),
  schedule: s.schedule,
  tz: s.tz,
  grace: s.grace,
})

/**
 * Creates the missing folders of `dir`, outermost first. Not mkdirSync's `recursive` option: on
 * some filesystems (/proc) it loops forever instead of failing, and start-up would hang.
 */
function makeFolders(dir: string): void {
  if (existsSync(dir)) {
    if (!statSync(dir).isDirectory()) throw new Error(`${dir} is not a folder`)
    return
  }
  const parent = dirname(dir)
  if (parent !== dir) makeFolders(parent)
  mkdirSync(dir)
}

/** Opens (creating the file and its folder if needed) and migrates the database at `path`. */
export function openStore(path: string, { onError = () => {}, maxPages }: StoreOptions = {}): Store {
  if (path !== ':memory:') makeFolders(dirname(path))
  const db = new Database(path)
  db.pragma('journal_mode = WAL')
  // NORMAL in WAL mode: a commit survives a crash of this process (kill -9); only a power loss
  // can take back the last commits.
  db.pragma('synchronous = NORMAL')
  // Migrations run once, at start-up, before anything is served: they may wait for the lock.
  db.pragma('busy_timeout = 5000')
  migrate(db)
  if (maxPages !== undefined) db.pragma(`max_page_count = ${maxPages}`)
  // Scripts written earlier in the batch under way, for the writes after them in the same batch.
  const DELETED = Symbol('deleted')
  const pendingScripts = new Map<number, Script | typeof DELETED>()
  const batches = groupCommit(db, () => pendingScripts.clear())
  const { write } = batches

  const upsertRefresh = db.prepare(
    'INSERT INTO item_refresh (id, last_refresh) VALUES (?, ?) ON CONFLICT (id) DO UPDATE SET last_refresh = excluded.last_refresh',
  )
  const deleteRefresh = db.prepare('DELETE FROM item_refresh WHERE id = ?')
  const insertScript = db.prepare(
    'INSERT INTO script (name, server, status, last_exec, periodicity, schedule, tz, grace) VALUES (@name, @server, @status, @last_exec, @periodicity, @schedule, @tz, @grace) RETURNING *',
  )
  const updateScriptRow = db.prepare(
    'UPDATE script SET name = @name, server = @server, status = @status, last_exec = @last_exec, periodicity = @periodicity, schedule = @schedule, tz = @tz, grace = @grace WHERE id = @id',
  )
  const deleteScriptRow = db.prepare('DELETE FROM script WHERE id = ?')

  const refreshes = new Map<string, number>()
  for (const row of db.prepare('SELECT id, last_refresh FROM item_refresh').all() as { id: string; last_refresh: number }[]) {
    refreshes.set(row.id, row.last_refresh)
  }
  const scripts = new Map<number, Script>()
  for (const row of db.prepare('SELECT * FROM script ORDER BY id').all() as ScriptRow[]) scripts.set(row.id, fromRow(row))
  let scriptList: readonly Script[] | undefined

  // The refreshes queued since the last batch began are one write: one row per id, its latest time.
  let refreshOp: { times: Map<string, number>; committed: Promise<ReadonlySet<string>> } | undefined
  const scriptsChanged = () => {
    scriptList = undefined
  }

  return {
    refreshTimes: () => refreshes,
    recordRefresh(ids, at) {
      if (refreshOp === undefined) {
        const times = new Map<string, number>()
        const committed = write(() => {
          // Refreshes from here on go to the next batch; this one's ids are final.
          if (refreshOp?.times === times) refreshOp = undefined
          for (const [id, time] of times) upsertRefresh.run(id, time)
          return { result: new Set(times.keys()), apply: () => times.forEach((time, id) => refreshes.set(id, time)) }
        })
        refreshOp = { times, committed }
      }
      for (const id of ids) refreshOp.times.set(id, at)
      return refreshOp.committed
    },
    keepOnlyItems(ids) {
      const gone = [...refreshes.keys()].filter((id) => !ids.has(id))
      for (const id of gone) refreshes.delete(id)
      if (refreshOp !== undefined) {
        for (const id of refreshOp.times.keys()) if (!ids.has(id)) refreshOp.times.delete(id)
        // A refresh after this call must be written after the deletes below, not before them.
        refreshOp = undefined
      }
      if (gone.length > 0) {
        write(() => {
          for (const id of gone) deleteRefresh.run(id)
          return { result: undefined }
        }).catch((err: unknown) => onError(err, `deleting the refresh times of ${gone.length} removed item(s)`))
      }
    },

    scripts: () => (scriptList ??= Object.freeze([...scripts.values()])),
    getScript: (id) => scripts.get(id),
    createScript: (fields) =>
      write(() => {
        const script = fromRow(insertScript.get(toRow(fields)) as ScriptRow)
        pendingScripts.set(script.id, script)
        return { result: script, apply: () => (scripts.set(script.id, script), scriptsChanged()) }
      }),
    // The current row is read when the batch runs, so updates queued together apply in order.
    updateScript: (id, patch) =>
      write(() => {
        const current = pendingScripts.get(id) ?? scripts.get(id)
        if (current === undefined || current === DELETED) return { result: undefined }
        const next: Script = Object.freeze({ ...current, ...patch(current), id })
        updateScriptRow.run({ ...toRow(next), id })
        pendingScripts.set(id, next)
        return { result: next, apply: () => (scripts.set(id, next), scriptsChanged()) }
      }),
    deleteScript: (id) =>
      write(() => {
        if (deleteScriptRow.run(id).changes === 0) return { result: false }
        pendingScripts.set(id, DELETED)
        return { result: true, apply: () => (scripts.delete(id), scriptsChanged()) }
      }),
    queryScripts(query) {
      const { where, params } = whereClause(query.filters)
      const total = (db.prepare(`SELECT count(*) AS n FROM script ${where}`).get(params) as { n: number }).n
      const order = [...query.orderBy.map((o) => `${COLUMN[o.field]} ${o.direction === 'desc' ? 'DESC' : 'ASC'}`), 'id ASC'].join(', ')
      const rows = db
        .prepare(`SELECT * FROM script ${where} ORDER BY ${order} LIMIT ? OFFSET ?`)
        .all(...params, query.limit, query.offset) as ScriptRow[]
      return { total, scripts: rows.map(fromRow) }
    },

    get lockRetries() {
      return batches.lockRetries
    },
    close() {
      batches.drain()
      db.close()
    },
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
