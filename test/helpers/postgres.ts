// Throwaway PostgreSQL clusters for tests: initdb and pg_ctl in a private folder, reached by a unix
// socket in that folder (no port to share), fsync off. As root, they run as the postgres user,
// since initdb refuses root. Skipped loudly where PostgreSQL is missing, failed under CI.
import { execFileSync } from 'node:child_process'
import { chmodSync, chownSync, existsSync, mkdtempSync, readdirSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { dirname, join } from 'node:path'
import pg from 'pg'
import type { Test } from 'tap'
import { which } from './binaries.js'

/** The folder with initdb and pg_ctl: $PG_BIN, the PATH, or Debian's /usr/lib/postgresql/<v>/bin. */
export function postgresBin(): string | undefined {
  const fromEnv = process.env.PG_BIN
  if (fromEnv !== undefined) return existsSync(join(fromEnv, 'initdb')) ? fromEnv : undefined
  const onPath = which('initdb')
  if (onPath !== undefined) return dirname(onPath)
  const debian = '/usr/lib/postgresql'
  if (!existsSync(debian)) return undefined
  const versions = readdirSync(debian).filter((v) => existsSync(join(debian, v, 'bin', 'initdb')))
  versions.sort((a, b) => Number(b) - Number(a))
  return versions[0] === undefined ? undefined : join(debian, versions[0], 'bin')
}

/** The bin folder, or undefined after skipping (locally) or failing (CI) the test. */
export function requirePostgres(t: Test): string | undefined {
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

export interface Cluster {
  /** A URL of database `db` on the cluster, by its socket. */
  url(db?: string): string
  /** A new empty database; its URL. */
  createDatabase(): Promise<string>
  /** Stops the server: `fast` ends every connection, as a restart does; `immediate` as a crash. */
  stop(mode?: 'fast' | 'immediate'): void
  start(): void
}

let databases = 0

/** Starts a cluster of its own, stopped and removed when `t` ends; undefined when skipped. */
export function startCluster(t: Test): Cluster | undefined {
  const bin = requirePostgres(t)
  if (bin === undefined) return undefined
  // In the system's temporary folder, not the test's: the postgres user must reach it.
  const dir = mkdtempSync(join(tmpdir(), 'statuspage-pg-'))
  const root = process.getuid?.() === 0
  if (root) {
    const uid = Number(execFileSync('id', ['-u', 'postgres'], { encoding: 'utf8' }))
    const gid = Number(execFileSync('id', ['-g', 'postgres'], { encoding: 'utf8' }))
    chownSync(dir, uid, gid)
  }
  chmodSync(dir, 0o700)
  const run = (tool: string, args: string[]) => {
    const [file, argv] = root ? ['setpriv', ['--reuid=postgres', '--regid=postgres', '--init-groups', join(bin, tool), ...args]] : [join(bin, tool), args]
    execFileSync(file, argv, { stdio: ['ignore', 'pipe', 'pipe'], cwd: dir })
  }
  const data = join(dir, 'data')
  run('initdb', ['-A', 'trust', '--no-sync', '-U', 'postgres', '-E', 'UTF8', '-D', data])
  const start = () => run('pg_ctl', ['-w', '-D', data, '-l', join(dir, 'log'), '-o', `-c fsync=off -c listen_addresses='' -k ${dir}`, 'start'])
  let running = false
  const cluster: Cluster = {
    url: (db = 'postgres') => `postgresql://postgres@/${db}?host=${encodeURIComponent(dir)}`,
    async createDatabase() {
      const name = `sp_${process.pid}_${++databases}`
      const admin = new pg.Client({ connectionString: cluster.url() })
      await admin.connect()
      try {
        await admin.query(`CREATE DATABASE ${name}`)
      } finally {
        await admin.end()
      }
      return cluster.url(name)
    },
    stop(mode = 'fast') {
      run('pg_ctl', ['-w', '-D', data, '-m', mode, 'stop'])
      running = false
    },
    start() {
      start()
      running = true
    },
  }
  cluster.start()
  t.teardown(() => {
    if (running) cluster.stop('immediate')
    rmSync(dir, { recursive: true, force: true })
  })
  return cluster
}

/** Rows of `sql` on a fresh connection to `url`, bigints as numbers: what a restart would see. */
export async function pgRows<T>(url: string, sql: string): Promise<T[]> {
  const client = new pg.Client({ connectionString: url, types: { getTypeParser: ((oid: number, format?: 'text' | 'binary') => (oid === 20 ? Number : pg.types.getTypeParser(oid, format))) as typeof pg.types.getTypeParser } })
  await client.connect()
  try {
    return (await client.query(sql)).rows as T[]
  } finally {
    await client.end()
  }
}

/**
 * Where a test file makes its databases: the cluster .ci/run started ($STATUSPAGE_TEST_PG, an
 * admin URL), else one of the file's own; undefined when skipped.
 */
export function sharedCluster(t: Test): Pick<Cluster, 'createDatabase'> | undefined {
  const admin = process.env.STATUSPAGE_TEST_PG
  if (admin === undefined || admin === '') return startCluster(t)
  return {
    async createDatabase() {
      const name = `sp_${process.pid}_${++databases}`
      await pgRows(admin, `CREATE DATABASE ${name}`)
      // The same URL with another database (a URL without a host, as socket URLs are, is no WHATWG URL).
      const [base = '', query] = admin.split('?')
      return `${base.replace(/\/[^/]*$/, `/${name}`)}${query === undefined ? '' : `?${query}`}`
    },
  }
}
