// Throwaway PostgreSQL clusters for tests (bench/pg-cluster.ts), removed when the test ends. Skipped
// loudly where PostgreSQL is missing, failed under CI, where .ci/run installs it.
import type { Test } from 'tap'
import { createDatabase, postgresBin, startCluster as start, type Cluster } from '../../bench/pg-cluster.js'

export { pgRows, type Cluster } from '../../bench/pg-cluster.js'

/** The bin folder, or undefined after skipping (locally) or failing (CI) the test. */
function requirePostgres(t: Test): string | undefined {
  const bin = postgresBin()
  if (bin !== undefined) return bin
  const message = 'PostgreSQL not found (Debian: apt-get install postgresql; or set PG_BIN)'
  if (process.env.CI) t.fail(`${message}: CI must have it`)
  else {
    process.stderr.write(`\n*** SKIPPED: ${message}; the PostgreSQL store is not tested here ***\n\n`)
    t.skip(message, () => {})
  }
  return undefined
}

/** Starts a cluster of its own, stopped and removed when `t` ends; undefined when skipped. */
export function startCluster(t: Test): Cluster | undefined {
  const bin = requirePostgres(t)
  if (bin === undefined) return undefined
  const cluster = start(bin)
  t.teardown(() => cluster.destroy())
  return cluster
}

/**
 * Where a test file makes its databases: the cluster .ci/run started ($STATUSPAGE_TEST_PG, an
 * admin URL), else one of the file's own; undefined when skipped.
 */
export function sharedCluster(t: Test): Pick<Cluster, 'createDatabase'> | undefined {
  const admin = process.env.STATUSPAGE_TEST_PG
  if (admin === undefined || admin === '') return startCluster(t)
  return { createDatabase: () => createDatabase(admin) }
}
