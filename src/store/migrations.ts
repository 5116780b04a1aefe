// Schema versions, applied in order and recorded in PRAGMA user_version. Append new steps; never
// edit a step that has shipped, so every existing database can be brought up to date.
import type { Database } from 'better-sqlite3'

const MIGRATIONS: readonly string[] = [
  // 1: last refresh (ms since the epoch) per item id; an id shared by several groups is one row.
  `CREATE TABLE item_refresh (
     id           TEXT PRIMARY KEY,
     last_refresh INTEGER NOT NULL
   ) WITHOUT ROWID`,
  // 2: Scripto's table. last_exec in ms since the epoch; periodicity NULL means the config's default.
  // AUTOINCREMENT: the id of a deleted script is never handed to another one.
  `CREATE TABLE script (
     id          INTEGER PRIMARY KEY AUTOINCREMENT,
     name        TEXT NOT NULL,
     server      TEXT NOT NULL,
     status      INTEGER NOT NULL CHECK (status IN (0, 1)),
     last_exec   INTEGER,
     periodicity TEXT
   )`,
  // 3: a script's cron schedule, its zone and its grace in seconds (NULL: the config's defaults).
  `ALTER TABLE script ADD COLUMN schedule TEXT;
   ALTER TABLE script ADD COLUMN tz TEXT;
   ALTER TABLE script ADD COLUMN grace REAL;`,
  // 4: runs. Item check-ins become an ordered log of signals (start, success, failure), the last
  // ones of each id kept; each item's last refresh becomes its first success. Scripts gain limits
  // on their runs (NULL: the defaults) and their run state as JSON (open runs, streak).
  `CREATE TABLE item_signal (
     seq         INTEGER PRIMARY KEY,
     id          TEXT NOT NULL,
     at          INTEGER NOT NULL,
     kind        TEXT NOT NULL CHECK (kind IN ('start', 'success', 'failure')),
     rid         TEXT,
     exit_status INTEGER,
     duration    REAL
   );
   CREATE INDEX item_signal_by_id ON item_signal (id, seq);
   INSERT INTO item_signal (id, at, kind) SELECT id, last_refresh, 'success' FROM item_refresh ORDER BY last_refresh, id;
   DROP TABLE item_refresh;
   ALTER TABLE script ADD COLUMN max_runtime REAL;
   ALTER TABLE script ADD COLUMN min_runtime REAL;
   ALTER TABLE script ADD COLUMN failure_threshold INTEGER;
   ALTER TABLE script ADD COLUMN recovery_threshold INTEGER;
   ALTER TABLE script ADD COLUMN run_state TEXT;`,
]

export const SCHEMA_VERSION = MIGRATIONS.length

/** Brings the database up to SCHEMA_VERSION; refuses one written by a newer statuspage. */
export function migrate(db: Database): void {
  const current = db.pragma('user_version', { simple: true }) as number
  if (current > SCHEMA_VERSION) {
    throw new Error(`database schema version ${current} is newer than this statuspage understands (${SCHEMA_VERSION}); upgrade statuspage`)
  }
  db.transaction(() => {
    for (let v = current; v < SCHEMA_VERSION; v++) {
      db.exec(MIGRATIONS[v]!)
      db.pragma(`user_version = ${v + 1}`)
    }
  })()
}
