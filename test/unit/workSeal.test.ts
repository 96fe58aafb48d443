import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createHmac } from 'node:crypto';
import { ANNOTATION_WORK_SEAL, canonicalJson, ensureWork, FINALIZER_WORK_CLEANUP, WorkSeal } from '../../src/controllers/shared/workSeal.ts';
import { kratixObjectStore } from '../helpers/objectStore.ts';
import { isPlainObject } from '../../src/api/types.ts';
import { signServiceAccountToken, verifyServiceAccountToken } from '../../src/lib/serviceAccountToken.ts';

const secret = Buffer.from('an installation key of thirty-two bytes!');
const work = {
  apiVersion: 'platform.kratix.io/v1alpha1',
  kind: 'Work',
  metadata: { name: 'w', namespace: 'default' },
  spec: { b: [1, { y: 2, x: 1 }], a: 'x' },
};

test('a Work sealed by FleetOps verifies; a changed spec, another name or another installation does not', () => {
  const seal = new WorkSeal({ secret });
  const sealed = seal.sealed(work);
  assert.ok(seal.verify(sealed));
  assert.ok(seal.verify({ ...sealed, spec: { a: 'x', b: [1, { x: 1, y: 2 }] } }), 'key order is not part of the seal');
  assert.ok(!seal.verify({ ...sealed, spec: { a: 'changed', b: [1, { x: 1, y: 2 }] } }));
  assert.ok(!seal.verify({ ...sealed, metadata: { ...sealed.metadata, name: 'other' } }));
  assert.ok(!new WorkSeal({ secret: Buffer.from('another installation key') }).verify(sealed));
  assert.ok(!seal.verify(work), 'an unsealed Work');
});

test('a spec sealed or checked once is not written out again while it is the same object, and only for its own Work', () => {
  const seal = new WorkSeal({ secret });
  const sealed = seal.sealed(work);
  // The spec's own members are read while canonical JSON is written: counted through a getter.
  let reads = 0;
  const spec = Object.defineProperty({ ...work.spec }, 'a', { get: () => (reads++, 'x'), enumerable: true });
  const counted = { ...sealed, spec };
  assert.ok(seal.verify(counted));
  assert.equal(reads, 1);
  assert.ok(seal.verify(counted));
  assert.ok(seal.verify({ ...counted, metadata: { ...counted.metadata } }));
  assert.equal(reads, 1, 'checked again from the digest it made');
  assert.ok(!seal.verify({ ...counted, metadata: { ...counted.metadata, name: 'other' } }), 'another Work with the same spec object is checked in full');
  assert.equal(reads, 2);
  assert.ok(seal.verify({ ...sealed, spec: { ...work.spec } }), 'an equal spec in another object is checked in full, and verifies');
});

test('a seal is the same bytes from one version to the next (Works stored before an upgrade stay scheduled)', () => {
  const key = createHmac('sha256', secret).update('fleetops.dev/work-seal/v1').digest();
  const expected = createHmac('sha256', key).update('{"name":"w","namespace":"default","spec":{"a":"x","b":[1,{"x":1,"y":2}]}}').digest('base64url');
  assert.equal(new WorkSeal({ secret }).sealed(work).metadata.annotations?.[ANNOTATION_WORK_SEAL], expected);
});

test('a Work FleetOps writes is created sealed with the cleanup finalizer, and its updates leave the finalizers alone', async () => {
  const { store, client } = await kratixObjectStore();
  const seal = new WorkSeal({ secret });
  const wanted = { ...work, spec: { workloadGroups: [] } };
  // Written in one write: the scheduler finds its finalizer there and places it at once.
  const created = await ensureWork(client, seal, wanted);
  assert.equal(created.outcome, 'created');
  assert.deepEqual(created.object.metadata.finalizers, [FINALIZER_WORK_CLEANUP]);
  assert.ok(seal.verify(created.object));
  // Whoever removed the finalizer since (the scheduler, while deleting) is not overruled by the next update.
  const stored = await client.get({ apiVersion: work.apiVersion, kind: 'Work', namespace: 'default', name: 'w' });
  await client.update({ ...stored!, metadata: { ...stored!.metadata, finalizers: [] } });
  const updated = await ensureWork(client, seal, { ...wanted, spec: { workloadGroups: [{ id: 'g', directory: '.', workloads: [] }] } });
  assert.equal(updated.outcome, 'updated');
  assert.deepEqual(updated.object.metadata.finalizers ?? [], []);
  assert.ok(seal.verify(updated.object));
  await store.close();
});

/** The first version's canonical JSON, kept as the oracle: a seal's bytes may never change. */
function firstVersion(value: unknown, out: string[] = []): string {
  if (Array.isArray(value)) {
    out.push('[');
    value.forEach((item: unknown, i) => {
      if (i > 0) out.push(',');
      firstVersion(item, out);
    });
    out.push(']');
  } else if (isPlainObject(value)) {
    out.push('{');
    let first = true;
    for (const k of Object.keys(value).sort()) {
      if (value[k] === undefined) continue;
      out.push(first ? '' : ',', JSON.stringify(k), ':');
      first = false;
      firstVersion(value[k], out);
    }
    out.push('}');
  } else {
    const text = JSON.stringify(value);
    if (text !== undefined) out.push(text);
  }
  return out.join('');
}

test('canonical JSON is byte for byte what the first version wrote, for any value', () => {
  let state = 42;
  const random = (n: number): number => {
    state = (state * 1103515245 + 12345) % 2 ** 31;
    return state % n;
  };
  const texts = ['', 'plain', 'say "hi"', 'back\\slash', 'tab\there', 'nul\u0000', 'é中🚀', 'lone \ud800', 'pair \ud83d\ude80', '\u2028', 'z', 'A', '10', '-'];
  const scalars: unknown[] = [0, -0, 1.5, -7, 1e21, 1e-7, NaN, Infinity, true, false, null, undefined];
  const value = (depth: number): unknown => {
    const pick = random(depth > 3 ? 2 : 4);
    if (pick === 0) return texts[random(texts.length)];
    if (pick === 1) return scalars[random(scalars.length)];
    if (pick === 2) return Array.from({ length: random(4) }, () => value(depth + 1));
    const obj: Record<string, unknown> = {};
    for (let i = random(5); i > 0; i--) obj[texts[random(texts.length)] ?? ''] = value(depth + 1);
    return obj;
  };
  for (let i = 0; i < 2000; i++) {
    const v = value(0);
    assert.equal(canonicalJson(v), firstVersion(v), JSON.stringify(v));
  }
  // A list with a hole and undefined items, and members JSON leaves out.
  // eslint-disable-next-line no-sparse-arrays
  const odd = { list: [1, , undefined, () => 1, 2], fn: () => 1, gone: undefined, date: new Date(0) };
  assert.equal(canonicalJson(odd), firstVersion(odd));
});

test('a service account token verifies under its key only, until it expires', () => {
  const claims = { namespace: 'team-a', serviceAccount: { name: 'sa', uid: 'u1' }, issuedAt: 1000, expiresAt: 2000 };
  const token = signServiceAccountToken(secret, claims);
  assert.deepEqual(verifyServiceAccountToken(secret, token, 1500), claims);
  assert.equal(verifyServiceAccountToken(Buffer.from(secret), token, 1500)?.namespace, 'team-a', 'an equal key in another buffer');
  assert.equal(verifyServiceAccountToken(Buffer.from('another key'), token, 1500), undefined);
  assert.equal(verifyServiceAccountToken(secret, token, 2000), undefined, 'expired');
});
