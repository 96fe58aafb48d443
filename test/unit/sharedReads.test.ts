/**
 * Reads for reading only (`client.get(ref, { shared: true })`) over a real SQLite store through the in-process client:
 * they answer the copy the store's read cache and watchers share, not one of the caller's own; a write made from
 * such a read (spread, a field replaced) copies what it is given, so the shared copy never changes; ensureObject,
 * which reads that way, writes only what differs and leaves what it read alone. Writes whose answer is only read
 * (`{ shared: true }`) answer that same shared copy, and under FLEETOPS_CHECK_SHARED=1 a change to a shared copy
 * throws where it is made.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import type { InProcessClient } from '../../src/client/InProcessClient.ts';
import { ensureObject } from '../../src/controllers/shared/ensure.ts';
import type { SqliteStore } from '../../src/store/SqliteStore.ts';
import { kratixObjectStore } from '../helpers/objectStore.ts';

describe('shared reads', () => {
  let store: SqliteStore;
  let client: InProcessClient;
  let n = 0;
  const configMap = async () => {
    const name = `cm${++n}`;
    await client.create({ apiVersion: 'v1', kind: 'ConfigMap', metadata: { name, namespace: 'default', labels: { a: 'b' } }, data: { k: 'v1' } });
    return { apiVersion: 'v1', kind: 'ConfigMap', namespace: 'default', name };
  };

  before(async () => {
    ({ store, client } = await kratixObjectStore());
  });
  after(() => store.close());

  it('answers the shared copy to a shared read, and a copy of its own to any other', async () => {
    const ref = await configMap();
    const first = await client.get(ref, { shared: true });
    const again = await client.get(ref, { shared: true });
    assert.ok(first && again);
    assert.equal(again, first, 'two shared reads of one version are the same object');
    const own = await client.get(ref);
    assert.ok(own);
    assert.notEqual(own, first);
    assert.deepEqual(own, first);
    own.data = { k: 'changed in place' };
    assert.deepEqual((await client.get(ref))?.data, { k: 'v1' }, "a caller's own copy changed in place changes nothing stored");
  });

  it('answers a missing object with nothing, and a shared read of a present one with the shared copy', async () => {
    // The client reads through ObjectService.find, which answers a missing object without an error being made.
    assert.equal(await client.get({ apiVersion: 'v1', kind: 'ConfigMap', namespace: 'default', name: 'never-made' }, { shared: true }), undefined);
    assert.equal(await client.get({ apiVersion: 'v1', kind: 'ConfigMap', namespace: 'default', name: 'never-made' }), undefined);
    const ref = await configMap();
    const shared = await client.get(ref, { shared: true });
    assert.equal(await client.get(ref, { shared: true }), shared);
    assert.equal(shared?.apiVersion, 'v1');
  });

  it('leaves a shared read as it was when a write is made from it', async () => {
    const ref = await configMap();
    const shared = await client.get(ref, { shared: true });
    assert.ok(shared);
    const updated = await client.update({ ...shared, metadata: { ...shared.metadata, labels: { a: 'c' } }, data: { k: 'v2' } });
    updated.data = { k: 'the writer changes what it got back' };
    assert.deepEqual(shared.data, { k: 'v1' });
    assert.deepEqual(shared.metadata.labels, { a: 'b' });
    const now = await client.get(ref, { shared: true });
    assert.deepEqual(now?.data, { k: 'v2' }, 'the write is stored, and what its writer did to the answer after is not');
    assert.deepEqual(now?.metadata.labels, { a: 'c' });
  });

  it('ensureObject writes only what differs, and the object it read stays as read', async () => {
    const ref = await configMap();
    const before = await client.get(ref, { shared: true });
    assert.ok(before);
    const desired = { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: ref.name, namespace: 'default', labels: { a: 'b' } }, data: { k: 'v1' } };
    const same = await ensureObject(client, desired, ['data']);
    assert.equal(same.outcome, 'unchanged');
    assert.equal((await client.get(ref))?.metadata.resourceVersion, before.metadata.resourceVersion);
    const changed = await ensureObject(client, { ...desired, metadata: { ...desired.metadata, labels: { z: 'y' } }, data: { k: 'v3' } }, ['data']);
    assert.equal(changed.outcome, 'updated');
    assert.deepEqual(before.data, { k: 'v1' });
    assert.deepEqual(before.metadata.labels, { a: 'b' });
    const after = await client.get(ref);
    assert.deepEqual(after?.data, { k: 'v3' });
    assert.deepEqual(after?.metadata.labels, { a: 'b', z: 'y' }, 'labels are added to, not replaced');
  });

  it('answers a write asked for a shared answer with the shared copy, and any other write with a copy of its own', async () => {
    const ref = await configMap();
    const read = await client.get(ref, { shared: true });
    assert.ok(read);
    const answer = await client.update({ ...read, data: { k: 'v2' } }, { shared: true });
    assert.equal(await client.get(ref, { shared: true }), answer, "the answer is the copy the store's shared reads get");
    assert.deepEqual(answer.data, { k: 'v2' });
    const own = await client.updateStatus({ ...answer, metadata: { ...answer.metadata, labels: { a: 'own' } } });
    assert.notEqual(await client.get(ref, { shared: true }), own, 'an answer of its own is not the shared copy');
  });

  it("copies only the root and metadata of a shared write's body, and starts it from the shared stored object", async () => {
    const ref = await configMap();
    const read = await client.get(ref, { shared: true });
    assert.ok(read);
    const data = { k: 'v2' };
    const answer = await client.update({ ...read, metadata: { ...read.metadata, labels: { a: 'd' } }, data }, { shared: true });
    assert.equal(answer.data, data, "the body's members are the stored object's: not copied");
    assert.deepEqual((await client.get(ref))?.data, { k: 'v2' });
    const mine = { k: 'v3' };
    const own = await client.update({ ...answer, data: mine });
    assert.notEqual(own.data, mine, 'a write that keeps its answer gets copies of its own');
    assert.deepEqual(own.data, mine);

    await client.create({ apiVersion: 'v1', kind: 'Namespace', metadata: { name: `ns${++n}`, annotations: { team: 'a' } } });
    const ns = await client.get({ apiVersion: 'v1', kind: 'Namespace', name: `ns${n}` }, { shared: true });
    assert.ok(ns);
    const status = await client.updateStatus({ ...ns, status: { phase: 'Terminating' } }, { shared: true });
    assert.equal(status.metadata.annotations, ns.metadata.annotations, 'a status write starts from the shared stored object, not a copy');
    assert.deepEqual(ns.status, { phase: 'Active' }, 'which it leaves as it was');
    assert.deepEqual(status.status, { phase: 'Terminating' });
  });

  it('checks the labels and annotations a write changes, whether it starts from a shared read or not', async () => {
    const ref = await configMap();
    const read = await client.get(ref, { shared: true });
    assert.ok(read);
    const bad = { 'not a key!': 'x' };
    await assert.rejects(client.update({ ...read, metadata: { ...read.metadata, labels: bad } }, { shared: true }), /metadata\.labels/);
    await assert.rejects(client.update({ ...read, metadata: { ...read.metadata, annotations: bad } }), /metadata\.annotations/);
    const kept = await client.update({ ...read, data: { k: 'v9' } }, { shared: true });
    assert.equal(kept.metadata.labels, read.metadata.labels, 'the labels it carries unchanged are the stored ones');
  });
});

describe('the shared-object check (FLEETOPS_CHECK_SHARED)', () => {
  // A process of its own: the check is chosen when the store's code loads. It changes a shared answer, a shared read
  // and a watch event's object, and prints which changes went through.
  const script = `
    import { kratixObjectStore } from ${JSON.stringify(new URL('../helpers/objectStore.ts', import.meta.url).href)};
    const { store, client } = await kratixObjectStore();
    const events = [];
    await client.watch('v1', 'ConfigMap', {}, (e) => events.push(e.object));
    const created = await client.create({ apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'c', namespace: 'default' }, data: { k: 'v' } }, { shared: true });
    const read = await client.get({ apiVersion: 'v1', kind: 'ConfigMap', namespace: 'default', name: 'c' }, { shared: true });
    const own = await client.get({ apiVersion: 'v1', kind: 'ConfigMap', namespace: 'default', name: 'c' });
    const body = { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'd', namespace: 'default' }, data: { k: 'v' } };
    await client.create(body, { shared: true });
    const tries = { answer: () => (created.data.k = 'x'), read: () => (read.metadata.labels = {}), event: () => events[0].data.extra = 'y', own: () => (own.data.k = 'mine'), body: () => (body.data.k = 'later') };
    const out = {};
    const notJson = await client.create({ apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'e', namespace: 'default' }, data: { k: 'v', gone: undefined } }, { shared: true });
    out.notJson = Object.keys(notJson.data).join();
    for (const [what, change] of Object.entries(tries)) {
      try { change(); out[what] = 'changed'; } catch (err) { out[what] = err instanceof TypeError ? 'refused' : String(err); }
    }
    console.log(JSON.stringify(out));
    store.close();
  `;
  const run = async (check: string): Promise<Record<string, string>> => {
    const { stdout } = await promisify(execFile)(process.execPath, ['--input-type=module', '-e', script], {
      env: { ...process.env, FLEETOPS_CHECK_SHARED: check },
    });
    return JSON.parse(stdout.trim().split('\n').at(-1) ?? '{}');
  };

  it("refuses changes to shared objects when on (a shared write's body included), and leaves a reader its own copy to change", async () => {
    assert.deepEqual(await run('1'), { notJson: 'k', answer: 'refused', read: 'refused', event: 'refused', own: 'changed', body: 'refused' });
  });

  it('is off by default: nothing is frozen (freezing costs a walk of every object written)', async () => {
    assert.deepEqual(await run(''), { notJson: 'k', answer: 'changed', read: 'changed', event: 'changed', own: 'changed', body: 'changed' });
  });
});
