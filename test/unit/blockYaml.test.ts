import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { parse } from 'yaml';
import { toBlockYaml } from '../../src/api/blockYaml.ts';

const roundTrip = (v: unknown): unknown => parse(toBlockYaml(v), { version: '1.1' }) as unknown;
const roundTrip12 = (v: unknown): unknown => parse(toBlockYaml(v)) as unknown;

describe('toBlockYaml', () => {
  it('writes the block style people read and grep', () => {
    const text = toBlockYaml({
      apiVersion: 'example.com/v1',
      kind: 'App',
      metadata: { name: 'web', labels: { 'app.kubernetes.io/name': 'web' } },
      spec: { image: 'nginx:1.27', replicas: 1, ports: [80, 443], env: [{ name: 'A', value: 'b' }], empty: {}, none: [] },
    });
    assert.equal(
      text,
      [
        'apiVersion: example.com/v1',
        'kind: App',
        'metadata:',
        '  name: web',
        '  labels:',
        '    app.kubernetes.io/name: web',
        'spec:',
        '  image: "nginx:1.27"',
        '  replicas: 1',
        '  ports:',
        '  - 80',
        '  - 443',
        '  env:',
        '  - name: A',
        '    value: b',
        '  empty: {}',
        '  none: []',
        '',
      ].join('\n'),
    );
  });

  it('reads back as the same data in YAML 1.1 and 1.2, whatever the strings hold', () => {
    const tricky = [
      '',
      ' ',
      'true',
      'False',
      'yes',
      'NO',
      'on',
      'off',
      'y',
      'n',
      'null',
      '~',
      'Null',
      '1',
      '-1',
      '+1',
      '1.5',
      '.5',
      '1e3',
      '0x1F',
      '0o17',
      '1_000',
      '12:30',
      '2001-12-14',
      '.inf',
      '-.inf',
      '.nan',
      'a: b',
      'a #b',
      '#c',
      '- x',
      '? q',
      '!tag',
      '&anchor',
      '*alias',
      '@at',
      '`tick',
      "'s'",
      '"d"',
      '{a}',
      '[b]',
      'a,b',
      '%p',
      '|',
      '>',
      'line\nbreak',
      'tab\there',
      'trailing ',
      ' leading',
      'ünïcödé',
      'emoji 🚀',
      'back\\slash',
      'a/b',
      '<<',
      '=',
      'x: ',
      'k:v',
      'with  two spaces',
    ];
    for (const s of tricky) {
      const data = { [s || 'k']: s, list: [s, { [s || 'k']: [s] }] };
      assert.deepEqual(roundTrip(data), data, `1.1: ${JSON.stringify(s)}`);
      assert.deepEqual(roundTrip12(data), data, `1.2: ${JSON.stringify(s)}`);
    }
  });

  it('keeps numbers, booleans, nulls and nesting, and drops undefined as JSON does', () => {
    const data = { n: 0, neg: -2.5, big: 12345678901, t: true, f: false, nil: null, deep: { a: [[1, 2], [], [{ b: { c: [null] } }]] }, gone: undefined };
    const { gone: _gone, ...expected } = data;
    assert.deepEqual(roundTrip12(data), expected);
    assert.equal(toBlockYaml([]), '[]\n');
    assert.equal(toBlockYaml('x'), 'x\n');
  });
});
