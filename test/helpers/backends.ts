// The two stores, for tests that must hold on both: a fresh database of each, and its rows as a
// restart would read them (the SQL is portable).
import { join } from 'node:path'
import type { Test } from 'tap'
import { onDisk } from './db.js'
import { pgRows, sharedCluster } from './postgres.js'

export interface Backend {
  readonly name: 'SQLite' | 'PostgreSQL'
  /** The location of a new, empty database. */
  fresh(t: Test): Promise<string>
  rows<T>(location: string, sql: string): Promise<T[]>
}

const sqlite: Backend = {
  name: 'SQLite',
  fresh: async (t) => join(t.testdir(), 'sp.db'),
  rows: async (location, sql) => onDisk(location, sql),
}

/** SQLite always; PostgreSQL where it is installed (a cluster for the file), and always under CI. */
export function backends(t: Test): Backend[] {
  const cluster = sharedCluster(t)
  if (cluster === undefined) return [sqlite]
  return [sqlite, { name: 'PostgreSQL', fresh: () => cluster.createDatabase(), rows: pgRows }]
}
