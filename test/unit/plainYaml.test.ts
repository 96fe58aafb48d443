/**
 * The plain YAML reader answers only as the yaml library does: every text it reads, generated or mutated at random
 * around YAML's special characters, is read the same by the library (the same documents, and no error); what it
 * leaves to the library is still read there.
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { stringify } from 'yaml';
import { DEFAULT_LIMITS, parseYamlBounded, parseYamlStreamBounded, readWithLibrary } from '../../src/api/boundedYaml.ts';
import { toBlockYaml } from '../../src/api/blockYaml.ts';
import { parsePlainYaml } from '../../src/api/plainYaml.ts';
import { seededRandom as seeded } from '../helpers/random.ts';

const KEYS = [
  'name',
  'namespace',
  'app.kubernetes.io/name',
  'a',
  'b_c',
  'x-y',
  'true',
  'null',
  'y',
  'no',
  'on',
  'Yes',
  '1',
  '0x1',
  '<<',
  'a b',
  'k:',
  '-k',
  '__proto__',
  'é',
  '.inf',
];
const SCALARS: unknown[] = [
  'plain',
  'two words',
  'nginx:1.25',
  'http://example.com/x',
  '1.2.3',
  '2024-01-01',
  '0.5',
  '007',
  '+1',
  '-1',
  '1e3',
  '0x1F',
  '0o17',
  '.inf',
  '.nan',
  'true',
  'True',
  'yes',
  'no',
  'null',
  '~',
  '',
  ' lead',
  'trail ',
  'a: b',
  'a #b',
  'a#b',
  "it's",
  'say "hi"',
  'back\\slash',
  'tab\there',
  'line\nbreak',
  '- item',
  '? q',
  '*ref',
  '&anchor',
  '!tag',
  '%pct',
  '@at',
  '`tick',
  '{x}',
  '[y]',
  'a,b',
  'ü',
  '=',
  '-',
  ':',
  'a:',
  'C:\\dir',
  0,
  -0,
  1,
  -17,
  42,
  3.25,
  -0.5,
  1e21,
  2 ** 60,
  0.1,
  true,
  false,
  null,
];

function pick<T>(rnd: () => number, xs: readonly T[]): T {
  return xs[Math.floor(rnd() * xs.length)] as T;
}

function value(rnd: () => number, depth: number): unknown {
  const r = rnd();
  if (depth > 3 || r < 0.5) return pick(rnd, SCALARS);
  const n = Math.floor(rnd() * 4);
  if (r < 0.75) {
    const obj: Record<string, unknown> = {};
    for (let i = 0; i < n; i++)
      Object.defineProperty(obj, pick(rnd, KEYS), { value: value(rnd, depth + 1), enumerable: true, writable: true, configurable: true });
    return obj;
  }
  return Array.from({ length: n }, () => value(rnd, depth + 1));
}

/** Flow style, as hand-written YAML and `printf` steps have it: plain where it can be, else JSON's quoting. */
function flow(v: unknown): string {
  if (Array.isArray(v)) return `[${v.map(flow).join(', ')}]`;
  if (v !== null && typeof v === 'object')
    return `{${Object.entries(v)
      .map(([k, x]) => `${k}: ${flow(x)}`)
      .join(', ')}}`;
  if (typeof v === 'string' && /^[A-Za-z][A-Za-z0-9 ./:-]*$/.test(v)) return v;
  // Single quotes where they need their one escape (a doubled quote), JSON's double quotes elsewhere.
  return typeof v === 'string' && v.includes("'") && !/[\n\\]/.test(v) ? `'${v.replaceAll("'", "''")}'` : JSON.stringify(v);
}

const SPECIAL = [
  ' ',
  '  ',
  '\n',
  '\n  ',
  ':',
  ': ',
  '-',
  '- ',
  '#',
  ' #',
  '"',
  "'",
  '{',
  '}',
  '[',
  ']',
  ',',
  '&a ',
  '*a',
  '!',
  '|',
  '>',
  '---\n',
  '...',
  '\t',
  '\r',
  '\\',
  '<<: ',
  '?',
  'x',
  '1',
  '.',
  '~',
];

function mutate(rnd: () => number, text: string): string {
  let out = text;
  const edits = 1 + Math.floor(rnd() * 3);
  for (let i = 0; i < edits; i++) {
    const at = Math.floor(rnd() * (out.length + 1));
    const r = rnd();
    if (r < 0.6) out = out.slice(0, at) + pick(rnd, SPECIAL) + out.slice(at);
    else if (r < 0.85) out = out.slice(0, at) + out.slice(at + 1 + Math.floor(rnd() * 3));
    else out = out.replace(/\n {2}/, '\n ');
  }
  return out;
}

/** The library's documents, or the error it throws. */
function library(text: string, stream: boolean): { docs: unknown[] } | { error: unknown } {
  try {
    return { docs: readWithLibrary(text, DEFAULT_LIMITS, stream) };
  } catch (error) {
    return { error };
  }
}

function agrees(text: string, stream: boolean): boolean {
  const plain = parsePlainYaml(text, DEFAULT_LIMITS, stream);
  if (plain === undefined) return false;
  const ref = library(text, stream);
  assert.ok('docs' in ref, `the plain reader read ${JSON.stringify(text)} that the library refuses: ${'error' in ref ? String(ref.error) : ''}`);
  assert.deepStrictEqual(plain, ref.docs, `read differently: ${JSON.stringify(text)}`);
  return true;
}

describe('plain YAML reader', () => {
  it('reads every generated text as the library does, and most of those written in plain block or flow style', () => {
    const rnd = seeded(25);
    let texts = 0;
    let read = 0;
    for (let i = 0; i < 4000; i++) {
      const v = value(rnd, 0);
      const docs = [v === null || typeof v !== 'object' ? { v } : v];
      for (const text of [toBlockYaml(docs[0]), stringify(docs[0]), flow(docs[0]) + '\n', `---\n${toBlockYaml(docs[0])}---\n${stringify(docs[0])}`]) {
        for (const stream of [false, true]) {
          texts++;
          if (agrees(text, stream)) read++;
        }
      }
    }
    // Not a trivial pass: the reader takes a good share of them (the rest use what it leaves to the library).
    assert.ok(read > texts / 4, `read ${read} of ${texts}`);
  });

  it('never reads a mutated text otherwise than the library', () => {
    const rnd = seeded(7);
    let read = 0;
    const base = [
      'apiVersion: v1\nkind: ConfigMap\nmetadata: {name: t1}\ndata: {revision: "2"}\n',
      'revision: 2\n',
      "a:\n  b:\n  - c: 1\n    d: [x, y]\n  - - e\n    - f\n  g: \"q\"\n# c\nh: 'i''s'\n",
      '- directory: x\n  matchLabels:\n    environment: dev\n',
      '---\napiVersion: v1\nkind: Namespace\nmetadata:\n  name: a\n---\nkind: List\nitems:\n- {kind: X, metadata: {namespace: b}}\n',
    ];
    for (let i = 0; i < 20_000; i++) {
      const text = mutate(rnd, pick(rnd, base));
      for (const stream of [false, true]) if (agrees(text, stream)) read++;
    }
    assert.ok(read > 1000, `read ${read} mutated texts`);
  });

  it('reads what pipelines commonly write, and leaves merge keys, anchors, block scalars and duplicates to the library', () => {
    assert.deepEqual(parsePlainYaml('revision: 2\n', DEFAULT_LIMITS, false), [{ revision: 2 }]);
    assert.deepEqual(parsePlainYaml('apiVersion: v1\nkind: ConfigMap\nmetadata: {name: t1}\ndata: {revision: "2"}\n', DEFAULT_LIMITS, true), [
      { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 't1' }, data: { revision: '2' } },
    ]);
    assert.deepEqual(
      parsePlainYaml('spec:\n  containers:\n  - name: app\n    image: nginx:1.25\n    ports:\n    - containerPort: 80\n', DEFAULT_LIMITS, false),
      [{ spec: { containers: [{ name: 'app', image: 'nginx:1.25', ports: [{ containerPort: 80 }] }] } }],
    );
    for (const text of [
      'meta:\n  <<: {namespace: b}\n',
      'a: &x 1\nb: *x\n',
      'a: |\n  text\n',
      'a: 1\na: 2\n',
      'a: !!str 1\n',
      'a: 1 # note\n',
      'a: one\n  two\n',
      'a: 0x1F\n',
      '\ufeffa: 1\n',
    ])
      assert.equal(parsePlainYaml(text, DEFAULT_LIMITS, true), undefined, text);
    // Left to the library, the bounded reader's answers and refusals stand.
    assert.deepEqual(parseYamlBounded('meta:\n  <<: {namespace: b}\n  name: n\n'), { meta: { namespace: 'b', name: 'n' } });
    assert.throws(() => parseYamlBounded('a: 1\na: 2\n'), /duplicate key/);
    assert.deepEqual(parseYamlStreamBounded('a: 0x1F\n---\nb: 1\n'), [{ a: 31 }, { b: 1 }]);
  });

  it('leaves texts over the limits to the library, which refuses them', () => {
    const deep = `${Array.from({ length: 5 }, (_, i) => `${' '.repeat(2 * i)}k${i}:`).join('\n')} 1\n`;
    const limits = { maxDepth: 3, maxNodes: 100, maxAliases: 10 };
    assert.equal(parsePlainYaml(deep, limits, false), undefined);
    assert.throws(() => parseYamlBounded(deep, limits), /nested deeper than 3/);
    const wide = `${Array.from({ length: 8 }, (_, i) => `- ${i}`).join('\n')}\n---\n${Array.from({ length: 8 }, (_, i) => `- ${i}`).join('\n')}\n`;
    assert.equal(parsePlainYaml(wide, { ...limits, maxNodes: 12 }, true), undefined);
    assert.throws(() => parseYamlStreamBounded(wide, { ...limits, maxNodes: 12 }), /more than 12/);
    assert.equal(parsePlainYaml('[[[[1]]]]\n', limits, false), undefined);
  });
});
