// Opens the store, decorates the app with its Monitor and closes the store with the app.
import fp from 'fastify-plugin'
import type { Config } from '../config/load.js'
import { fieldsOutOfRange } from '../domain/script.js'
import { Monitor, type Clock } from '../monitor.js'
import { openStore } from '../store/open.js'

declare module 'fastify' {
  interface FastifyInstance {
    monitor: Monitor
  }
}

interface MonitorOptions {
  config: Config
  /** A SQLite file or a postgres:// URL. */
  database: string
  now: Clock
  maxPages?: number | undefined
}

export default fp<MonitorOptions>(
  async (app, { config, database, now, maxPages }) => {
    const store = await openStore(database, {
      maxPages,
      onError: (err, what) => app.log.error({ err }, `database: ${what}`),
      onAvailability: (up) =>
        up
          ? app.log.info('database: writes commit again; ready')
          : app.log.error('database: writes fail (unreachable, or a full disk); not ready until they commit again'),
    })
    try {
      app.decorate('monitor', await Monitor.open(config, store, now))
    } catch (err) {
      await store.close()
      throw err
    }
    for (const script of app.monitor.scripts()) {
      const fields = fieldsOutOfRange(script)
      if (fields.length > 0) {
        app.log.warn(
          { script: script.id, fields },
          'script: a stored value is out of range; times derived from it show as null until the script is written again',
        )
      }
    }
    app.addHook('onClose', async () => app.monitor.close())
  },
  { name: 'monitor' },
)
