import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { evaluateJsonPath } from '../../src/api/jsonPath.ts';
import { humanDuration } from '../../src/api/duration.ts';

const obj = {
  metadata: { name: 'a', labels: { 'x.io/y': 'z' } },
  status: {
    replicas: 2,
    conditions: [
      { type: 'Ready', status: 'True', message: 'ok' },
      { type: 'Other', status: 'False' },
    ],
  },
  list: [{ n: 1 }, { n: 2 }],
};

describe('JSONPath subset', () => {
  const cases: [string, unknown[]][] = [
    ['.metadata.name', ['a']],
    ['{.status.replicas}', [2]],
    ['.status.conditions[?(@.type=="Ready")].message', ['ok']],
    ['.status.conditions[?(@.type!="Ready")].type', ['Other']],
    ['.list[*].n', [1, 2]],
    ['.list[-1].n', [2]],
    ['.metadata.labels.x\\.io/y', []],
    ['.missing.field', []],
    ['..n', [1, 2]],
    ['{..type}', ['Ready', 'Other']],
    ['.status..message', ['ok']],
  ];
  for (const [expr, want] of cases) it(expr, () => assert.deepEqual(evaluateJsonPath(obj, expr), want));
  it('refuses templates by name instead of matching nothing', () =>
    assert.throws(() => evaluateJsonPath(obj, '{range .list[*]}{.n}{end}'), /templates such as \{range\}…\{end\} are not supported/));
});

describe('humanDuration (kubectl ages)', () => {
  const cases: [number, string][] = [
    [-5000, '<invalid>'],
    [0, '0s'],
    [119_000, '119s'],
    [125_000, '2m5s'],
    [600_000, '10m'],
    [3 * 3600_000 + 60_000, '3h1m'],
    [30 * 3600_000, '30h'],
    [3 * 86400_000, '3d'],
    [800 * 86400_000, '2y70d'],
  ];
  for (const [ms, want] of cases) it(`${ms}ms → ${want}`, () => assert.equal(humanDuration(ms), want));
});
