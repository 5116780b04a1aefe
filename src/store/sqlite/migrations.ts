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
  // 4: runs. Item check-ins become an ordered log of signals, the last ones of each id kept; each
  // item's last refresh becomes its first success. A row holds up to 16 signals of one id written
  // by one batch: `at` (ms) of the first, and JSON [[ms after it, kind, rid, exit status,
  // duration], ...] with kind start, ok or fail and trailing nulls left out. Rows stay small enough
  // to sit in their b-tree page: a row per signal, or one of over 1 KB, wrote three to four pages a
  // commit instead of one. seq orders them over all ids (a row's signals are seq, seq + 1...).
  // Scripts gain limits on their runs (NULL: the defaults) and their run state as JSON.
  `CREATE TABLE item_signal (
     id      TEXT NOT NULL,
     seq     INTEGER NOT NULL,
     at      INTEGER NOT NULL,
     n       INTEGER NOT NULL,
     signals TEXT NOT NULL,
     PRIMARY KEY (id, seq)
   ) WITHOUT ROWID;
   INSERT INTO item_signal (id, seq, at, n, signals)
     SELECT id, row_number() OVER (ORDER BY last_refresh, id), last_refresh, 1, '[[0,"ok"]]' FROM item_refresh;
   DROP TABLE item_refresh;
   ALTER TABLE script ADD COLUMN max_runtime REAL;
   ALTER TABLE script ADD COLUMN min_runtime REAL;
   ALTER TABLE script ADD COLUMN failure_threshold INTEGER;
   ALTER TABLE script ADD COLUMN recovery_threshold INTEGER;
   ALTER TABLE script ADD COLUMN run_state TEXT;`,
  // 5: the run log. A signal's entry in item_signal gains its source and the size of the body it
  // carried; the body's first bytes (OUTPUT_MAX) are a signal_body row, deleted with the signal or
  // by retention (by age, then oldest first beyond a total size). kept is the stored text's bytes.
  // A script's signals are script_log rows of one entry each (item_signal's format), their seqs
  // from the same order; their outputs are signal_body rows with the id '' (no item has it).
  // manual_resume: a paused script's reports are ignored until a resume.
  `CREATE TABLE signal_body (
     id    TEXT NOT NULL,
     seq   INTEGER NOT NULL,
     at    INTEGER NOT NULL,
     kept  INTEGER NOT NULL,
     body  TEXT NOT NULL
   );
   CREATE UNIQUE INDEX signal_body_key ON signal_body (id, seq);
   CREATE INDEX signal_body_age ON signal_body (at, kept);
   CREATE TABLE script_log (
     script_id INTEGER NOT NULL,
     seq       INTEGER NOT NULL,
     at        INTEGER NOT NULL,
     signals   TEXT NOT NULL,
     PRIMARY KEY (script_id, seq)
   ) WITHOUT ROWID;
   ALTER TABLE script ADD COLUMN manual_resume INTEGER;`,
  // 6: one check store. item_signal becomes check_signal, one signal log for every check, keyed
  // by the check's key (an item's id; 'scripto:' and the number for a script, see domain/check.ts),
  // and takes script_log's entries, one signal a row as they were; a script's outputs move from the
  // id '' to its key. The index on script_log's seq serves the move only. script becomes
  // check_def, the checks defined in the store, with their source: 'scripto' for Scripto's scripts
  // (config.yml's items are defined by the file). AUTOINCREMENT's counter goes with the rename.
  `ALTER TABLE script RENAME TO check_def;
   ALTER TABLE check_def ADD COLUMN source TEXT NOT NULL DEFAULT 'scripto';
   ALTER TABLE item_signal RENAME TO check_signal;
   INSERT INTO check_signal (id, seq, at, n, signals) SELECT 'scripto:' || script_id, seq, at, 1, signals FROM script_log;
   CREATE INDEX script_log_seq ON script_log (seq);
   UPDATE signal_body SET id = 'scripto:' || l.script_id FROM script_log l WHERE signal_body.id = '' AND l.seq = signal_body.seq;
   DELETE FROM signal_body WHERE id = '';
   DROP TABLE script_log;`,
  // 7: checks defined through the checks API, or created on their first ping. Such a row has the
  // check's id as its key (unique; NULL for a script, which Scripto numbers) and the check as the
  // API took it, as JSON (spec): the fields of a config item, its group and its tags. created and
  // updated are ms since the epoch. Its signals are under its key in check_signal, as an item's.
  `ALTER TABLE check_def ADD COLUMN key TEXT;
   ALTER TABLE check_def ADD COLUMN spec TEXT;
   ALTER TABLE check_def ADD COLUMN created INTEGER;
   ALTER TABLE check_def ADD COLUMN updated INTEGER;
   CREATE UNIQUE INDEX check_def_key ON check_def (key);`,
  // 8: flips, each check's changes of state (domain/flip.ts), under its key: seq counts a check's
  // flips from 1, and (key, seq) being unique is the compare-and-set that records each once. at in
  // ms; from_state and to_state a FlipState; reason for people, NULL when there is none. Retention
  // deletes by age (check_flip_age) and beyond the newest of each key.
  `CREATE TABLE check_flip (
     key        TEXT NOT NULL,
     seq        INTEGER NOT NULL,
     at         INTEGER NOT NULL,
     from_state TEXT NOT NULL,
     to_state   TEXT NOT NULL,
     reason     TEXT,
     PRIMARY KEY (key, seq)
   ) WITHOUT ROWID;
   CREATE INDEX check_flip_age ON check_flip (at);`,
  // 9: a script's runs are its signals', folded at start as every check's from its key's
  // check_signal rows; run_state keeps the script's streak alone from here on, which a statuspage
  // before this version cannot read: the version is what makes it refuse the file. A row written
  // before keeps its runs in run_state, and they stand for a script of which no signal is kept.
  `SELECT 1`,
  // 10: one definition for every check: a script's fields move from their columns into spec, as
  // JSON under Scripto's names (as the checks API's are), in the forms the columns held (status
  // and manual_resume 0 or 1, periodicity text); the columns go. A script keeps no key (Scripto
  // numbers it by the row's id) and its streak in run_state. A definition's placeholders in
  // name, server and status go with them.
  `UPDATE check_def SET spec = json_object(
       'name', name, 'server', server, 'status', status, 'last_exec', last_exec,
       'periodicity', periodicity, 'schedule', schedule, 'tz', tz, 'grace', grace,
       'max_runtime', max_runtime, 'min_runtime', min_runtime,
       'failure_threshold', failure_threshold, 'recovery_threshold', recovery_threshold,
       'manual_resume', manual_resume) WHERE source = 'scripto';
   ALTER TABLE check_def DROP COLUMN name;
   ALTER TABLE check_def DROP COLUMN server;
   ALTER TABLE check_def DROP COLUMN status;
   ALTER TABLE check_def DROP COLUMN last_exec;
   ALTER TABLE check_def DROP COLUMN periodicity;
   ALTER TABLE check_def DROP COLUMN schedule;
   ALTER TABLE check_def DROP COLUMN tz;
   ALTER TABLE check_def DROP COLUMN grace;
   ALTER TABLE check_def DROP COLUMN max_runtime;
   ALTER TABLE check_def DROP COLUMN min_runtime;
   ALTER TABLE check_def DROP COLUMN failure_threshold;
   ALTER TABLE check_def DROP COLUMN recovery_threshold;
   ALTER TABLE check_def DROP COLUMN manual_resume;`,
  // 11: every stored check is found by its key, whatever its source: a script's is its
  // scriptKey ('scripto:' and its id), which its signals already have.
  `UPDATE check_def SET key = 'scripto:' || id WHERE source = 'scripto';`,
]

const SCHEMA_VERSION = MIGRATIONS.length

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
