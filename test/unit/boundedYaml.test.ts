/** YAML as Kubernetes' tools read it (merge keys merged), under limits, every refusal a ParseLimitError. */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { ParseLimitError, parseYamlBounded, parseYamlStreamBounded } from '../../src/api/boundedYaml.ts';

const both = (text: string): unknown[] => [parseYamlBounded(text), parseYamlStreamBounded(text)[0]];

describe('bounded YAML', () => {
  it('merges << keys as go-yaml does: explicit keys win, a quoted "<<" is a plain key', () => {
    for (const value of both('base: &b {namespace: team-b, name: base}\nmeta:\n  <<: *b\n  name: own\n'))
      assert.deepEqual(value, { base: { namespace: 'team-b', name: 'base' }, meta: { namespace: 'team-b', name: 'own' } });
    for (const value of both('meta:\n  <<: [{a: 1}, {b: 2}]\n')) assert.deepEqual(value, { meta: { a: 1, b: 2 } });
    for (const value of both('data:\n  "<<": literal\n')) assert.deepEqual(value, { data: { '<<': 'literal' } });
  });
  it('refuses a merge of what is not a map, and an alias bomb, as ParseLimitErrors of their kind', () => {
    for (const parse of [parseYamlBounded, parseYamlStreamBounded]) {
      assert.throws(
        () => parse('a: 1\n<<: 5\n'),
        (err: unknown) => err instanceof ParseLimitError && err.kind === 'syntax' && /Merge sources must be maps/.test(err.message),
      );
      const bomb = 'a: &a [x, x]\nb: &b [*a, *a, *a, *a]\nc: &c [*b, *b, *b, *b]\nd: [*c, *c, *c, *c]\n';
      assert.throws(
        () => parse(bomb, { maxDepth: 100, maxNodes: 50_000, maxAliases: 5 }),
        (err: unknown) => err instanceof ParseLimitError && err.kind === 'aliases',
      );
    }
  });
});
