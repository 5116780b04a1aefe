// Output retention: outputs older than run_log.max_age, then the oldest while all of them hold more
// than max_output_mib, deleted a step at a time. Each step is a small write of its own, so check-ins
// queued meanwhile wait for one step at most, never for the whole sweep. A sweep runs every minute,
// and each time outputs have grown by a fortieth of max_output_mib.
import fp from 'fastify-plugin'

/** Between sweeps. */
const RETENTION_MS = 60_000
/** Outputs deleted per step. */
const RETENTION_STEP = 500
/**
 * Outputs past max_output_mib are cut down to this share of it: the next sweeps then find them
 * under the limit, and delete nothing, for a while.
 */
const LOW_WATER = 0.8

interface RetentionOptions {
  everyMs?: number
}

export default fp<RetentionOptions>(
  async (app, { everyMs = RETENTION_MS }) => {
    const { monitor } = app
    let sweeping: Promise<void> | undefined
    let closing = false
    const sweep = async () => {
      const { maxAge, maxBytes } = monitor.config.runLog
      try {
        let deleted: number
        do {
          deleted = await monitor.pruneOutputs({ before: monitor.now() - maxAge * 1000, maxBytes, downTo: maxBytes * LOW_WATER, limit: RETENTION_STEP })
          // Requests that arrived during the step are served before the next one.
          await new Promise((resolve) => setImmediate(resolve))
        } while (deleted === RETENTION_STEP && !closing)
      } catch (err) {
        app.log.error({ err }, 'run log: deleting old outputs failed; trying again at the next sweep')
      }
    }
    let sweptAt = 0
    /** Outputs arrived while a sweep ran: another one follows it. */
    let again = false
    const start = (total: number) => {
      sweptAt = total
      if (sweeping !== undefined) {
        again = true
        return
      }
      sweeping = sweep().finally(() => {
        sweeping = undefined
        if (again && !closing) {
          again = false
          start(sweptAt)
        }
      })
    }
    const timer = setInterval(() => start(sweptAt), everyMs).unref()
    // Also as often as outputs arrive: a sweep each time they add a fortieth of the limit, so
    // that they pass it by a tenth at most while a sweep runs.
    monitor.events.onOutput((total) => {
      if (!closing && total - sweptAt >= monitor.config.runLog.maxBytes / 40) start(total)
    })
    app.addHook('onClose', async () => {
      closing = true
      clearInterval(timer)
      await sweeping
    })
  },
  { name: 'retention', dependencies: ['monitor'] },
)
