// PostgreSQL's connection and availability: the pool (reads, locked batches), the one connection
// that listens and carries the batches of signals, and whether the database answers. While it does
// not, it is probed until it does again; the store is told of both changes.
import pg, { type Notification, type PoolConfig } from 'pg'
import { StoreUnavailableError } from '../../errors.js'
import { migratePostgres } from './migrations.js'

/** The channel every replica listens on; a payload is a Note (replication.ts). */
export const CHANNEL = 'statuspage_changes'
/** Between attempts to reach a database that stopped answering. */
const PROBE_MS = 500
/** The listening connection is checked this often: a silent one would miss notifications. */
const HEARTBEAT_MS = 5000

/** An error the database server raised (it has a SQLSTATE), as opposed to one on the way to it. */
export const sqlState = (err: unknown): string | undefined => {
  const code = (err as { code?: unknown } | undefined)?.code
  return typeof code === 'string' && /^[0-9A-Z]{5}$/.test(code) ? code : undefined
}

/**
 * Whether `err` says the database cannot be reached: a refused or lost connection, a timeout, or
 * a server that is shutting down or out of resources (SQLSTATE classes 08, 53, 57, 58).
 */
export function isUnavailable(err: unknown): boolean {
  const state = sqlState(err)
  if (state !== undefined) return /^(08|53|57|58)/.test(state)
  if (!(err instanceof Error)) return false
  const code = (err as { code?: unknown }).code
  return (typeof code === 'string' && code.startsWith('E')) || /connection|terminated|timeout|timed out|not queryable/i.test(err.message)
}

/** A deadlock or a serialization failure: the batch may simply run again. */
export const isRetryable = (err: unknown) => sqlState(err) === '40P01' || sqlState(err) === '40001'

/** Queries on the pool or on a batch's connection. */
export type Queryable = Pick<pg.Pool, 'query'>

export interface LinkEvents {
  onNotification(msg: Notification): void
  /** The database stopped answering: `up` is already false. */
  onDown(err: unknown): void
  /** It answers again. */
  onUp(): void
}

export class Link {
  readonly pool: pg.Pool
  readonly #config: PoolConfig
  readonly #events: LinkEvents
  #up = true
  #closing = false
  /** Listens, and carries the batches of signals (see connect). */
  #connection: pg.Client | undefined
  /** The server process of the connection: the notifications it sends are this replica's own. */
  #pid: number | undefined
  #probe: NodeJS.Timeout | undefined
  #heartbeat: NodeJS.Timeout | undefined

  constructor(url: string, events: LinkEvents) {
    this.#events = events
    this.#config = {
      connectionString: url,
      application_name: 'statuspage',
      max: 4,
      connectionTimeoutMillis: 2000,
      query_timeout: 10_000,
      keepAlive: true,
      // ms since the epoch and seqs are bigint: read as numbers (exact below 2^53).
      types: {
        getTypeParser: ((oid: number, format?: 'text' | 'binary') =>
          oid === 20 ? Number : pg.types.getTypeParser(oid, format)) as typeof pg.types.getTypeParser,
      },
    }
    this.pool = new pg.Pool(this.#config)
    // An idle connection that the server ends emits here; unhandled, it would end the process.
    this.pool.on('error', (err) => this.markDown(err))
  }

  /** Whether the database answers. */
  get up(): boolean {
    return this.#up
  }

  /** The connection that carries the batches of signals; undefined while the database is down. */
  get connection(): pg.Client | undefined {
    return this.#connection
  }

  /** Whether a notification was sent on this replica's own connection. */
  isOwn(msg: Notification): boolean {
    return msg.processId === this.#pid
  }

  /**
   * The schema, then the listening connection: before the state is read (`load`), so that no change
   * falls between the two. Ends the pool when either fails.
   */
  async open(load: () => Promise<void>): Promise<void> {
    try {
      const client = await this.pool.connect()
      try {
        await migratePostgres(client)
      } finally {
        client.release()
      }
      await this.#connect()
      await load()
    } catch (err) {
      this.#disconnect()
      await this.pool.end()
      throw err
    }
  }

  /**
   * One kept connection for the batches, as measured, gives a refresh through PostgreSQL 0.39-0.49
   * of bare Fastify, against 0.31-0.36 through the pool (a checkout, a release and an idle timer per
   * batch). Listening on it too, a batch's own notification comes back with its answer, where a
   * second listening connection would wake another server process on every batch.
   */
  async #connect(): Promise<void> {
    const client = new pg.Client(this.#config)
    const lost = (err: unknown) => {
      if (this.#connection === client) this.markDown(err)
    }
    client.on('error', lost)
    client.on('end', () => lost(new Error('the listening connection ended')))
    client.on('notification', (msg) => this.#events.onNotification(msg))
    let pid: number
    try {
      await client.connect()
      await client.query(`LISTEN ${CHANNEL}`)
      pid = (await client.query<{ pid: number }>('SELECT pg_backend_pid() AS pid')).rows[0]!.pid
    } catch (err) {
      client.end().catch(() => {})
      throw err
    }
    this.#connection = client
    this.#pid = pid
    this.#heartbeat = setInterval(() => void client.query('SELECT 1').catch(lost), HEARTBEAT_MS).unref()
  }

  #disconnect() {
    clearInterval(this.#heartbeat)
    this.#connection?.end().catch(() => {})
    this.#connection = undefined
    this.#pid = undefined
  }

  /** The database stopped answering: tell the store, and try to reach it again until it does. */
  markDown(err: unknown): void {
    if (this.#closing || !this.#up) return
    this.#up = false
    this.#disconnect()
    this.#events.onDown(err)
    this.#probe = setTimeout(() => void this.#tryToRecover(), PROBE_MS)
  }

  async #tryToRecover() {
    this.#probe = undefined
    if (this.#closing) return
    try {
      await this.#connect()
      await this.pool.query('SELECT 1')
    } catch {
      this.#disconnect()
      this.#probe = setTimeout(() => void this.#tryToRecover(), PROBE_MS)
      return
    }
    this.#up = true
    this.#events.onUp()
  }

  /** A query on the pool: a StoreUnavailableError at once while the database does not answer, or when it stops. */
  async reading<T>(query: () => Promise<T>): Promise<T> {
    if (!this.#up) throw new StoreUnavailableError()
    try {
      return await query()
    } catch (err) {
      if (isUnavailable(err)) {
        this.markDown(err)
        throw new StoreUnavailableError()
      }
      throw err
    }
  }

  /** From here on, a lost database is not probed again. */
  closing(): void {
    this.#closing = true
    clearTimeout(this.#probe)
  }

  async end(): Promise<void> {
    this.#disconnect()
    await this.pool.end()
  }
}
