// A throwaway PostgreSQL cluster, for the benchmarks and the tests: initdb and pg_ctl in a private
// folder, reached by a unix socket in that folder (no port to share), fsync off. As root they run as
// the postgres user, since initdb refuses root.
import { execFileSync } from 'node:child_process'
import { chmodSync, chownSync, existsSync, mkdtempSync, readdirSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import pg from 'pg'

/** The folder with initdb and pg_ctl: $PG_BIN, the PATH, or Debian's /usr/lib/postgresql/<v>/bin. */
export function postgresBin(): string | undefined {
  const fromEnv = process.env.PG_BIN
  if (fromEnv !== undefined) return existsSync(join(fromEnv, 'initdb')) ? fromEnv : undefined
  for (const dir of (process.env.PATH ?? '').split(':')) if (dir !== '' && existsSync(join(dir, 'initdb'))) return dir
  const debian = '/usr/lib/postgresql'
  if (!existsSync(debian)) return undefined
  const versions = readdirSync(debian).filter((v) => existsSync(join(debian, v, 'bin', 'initdb')))
  versions.sort((a, b) => Number(b) - Number(a))
  return versions[0] === undefined ? undefined : join(debian, versions[0], 'bin')
}

export interface Cluster {
  /** A URL of database `db` on the cluster, by its socket. */
  url(db?: string): string
  /** A new empty database; its URL. */
  createDatabase(): Promise<string>
  /** Stops the server: `fast` ends every connection, as a restart does; `immediate` as a crash. */
  stop(mode?: 'fast' | 'immediate'): void
  start(): void
  /** Stops it if running and removes its folder. */
  destroy(): void
}

let databases = 0

/** Rows of `sql` on a fresh connection to `url`, bigints as numbers. */
export async function pgRows<T>(url: string, sql: string): Promise<T[]> {
  const getTypeParser = ((oid: number, format?: 'text' | 'binary') =>
    oid === 20 ? Number : pg.types.getTypeParser(oid, format)) as typeof pg.types.getTypeParser
  const client = new pg.Client({ connectionString: url, types: { getTypeParser } })
  await client.connect()
  try {
    return (await client.query(sql)).rows as T[]
  } finally {
    await client.end()
  }
}

/** A new database on the server of `admin` (a URL of any database on it); its URL. */
export async function createDatabase(admin: string): Promise<string> {
  const name = `sp_${process.pid}_${++databases}`
  await pgRows(admin, `CREATE DATABASE ${name}`)
  // The same URL with another database (a URL without a host, as socket URLs are, is no WHATWG URL).
  const [base = '', query] = admin.split('?')
  return `${base.replace(/\/[^/]*$/, `/${name}`)}${query === undefined ? '' : `?${query}`}`
}

/** Initializes and starts a cluster with the programs in `bin`. */
export function startCluster(bin: string): Cluster {
  // In the system's temporary folder: the postgres user must reach it.
  const dir = mkdtempSync(join(tmpdir(), 'statuspage-pg-'))
  const root = process.getuid?.() === 0
  if (root) {
    const id = (flag: string) => Number(execFileSync('id', [flag, 'postgres'], { encoding: 'utf8' }))
    chownSync(dir, id('-u'), id('-g'))
  }
  chmodSync(dir, 0o700)
  const run = (tool: string, args: string[]) => {
    const [file, argv] = root ? ['setpriv', ['--reuid=postgres', '--regid=postgres', '--init-groups', join(bin, tool), ...args]] : [join(bin, tool), args]
    execFileSync(file, argv, { stdio: ['ignore', 'pipe', 'pipe'], cwd: dir })
  }
  const data = join(dir, 'data')
  run('initdb', ['-A', 'trust', '--no-sync', '-U', 'postgres', '-E', 'UTF8', '-D', data])
  let running = false
  const cluster: Cluster = {
    url: (db = 'postgres') => `postgresql://postgres@/${db}?host=${encodeURIComponent(dir)}`,
    createDatabase: () => createDatabase(cluster.url()),
    stop(mode = 'fast') {
      run('pg_ctl', ['-w', '-D', data, '-m', mode, 'stop'])
      running = false
    },
    start() {
      run('pg_ctl', ['-w', '-D', data, '-l', join(dir, 'log'), '-o', `-c fsync=off -c listen_addresses='' -k ${dir}`, 'start'])
      running = true
    },
    destroy() {
      if (running) cluster.stop('immediate')
      rmSync(dir, { recursive: true, force: true })
    },
  }
  cluster.start()
  return cluster
}
