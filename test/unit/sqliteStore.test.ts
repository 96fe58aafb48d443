import { test } from 'node:test';
import assert from 'node:assert/strict';
import { copyFileSync, existsSync, mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { runStoreConformance } from '../../src/store/conformance.ts';
import { SQLITE_LIST_DIALECT, SqliteStore, sqliteListSql } from '../../src/store/SqliteStore.ts';
import { listQuery } from '../../src/store/listPage.ts';
import { SQLITE_SCHEMA_VERSION } from '../../src/store/sqliteSchema.ts';
import { DatabaseSync } from 'node:sqlite';
import { createObject, keyOf } from '../../src/store/Store.ts';
import type { KubeObject } from '../../src/api/types.ts';

runStoreConformance('sqlite (memory)', async () => new SqliteStore({ path: ':memory:' }));
runStoreConformance('sqlite (file)', async () => new SqliteStore({ path: join(mkdtempSync(join(tmpdir(), 'fo-store-')), 'db.sqlite') }));

test('a reopened sqlite store keeps objects and continues the resourceVersion', async () => {
  const path = join(mkdtempSync(join(tmpdir(), 'fo-store-')), 'db.sqlite');
  const s1 = new SqliteStore({ path });
  const a = await createObject(s1, keyOf({ group: 'g', kind: 'K' }, '', 'a'), { apiVersion: 'g/v1', kind: 'K', metadata: { name: 'a' } });
  await s1.close();
  const s2 = new SqliteStore({ path });
  assert.equal((await s2.get(keyOf({ group: 'g', kind: 'K' }, '', 'a')))?.metadata.uid, a.metadata.uid);
  const b = await createObject(s2, keyOf({ group: 'g', kind: 'K' }, '', 'b'), { apiVersion: 'g/v1', kind: 'K', metadata: { name: 'b' } });
  assert.ok(Number(b.metadata.resourceVersion) > Number(a.metadata.resourceVersion));
  await s2.close();
});

test('a file store checkpoints its log from a worker, and removes it on close', { timeout: 60_000 }, async () => {
  const dir = mkdtempSync(join(tmpdir(), 'fo-store-'));
  const path = join(dir, 'db.sqlite');
  const store = new SqliteStore({ path });
  // A few small commits: far from the thousand pages after which SQLite itself would checkpoint inside a COMMIT.
  for (const name of ['a', 'b', 'c'])
    await createObject(store, keyOf({ group: 'g', kind: 'K' }, '', name), { apiVersion: 'g/v1', kind: 'K', metadata: { name } });
  // The database file alone, without its log, holds them once a checkpoint has copied the log into it.
  const copy = join(dir, 'copy.sqlite');
  for (;;) {
    copyFileSync(path, copy);
    const db = new DatabaseSync(copy, { readOnly: true });
    const found = (): unknown => {
      try {
        return db.prepare("SELECT count(*) AS n FROM objects WHERE name IN ('a', 'b', 'c')").get()?.n;
      } catch {
        return 0; // not even the tables are in the file yet
      }
    };
    const n = found();
    db.close();
    if (n === 3) break;
    await new Promise((r) => setTimeout(r, 50));
  }
  await store.close();
  assert.equal(existsSync(`${path}-wal`), false);
});

test('commits asked for together share a transaction, and a refused one fails alone', async () => {
  const store = new SqliteStore({ path: join(mkdtempSync(join(tmpdir(), 'fo-store-')), 'db.sqlite') });
  const key = (name: string): ReturnType<typeof keyOf> => keyOf({ group: 'g', kind: 'K' }, 'ns', name);
  const obj = (name: string, n: number): never => ({ apiVersion: 'g/v1', kind: 'K', metadata: { name, namespace: 'ns' }, spec: { n } }) as never;
  const a = await createObject(store, key('a'), obj('a', 0));
  const seen: string[] = [];
  const handle = await store.watch({ type: { group: 'g', kind: 'K' } }, (e) => seen.push(`${e.type} ${e.key.name} ${e.rv}`));
  // Four commits in one turn of the event loop: the second is stale (conflict), the third's second op collides.
  const results = await Promise.allSettled([
    store.commit([{ op: 'update', key: key('a'), object: obj('a', 1), expectedRv: a.metadata.resourceVersion as string }]),
    store.commit([{ op: 'update', key: key('a'), object: obj('a', 2), expectedRv: a.metadata.resourceVersion as string }]),
    store.commit([
      { op: 'create', key: key('b'), object: obj('b', 0) },
      { op: 'create', key: key('a'), object: obj('a', 3) },
    ]),
    store.commit([{ op: 'create', key: key('c'), object: obj('c', 0) }]),
  ]);
  assert.deepEqual(
    results.map((r) => r.status),
    ['fulfilled', 'rejected', 'rejected', 'fulfilled'],
  );
  assert.equal(((results[1] as PromiseRejectedResult).reason as { reason?: string }).reason, 'Conflict');
  assert.equal(((results[2] as PromiseRejectedResult).reason as { reason?: string }).reason, 'AlreadyExists');
  assert.equal(await store.get(key('b')), undefined, 'the refused commit left nothing behind, not even its first op');
  assert.deepEqual((await store.get(key('a')))?.spec, { n: 1 });
  const rvA = Number(a.metadata.resourceVersion);
  assert.deepEqual(seen, [`MODIFIED a ${rvA + 1}`, `ADDED c ${rvA + 2}`], 'resourceVersions stay contiguous; refused writes publish nothing');
  assert.equal(await store.currentRv(), rvA + 2);
  handle.stop();
  await store.close();
});

test('a batch whose transaction cannot begin fails every commit in it, and the next batch is stored', { timeout: 30_000 }, async () => {
  const path = join(mkdtempSync(join(tmpdir(), 'fo-store-')), 'db.sqlite');
  const store = new SqliteStore({ path });
  const key = (name: string): ReturnType<typeof keyOf> => keyOf({ group: 'g', kind: 'K' }, 'ns', name);
  const obj = (name: string): never => ({ apiVersion: 'g/v1', kind: 'K', metadata: { name, namespace: 'ns' } }) as never;
  await createObject(store, key('a'), obj('a'));
  // Another process holds the write lock past the store's busy timeout: BEGIN fails.
  const other = new DatabaseSync(path);
  other.exec('BEGIN IMMEDIATE');
  const results = await Promise.allSettled([createObject(store, key('b'), obj('b')), createObject(store, key('c'), obj('c'))]);
  other.exec('ROLLBACK');
  other.close();
  assert.deepEqual(
    results.map((r) => r.status),
    ['rejected', 'rejected'],
  );
  assert.match(String((results[0] as PromiseRejectedResult).reason), /locked|busy/i);
  assert.equal(await store.get(key('b')), undefined);
  await createObject(store, key('c'), obj('c'));
  assert.equal((await store.get(key('c')))?.metadata.name, 'c');
  await store.close();
});

test('reads beyond the in-memory cache come from the database, and every read is a fresh copy', async () => {
  const store = new SqliteStore({ path: ':memory:', cacheChars: 2000 });
  const key = (i: number): ReturnType<typeof keyOf> => keyOf({ group: 'g', kind: 'K' }, '', `o${i}`);
  for (let i = 0; i < 50; i++)
    await createObject(store, key(i), { apiVersion: 'g/v1', kind: 'K', metadata: { name: `o${i}` }, spec: { i, pad: 'x'.repeat(200) } } as never);
  const specOf = async (i: number): Promise<{ i?: number } | undefined> => (await store.get(key(i)))?.spec as { i?: number } | undefined;
  for (let i = 0; i < 50; i++) assert.equal((await specOf(i))?.i, i);
  const a = await specOf(49);
  if (a) a.i = -1;
  assert.equal((await specOf(49))?.i, 49, 'a caller changing its copy changes nothing stored');
  await store.commit([{ op: 'delete', key: key(49) }]);
  assert.equal(await store.get(key(49)), undefined);
  // An object bigger than the whole cache is read all the same, each time.
  await createObject(store, key(50), { apiVersion: 'g/v1', kind: 'K', metadata: { name: 'o50' }, spec: { i: 50, pad: 'x'.repeat(5000) } } as never);
  assert.equal((await specOf(50))?.i, 50);
  assert.equal((await specOf(50))?.i, 50);
  await store.close();
});

test('a watcher reading another object of the same transaction sees it as committed', async () => {
  const store = new SqliteStore({ path: ':memory:' });
  const key = (name: string): ReturnType<typeof keyOf> => keyOf({ group: 'g', kind: 'K' }, '', name);
  const obj = (name: string, n: number): never => ({ apiVersion: 'g/v1', kind: 'K', metadata: { name }, spec: { n } }) as never;
  await store.commit([
    { op: 'create', key: key('a'), object: obj('a', 0) },
    { op: 'create', key: key('b'), object: obj('b', 0) },
  ]);
  assert.deepEqual((await store.get(key('b')))?.spec, { n: 0 }, 'b is in the read cache');
  const readsOfB: Promise<unknown>[] = [];
  const handle = await store.watch({ type: { group: 'g', kind: 'K' } }, (e) => {
    if (e.key.name === 'a') readsOfB.push(store.get(key('b')).then((o) => o?.spec));
  });
  await Promise.all([
    store.commit([{ op: 'update', key: key('a'), object: obj('a', 1) }]),
    store.commit([{ op: 'update', key: key('b'), object: obj('b', 1) }]),
  ]);
  assert.deepEqual(await Promise.all(readsOfB), [{ n: 1 }]);
  handle.stop();
  await store.close();
});

test('a page of a list seeks to where the last one ended, within a namespace too (no scan from the first row)', async () => {
  const path = join(mkdtempSync(join(tmpdir(), 'fo-store-')), 'db.sqlite');
  await new SqliteStore({ path }).close(); // the schema, as the store makes it
  const db = new DatabaseSync(path);
  const plan = (options: Parameters<typeof listQuery>[1]): string => {
    const q = listQuery({ group: 'g', kind: 'K' }, options, SQLITE_LIST_DIALECT);
    return db
      .prepare(`EXPLAIN QUERY PLAN ${sqliteListSql(q)}`)
      .all(...q.values)
      .map((r) => String(r.detail))
      .join('; ');
  };
  assert.match(plan({ limit: 500, after: 'default/t100' }), /\(ns,name\)>\(\?,\?\)/);
  assert.match(plan({ namespace: 'default', limit: 500, after: 'default/t100' }), /ns=\? AND name>\?/);
  // A list by label searches the texts of the rows the key's index gives, one read each.
  assert.match(
    plan({ namespace: 'default', limit: 500, containing: [['"team":"a"']] }),
    /^SEARCH objects USING INDEX objects_key \(grp=\? AND kind=\? AND ns=\?\); SEARCH events USING INTEGER PRIMARY KEY/,
  );
  db.close();
});

test('a store written before schema version 1 (objects WITHOUT ROWID) is converted on open, nothing lost', async () => {
  const path = join(mkdtempSync(join(tmpdir(), 'fo-store-')), 'db.sqlite');
  const old = new DatabaseSync(path);
  old.exec(`
    PRAGMA journal_mode = WAL;
    CREATE TABLE objects (grp TEXT NOT NULL, kind TEXT NOT NULL, ns TEXT NOT NULL, name TEXT NOT NULL, rv INTEGER NOT NULL, data TEXT NOT NULL,
      PRIMARY KEY (grp, kind, ns, name)) WITHOUT ROWID;
    CREATE TABLE events (rv INTEGER PRIMARY KEY, type TEXT NOT NULL, grp TEXT NOT NULL, kind TEXT NOT NULL, ns TEXT NOT NULL, name TEXT NOT NULL, data TEXT NOT NULL);
    CREATE TABLE meta (k TEXT PRIMARY KEY, v TEXT NOT NULL);`);
  const stored = (name: string, rv: number): string =>
    JSON.stringify({
      apiVersion: 'g/v1',
      kind: 'K',
      metadata: { name, namespace: 'ns', uid: `uid-${name}`, resourceVersion: String(rv), creationTimestamp: '2026-01-01T00:00:00Z' },
      spec: { big: 'x'.repeat(3000) }, // larger than a WITHOUT ROWID row keeps in its page
    });
  const insert = old.prepare('INSERT INTO objects VALUES (?, ?, ?, ?, ?, ?)');
  const event = old.prepare('INSERT INTO events VALUES (?, ?, ?, ?, ?, ?, ?)');
  for (let i = 1; i <= 50; i++) {
    insert.run('g', 'K', 'ns', `o${i}`, i, stored(`o${i}`, i));
    event.run(i, 'ADDED', 'g', 'K', 'ns', `o${i}`, stored(`o${i}`, i));
  }
  old.close();

  const store = new SqliteStore({ path });
  const T = { group: 'g', kind: 'K' };
  assert.equal((await store.get(keyOf(T, 'ns', 'o7')))?.metadata.uid, 'uid-o7');
  const page = await store.list(T, { namespace: 'ns', limit: 20, after: 'ns/o1' });
  assert.equal(page.items.length, 20);
  const updated = await store.commit([
    { op: 'update', key: keyOf(T, 'ns', 'o7'), object: { apiVersion: 'g/v1', kind: 'K', metadata: { name: 'o7', namespace: 'ns' } } as never },
  ]);
  assert.equal(updated[0]?.metadata.resourceVersion, '51', 'versions continue after the converted ones');
  assert.equal(updated[0]?.metadata.uid, 'uid-o7');
  await assert.rejects(createObject(store, keyOf(T, 'ns', 'o8'), { apiVersion: 'g/v1', kind: 'K', metadata: { name: 'o8' } }), /already exists/);
  await store.close();

  const check = new DatabaseSync(path);
  assert.equal(check.prepare('PRAGMA user_version').get()?.user_version, SQLITE_SCHEMA_VERSION);
  assert.doesNotMatch(String(check.prepare("SELECT sql FROM sqlite_master WHERE name = 'objects'").get()?.sql), /WITHOUT ROWID/);
  assert.equal(check.prepare('SELECT count(*) AS n FROM objects').get()?.n, 50);
  check.exec('PRAGMA user_version = 9');
  check.close();
  assert.throws(() => new SqliteStore({ path }), /schema version 9, newer than this FleetOps knows/);
});

test('a store written at schema version 1 (texts in the objects table) is converted on open: compacted texts kept, history as it was', async () => {
  const path = join(mkdtempSync(join(tmpdir(), 'fo-store-')), 'db.sqlite');
  const old = new DatabaseSync(path);
  old.exec(`
    PRAGMA journal_mode = WAL;
    CREATE TABLE objects (grp TEXT NOT NULL, kind TEXT NOT NULL, ns TEXT NOT NULL, name TEXT NOT NULL, rv INTEGER NOT NULL, data TEXT NOT NULL);
    CREATE UNIQUE INDEX objects_key ON objects (grp, kind, ns, name);
    CREATE TABLE events (rv INTEGER PRIMARY KEY, type TEXT NOT NULL, grp TEXT NOT NULL, kind TEXT NOT NULL, ns TEXT NOT NULL, name TEXT NOT NULL, data TEXT NOT NULL);
    CREATE TABLE meta (k TEXT PRIMARY KEY, v TEXT NOT NULL);
    INSERT INTO meta VALUES ('compactedRv', '30');
    PRAGMA user_version = 1;`);
  const stored = (name: string, rv: number): string =>
    JSON.stringify({
      apiVersion: 'g/v1',
      kind: 'K',
      metadata: { name, namespace: 'ns', uid: `uid-${name}`, resourceVersion: String(rv), creationTimestamp: '2026-01-01T00:00:00Z' },
      spec: { n: rv },
    });
  const insert = old.prepare('INSERT INTO objects VALUES (?, ?, ?, ?, ?, ?)');
  const event = old.prepare('INSERT INTO events VALUES (?, ?, ?, ?, ?, ?, ?)');
  for (let i = 1; i <= 50; i++) {
    insert.run('g', 'K', 'ns', `o${i}`, i, stored(`o${i}`, i));
    if (i > 30) event.run(i, 'ADDED', 'g', 'K', 'ns', `o${i}`, stored(`o${i}`, i)); // the log was compacted up to 30
  }
  old.close();

  const T = { group: 'g', kind: 'K' };
  const nOf = (o: KubeObject | undefined): unknown => (o?.spec as { n?: number } | undefined)?.n;
  const store = new SqliteStore({ path, historySize: 10 });
  assert.equal((await store.get(keyOf(T, 'ns', 'o7')))?.metadata.uid, 'uid-o7', 'a text whose log row was compacted away is kept');
  assert.deepEqual((await store.list(T, { namespace: 'ns' })).items.map(nOf).slice(0, 3), [1, 10, 11]);
  const replayed: string[] = [];
  const handle = await store.watch({ fromRv: 45 }, (e) => replayed.push(`${e.type} ${e.key.name}`));
  assert.deepEqual(replayed, ['ADDED o46', 'ADDED o47', 'ADDED o48', 'ADDED o49', 'ADDED o50'], 'the history replays as it was written');
  handle.stop();
  await assert.rejects(
    store.watch({ fromRv: 29 }, () => {}),
    /too old resource version/,
  );
  // Writes over objects old and new, then compactions: what was never written again stays readable.
  for (let round = 0; round < 3; round++) {
    for (const name of ['o7', 'o40']) {
      const current = await store.get(keyOf(T, 'ns', name));
      await store.commit([{ op: 'update', key: keyOf(T, 'ns', name), object: { ...current!, spec: { n: round } } }]);
    }
    await store.compact(2);
  }
  await store.commit([{ op: 'delete', key: keyOf(T, 'ns', 'o8') }]);
  await store.compact(0);
  assert.deepEqual(await store.checkIntegrity(), []);
  assert.equal(nOf(await store.get(keyOf(T, 'ns', 'o1'))), 1);
  assert.equal(nOf(await store.get(keyOf(T, 'ns', 'o7'))), 2);
  assert.equal(await store.get(keyOf(T, 'ns', 'o8')), undefined);
  assert.equal((await store.list(T, { namespace: 'ns' })).items.length, 49);
  await store.close();

  const check = new DatabaseSync(path);
  assert.equal(check.prepare('PRAGMA user_version').get()?.user_version, SQLITE_SCHEMA_VERSION);
  assert.equal(check.prepare('SELECT count(*) AS n FROM events').get()?.n, 49, "the log keeps each object's current text, nothing else");
  assert.deepEqual(
    check
      .prepare('PRAGMA table_info(objects)')
      .all()
      .map((c) => c.name),
    ['grp', 'kind', 'ns', 'name', 'rv', 'uid', 'created'],
  );
  check.close();
});
