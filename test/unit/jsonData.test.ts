import { test } from 'node:test';
import assert from 'node:assert/strict';
import { cloneJson, isJsonData, jsonEqual } from '../../src/api/types.ts';

const roundTrip = (v: unknown): unknown => JSON.parse(JSON.stringify(v) as string);

/** Same value, same key order, same prototypes as the JSON round trip's. */
function assertSameAsRoundTrip(value: unknown, what: string): void {
  const copy = cloneJson(value);
  const expected = roundTrip(value);
  assert.deepStrictEqual(copy, expected, what);
  assert.equal(JSON.stringify(copy), JSON.stringify(expected), `${what}: key order`);
}

test('a copy is what a JSON round trip gives, for the awkward cases too', () => {
  const withProto = JSON.parse('{"__proto__": {"polluted": true}, "a": 1}') as object;
  const nullProto = Object.assign(Object.create(null) as object, { b: 2, a: [1] });
  const cases: [string, unknown][] = [
    ['an API object', { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'x', labels: { a: 'b' } }, data: { k: 'v' } }],
    ['undefined members dropped', { a: undefined, b: 1, c: { d: undefined } }],
    ['undefined, functions and NaN in lists become null', [undefined, () => 1, NaN, Infinity, -Infinity, 1]],
    ['functions and symbols as members dropped', { f: () => 1, s: Symbol('x'), n: 1 }],
    ['-0 becomes 0', { z: -0, list: [-0] }],
    ['integer-like keys first, as JSON orders them', { b: 1, 2: 'two', a: 3, 1: 'one' }],
    ['an own __proto__ stays a member', withProto],
    ['an object without prototype', nullProto],
    ['a Date becomes its text', { at: new Date(0) }],
    ['toJSON is honoured', { x: { toJSON: () => 'custom' } }],
    ['a sparse list', [1, , 3]], // eslint-disable-line no-sparse-arrays
    ['boxed values', { s: Object('text') as unknown, n: Object(2) as unknown }],
    ['scalars', ['text', 1.5, true, false, null]],
    ['a top-level number', 42],
    ['a top-level null', null],
  ];
  for (const [what, value] of cases) assertSameAsRoundTrip(value, what);
  const copied = cloneJson(withProto) as Record<string, unknown>;
  assert.equal(Object.getPrototypeOf(copied), Object.prototype, "the copy's prototype is not the member's");
  assert.ok(Object.hasOwn(copied, '__proto__'));
});

test('a copy shares nothing with its source', () => {
  const source = { metadata: { labels: { a: 'b' } }, list: [{ x: 1 }] };
  const copy = cloneJson(source);
  copy.metadata.labels.a = 'changed';
  (copy.list[0] as { x: number }).x = 2;
  assert.deepEqual(source, { metadata: { labels: { a: 'b' } }, list: [{ x: 1 }] });
});

test('what JSON cannot write fails as the round trip does', () => {
  assert.throws(() => cloneJson({ big: 1n }), TypeError);
  const cyclic: Record<string, unknown> = {};
  cyclic.self = cyclic;
  assert.throws(() => cloneJson(cyclic));
  assert.equal(cloneJson(undefined), undefined);
});

test('JSON data is equal when its JSON is, whatever the key order', () => {
  const equal: [unknown, unknown][] = [
    [
      { a: 1, b: [1, { c: 'x' }] },
      { b: [1, { c: 'x' }], a: 1 },
    ],
    [{ a: 1, gone: undefined }, { a: 1 }],
    [{ a: 1 }, { a: 1, gone: undefined }],
    [[], []],
    [null, null],
    ['x', 'x'],
  ];
  const different: [unknown, unknown][] = [
    [{ a: 1 }, { a: 2 }],
    [{ a: 1 }, { a: 1, b: 2 }],
    [{ a: 1, b: 2 }, { a: 1 }],
    [
      { a: undefined, b: 1 },
      { b: 1, c: 1 },
    ],
    [{ a: 1 }, { a: undefined }],
    [
      [1, 2],
      [2, 1],
    ],
    [[1], [1, 1]],
    [{ 0: 'x' }, ['x']],
    [null, {}],
    [1, '1'],
  ];
  for (const [a, b] of equal) assert.ok(jsonEqual(a, b) && jsonEqual(b, a), `${JSON.stringify(a)} equals ${JSON.stringify(b)}`);
  for (const [a, b] of different) assert.ok(!jsonEqual(a, b) && !jsonEqual(b, a), `${JSON.stringify(a)} differs from ${JSON.stringify(b)}`);
});

test('random JSON-like values copy as the round trip does', () => {
  let seed = 7;
  const random = (): number => (seed = (seed * 1103515245 + 12345) % 2 ** 31) / 2 ** 31;
  const leaves: (() => unknown)[] = [
    () => 'text',
    () => Math.floor(random() * 100) - 50,
    () => random(),
    () => true,
    () => null,
    () => undefined,
    () => NaN,
    () => -0,
  ];
  const make = (depth: number): unknown => {
    const pick = random();
    if (depth > 3 || pick < 0.4) return leaves[Math.floor(random() * leaves.length)]!();
    if (pick < 0.7) return Array.from({ length: Math.floor(random() * 4) }, () => make(depth + 1));
    const out: Record<string, unknown> = {};
    for (let i = Math.floor(random() * 5); i > 0; i--)
      out[random() < 0.2 ? String(Math.floor(random() * 10)) : `k${Math.floor(random() * 20)}`] = make(depth + 1);
    return out;
  };
  for (let i = 0; i < 500; i++) {
    const value = make(0);
    if (value === undefined) continue;
    assertSameAsRoundTrip(value, `random value ${i}`);
    assert.ok(jsonEqual(roundTrip(value), cloneJson(value)), `random value ${i} equals its copy`);
  }
});

test('JSON data is told from what a copy would change', () => {
  const data: unknown[] = [
    { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'x', labels: { a: 'b' } }, data: { k: 'v' }, list: [1, 'x', null, true, { y: [] }] },
    JSON.parse('{"__proto__": {"polluted": true}, "a": 1}'),
    Object.assign(Object.create(null) as object, { b: 2 }),
    'text',
    null,
  ];
  const notData: unknown[] = [
    { a: { b: undefined } },
    { list: [1, undefined] },
    [1, , 3], // eslint-disable-line no-sparse-arrays
    { f: () => 1 },
    { s: Symbol('x') },
    { n: NaN },
    { z: [-0] },
    { at: new Date(0) },
    { x: { toJSON: () => 'custom' } },
    { s: Object('text') as unknown },
    { big: 1n },
    undefined,
  ];
  for (const value of data) {
    assert.ok(isJsonData(value), JSON.stringify(value));
    assert.equal(JSON.stringify(cloneJson(value)), JSON.stringify(value));
  }
  for (const value of notData)
    assert.equal(isJsonData(value), false, String(JSON.stringify(value, (_k, v: unknown) => (typeof v === 'bigint' ? 'bigint' : v))));
});

test('JSON data beside what it was made from: the parts it shares are not looked at', () => {
  const stored = { spec: { image: 'i' }, status: { conditions: [{ type: 'Ready' }] } };
  const changed = { ...stored, status: { ...stored.status, phase: 'Done' } };
  assert.ok(isJsonData(changed, stored));
  assert.equal(isJsonData({ ...stored, status: { ...stored.status, gone: undefined } }, stored), false, 'what changed is looked at');
  assert.equal(isJsonData({ ...stored, spec: undefined }, stored), false, 'an undefined member is not JSON data beside anything');
  // A part taken as it is from `known` is not walked (so a non-JSON part shows that it was not).
  const unseen = { at: new Date(0) };
  assert.ok(isJsonData({ spec: unseen }, { spec: unseen }));
  assert.equal(isJsonData({ spec: { at: new Date(0) } }, { spec: unseen }), false);
});
