/**
 * Bad input never crashes the server or yields a 5xx: a few hundred generated malformed bodies, wrong kinds,
 * invalid names and labels, oversized bodies, all answered with a 4xx Status that says what is wrong.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import type { ApiError } from '../../src/api/errors.ts';
import { isApiError } from '../../src/api/errors.ts';
import { startTestFleet, type TestFleet } from '../helpers/fleet.ts';

/** Small deterministic PRNG so failures reproduce. */
function rng(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s = (s * 1664525 + 1013904223) >>> 0;
    return s / 2 ** 32;
  };
}

const COLLECTION = '/apis/platform.kratix.io/v1alpha1/destinations';

function validDestination(name: string): Record<string, unknown> {
  return {
    apiVersion: 'platform.kratix.io/v1alpha1',
    kind: 'Destination',
    metadata: { name },
    spec: { path: name, stateStoreRef: { kind: 'GitStateStore', name: 'default' } },
  };
}

/** Generates one bad request body (as raw text) and a content type. */
function badBody(rand: () => number, i: number): { raw: string; contentType: string; why: string } {
  const pick = <T>(xs: T[]): T => xs[Math.floor(rand() * xs.length)] as T;
  const good = JSON.stringify(validDestination(`d${i}`));
  const mutations: (() => { raw: string; contentType: string; why: string })[] = [
    () => ({ raw: good.slice(0, Math.floor(rand() * good.length)), contentType: 'application/json', why: 'truncated JSON' }),
    () => ({ raw: 'kind: [unclosed', contentType: 'application/yaml', why: 'malformed YAML' }),
    () => ({ raw: pick(['null', '42', '"text"', '[]', 'true']), contentType: 'application/json', why: 'not an object' }),
    () => ({
      raw: JSON.stringify({ ...validDestination(`d${i}`), kind: pick(['Promise', 'Pod', '', 7]) }),
      contentType: 'application/json',
      why: 'wrong kind',
    }),
    () => ({
      raw: JSON.stringify({ ...validDestination(`d${i}`), apiVersion: pick(['v1', 'platform.kratix.io/v9', 3]) }),
      contentType: 'application/json',
      why: 'wrong apiVersion',
    }),
    () => ({
      raw: JSON.stringify({ ...validDestination(''), metadata: { name: pick(['UPPER', 'has space', '-lead', 'x'.repeat(300), 'ünïcode', '']) } }),
      contentType: 'application/json',
      why: 'invalid name',
    }),
    () => ({
      raw: JSON.stringify({ ...validDestination(`d${i}`), metadata: { name: `d${i}`, labels: { [pick(['bad key!', '-x', 'a/b/c', ''])]: 'v' } } }),
      contentType: 'application/json',
      why: 'invalid label key',
    }),
    () => ({
      raw: JSON.stringify({ ...validDestination(`d${i}`), metadata: { name: `d${i}`, labels: { ok: pick(['bad value!', 'x'.repeat(64), '-x']) } } }),
      contentType: 'application/json',
      why: 'invalid label value',
    }),
    () => ({
      raw: JSON.stringify({ ...validDestination(`d${i}`), metadata: { name: `d${i}`, labels: { ok: pick([1, true, null, { a: 1 }]) } } }),
      contentType: 'application/json',
      why: 'non-string label',
    }),
    () => ({
      raw: JSON.stringify({
        ...validDestination(`d${i}`),
        spec: pick([{}, { path: 7 }, { path: '' }, 'str', { path: 'p', stateStoreRef: { kind: 'Nope', name: 'x' } }]),
      }),
      contentType: 'application/json',
      why: 'invalid spec',
    }),
    () => ({ raw: JSON.stringify({ ...validDestination(`d${i}`), spec: undefined }), contentType: 'application/json', why: 'missing spec' }),
    () => ({ raw: JSON.stringify({ ...validDestination(`d${i}`), metadata: pick(['str', 5, []]) }), contentType: 'application/json', why: 'bad metadata' }),
    () => ({ raw: good, contentType: pick(['text/plain', 'application/xml']), why: 'unsupported content type' }),
    () => ({ raw: '\u0000\u0001binary\uffff', contentType: 'application/json', why: 'binary garbage' }),
    () => ({
      raw: JSON.stringify({ ...validDestination(`d${i}`), metadata: { name: `d${i}`, finalizers: pick([['bad finalizer!'], 'x', [7]]) } }),
      contentType: 'application/json',
      why: 'bad finalizers',
    }),
    () => ({ raw: 'a: &a [*a, *a]\nb: *a\n' + 'c: [*a,*a,*a,*a,*a,*a,*a,*a]\n'.repeat(20), contentType: 'application/yaml', why: 'YAML alias bomb' }),
  ];
  return pick(mutations)();
}

describe('bad input gets a clear 4xx Status, never a 5xx', () => {
  let fleet: TestFleet;
  before(async () => (fleet = await startTestFleet()));
  after(async () => fleet.cleanup());

  it('answers 300 generated bad bodies with 4xx Status objects and stays healthy', async () => {
    const rand = rng(42);
    const reasons = new Map<string, number>();
    for (let i = 0; i < 300; i++) {
      const { raw, contentType, why } = badBody(rand, i);
      try {
        await fleet.client.request('POST', COLLECTION, { rawBody: raw, contentType });
        assert.fail(`accepted a bad body (${why}): ${raw.slice(0, 200)}`);
      } catch (err) {
        assert.ok(isApiError(err), `not a Status error for ${why}: ${String(err)}`);
        const e = err as ApiError;
        assert.ok(e.code >= 400 && e.code < 500, `${why} got HTTP ${e.code}: ${e.message}`);
        assert.ok(e.message.length > 10, `message too short for ${why}: ${e.message}`);
        reasons.set(e.reason, (reasons.get(e.reason) ?? 0) + 1);
      }
    }
    assert.ok((reasons.get('Invalid') ?? 0) > 0 && (reasons.get('BadRequest') ?? 0) > 0, JSON.stringify([...reasons]));
    const ok = await fleet.client.request('POST', COLLECTION, { body: validDestination('still-works') });
    assert.equal(ok.status, 201);
    assert.deepEqual(await fleet.store.checkIntegrity(), []);
  });

  it('names each invalid field in the causes', async () => {
    const body = {
      ...validDestination('x'),
      metadata: { name: 'Bad_Name', labels: { 'a b': 'c' } },
      spec: { path: 3, stateStoreRef: { kind: 'Nope', name: 'x' } },
    };
    const err = await fleet.client.request('POST', COLLECTION, { body }).then(
      () => assert.fail('accepted'),
      (e: unknown) => e as ApiError,
    );
    assert.equal(err.code, 422);
    const fields = (err.details?.causes ?? []).map((c) => c.field).sort();
    assert.deepEqual(fields, ['metadata.labels', 'metadata.name', 'spec.path', 'spec.stateStoreRef.kind']);
    assert.match(err.message, /^Destination.platform.kratix.io "Bad_Name" is invalid: \[/);
  });

  it('refuses oversized bodies with 413', async () => {
    const huge = { ...validDestination('huge'), metadata: { name: 'huge', annotations: { big: 'x'.repeat(4 * 1024 * 1024) } } };
    const err = await fleet.client.request('POST', COLLECTION, { body: huge }).then(
      () => assert.fail('accepted'),
      (e: unknown) => e as ApiError,
    );
    assert.equal(err.code, 413);
    assert.equal(err.reason, 'RequestEntityTooLarge');
  });

  it('answers bad query parameters and unknown paths with Status', async () => {
    const cases: [string, number][] = [
      [`${COLLECTION}?labelSelector=${encodeURIComponent('a in (b')}`, 400],
      [`${COLLECTION}?fieldSelector=spec.path%3Dx`, 400],
      [`${COLLECTION}?limit=-1`, 400],
      [`${COLLECTION}?continue=garbage`, 400],
      ['/apis/nosuch.group/v1/things', 404],
      ['/apis/platform.kratix.io/v1alpha1/namespaces/default/destinations', 404],
      ['/apis/platform.kratix.io/v1alpha1/promises/x/nosub', 404],
    ];
    for (const [path, code] of cases) {
      const err = await fleet.client.request('GET', path).then(
        () => assert.fail(`accepted ${path}`),
        (e: unknown) => e as ApiError,
      );
      assert.equal(err.code, code, `${path}: ${err.message}`);
    }
    const noRv = await fleet.client.request('PUT', `${COLLECTION}/still-works`, { body: validDestination('still-works') }).then(
      () => assert.fail('PUT without resourceVersion accepted'),
      (e: unknown) => e as ApiError,
    );
    assert.equal(noRv.code, 422);
    assert.match(noRv.message, /metadata.resourceVersion/);
  });

  it('refuses anonymous reads and writes with 401', async () => {
    const { HttpClient } = await import('../../src/client/HttpClient.ts');
    const anon = new HttpClient({ ...fleet.client.config, token: '' });
    const wrong = new HttpClient({ ...fleet.client.config, token: 'nope' });
    try {
      for (const c of [anon, wrong]) {
        for (const [method, path] of [
          ['GET', COLLECTION],
          ['POST', COLLECTION],
          ['GET', '/apis'],
          ['GET', '/openapi/v3'],
        ] as const) {
          const err = await c.request(method, path, method === 'POST' ? { body: validDestination('anon') } : {}).then(
            () => assert.fail(`${method} ${path} allowed without a valid token`),
            (e: unknown) => e as ApiError,
          );
          assert.equal(err.code, 401);
        }
      }
      assert.equal((await anon.get<{ minor: string }>('/version')).minor, '32', '/version stays public like the real server');
    } finally {
      anon.close();
      wrong.close();
    }
  });

  it('answers a watch from a resourceVersion the store has not reached like the apiserver: 504 with a retry hint', async () => {
    const list = await fleet.client.get<{ metadata: { resourceVersion: string } }>(COLLECTION);
    const ahead = String(Number(list.metadata.resourceVersion) + 1000);
    const err = await fleet.client.request('GET', COLLECTION, { query: { watch: 'true', resourceVersion: ahead } }).then(
      () => assert.fail('a watch from the future was accepted'),
      (e: unknown) => e as ApiError,
    );
    assert.equal(err.code, 504);
    assert.equal(err.reason, 'Timeout');
    assert.match(err.message, new RegExp(`^Too large resource version: ${ahead}, current: \\d+$`));
    assert.equal(err.details?.retryAfterSeconds, 1);
    assert.equal(err.details?.causes?.[0]?.reason, 'ResourceVersionTooLarge');
  });
});
