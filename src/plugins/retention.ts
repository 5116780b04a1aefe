// Output retention: outputs older than run_log.max_age, then the oldest while all of them hold more
// than max_output_mib, deleted a step at a time. Each step is a small write of its own, so check-ins
// queued meanwhile wait for one step at most, never for the whole sweep.
import fp from 'fastify-plugin'

/** Between sweeps. */
export const RETENTION_MS = 60_000
/** Outputs deleted per step. */
export const RETENTION_STEP = 500

export interface RetentionOptions {
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
          deleted = await monitor.store.pruneOutputs({ before: monitor.now() - maxAge * 1000, maxBytes, limit: RETENTION_STEP })
          // Requests that arrived during the step are served before the next one.
          await new Promise((resolve) => setImmediate(resolve))
        } while (deleted === RETENTION_STEP && !closing)
      } catch (err) {
        app.log.error({ err }, 'run log: deleting old outputs failed; trying again at the next sweep')
      }
    }
    const timer = setInterval(() => void (sweeping ??= sweep().finally(() => (sweeping = undefined))), everyMs).unref()
    app.addHook('onClose', async () => {
      closing = true
      clearInterval(timer)
      await sweeping
    })
  },
  { name: 'retention', dependencies: ['monitor'] },
)
