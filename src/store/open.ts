// The factory: the store a location names. Apart from the contract (contract.ts), which the drivers
// import, so that no import goes round in a circle.
import { openPostgresStore } from './postgres/store.js'
import { openSqliteStore } from './sqlite/store.js'
import type { Store, StoreOptions } from './contract.js'

/** Whether `location` names a PostgreSQL database rather than a SQLite file. */
export const isPostgresUrl = (location: string) => /^postgres(ql)?:\/\//i.test(location)

/** `location` fit for a log line: a URL's password is replaced by ***. */
export function redactPassword(location: string): string {
  if (!isPostgresUrl(location)) return location
  try {
    const url = new URL(location)
    if (url.password !== '') url.password = '***'
    return url.toString()
  } catch {
    return location.replace(/:[^:@/]*@/, ':***@')
  }
}

/** Opens the store at `location`: a postgres:// URL, else a SQLite file (created with its folder). */
export async function openStore(location: string, options: StoreOptions = {}): Promise<Store> {
  return isPostgresUrl(location) ? openPostgresStore(location, options) : openSqliteStore(location, options)
}
