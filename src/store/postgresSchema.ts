/**
 * The PostgreSQL store's schema, as numbered migrations. Each runs once, in order, in its own transaction, recorded
 * in `fleetops_schema_migrations`; replicas starting together take an advisory lock so only one applies them.
 * A migration is never edited once released: a change is a new one.
 */
import type { PoolClient } from 'pg';

export interface Migration {
  version: number;
  name: string;
  sql: string;
}

export const MIGRATIONS: readonly Migration[] = [
  {
    version: 1,
    name: 'objects, change log and counters',
    sql: `
      CREATE TABLE fleetops_objects (
        grp TEXT NOT NULL, kind TEXT NOT NULL, ns TEXT NOT NULL, name TEXT NOT NULL,
        rv BIGINT NOT NULL, data TEXT NOT NULL,
        PRIMARY KEY (grp, kind, ns, name));
      CREATE TABLE fleetops_events (
        rv BIGINT PRIMARY KEY, type TEXT NOT NULL,
        grp TEXT NOT NULL, kind TEXT NOT NULL, ns TEXT NOT NULL, name TEXT NOT NULL, data TEXT NOT NULL);
      -- 'rv': the last resourceVersion handed out; its row lock orders writers (see PostgresStore.flush).
      -- 'compactedRv': change-log entries at or below it are gone.
      CREATE TABLE fleetops_meta (k TEXT PRIMARY KEY, v BIGINT NOT NULL);
      INSERT INTO fleetops_meta (k, v) VALUES ('rv', 0), ('compactedRv', 0);
    `,
  },
];

/** An arbitrary constant: the advisory lock that serialises migrations across replicas. */
const MIGRATION_LOCK = 0x464c4f4d; // 'FLOM'

/** Applies the migrations not yet recorded; returns the versions applied now. */
export async function migrate(client: PoolClient, migrations: readonly Migration[] = MIGRATIONS): Promise<number[]> {
  await client.query('SELECT pg_advisory_lock($1)', [MIGRATION_LOCK]);
  try {
    await client.query(
      'CREATE TABLE IF NOT EXISTS fleetops_schema_migrations (version INT PRIMARY KEY, name TEXT NOT NULL, applied_at TIMESTAMPTZ NOT NULL DEFAULT now())',
    );
    const done = new Set((await client.query<{ version: number }>('SELECT version FROM fleetops_schema_migrations')).rows.map((r) => r.version));
    const newest = Math.max(0, ...done);
    const known = Math.max(0, ...migrations.map((m) => m.version));
    if (newest > known)
      throw new Error(`the database's schema is at version ${newest}, newer than this FleetOps knows (${known}): upgrade FleetOps, or use another database`);
    const applied: number[] = [];
    for (const m of [...migrations].sort((a, b) => a.version - b.version)) {
      if (done.has(m.version)) continue;
      await client.query('BEGIN');
      try {
        await client.query(m.sql);
        await client.query('INSERT INTO fleetops_schema_migrations (version, name) VALUES ($1, $2)', [m.version, m.name]);
        await client.query('COMMIT');
      } catch (err) {
        await client.query('ROLLBACK');
        throw new Error(`schema migration ${m.version} (${m.name}) failed: ${err instanceof Error ? err.message : String(err)}`, { cause: err });
      }
      applied.push(m.version);
    }
    return applied;
  } finally {
    await client.query('SELECT pg_advisory_unlock($1)', [MIGRATION_LOCK]);
  }
}
