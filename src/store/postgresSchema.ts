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
  {
    version: 2,
    name: 'fleetops_write: a batch of writes in one call',
    // Takes the counter's lock first, so every later statement's snapshot (READ COMMITTED, a new one per statement)
    // sees every writer before it. With \`expected\` set (an optimistic batch) it writes nothing and answers false unless
    // the counter and each row's rv (0: absent) are as the batch assumed. Rows are looked up one by one, by primary
    // key: the plans are generic (cached once), and a join planned while the table was small would stay a scan.
    sql: `
      CREATE FUNCTION fleetops_write(
        expected BIGINT,
        s_grp TEXT[], s_kind TEXT[], s_ns TEXT[], s_name TEXT[], s_rv BIGINT[],
        u_grp TEXT[], u_kind TEXT[], u_ns TEXT[], u_name TEXT[], u_rv BIGINT[], u_data TEXT[],
        g_grp TEXT[], g_kind TEXT[], g_ns TEXT[], g_name TEXT[],
        e_rv BIGINT[], e_type TEXT[], e_grp TEXT[], e_kind TEXT[], e_ns TEXT[], e_name TEXT[], e_data TEXT[],
        new_rv BIGINT) RETURNS INT LANGUAGE plpgsql SET plan_cache_mode = force_generic_plan AS $$
      DECLARE
        current BIGINT;
        found BIGINT;
      BEGIN
        SELECT v INTO current FROM fleetops_meta WHERE k = 'rv' FOR UPDATE;
        IF expected IS NOT NULL THEN
          IF current < expected THEN RETURN -1; END IF;
          IF current > expected THEN RETURN 0; END IF;
          FOR i IN 1 .. coalesce(array_length(s_grp, 1), 0) LOOP
            found := NULL;
            SELECT o.rv INTO found FROM fleetops_objects o
              WHERE o.grp = s_grp[i] AND o.kind = s_kind[i] AND o.ns = s_ns[i] AND o.name = s_name[i];
            IF coalesce(found, 0) <> s_rv[i] THEN RETURN 0; END IF;
          END LOOP;
        END IF;
        INSERT INTO fleetops_objects (grp, kind, ns, name, rv, data)
          SELECT * FROM unnest(u_grp, u_kind, u_ns, u_name, u_rv, u_data)
          ON CONFLICT (grp, kind, ns, name) DO UPDATE SET rv = excluded.rv, data = excluded.data;
        FOR i IN 1 .. coalesce(array_length(g_grp, 1), 0) LOOP
          DELETE FROM fleetops_objects o WHERE o.grp = g_grp[i] AND o.kind = g_kind[i] AND o.ns = g_ns[i] AND o.name = g_name[i];
        END LOOP;
        INSERT INTO fleetops_events (rv, type, grp, kind, ns, name, data)
          SELECT * FROM unnest(e_rv, e_type, e_grp, e_kind, e_ns, e_name, e_data);
        UPDATE fleetops_meta SET v = new_rv WHERE k = 'rv';
        PERFORM pg_notify('fleetops_changes', new_rv::text);
        RETURN 1;
      END $$;
    `,
  },
  {
    version: 3,
    name: 'fleetops_write: change-log entries take the text of the row written at their version',
    // A batch's last write of a key is both a row and a change-log entry with the same text: the entry is sent as
    // NULL and takes the row's text here, so each object's JSON crosses the wire (and pg's array escaping) once.
    // Batches that send every entry's text (replicas not yet upgraded) are stored as before.
    sql: `
      CREATE OR REPLACE FUNCTION fleetops_write(
        expected BIGINT,
        s_grp TEXT[], s_kind TEXT[], s_ns TEXT[], s_name TEXT[], s_rv BIGINT[],
        u_grp TEXT[], u_kind TEXT[], u_ns TEXT[], u_name TEXT[], u_rv BIGINT[], u_data TEXT[],
        g_grp TEXT[], g_kind TEXT[], g_ns TEXT[], g_name TEXT[],
        e_rv BIGINT[], e_type TEXT[], e_grp TEXT[], e_kind TEXT[], e_ns TEXT[], e_name TEXT[], e_data TEXT[],
        new_rv BIGINT) RETURNS INT LANGUAGE plpgsql SET plan_cache_mode = force_generic_plan AS $$
      DECLARE
        current BIGINT;
        found BIGINT;
      BEGIN
        SELECT v INTO current FROM fleetops_meta WHERE k = 'rv' FOR UPDATE;
        IF expected IS NOT NULL THEN
          IF current < expected THEN RETURN -1; END IF;
          IF current > expected THEN RETURN 0; END IF;
          FOR i IN 1 .. coalesce(array_length(s_grp, 1), 0) LOOP
            found := NULL;
            SELECT o.rv INTO found FROM fleetops_objects o
              WHERE o.grp = s_grp[i] AND o.kind = s_kind[i] AND o.ns = s_ns[i] AND o.name = s_name[i];
            IF coalesce(found, 0) <> s_rv[i] THEN RETURN 0; END IF;
          END LOOP;
        END IF;
        INSERT INTO fleetops_objects (grp, kind, ns, name, rv, data)
          SELECT * FROM unnest(u_grp, u_kind, u_ns, u_name, u_rv, u_data)
          ON CONFLICT (grp, kind, ns, name) DO UPDATE SET rv = excluded.rv, data = excluded.data;
        FOR i IN 1 .. coalesce(array_length(g_grp, 1), 0) LOOP
          DELETE FROM fleetops_objects o WHERE o.grp = g_grp[i] AND o.kind = g_kind[i] AND o.ns = g_ns[i] AND o.name = g_name[i];
        END LOOP;
        INSERT INTO fleetops_events (rv, type, grp, kind, ns, name, data)
          SELECT e.rv, e.type, e.grp, e.kind, e.ns, e.name, coalesce(e.data, u.data)
          FROM unnest(e_rv, e_type, e_grp, e_kind, e_ns, e_name, e_data) AS e(rv, type, grp, kind, ns, name, data)
          LEFT JOIN unnest(u_rv, u_data) AS u(rv, data) ON e.data IS NULL AND u.rv = e.rv;
        UPDATE fleetops_meta SET v = new_rv WHERE k = 'rv';
        PERFORM pg_notify('fleetops_changes', new_rv::text);
        RETURN 1;
      END $$;
    `,
  },
  {
    version: 4,
    name: 'objects and change-log entries compressed with lz4 where the server has it',
    // An object's JSON is about 2 KB, past the size at which PostgreSQL compresses a value, and each write stores it
    // twice (the row and its change-log entry): with the default pglz, compression alone was a sixth of the
    // database's CPU during a fleet update. lz4 compresses several times faster. Values already stored keep their
    // method (both read back alike); a server built without lz4 (or older than 14) keeps pglz.
    sql: `
      DO $$
      BEGIN
        IF EXISTS (SELECT 1 FROM pg_settings WHERE name = 'default_toast_compression' AND 'lz4' = ANY (enumvals)) THEN
          ALTER TABLE fleetops_objects ALTER COLUMN data SET COMPRESSION lz4;
          ALTER TABLE fleetops_events ALTER COLUMN data SET COMPRESSION lz4;
        END IF;
      END $$;
    `,
  },
  {
    version: 5,
    name: 'change-log entries say whether their writer kept them out of its read cache',
    // CommitOptions.uncached (a finished run: its watchers get it, nobody reads it back) reaches the other replicas'
    // tails, which then keep its text out of their read caches as the writer does. A new overload of fleetops_write
    // takes the versions written uncached; replicas not yet upgraded call the old one, whose entries say false.
    sql: `
      ALTER TABLE fleetops_events ADD COLUMN uncached BOOLEAN NOT NULL DEFAULT false;
      CREATE FUNCTION fleetops_write(
        expected BIGINT,
        s_grp TEXT[], s_kind TEXT[], s_ns TEXT[], s_name TEXT[], s_rv BIGINT[],
        u_grp TEXT[], u_kind TEXT[], u_ns TEXT[], u_name TEXT[], u_rv BIGINT[], u_data TEXT[],
        g_grp TEXT[], g_kind TEXT[], g_ns TEXT[], g_name TEXT[],
        e_rv BIGINT[], e_type TEXT[], e_grp TEXT[], e_kind TEXT[], e_ns TEXT[], e_name TEXT[], e_data TEXT[],
        new_rv BIGINT, uncached_rv BIGINT[]) RETURNS INT LANGUAGE plpgsql SET plan_cache_mode = force_generic_plan AS $$
      DECLARE
        current BIGINT;
        found BIGINT;
      BEGIN
        SELECT v INTO current FROM fleetops_meta WHERE k = 'rv' FOR UPDATE;
        IF expected IS NOT NULL THEN
          IF current < expected THEN RETURN -1; END IF;
          IF current > expected THEN RETURN 0; END IF;
          FOR i IN 1 .. coalesce(array_length(s_grp, 1), 0) LOOP
            found := NULL;
            SELECT o.rv INTO found FROM fleetops_objects o
              WHERE o.grp = s_grp[i] AND o.kind = s_kind[i] AND o.ns = s_ns[i] AND o.name = s_name[i];
            IF coalesce(found, 0) <> s_rv[i] THEN RETURN 0; END IF;
          END LOOP;
        END IF;
        INSERT INTO fleetops_objects (grp, kind, ns, name, rv, data)
          SELECT * FROM unnest(u_grp, u_kind, u_ns, u_name, u_rv, u_data)
          ON CONFLICT (grp, kind, ns, name) DO UPDATE SET rv = excluded.rv, data = excluded.data;
        FOR i IN 1 .. coalesce(array_length(g_grp, 1), 0) LOOP
          DELETE FROM fleetops_objects o WHERE o.grp = g_grp[i] AND o.kind = g_kind[i] AND o.ns = g_ns[i] AND o.name = g_name[i];
        END LOOP;
        INSERT INTO fleetops_events (rv, type, grp, kind, ns, name, data, uncached)
          SELECT e.rv, e.type, e.grp, e.kind, e.ns, e.name, coalesce(e.data, u.data), e.rv = ANY (uncached_rv)
          FROM unnest(e_rv, e_type, e_grp, e_kind, e_ns, e_name, e_data) AS e(rv, type, grp, kind, ns, name, data)
          LEFT JOIN unnest(u_rv, u_data) AS u(rv, data) ON e.data IS NULL AND u.rv = e.rv;
        UPDATE fleetops_meta SET v = new_rv WHERE k = 'rv';
        PERFORM pg_notify('fleetops_changes', new_rv::text);
        RETURN 1;
      END $$;
    `,
  },
  {
    version: 6,
    name: "fleetops_write looks rows up by their key's index, whatever the table's size was when a connection planned it",
    // fleetops_write's statements run on generic plans (migration 2), planned once per connection. A connection that
    // first wrote while fleetops_objects was small (a new installation, a fresh test database) planned the lookup of a
    // row by its key as a sequential scan, and kept that plan while the table grew, until an ANALYZE happened to
    // invalidate it: 10,000 requests on a new database read ~180 µs per lookup instead of ~10, seventeen lookups per
    // resource. Every statement in the function reads by an index (the key, the change log's rv, the counter's row),
    // so sequential scans are switched off for it; every overload present is altered.
    sql: `
      DO $$
      DECLARE f regprocedure;
      BEGIN
        FOR f IN SELECT p.oid::regprocedure FROM pg_proc p WHERE p.proname = 'fleetops_write' LOOP
          EXECUTE format('ALTER FUNCTION %s SET enable_seqscan = off', f);
        END LOOP;
      END $$;
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
