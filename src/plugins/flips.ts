// The evaluator's timer, the log line of each flip, and flip retention. Every EVALUATE_MS the
// Monitor judges every check (Monitor.evaluate): what time alone changes (a deadline, max_runtime,
// a maintenance window) is recorded within a tick or two of happening, with the time it happened.
// Signals are judged as they commit, without the timer.
import fp from 'fastify-plugin'
import { isScriptKey } from '../domain/check.js'
import { isDownState, type Flip } from '../domain/flip.js'
import type { Monitor } from '../monitor.js'

/** Between evaluations of every check. */
const EVALUATE_MS = 1000
/** Between sweeps of old flips. */
const SWEEP_MS = 3_600_000
/** Flips deleted per step of a sweep. */
const SWEEP_STEP = 500
/** A failure to record flips is logged at most this often while it lasts. */
const FAILURE_LOG_MS = 60_000

interface FlipsOptions {
  everyMs?: number
  sweepMs?: number
}

/** What a log line calls the check with `key`: its name, as the page shows it. */
function checkName(monitor: Monitor, key: string): string {
  if (isScriptKey(key)) return monitor.scriptOfKey(key)?.name ?? key
  return monitor.config.itemsById.get(key)?.[0]?.name ?? key
}

export default fp<FlipsOptions>(
  async (app, { everyMs = EVALUATE_MS, sweepMs = SWEEP_MS }) => {
    const { monitor } = app
    // One structured line per flip, on the replica that recorded it: warn going down, info otherwise.
    monitor.onFlip((flip: Flip) => {
      const name = checkName(monitor, flip.key)
      const line = { check: flip.key, name, seq: flip.seq, from: flip.from, to: flip.to, reason: flip.reason, at: new Date(flip.at).toISOString() }
      const msg = `check ${name} is ${flip.to}${flip.reason === null ? '' : `: ${flip.reason}`}`
      if (isDownState(flip.to)) app.log.warn(line, msg)
      else app.log.info(line, msg)
    })

    let closing = false
    let evaluating: Promise<unknown> | undefined
    let failedAt = -Infinity
    const tick = () => {
      if (evaluating !== undefined || closing) return
      evaluating = monitor
        .evaluate()
        .catch((err: unknown) => {
          if (monitor.now() - failedAt < FAILURE_LOG_MS) return
          failedAt = monitor.now()
          app.log.warn({ err }, 'flips: recording changes of state failed; trying again every second')
        })
        .finally(() => {
          evaluating = undefined
        })
    }
    const timer = setInterval(tick, everyMs).unref()

    let sweeping: Promise<void> | undefined
    const sweep = async () => {
      const { maxAge, maxPerCheck } = monitor.config.flips
      try {
        let deleted: number
        do {
          deleted = await monitor.flips.pruneFlips({ before: monitor.now() - maxAge * 1000, keep: maxPerCheck, limit: SWEEP_STEP })
          await new Promise((resolve) => setImmediate(resolve))
        } while (deleted >= SWEEP_STEP && !closing)
      } catch (err) {
        app.log.error({ err }, 'flips: deleting old flips failed; trying again at the next sweep')
      }
    }
    const sweeper = setInterval(() => {
      sweeping ??= sweep().finally(() => {
        sweeping = undefined
      })
    }, sweepMs).unref()

    app.addHook('onReady', async () => tick())
    app.addHook('onClose', async () => {
      closing = true
      clearInterval(timer)
      clearInterval(sweeper)
      await Promise.all([evaluating, sweeping])
    })
  },
  { name: 'flips', dependencies: ['monitor'] },
)
