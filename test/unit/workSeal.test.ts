import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createHmac } from 'node:crypto';
import { ANNOTATION_WORK_SEAL, WorkSeal } from '../../src/controllers/shared/workSeal.ts';
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

test('a seal is the same bytes from one version to the next (Works stored before an upgrade stay scheduled)', () => {
  const key = createHmac('sha256', secret).update('fleetops.dev/work-seal/v1').digest();
  const expected = createHmac('sha256', key).update('{"name":"w","namespace":"default","spec":{"a":"x","b":[1,{"x":1,"y":2}]}}').digest('base64url');
  assert.equal(new WorkSeal({ secret }).sealed(work).metadata.annotations?.[ANNOTATION_WORK_SEAL], expected);
});

test('a service account token verifies under its key only, until it expires', () => {
  const claims = { namespace: 'team-a', serviceAccount: { name: 'sa', uid: 'u1' }, issuedAt: 1000, expiresAt: 2000 };
  const token = signServiceAccountToken(secret, claims);
  assert.deepEqual(verifyServiceAccountToken(secret, token, 1500), claims);
  assert.equal(verifyServiceAccountToken(Buffer.from(secret), token, 1500)?.namespace, 'team-a', 'an equal key in another buffer');
  assert.equal(verifyServiceAccountToken(Buffer.from('another key'), token, 1500), undefined);
  assert.equal(verifyServiceAccountToken(secret, token, 2000), undefined, 'expired');
});
