// The PostgreSQL driver (node-postgres): the core's store (../writes.ts) for replicas that share one
// database. This file runs the core's batches and the reads of other replicas' changes, one step at
// a time, within deadlines; the parts beside it: the connection and availability (link.ts),
// replication (replication.ts), the batches (batches.ts), the changes of stored checks and the
// pool's reads (checks.ts), and the schema (migrations.ts, which says how replicas share the tables).
//
// Written here rather than taken from a library: the group commit, the per-id fold and the
// catch-up are this service's own rules; pg gives the connections, the pool and the notifications.
import { randomUUID } from 'node:crypto'
import { setImmediate as endOfTurn } from 'node:timers/promises'
import { StoreTimeoutError, StoreUnavailableError } from '../../errors.js'
import { Batches } from './batches.js'
import { postgresFlips } from './flips.js'
import { CHANNEL, isUnavailable, Link } from './link.js'
import { Replication } from './replication.js'
import { changeWriter, poolReads } from './checks.js'
import type { Store, StoreOptions } from '../contract.js'
import { storeOver, Writes, type AwaitedWrite, type SignalWrite, type Write } from '../writes.js'

export { noteOf } from './replication.js'

/**
 * How long a write may wait on the database before it is answered 503: with the check's period,
 * within the 2 s that clients' retry loops allow (statuspage-run's --timeout, Healthchecks' 10 s).
 */
const WRITE_DEADLINE_MS = 1500
/** The same for writes that wait behind a read of other replicas' changes. */
const READ_DEADLINE_MS = 5000
const DEADLINE_CHECK_MS = 250
const NO_OPS: readonly Write[] = Object.freeze([])

export async function openPostgresStore(url: string, { onError = () => {}, onAvailability = () => {} }: StoreOptions = {}): Promise<Store> {
  const link = new Link(url, {
    onNotification(msg) {
      // Every batch of signals notifies on the connection that listens: its own note, read unparsed.
      if (msg.channel !== CHANNEL || msg.payload === undefined || link.isOwn(msg)) return
      replication.heard(msg.payload)
      if (replication.pending) void pump()
    },
    onDown(err) {
      onError(err, 'the database stopped answering; writes fail with 503 until it is back')
      onAvailability(false)
      writes.failAll(new StoreUnavailableError())
    },
    onUp() {
      // Whatever was missed meanwhile, including a commit whose answer was lost, is read again
      // before the next batch; a batch folds what it finds newer in any case.
      replication.wantResync()
      onAvailability(true)
      void pump()
    },
  })
  const replication = new Replication(randomUUID(), link.pool)
  const { memory } = replication
  const batches = new Batches(link, replication, changeWriter(replication), onError)
  const writes = new Writes(() => void pump())

  let closing = false
  let pumping: Promise<void> | undefined
  /** The step the pump awaits: since when, and the writes it carries (none for a read). */
  let busy: { since: number; ops: readonly Write[] } | undefined
  const deadline = setInterval(checkDeadline, DEADLINE_CHECK_MS).unref()

  // Once close() has begun, only the queue is drained: reads of other replicas' changes would
  // start a run that does nothing, again and again.
  const hasWork = () => writes.size > 0 || (!closing && replication.pending)

  /**
   * Runs queued batches and reads of other replicas' changes, one at a time, while up. The
   * promise of the run under way; a new run starts if work arrived as the last one ended.
   */
  function pump(): Promise<void> {
    pumping ??= drain().finally(() => {
      pumping = undefined
      if (link.up && hasWork()) void pump()
    })
    return pumping
  }

  async function drain(): Promise<void> {
    // The answers of the last batch of signals, held until the next batch has gone out: the
    // database writes one while this process writes the other's responses (see Batches.signals).
    let answer: (() => void) | undefined
    const flush = () => {
      const a = answer
      answer = undefined
      a?.()
    }
    try {
      while (link.up && hasWork()) {
        busy = { since: Date.now(), ops: NO_OPS }
        if (!closing && replication.pending) {
          flush()
          await replication.read(guarded)
          continue
        }
        // The batch takes every write that this turn of the event loop reads: requests that
        // arrived together, and those that a database answer found waiting behind it. Sent at
        // once, it went out with the first of them alone (a third of the batches held one
        // signal under 32 connections; see bench/RESULTS.md).
        if (writes.peek().every((op) => op.kind === 'signal')) {
          await endOfTurn()
          if (!link.up) continue
        }
        const ops = writes.take()
        busy = { since: Date.now(), ops }
        try {
          if (ops.every((op) => op.kind === 'signal')) {
            // Batches.signals sends its call before its first await.
            const written = batches.signals(ops as SignalWrite[])
            flush()
            answer = await written
          } else {
            flush()
            await batches.run(ops)
          }
        } finally {
          writes.settled(ops)
        }
      }
    } finally {
      busy = undefined
      flush()
    }
  }

  async function guarded(read: () => Promise<void>, what: string) {
    try {
      await read()
    } catch (err) {
      if (isUnavailable(err)) link.markDown(err)
      else onError(err, what)
    }
  }

  /**
   * Writes waiting on the database past WRITE_DEADLINE_MS: it is taken as down (what is queued
   * fails at once, with nothing recorded), and the writes under way are answered with a
   * StoreTimeoutError: they may yet commit, and a retry with the same rid or key is recognised.
   */
  function checkDeadline() {
    if (!link.up || busy === undefined) return
    const waiting = busy.ops.filter((op): op is AwaitedWrite => op.kind !== 'forget')
    // Writes queued behind a read (a resync after a reconnect reads every id) give it longer.
    if (Date.now() - busy.since < (waiting.length > 0 ? WRITE_DEADLINE_MS : READ_DEADLINE_MS)) return
    if (waiting.length === 0 && !writes.peek().some((op) => op.kind !== 'forget')) return
    link.markDown(new Error(`the database did not answer within ${WRITE_DEADLINE_MS} ms`))
    for (const op of waiting) op.reject(new StoreTimeoutError())
  }

  let flips: Awaited<ReturnType<typeof postgresFlips>>
  try {
    await link.open(() => replication.load())
    flips = await postgresFlips(link)
  } catch (err) {
    clearInterval(deadline)
    if (link.up) await link.end().catch(() => {})
    throw err
  }

  return storeOver({
    memory,
    writes,
    refusal: () => (link.up ? undefined : new StoreUnavailableError()),
    reads: {
      ...poolReads(link),
      ...flips,
      onSignals: (listener) => replication.onSignals(listener),
      onDefinitions: (listener) => replication.onDefinitions(listener),
    },
    get up() {
      return link.up
    },
    get lockRetries() {
      return batches.lockRetries
    },
    get remoteRows() {
      return replication.remoteRows
    },
    async close() {
      closing = true
      link.closing()
      clearInterval(deadline)
      while (pumping !== undefined || (link.up && writes.size > 0)) await pump()
      writes.failAll(new StoreUnavailableError())
      await link.end()
    },
  })
}
