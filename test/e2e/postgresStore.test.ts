/**
 * The PostgreSQL store against a real PostgreSQL (a throw-away cluster made with initdb): the Store conformance
 * suite, watches across two stores on one database (two replicas), and a database restart during writes.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import pg from 'pg';
import { runStoreConformance } from '../../src/store/conformance.ts';
import { PostgresStore } from '../../src/store/PostgresStore.ts';
import { createObject, deleteObject, keyOf, updateObject, type StoreEvent } from '../../src/store/Store.ts';
import { isApiError } from '../../src/api/errors.ts';
import { coreTypes, namespaceType } from '../../src/registry/builtin/coreKinds.ts';
import { ObjectService } from '../../src/registry/ObjectService.ts';
import { Registry } from '../../src/registry/Registry.ts';
import { widgetType } from '../helpers/widgetType.ts';
import { createDatabase, startPostgres, startStandby, type TestPostgres } from '../helpers/postgres.ts';
import { eventually } from '../helpers/fleet.ts';
import { metricTotal } from '../../src/telemetry/metrics.ts';

const T = { group: 'apps.example.com', kind: 'App' };
const app = (name: string, spec: Record<string, unknown> = {}): Parameters<typeof createObject>[2] => ({
  apiVersion: 'apps.example.com/v1',
  kind: 'App',
  metadata: { name, namespace: 'default' },
  spec,
});

let server: TestPostgres;
let databases = 0;

/** A fresh, empty database on the test cluster; its URL. */
async function freshDatabase(): Promise<string> {
  return createDatabase(server, `conformance_${++databases}`);
}

before(async () => {
  server = await startPostgres();
});
after(() => server.cleanup());

runStoreConformance('postgres', async () => PostgresStore.open({ url: await freshDatabase() }));

describe('PostgreSQL store schema', () => {
  it('stores objects and change-log entries compressed with lz4 (the server has it), read back as written', async () => {
    const url = await freshDatabase();
    const writer = await PostgresStore.open({ url });
    const spec = { lines: Array.from({ length: 200 }, (_, i) => `line ${i}: the same words again and again`) };
    await createObject(writer, keyOf(T, 'default', 'big'), app('big', spec));
    await writer.close();
    const sql = new pg.Client({ connectionString: url });
    await sql.connect();
    try {
      const methods = await sql.query<{ object: string | null; entry: string | null }>(
        `SELECT pg_column_compression(o.data) AS object, pg_column_compression(e.data) AS entry
         FROM fleetops_objects o JOIN fleetops_events e ON e.rv = o.rv WHERE o.name = 'big'`,
      );
      assert.deepEqual(methods.rows, [{ object: 'lz4', entry: 'lz4' }]);
    } finally {
      await sql.end();
    }
    const reader = await PostgresStore.open({ url });
    try {
      assert.deepEqual((await reader.get(keyOf(T, 'default', 'big')))?.spec, spec, 'read back by a replica that never cached it');
    } finally {
      await reader.close();
    }
  });

  it('takes the writes of a replica not yet upgraded past migration 5 (the old fleetops_write) and delivers them', async () => {
    const url = await freshDatabase();
    const upgraded = await PostgresStore.open({ url, pollMs: 60_000 });
    const seen: StoreEvent[] = [];
    const watch = await upgraded.watch({ type: T }, (e) => seen.push(e));
    const sql = new pg.Client({ connectionString: url });
    await sql.connect();
    try {
      // What a replica of the previous release sends: the 24 arguments of migration 3's function, its lock taken inside.
      const rv = Number((await sql.query<{ v: string }>("SELECT v FROM fleetops_meta WHERE k = 'rv'")).rows[0]?.v) + 1;
      const object = {
        ...app('from-old', { v: 1 }),
        metadata: { name: 'from-old', namespace: 'default', uid: 'u-old', resourceVersion: String(rv), creationTimestamp: '2026-01-01T00:00:00Z' },
      };
      const ok = await sql.query<{ ok: number }>(
        `SELECT fleetops_write(NULL::bigint, '{}'::text[], '{}'::text[], '{}'::text[], '{}'::text[], '{}'::bigint[],
           ARRAY[$1], ARRAY[$2], ARRAY['default'], ARRAY['from-old'], ARRAY[$3::bigint], ARRAY[$4],
           '{}'::text[], '{}'::text[], '{}'::text[], '{}'::text[],
           ARRAY[$3::bigint], ARRAY['ADDED'], ARRAY[$1], ARRAY[$2], ARRAY['default'], ARRAY['from-old'], ARRAY[NULL]::text[], $3::bigint) AS ok`,
        [T.group, T.kind, rv, JSON.stringify(object)],
      );
      assert.equal(ok.rows[0]?.ok, 1);
      await eventually(() => (seen.some((e) => e.rv === rv) ? true : undefined), 20_000, 'the upgraded replica delivered it');
      assert.deepEqual((await upgraded.get(keyOf(T, 'default', 'from-old')))?.spec, { v: 1 });
      const entry = await sql.query<{ uncached: boolean }>('SELECT uncached FROM fleetops_events WHERE rv = $1', [rv]);
      assert.deepEqual(entry.rows, [{ uncached: false }]);
    } finally {
      await sql.end();
      watch.stop();
      await upgraded.close();
    }
  });

  it('looks rows up by their key in fleetops_write, though the connection planned it on a small table that grew since', async () => {
    const url = await freshDatabase();
    const store = await PostgresStore.open({ url, pollMs: 60_000 });
    for (const name of ['a', 'b', 'c']) await createObject(store, keyOf(T, 'default', name), app(name));
    await store.close();
    const sql = new pg.Client({ connectionString: url });
    await sql.connect();
    try {
      // An optimistic batch that checks the three rows' versions (and writes nothing): the lookups the plans are for.
      const batch = async (): Promise<{ text: string; values: unknown[] }> => {
        const rows = await sql.query<{ rv: string }>("SELECT rv FROM fleetops_objects WHERE name IN ('a', 'b', 'c') ORDER BY name");
        const rv = (await sql.query<{ v: string }>("SELECT v FROM fleetops_meta WHERE k = 'rv'")).rows[0]?.v;
        return {
          text: `SELECT fleetops_write($1::bigint, ARRAY[$2, $2, $2], ARRAY[$3, $3, $3], ARRAY['default', 'default', 'default'], ARRAY['a', 'b', 'c'], $4::bigint[],
             '{}'::text[], '{}'::text[], '{}'::text[], '{}'::text[], '{}'::bigint[], '{}'::text[],
             '{}'::text[], '{}'::text[], '{}'::text[], '{}'::text[],
             '{}'::bigint[], '{}'::text[], '{}'::text[], '{}'::text[], '{}'::text[], '{}'::text[], '{}'::text[], $1::bigint, '{}'::bigint[]) AS ok`,
          values: [rv, T.group, T.kind, rows.rows.map((r) => r.rv)],
        };
      };
      // This connection plans the function's statements now, while the table holds a handful of rows, as a new
      // installation's connections do; the table then grows without an ANALYZE.
      await sql.query('ANALYZE fleetops_objects');
      assert.equal((await sql.query<{ ok: number }>(await batch())).rows[0]?.ok, 1);
      await sql.query(
        `INSERT INTO fleetops_objects (grp, kind, ns, name, rv, data)
         SELECT 'apps.example.com', 'App', 'default', 'x' || i, i + 1000, '{}' FROM generate_series(1, 5000) AS i`,
      );
      const again = await batch();
      // The connection's scans of the table not yet reported (this transaction's, and earlier ones' still pending).
      const scans = async (): Promise<{ sequential: number; byIndex: number }> => {
        const r = await sql.query<{ seq: string; idx: string }>(
          "SELECT seq_scan AS seq, idx_scan AS idx FROM pg_stat_xact_user_tables WHERE relname = 'fleetops_objects'",
        );
        return { sequential: Number(r.rows[0]?.seq), byIndex: Number(r.rows[0]?.idx) };
      };
      await sql.query('BEGIN');
      const before = await scans();
      assert.equal((await sql.query<{ ok: number }>(again)).rows[0]?.ok, 1);
      const after = await scans();
      await sql.query('ROLLBACK');
      assert.equal(after.sequential - before.sequential, 0, 'the 5,003 rows were scanned');
      assert.ok(after.byIndex - before.byIndex >= 3, 'the three rows are looked up by their key');
    } finally {
      await sql.end();
    }
  });
});

describe('PostgreSQL store reads', () => {
  it("reads a turn's cache misses together: every answer right, absent objects undefined, in a statement per 256 rows", async () => {
    const url = await freshDatabase();
    const writer = await PostgresStore.open({ url });
    const names = Array.from({ length: 300 }, (_, i) => `app-${i}`);
    for (let i = 0; i < names.length; i += 100)
      await writer.commit(names.slice(i, i + 100).map((n, j) => ({ op: 'create' as const, key: keyOf(T, 'default', n), object: app(n, { n: i + j }) })));
    await writer.close();
    // A replica that keeps nothing it reads: every get is a miss.
    const reader = await PostgresStore.open({ url, cacheChars: 1 });
    try {
      const asked = [...names, ...names.slice(0, 20), 'absent-1', 'absent-2'];
      const [misses, queries] = [await metricTotal('fleetops_store_reads_total', { from: 'database' }), await metricTotal('fleetops_store_read_queries_total')];
      const answers = await Promise.all(asked.map((n) => reader.get(keyOf(T, 'default', n))));
      assert.deepEqual(
        answers.map((o) => o && { name: o.metadata.name, spec: o.spec }),
        asked.map((n) => (n.startsWith('absent') ? undefined : { name: n, spec: { n: names.indexOf(n) } })),
      );
      assert.equal((await metricTotal('fleetops_store_reads_total', { from: 'database' })) - misses, asked.length);
      assert.equal((await metricTotal('fleetops_store_read_queries_total')) - queries, 2, '302 distinct rows: two statements');
    } finally {
      await reader.close();
    }
  });
});

describe('PostgreSQL store with two replicas', () => {
  it('delivers writes made through either replica to watchers on both, in one order, none lost or repeated', async () => {
    const url = await freshDatabase();
    const a = await PostgresStore.open({ url, pollMs: 200 });
    const b = await PostgresStore.open({ url, pollMs: 200 });
    const seenA: StoreEvent[] = [];
    const seenB: StoreEvent[] = [];
    const wa = await a.watch({ type: T }, (e) => seenA.push(e));
    const wb = await b.watch({ type: T }, (e) => seenB.push(e));
    // Both replicas write at once, each several commits per turn (grouped into shared transactions).
    const writes: Promise<unknown>[] = [];
    for (let i = 0; i < 60; i++) {
      const via = i % 2 ? a : b;
      writes.push(createObject(via, keyOf(T, 'default', `app-${i}`), app(`app-${i}`, { i })));
    }
    await Promise.all(writes);
    await eventually(async () => seenA.length === 60 && seenB.length === 60, 10_000, 'every write seen on both replicas');
    const rvs = (events: StoreEvent[]): number[] => events.map((e) => e.rv);
    assert.deepEqual(rvs(seenA), rvs(seenB), 'the same order on both');
    const first = seenA[0]!.rv;
    assert.deepEqual(
      rvs(seenA),
      Array.from({ length: 60 }, (_, i) => first + i),
      'contiguous: no gap, no repeat',
    );
    // A watch resumed on B from the middle replays what A wrote after it.
    const resumed: StoreEvent[] = [];
    const wr = await b.watch({ type: T, fromRv: first + 29 }, (e) => resumed.push(e));
    await updateObject(a, keyOf(T, 'default', 'app-1'), app('app-1', { i: 'again' }));
    await eventually(async () => resumed.length === 31, 10_000, 'history then live');
    assert.deepEqual(
      rvs(resumed),
      Array.from({ length: 31 }, (_, i) => first + 30 + i),
    );
    assert.equal(resumed[30]?.type, 'MODIFIED');
    for (const w of [wa, wb, wr]) w.stop();
    await a.close();
    await b.close();
  });

  it('loses no update when both replicas read, change and write the same objects at once (optimistic concurrency)', async () => {
    const url = await freshDatabase();
    const a = await PostgresStore.open({ url, pollMs: 200 });
    const b = await PostgresStore.open({ url, pollMs: 200 });
    const counters = ['c0', 'c1', 'c2'];
    for (const name of counters) await createObject(a, keyOf(T, 'default', name), app(name, { n: 0 }));
    // Each of 16 workers adds one to a counter 25 times, get → update with its resourceVersion → retry on Conflict:
    // a write settled against a row another replica changed would count twice or lose an addition.
    let conflicts = 0;
    const increment = async (via: PostgresStore, name: string): Promise<void> => {
      for (;;) {
        const current = await via.get(keyOf(T, 'default', name));
        const n = Number((current?.spec as { n: number }).n);
        try {
          await updateObject(via, keyOf(T, 'default', name), app(name, { n: n + 1 }), current!.metadata.resourceVersion);
          return;
        } catch (err) {
          if (!isApiError(err) || err.code !== 409) throw err;
          conflicts++;
        }
      }
    };
    await Promise.all(
      Array.from({ length: 16 }, async (_, w) => {
        for (let i = 0; i < 25; i++) await increment(w % 2 ? a : b, counters[(w + i) % counters.length]!);
      }),
    );
    const total = (await Promise.all(counters.map((name) => a.get(keyOf(T, 'default', name))))).reduce(
      (sum, o) => sum + Number((o?.spec as { n: number }).n),
      0,
    );
    assert.equal(total, 16 * 25, 'every increment counted once');
    assert.ok(conflicts > 0, 'the workers did race');
    // Creates of one name through both replicas at once: exactly one wins, the rest are AlreadyExists.
    const outcomes = await Promise.allSettled(
      Array.from({ length: 10 }, (_, i) => createObject(i % 2 ? a : b, keyOf(T, 'default', 'once'), app('once', { i }))),
    );
    assert.equal(outcomes.filter((o) => o.status === 'fulfilled').length, 1);
    for (const o of outcomes) if (o.status === 'rejected') assert.equal(isApiError(o.reason) && o.reason.code, 409);
    // A create of a name that exists, once both replicas have seen everything (nothing in flight to tell them).
    await eventually(async () => (await b.get(keyOf(T, 'default', 'once'))) !== undefined, 10_000, 'b has seen the create');
    await assert.rejects(createObject(b, keyOf(T, 'default', 'c0'), app('c0', { n: -1 })), (err) => isApiError(err) && err.code === 409);
    assert.notEqual(((await a.get(keyOf(T, 'default', 'c0')))?.spec as { n?: number } | undefined)?.n, -1, 'the existing object is untouched');
    assert.deepEqual(await a.checkIntegrity(), []);
    await a.close();
    await b.close();
  });

  it('reads through one replica every write acknowledged through another, at once (reads consistent, served from its cache)', async () => {
    const url = await freshDatabase();
    const a = await PostgresStore.open({ url, pollMs: 60_000 });
    // B's cache is small, so its reads also take the database's way, and its tail is woken only by NOTIFY or by a read.
    const b = await PostgresStore.open({ url, pollMs: 60_000, cacheChars: 2_000 });
    const key = keyOf(T, 'default', 'read-after-write');
    await createObject(a, key, app('read-after-write', { v: 0 }));
    for (let v = 1; v <= 40; v++) {
      const written = await updateObject(a, key, app('read-after-write', { v }));
      const read = await b.get(key);
      assert.equal(read?.metadata.resourceVersion, written.metadata.resourceVersion, `read ${v} is the write just acknowledged`);
      assert.deepEqual(read?.spec, { v });
      // Others fill B's cache, evicting what it held.
      await createObject(a, keyOf(T, 'default', `filler-${v}`), app(`filler-${v}`, { pad: 'x'.repeat(300) }));
      await b.get(keyOf(T, 'default', `filler-${v}`));
    }
    await deleteObject(a, key);
    assert.equal(await b.get(key), undefined, 'a deletion too');
    await a.close();
    await b.close();
  });

  it('keeps out of its read cache what another replica wrote uncached, as the writer does', async () => {
    const url = await freshDatabase();
    const a = await PostgresStore.open({ url, pollMs: 60_000 });
    const b = await PostgresStore.open({ url, pollMs: 60_000 });
    const seen: StoreEvent[] = [];
    const watch = await b.watch({ type: T }, (e) => seen.push(e));
    const fromDatabase = (): Promise<number> => metricTotal('fleetops_store_reads_total', { from: 'database' });
    try {
      const kept = keyOf(T, 'default', 'kept');
      const finished = keyOf(T, 'default', 'finished');
      await createObject(a, kept, app('kept', { v: 1 }));
      await createObject(a, finished, app('finished', { v: 1 }));
      // B reads both once (its cache now holds both), then A changes both, one of them uncached.
      await b.get(kept);
      await b.get(finished);
      const [keptNow] = await a.commit([{ op: 'update', key: kept, object: app('kept', { v: 2 }) }]);
      const [finishedNow] = await a.commit([{ op: 'update', key: finished, object: app('finished', { v: 2 }) }], { uncached: true });
      await eventually(() => (seen.some((e) => e.rv === Number(finishedNow!.metadata.resourceVersion)) ? true : undefined), 20_000, 'B delivered both changes');
      assert.ok(seen.some((e) => e.rv === Number(keptNow!.metadata.resourceVersion)));
      const before = await fromDatabase();
      assert.deepEqual((await b.get(kept, { cached: true }))?.spec, { v: 2 }, 'the change written cached is read from the cache');
      assert.equal((await fromDatabase()) - before, 0);
      assert.deepEqual((await b.get(finished, { cached: true }))?.spec, { v: 2 }, 'the change written uncached is read right');
      assert.equal((await fromDatabase()) - before, 1, 'from the database: B kept neither its text nor the older one');
    } finally {
      watch.stop();
      await a.close();
      await b.close();
    }
  });

  it('updates, patches and deletes through one replica what another has just written (a stale cached read is never the answer)', async () => {
    const url = await freshDatabase();
    const a = await PostgresStore.open({ url, pollMs: 60_000 });
    const b = await PostgresStore.open({ url, pollMs: 60_000 });
    const registry = new Registry();
    for (const t of [...coreTypes, widgetType]) registry.register(t);
    const viaA = new ObjectService({ store: a, registry });
    const viaB = new ObjectService({ store: b, registry });
    await viaA.create(namespaceType, '', { apiVersion: 'v1', kind: 'Namespace', metadata: { name: 'default' } });
    const widget = (size: number, rv?: string): object => ({
      apiVersion: 'test.fleetops.dev/v1',
      kind: 'Widget',
      metadata: { name: 'w', ...(rv ? { resourceVersion: rv } : {}) },
      spec: { size },
    });
    let rv = (await viaA.create(widgetType, 'default', widget(1))).object.metadata.resourceVersion;
    await viaB.get(widgetType, 'default', 'w'); // B's cache holds the first version
    for (let i = 2; i < 22; i += 2) {
      // A writes; B, straight after (before its tail hears of it), updates with the version A answered…
      rv = (await viaA.update(widgetType, 'default', 'w', widget(i, rv))).object.metadata.resourceVersion;
      rv = (await viaB.update(widgetType, 'default', 'w', widget(i + 1, rv))).object.metadata.resourceVersion;
      // …and patches on top of what A wrote last.
      await viaA.update(widgetType, 'default', 'w', widget(100 + i, rv));
      const patched = await viaB.patch(widgetType, 'default', 'w', 'merge', { metadata: { labels: { round: String(i) } } });
      assert.equal((patched.object.spec as { size: number }).size, 100 + i, `round ${i}: the patch applies to the latest version`);
      rv = patched.object.metadata.resourceVersion;
    }
    rv = (await viaA.update(widgetType, 'default', 'w', widget(7, rv))).object.metadata.resourceVersion;
    await viaB.delete(widgetType, 'default', 'w', { preconditions: { resourceVersion: rv } });
    assert.equal(await a.get(keyOf({ group: 'test.fleetops.dev', kind: 'Widget' }, 'default', 'w')), undefined);
    await a.close();
    await b.close();
  });

  it('is not ready while the database is down, refuses writes then, and keeps every acknowledged write', async () => {
    const url = await freshDatabase();
    const store = await PostgresStore.open({ url, pollMs: 200 });
    const acknowledged: string[] = [];
    for (let i = 0; i < 20; i++) {
      await createObject(store, keyOf(T, 'default', `before-${i}`), app(`before-${i}`));
      acknowledged.push(`before-${i}`);
    }
    const seen: string[] = [];
    const watch = await store.watch({ type: T }, (e) => seen.push(e.key.name));
    assert.equal(store.ready(), true);
    server.stop('fast');
    await eventually(async () => !store.ready(), 10_000, 'not ready while the database is down');
    await assert.rejects(createObject(store, keyOf(T, 'default', 'during'), app('during')), (e) => isApiError(e, 'ServiceUnavailable'));
    server.start();
    await eventually(async () => store.ready(), 20_000, 'ready again after the restart');
    // The pool's broken connections are replaced: writes work again.
    await eventually(
      async () => {
        try {
          await createObject(store, keyOf(T, 'default', 'after'), app('after'));
          return true;
        } catch {
          return false;
        }
      },
      20_000,
      'a write after the restart',
    );
    await eventually(async () => seen.includes('after'), 10_000, 'the watch goes on after the restart');
    const names = (await store.list(T)).items.map((o) => o.metadata.name);
    for (const n of acknowledged) assert.ok(names.includes(n), `acknowledged write ${n} kept`);
    assert.ok(!names.includes('during'), 'a refused write is not stored');
    assert.deepEqual(await store.checkIntegrity(), []);
    watch.stop();
    await store.close();
  });

  it('goes on from a promoted streaming standby once pointed at it, with every acknowledged write and watches resuming', async () => {
    const url = await freshDatabase();
    const store = await PostgresStore.open({ url, pollMs: 200 });
    for (let i = 0; i < 30; i++) await createObject(store, keyOf(T, 'default', `app-${i}`), app(`app-${i}`, { i }));
    const lastRv = await store.currentRv();
    const standby = await startStandby(server);
    try {
      // Planned fail-over: the standby has replayed everything the primary acknowledged.
      const lsn = async (u: string, sql: string): Promise<string> => {
        const c = new pg.Client({ connectionString: u });
        await c.connect();
        try {
          return String((await c.query<{ l: string }>(sql)).rows[0]?.l ?? '');
        } finally {
          await c.end();
        }
      };
      const primaryLsn = await lsn(server.url, 'SELECT pg_current_wal_lsn()::text AS l');
      const standbyUrl = url.replace(`:${server.port}/`, `:${standby.port}/`);
      await eventually(
        async () => (await lsn(standbyUrl, `SELECT (pg_last_wal_replay_lsn() >= '${primaryLsn}'::pg_lsn)::text AS l`)) === 'true',
        30_000,
        'the standby caught up',
      );
      await store.close();
      server.stop('fast');
      standby.promote();
      const promoted = await PostgresStore.open({ url: standbyUrl, pollMs: 200 });
      assert.equal((await promoted.list(T)).items.length, 30, 'every acknowledged write is on the promoted standby');
      assert.equal(await promoted.currentRv(), lastRv);
      const resumed: StoreEvent[] = [];
      const watch = await promoted.watch({ type: T, fromRv: lastRv - 1 }, (e) => resumed.push(e));
      await createObject(promoted, keyOf(T, 'default', 'after-failover'), app('after-failover'));
      await eventually(async () => resumed.length === 2, 10_000, 'a watch resumed across the fail-over');
      assert.deepEqual(
        resumed.map((e) => e.rv),
        [lastRv, lastRv + 1],
      );
      watch.stop();
      await promoted.close();
    } finally {
      standby.cleanup();
      server.start(); // the other tests' primary
    }
  });
});
