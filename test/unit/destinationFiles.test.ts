/** A destination's files do not depend on the order placements are given in: the same winner of a shared path and the same aggregated document either way. */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { destinationFiles, type DestinationLayout, type PlacementFiles } from '../../src/statestores/layout.ts';

const placement = (namespace: string, name: string, files: Record<string, string>): PlacementFiles => ({
  namespace,
  name,
  promiseName: 'app',
  resourceName: '',
  pipeline: 'render',
  groupId: 'abcdef',
  workloads: Object.entries(files).map(([filepath, content]) => ({ filepath, content: Buffer.from(content) })),
});

const layout = (mode: DestinationLayout['mode']): DestinationLayout => ({ name: 'worker', root: 'worker', mode, filename: 'all.yaml', canary: false });

const text = (files: Map<string, Buffer>): Record<string, string> => Object.fromEntries([...files].map(([p, c]) => [p, c.toString()]));

describe('destinationFiles', () => {
  // In namespace-then-name order: a/b, a/c, a-x/a (a namespace sorts before a longer one that starts with it).
  const inOrder = [
    placement('a', 'b', { 'shared.yaml': 'from a/b\n' }),
    placement('a', 'c', { 'shared.yaml': 'from a/c\n' }),
    placement('a-x', 'a', { 'own.yaml': 'from a-x/a\n' }),
  ];
  const shuffled = [inOrder[2]!, inOrder[0]!, inOrder[1]!];

  it('gives a shared path to the last placement in namespace-then-name order, whatever the order given', () => {
    for (const given of [inOrder, shuffled]) {
      const files = text(destinationFiles(layout('none'), given, (_, err) => assert.fail(err)));
      assert.deepEqual(files, { 'worker/shared.yaml': 'from a/c\n', 'worker/own.yaml': 'from a-x/a\n' });
    }
  });

  it('aggregates documents in namespace-then-name order, whatever the order given', () => {
    for (const given of [inOrder, shuffled]) {
      const files = text(destinationFiles(layout('aggregatedYAML'), given, (_, err) => assert.fail(err)));
      assert.deepEqual(files, { 'worker/all.yaml': 'from a/b\n---\nfrom a/c\n---\nfrom a-x/a\n' });
    }
  });
});
