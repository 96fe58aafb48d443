/**
 * The Store conformance suite: every Store implementation must pass it. Call it from a test file with a factory
 * that returns a fresh, empty store.
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import type { KubeObject, StoredObject } from '../api/types.ts';
import { ApiError, isApiError } from '../api/errors.ts';
import { createObject, deleteObject, keyOf, MAX_OBJECT_BYTES, updateObject, type Store, type StoreEvent } from './Store.ts';
import { metricTotal } from '../telemetry/metrics.ts';

const T = { group: 'apps.example.com', kind: 'App' };
const U = { group: 'platform.kratix.io', kind: 'Promise' };

function app(name: string, spec: Record<string, unknown> = {}): KubeObject {
  return { apiVersion: 'apps.example.com/v1', kind: 'App', metadata: { name, namespace: 'default' }, spec };
}

async function collect(store: Store, options: Parameters<Store['watch']>[0]): Promise<{ events: StoreEvent[]; stop: () => void }> {
  const events: StoreEvent[] = [];
  const handle = await store.watch(options, (e) => events.push(e));
  return { events, stop: () => handle.stop() };
}

/** Single-object reads the store answered from its database so far (fleetops_store_reads_total). */
const readsFromDatabase = (): Promise<number> => metricTotal('fleetops_store_reads_total', { from: 'database' });

export function runStoreConformance(name: string, makeStore: () => Promise<Store>): void {
  describe(`Store conformance: ${name}`, () => {
    it('stamps uid, creationTimestamp and resourceVersion on create, and keeps the generation it is given (or none)', async () => {
      const store = await makeStore();
      const created = await createObject(store, keyOf(T, 'default', 'a'), { ...app('a'), metadata: { ...app('a').metadata, generation: 1 } });
      assert.match(created.metadata.uid ?? '', /^[0-9a-f-]{36}$/);
      assert.match(created.metadata.creationTimestamp ?? '', /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$/);
      assert.equal(created.metadata.generation, 1);
      assert.equal(created.metadata.resourceVersion, String(await store.currentRv()));
      assert.deepEqual(await store.get(keyOf(T, 'default', 'a')), created);
      assert.equal((await createObject(store, keyOf(T, 'default', 'plain'), app('plain'))).metadata.generation, undefined);
      await store.close();
    });

    it('increases one global resourceVersion across kinds and namespaces', async () => {
      const store = await makeStore();
      const a = await createObject(store, keyOf(T, 'default', 'a'), app('a'));
      const p = await createObject(store, keyOf(U, '', 'p'), { apiVersion: 'platform.kratix.io/v1alpha1', kind: 'Promise', metadata: { name: 'p' } });
      const b = await createObject(store, keyOf(T, 'other', 'b'), app('b'));
      const rvs = [a, p, b].map((o) => Number(o.metadata.resourceVersion));
      assert.ok((rvs[0] as number) < (rvs[1] as number) && (rvs[1] as number) < (rvs[2] as number), `not increasing: ${rvs.join(',')}`);
      await store.close();
    });

    it('refuses a second create of the same key with AlreadyExists', async () => {
      const store = await makeStore();
      await createObject(store, keyOf(T, 'default', 'a'), app('a'));
      await assert.rejects(createObject(store, keyOf(T, 'default', 'a'), app('a')), (e) => isApiError(e, 'AlreadyExists'));
      await store.close();
    });

    it('keeps uid and creationTimestamp on update and rejects a stale resourceVersion with Conflict', async () => {
      const store = await makeStore();
      const created = await createObject(store, keyOf(T, 'default', 'a'), app('a', { replicas: 1 }));
      const updated = await updateObject(
        store,
        keyOf(T, 'default', 'a'),
        { ...app('a', { replicas: 2 }), metadata: { name: 'a', uid: 'forged' } },
        created.metadata.resourceVersion,
      );
      assert.equal(updated.metadata.uid, created.metadata.uid);
      assert.equal(updated.metadata.creationTimestamp, created.metadata.creationTimestamp);
      assert.notEqual(updated.metadata.resourceVersion, created.metadata.resourceVersion);
      await assert.rejects(updateObject(store, keyOf(T, 'default', 'a'), app('a', { replicas: 3 }), created.metadata.resourceVersion), (e) =>
        isApiError(e, 'Conflict'),
      );
      assert.deepEqual((await store.get(keyOf(T, 'default', 'a')))?.spec, { replicas: 2 });
      await store.close();
    });

    it('answers NotFound for updates and deletes of missing objects', async () => {
      const store = await makeStore();
      await assert.rejects(updateObject(store, keyOf(T, 'default', 'x'), app('x')), (e) => isApiError(e, 'NotFound'));
      await assert.rejects(deleteObject(store, keyOf(T, 'default', 'x')), (e) => isApiError(e, 'NotFound'));
      await store.close();
    });

    it('refuses an object over MAX_OBJECT_BYTES with 413, storing nothing', async () => {
      const store = await makeStore();
      const big = app('big', { blob: 'x'.repeat(MAX_OBJECT_BYTES) });
      await assert.rejects(createObject(store, keyOf(T, 'default', 'big'), big), (e) => isApiError(e, 'RequestEntityTooLarge'));
      assert.equal(await store.get(keyOf(T, 'default', 'big')), undefined);
      await createObject(store, keyOf(T, 'default', 'big'), app('big'));
      await store.close();
    });

    it('applies a batch atomically: a failing op leaves nothing of the batch', async () => {
      const store = await makeStore();
      await createObject(store, keyOf(T, 'default', 'taken'), app('taken'));
      const rvBefore = await store.currentRv();
      const seen = await collect(store, {});
      await assert.rejects(
        store.commit([
          { op: 'create', key: keyOf(T, 'default', 'new'), object: app('new') },
          { op: 'create', key: keyOf(T, 'default', 'taken'), object: app('taken') },
        ]),
        (e) => isApiError(e, 'AlreadyExists'),
      );
      assert.equal(await store.get(keyOf(T, 'default', 'new')), undefined);
      assert.equal(await store.currentRv(), rvBefore);
      assert.equal(seen.events.length, 0);
      const [x, y] = await store.commit([
        { op: 'create', key: keyOf(T, 'default', 'x'), object: app('x') },
        { op: 'delete', key: keyOf(T, 'default', 'taken') },
      ]);
      assert.equal(x?.metadata.name, 'x');
      assert.equal(y?.metadata.name, 'taken');
      assert.deepEqual(
        seen.events.map((e) => e.type),
        ['ADDED', 'DELETED'],
      );
      seen.stop();
      await store.close();
    });

    it('lists by type and namespace in name order, with pages that resume', async () => {
      const store = await makeStore();
      for (const n of ['c', 'a', 'b']) await createObject(store, keyOf(T, 'default', n), app(n));
      await createObject(store, keyOf(T, 'team-x', 'z'), app('z'));
      const all = await store.list(T);
      assert.deepEqual(
        all.items.map((o) => o.metadata.name),
        ['a', 'b', 'c', 'z'],
      );
      const inDefault = await store.list(T, { namespace: 'default' });
      assert.deepEqual(
        inDefault.items.map((o) => o.metadata.name),
        ['a', 'b', 'c'],
      );
      const page1 = await store.list(T, { limit: 2 });
      assert.deepEqual(
        page1.items.map((o) => o.metadata.name),
        ['a', 'b'],
      );
      assert.ok(page1.continueAfter);
      const page2 = await store.list(T, { limit: 2, after: page1.continueAfter });
      assert.deepEqual(
        page2.items.map((o) => o.metadata.name),
        ['c', 'z'],
      );
      assert.equal(page2.continueAfter, undefined);
      // Pages within a namespace, and a page of one namespace resumed from a row of another.
      const ns1 = await store.list(T, { namespace: 'default', limit: 2 });
      assert.deepEqual(
        ns1.items.map((o) => o.metadata.name),
        ['a', 'b'],
      );
      const ns2 = await store.list(T, { namespace: 'default', limit: 2, ...(ns1.continueAfter ? { after: ns1.continueAfter } : {}) });
      assert.deepEqual(
        ns2.items.map((o) => o.metadata.name),
        ['c'],
      );
      assert.equal(ns2.continueAfter, undefined);
      assert.deepEqual(
        (await store.list(T, { namespace: 'team-x', after: 'default/c' })).items.map((o) => o.metadata.name),
        ['z'],
      );
      assert.equal((await store.list(T, { namespace: 'default', after: 'team-x/a' })).items.length, 0);
      // By name: in a namespace, and across namespaces.
      await createObject(store, keyOf(T, 'team-x', 'a'), app('a'));
      assert.deepEqual(
        (await store.list(T, { namespace: 'default', name: 'b' })).items.map((o) => `${o.metadata.namespace}/${o.metadata.name}`),
        ['default/b'],
      );
      assert.deepEqual(
        (await store.list(T, { name: 'a' })).items.map((o) => `${o.metadata.namespace}/${o.metadata.name}`),
        ['default/a', 'team-x/a'],
      );
      assert.deepEqual((await store.list(T, { namespace: 'team-x', name: 'b' })).items, []);
      assert.equal((await store.list(U)).items.length, 0);
      // A list's texts are the objects as JSON.stringify writes them (no whitespace, nothing escaped that it leaves as
      // it is): lists by label look for a label's `"key":"value"` in them before parsing (ADR 0039).
      await createObject(store, keyOf(T, 'default', 'labelled'), {
        ...app('labelled', { note: '"team":"a"' }),
        metadata: { name: 'labelled', namespace: 'default', labels: { team: 'a', 'app.kubernetes.io/name': 'x' } },
      });
      const listed = await store.list(T, { namespace: 'default' });
      assert.equal(listed.texts.length, listed.items.length);
      listed.texts.forEach((text, i) => assert.equal(text, JSON.stringify(listed.items[i])));
      assert.ok(listed.texts.some((t) => t.includes('"labels":{"team":"a","app.kubernetes.io/name":"x"}')));
      // Rows whose text holds one string of each group (a list by label's prefilter), in pages too; what SQL patterns
      // treat as wildcards is searched as it is, and case counts.
      await createObject(store, keyOf(T, 'default', 'other'), app('other', { note: '100%_x*?[a]' }));
      const containing = async (groups: string[][], options: { limit?: number; after?: string } = {}): Promise<string[]> =>
        (await store.list(T, { namespace: 'default', containing: groups, ...options })).items.map((o) => o.metadata.name);
      assert.deepEqual(await containing([['"team":"a"']]), ['labelled']);
      assert.deepEqual(await containing([['"team":"b"', '"name":"c"']]), ['c']);
      assert.deepEqual(await containing([['"team":"a"', '"name":"c"']]), ['c', 'labelled']);
      assert.deepEqual(await containing([['"team":"a"', '"name":"c"'], ['"app.kubernetes.io/name":']]), ['labelled']);
      assert.deepEqual(await containing([['100%_x']]), ['other']);
      assert.deepEqual(await containing([['%_x*?[a]"']]), ['other']);
      assert.deepEqual(await containing([['1_0%']]), []);
      assert.deepEqual(await containing([['x*?[a]']]), ['other']);
      assert.deepEqual(await containing([['x*?[b]']]), []);
      assert.deepEqual(await containing([['x?']]), []);
      assert.deepEqual(await containing([['"TEAM":"A"']]), []);
      assert.deepEqual(await containing([[]]), []);
      assert.deepEqual(await containing([['"name":"']], { limit: 2 }), ['a', 'b']);
      assert.deepEqual(await containing([['"name":"']], { limit: 2, after: 'default/b' }), ['c', 'labelled']);
      await store.close();
    });

    it('delivers live events filtered by type and namespace, with the deletion stamped at a new rv', async () => {
      const store = await makeStore();
      const mine = await collect(store, { type: T, namespace: 'default' });
      const a = await createObject(store, keyOf(T, 'default', 'a'), app('a'));
      await createObject(store, keyOf(T, 'other', 'b'), app('b'));
      await updateObject(store, keyOf(T, 'default', 'a'), app('a', { x: 1 }));
      const gone = await deleteObject(store, keyOf(T, 'default', 'a'));
      assert.deepEqual(
        mine.events.map((e) => e.type),
        ['ADDED', 'MODIFIED', 'DELETED'],
      );
      assert.ok(Number(gone.metadata.resourceVersion) > Number(a.metadata.resourceVersion));
      assert.equal(mine.events[2]?.object.metadata.resourceVersion, gone.metadata.resourceVersion);
      mine.stop();
      await store.close();
    });

    it('resumes a watch from a resourceVersion without gaps or repeats', async () => {
      const store = await makeStore();
      const first = await createObject(store, keyOf(T, 'default', 'a'), app('a'));
      await createObject(store, keyOf(T, 'default', 'b'), app('b'));
      await updateObject(store, keyOf(T, 'default', 'a'), app('a', { x: 1 }));
      const resumed = await collect(store, { type: T, fromRv: Number(first.metadata.resourceVersion) });
      await createObject(store, keyOf(T, 'default', 'c'), app('c'));
      const names = resumed.events.map((e) => `${e.type}:${e.key.name}`);
      assert.deepEqual(names, ['ADDED:b', 'MODIFIED:a', 'ADDED:c']);
      const rvs = resumed.events.map((e) => e.rv);
      assert.deepEqual(
        [...rvs].sort((x, y) => x - y),
        rvs,
      );
      resumed.stop();
      await store.close();
    });

    it('keeps every intermediate state in the change log, also of a key written twice in one transaction', async () => {
      const store = await makeStore();
      const a = keyOf(T, 'default', 'a');
      const first = await createObject(store, a, app('a', { step: 0 }));
      // Commits asked for in the same turn share a transaction: the change log holds each one's own text.
      const [one] = await Promise.all([
        store.commit([{ op: 'update', key: a, object: app('a', { step: 1 }) }]),
        store.commit([{ op: 'create', key: keyOf(T, 'default', 'b'), object: app('b', { step: 9 }) }]),
      ]);
      assert.deepEqual(one[0]?.spec, { step: 1 });
      await Promise.all([
        store.commit([{ op: 'update', key: a, object: app('a', { step: 2 }) }]),
        store.commit([{ op: 'update', key: a, object: app('a', { step: 3 }) }]),
      ]);
      const resumed = await collect(store, { type: T, fromRv: Number(first.metadata.resourceVersion) });
      assert.deepEqual(
        resumed.events.map((e) => `${e.key.name}:${String((e.object.spec as { step?: number }).step)}`),
        ['a:1', 'b:9', 'a:2', 'a:3'],
      );
      assert.deepEqual((await store.get(a))?.spec, { step: 3 });
      resumed.stop();
      await store.close();
    });

    it('answers 410 Expired for a watch from a compacted resourceVersion', async () => {
      const store = await makeStore();
      for (let i = 0; i < 10; i++) await createObject(store, keyOf(T, 'default', `o${i}`), app(`o${i}`));
      await store.compact(3);
      assert.ok((await store.oldestRv()) > 1);
      await assert.rejects(
        store.watch({ fromRv: 1 }, () => undefined),
        (e) => isApiError(e, 'Expired'),
      );
      const ok = await collect(store, { fromRv: await store.oldestRv() });
      assert.equal(ok.events.length, 3);
      ok.stop();
      await store.close();
    });

    it('dumps every object and loads them into an empty store with uids and versions kept', async () => {
      const source = await makeStore();
      for (let i = 0; i < 1200; i++) await source.commit([{ op: 'create', key: keyOf(T, `ns-${i % 3}`, `a${i}`), object: app(`a${i}`, { i }) }]);
      await createObject(source, keyOf(U, '', 'p'), { apiVersion: 'platform.kratix.io/v1alpha1', kind: 'Promise', metadata: { name: 'p' } });
      await deleteObject(source, keyOf(T, 'ns-0', 'a0'));
      const target = await makeStore();
      let pages = 0;
      for await (const page of source.dump()) {
        pages++;
        await target.load(page);
      }
      assert.ok(pages >= 2, 'paged');
      const all = async (s: Store): Promise<unknown[]> => [...(await s.list(T)).items, ...(await s.list(U)).items];
      assert.deepEqual(await all(target), await all(source));
      const top = Math.max(...(await all(source)).map((o) => Number((o as { metadata: { resourceVersion: string } }).metadata.resourceVersion)));
      assert.equal(await target.currentRv(), top);
      const next = await createObject(target, keyOf(T, 'default', 'new'), app('new'));
      assert.ok(Number(next.metadata.resourceVersion) > top, 'new writes continue after the loaded versions');
      await assert.rejects(
        target.watch({ fromRv: 1 }, () => undefined),
        (e) => isApiError(e, 'Expired'),
      );
      await assert.rejects(target.load([{ key: keyOf(U, '', 'p'), object: (await source.get(keyOf(U, '', 'p')))! }]));
      assert.deepEqual(await target.checkIntegrity(), []);
      await source.close();
      await target.close();
    });

    it('refuses a whole commit whose check fails, and takes no resourceVersion for a check', async () => {
      const store = await makeStore();
      const lease = keyOf({ group: 'coordination.k8s.io', kind: 'Lease' }, 'fleetops-system', 'leader');
      await createObject(store, lease, { apiVersion: 'coordination.k8s.io/v1', kind: 'Lease', metadata: { name: 'leader' }, spec: { holderIdentity: 'a' } });
      const holds = (who: string) => ({
        op: 'check' as const,
        key: lease,
        accept: (o: StoredObject | undefined) => (o?.spec as { holderIdentity?: string } | undefined)?.holderIdentity === who,
        refusal: () => new ApiError(503, 'ServiceUnavailable', `${who} does not hold the lease`),
      });
      const before = await store.currentRv();
      const [written, ...rest] = await store.commit([holds('a'), { op: 'create', key: keyOf(T, 'default', 'ok'), object: app('ok') }]);
      assert.equal(rest.length, 0, 'a check returns no object');
      assert.equal(written?.metadata.resourceVersion, String(before + 1), 'a check takes no resourceVersion');
      await assert.rejects(
        store.commit([holds('b'), { op: 'create', key: keyOf(T, 'default', 'fenced'), object: app('fenced') }]),
        (e) => isApiError(e, 'ServiceUnavailable') && /b does not hold the lease/.test(e.message),
      );
      assert.equal(await store.get(keyOf(T, 'default', 'fenced')), undefined);
      assert.equal(await store.currentRv(), before + 1);
      await store.close();
    });

    it('delivers to every watcher and acknowledges the commit when one watcher throws', async () => {
      const store = await makeStore();
      const warnings: string[] = [];
      const onWarning = (w: Error): void => void warnings.push(w.message);
      process.on('warning', onWarning);
      const bad = await store.watch({ type: T }, () => {
        throw new Error('a broken listener');
      });
      const good = await collect(store, { type: T });
      await store.commit([
        { op: 'create', key: keyOf(T, 'default', 'a'), object: app('a') },
        { op: 'create', key: keyOf(T, 'default', 'b'), object: app('b') },
      ]);
      assert.deepEqual(
        good.events.map((e) => e.key.name),
        ['a', 'b'],
      );
      await new Promise((r) => setImmediate(r));
      process.off('warning', onWarning);
      assert.ok(warnings.includes('a broken listener'), 'the failure is said');
      bad.stop();
      good.stop();
      await store.close();
    });

    it('stores any text a JSON object may hold, as given: quotes, backslashes, control characters, every plane of Unicode', async () => {
      const store = await makeStore();
      const texts = [
        '"quoted" \\ back\\slash {"json": [1]}',
        'nul \u0000 tab \t newline \n',
        'é ü 中文 🚀',
        'lone \ud800 surrogate',
        '\\u0041 not an escape',
        '',
      ];
      const key = keyOf(T, 'default', 'texts');
      await createObject(store, key, app('texts', { texts }));
      // Updated in a batch with a delete and a create: rows, change-log entries and deletions in one transaction.
      await createObject(store, keyOf(T, 'default', 'gone'), app('gone'));
      const events = await collect(store, { type: T, fromRv: await store.currentRv() });
      await store.commit([
        { op: 'update', key, object: app('texts', { texts: [...texts, 'again'] }) },
        { op: 'delete', key: keyOf(T, 'default', 'gone') },
        { op: 'create', key: keyOf(T, 'default', 'new'), object: app('new', { texts }) },
      ]);
      const after = [...texts, 'again'];
      assert.deepEqual((await store.get(key))?.spec, { texts: after });
      assert.deepEqual((await store.get(keyOf(T, 'default', 'new')))?.spec, { texts });
      const specs = [{ texts: after }, {}, { texts }];
      assert.deepEqual(
        events.events.map((e) => e.object.spec),
        specs,
      );
      // As stored: the change log replayed to a new watch, and the rows dumped.
      const replayed = await collect(store, { type: T, fromRv: Number(events.events[0]?.rv) - 1 });
      assert.deepEqual(
        replayed.events.map((e) => e.object.spec),
        specs,
      );
      replayed.stop();
      const rows: StoredObject[] = [];
      for await (const page of store.dump()) for (const entry of page) rows.push(entry.object);
      assert.deepEqual(rows.find((o) => o.metadata.name === 'texts')?.spec, { texts: after });
      assert.deepEqual(rows.find((o) => o.metadata.name === 'new')?.spec, { texts });
      events.stop();
      await store.close();
    });

    it("hands the writer objects of its own: changing them reaches neither the watchers' objects nor later reads", async () => {
      const store = await makeStore();
      const seen = await collect(store, { type: T });
      const key = keyOf(T, 'default', 'a');
      await createObject(store, key, app('a', { list: [1] }));
      // Written twice, the second time from what a read gave, so an object of the store may stand behind the write.
      const [written] = await store.commit([{ op: 'update', key, object: app('a', { list: [1, 2] }) }]);
      const [deleted] = await store.commit([{ op: 'delete', key }]);
      for (const own of [written, deleted]) (own?.spec as { list: number[] }).list.push(99);
      assert.deepEqual(
        seen.events.map((e) => e.object.spec),
        [{ list: [1] }, { list: [1, 2] }, { list: [1, 2] }],
        "the watchers' objects are as committed",
      );
      await createObject(store, key, app('a', { list: [3] }));
      const [again] = await store.commit([{ op: 'update', key, object: app('a', { list: [3, 4] }) }]);
      (again?.spec as { list: number[] }).list.push(99);
      assert.deepEqual((await store.get(key))?.spec, { list: [3, 4] }, 'a later read gets what was committed');
      seen.stop();
      await store.close();
    });

    it('answers a writer that only reads the answer (shared) with the object its watchers get', async () => {
      const store = await makeStore();
      const seen = await collect(store, { type: T });
      const key = keyOf(T, 'default', 'a');
      const [created] = await store.commit([{ op: 'create', key, object: app('a', { list: [1] }) }], { shared: true });
      const [updated] = await store.commit([{ op: 'update', key, object: app('a', { list: [1, 2] }) }], { shared: true });
      assert.deepEqual(updated?.spec, { list: [1, 2] });
      assert.equal(seen.events[0]?.object, created, "the create's answer is its watchers' object");
      assert.equal(seen.events[1]?.object, updated, "the update's answer is its watchers' object");
      const read = await store.get(key, { shared: true });
      // A store may ignore `shared` on reads (GetOptions.shared); then the read is a copy, equal to the answer.
      if (read !== updated) assert.deepEqual(read, updated);
      seen.stop();
      await store.close();
    });

    it('reads back the latest version of an object written uncached, once its watchers have it, and nothing older', async () => {
      const store = await makeStore();
      const seen = await collect(store, { type: T });
      const key = keyOf(T, 'default', 'a');
      await createObject(store, key, app('a', { phase: 'Running' }));
      assert.deepEqual((await store.get(key))?.spec, { phase: 'Running' }, 'read once: in the read cache now');
      const [done] = await store.commit([{ op: 'update', key, object: app('a', { phase: 'Succeeded' }) }], { uncached: true });
      assert.deepEqual(seen.events[1]?.object.spec, { phase: 'Succeeded' }, 'its watchers get it as ever');
      // A store with a read cache does not keep it there: the read goes to the database, never to the older text.
      const before = await readsFromDatabase();
      assert.deepEqual(await store.get(key), done);
      assert.deepEqual(await store.get(key, { cached: true }), done);
      assert.ok((await readsFromDatabase()) > before, 'read back from the database');
      seen.stop();
      await store.close();
    });

    it('passes its own integrity check', async () => {
      const store = await makeStore();
      await createObject(store, keyOf(T, 'default', 'a'), app('a'));
      assert.deepEqual(await store.checkIntegrity(), []);
      await store.close();
    });
  });
}
