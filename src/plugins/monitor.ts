// Opens the store, decorates the app with its Monitor and closes the store with the app.
import fp from 'fastify-plugin'
import type { Config } from '../config/load.js'
import { Monitor, type Clock } from '../monitor.js'
import { openStore } from '../store/store.js'

declare module 'fastify' {
  interface FastifyInstance {
    monitor: Monitor
  }
}

export interface MonitorOptions {
  config: Config
  dbPath: string
  now: Clock
}

export default fp<MonitorOptions>(
  async (app, { config, dbPath, now }) => {
    const store = openStore(dbPath, { onError: (err, what) => app.log.error({ err }, `database write failed: ${what}`) })
    app.decorate('monitor', new Monitor(config, store, now))
    app.addHook('onClose', async () => store.close())
  },
  { name: 'monitor' },
)
