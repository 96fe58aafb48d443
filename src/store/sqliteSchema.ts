/**
 * The embedded store's schema and its version (SQLite's `user_version`). A data directory written by an older
 * FleetOps is brought up to date when the store opens, in one transaction: a crash during it leaves the old schema,
 * and the next start converts again.
 *
 * Version 1: objects in a rowid table with a unique index on the key. Before it (version 0) they were in a WITHOUT
 * ROWID table, whose rows keep at most about 1 KB in their b-tree page and spill the rest to an overflow page of
 * their own: a resource with its status and managed fields (about 2 KB) took two pages, so the file was nearly twice
 * its data and every read two page reads (100,000 resources: 836 → 474 MB; a read 30 → 11 µs).
 *
 * Version 2: an object's text is stored once, in the change log (`events`) at its resourceVersion; the objects table
 * keeps the key, that version, uid and creationTimestamp. Version 1 wrote every text twice (row and change log), and
 * its rows changed size at every write, so SQLite rebalanced their pages often; a rebalance parks a page at a far
 * page number for a moment, after which the transaction's end scans the whole page cache (a fifth of the commits of a
 * fleet update, 5% of FleetOps' CPU). The change log keeps the row of each object's current version through
 * compaction: rows at or below the compacted version are exactly those.
 */
import type { DatabaseSync } from 'node:sqlite';

export const SQLITE_SCHEMA_VERSION = 2;

const KEY_COLUMNS = 'grp TEXT NOT NULL, kind TEXT NOT NULL, ns TEXT NOT NULL, name TEXT NOT NULL';
const OBJECTS_COLUMNS = `${KEY_COLUMNS}, rv INTEGER NOT NULL, uid TEXT NOT NULL, created TEXT NOT NULL`;

const CURRENT = `
      CREATE TABLE IF NOT EXISTS objects (${OBJECTS_COLUMNS});
      CREATE UNIQUE INDEX IF NOT EXISTS objects_key ON objects (grp, kind, ns, name);
      CREATE TABLE IF NOT EXISTS events (
        rv INTEGER PRIMARY KEY, type TEXT NOT NULL,
        grp TEXT NOT NULL, kind TEXT NOT NULL, ns TEXT NOT NULL, name TEXT NOT NULL, data TEXT NOT NULL);
      CREATE TABLE IF NOT EXISTS meta (k TEXT PRIMARY KEY, v TEXT NOT NULL);`;

/** The version 0 objects table, rewritten as version 1's (key order kept, so pages fill in list order). */
const FROM_0 = `
      CREATE TABLE objects_v1 (${KEY_COLUMNS}, rv INTEGER NOT NULL, data TEXT NOT NULL);
      INSERT INTO objects_v1 (grp, kind, ns, name, rv, data) SELECT grp, kind, ns, name, rv, data FROM objects ORDER BY grp, kind, ns, name;
      DROP TABLE objects;
      ALTER TABLE objects_v1 RENAME TO objects;`;

/**
 * The version 1 objects table's texts moved to the change log (kept where the log still has that version), its rows
 * rewritten as version 2's.
 */
const FROM_1 = `
      INSERT OR IGNORE INTO events (rv, type, grp, kind, ns, name, data) SELECT rv, 'MODIFIED', grp, kind, ns, name, data FROM objects;
      CREATE TABLE objects_v2 (${OBJECTS_COLUMNS});
      INSERT INTO objects_v2 (grp, kind, ns, name, rv, uid, created)
        SELECT grp, kind, ns, name, rv, coalesce(data ->> '$.metadata.uid', ''), coalesce(data ->> '$.metadata.creationTimestamp', '')
        FROM objects ORDER BY grp, kind, ns, name;
      DROP TABLE objects;
      ALTER TABLE objects_v2 RENAME TO objects;`;

/** Creates the schema, or brings an older one up to date; returns the version found (0 for an empty file too). */
export function openSqliteSchema(db: DatabaseSync): number {
  const found = Number(db.prepare('PRAGMA user_version').get()?.user_version ?? 0);
  if (found > SQLITE_SCHEMA_VERSION)
    throw new Error(`the data directory's store is at schema version ${found}, newer than this FleetOps knows (${SQLITE_SCHEMA_VERSION}): upgrade FleetOps`);
  if (found === SQLITE_SCHEMA_VERSION) {
    db.exec(CURRENT);
    return found;
  }
  const objects = db.prepare("SELECT sql FROM sqlite_master WHERE type = 'table' AND name = 'objects'").get();
  db.exec('BEGIN IMMEDIATE');
  try {
    if (objects && /WITHOUT ROWID/i.test(String(objects.sql))) db.exec(FROM_0);
    if (objects) db.exec(FROM_1);
    db.exec(CURRENT);
    db.exec(`PRAGMA user_version = ${SQLITE_SCHEMA_VERSION}`);
    db.exec('COMMIT');
  } catch (err) {
    db.exec('ROLLBACK');
    throw new Error(
      `the embedded store's schema could not be brought to version ${SQLITE_SCHEMA_VERSION}: ${err instanceof Error ? err.message : String(err)}`,
      {
        cause: err,
      },
    );
  }
  return found;
}
