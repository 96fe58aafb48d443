/**
 * A store's tree brought up to date by the placements that changed is the tree made from every placement: checked on
 * random changes (added, changed, removed, moved between two Destinations of the store, being deleted, a workload
 * path that escapes its folder, two placements writing the same path), over fixed random sequences.
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { placementKey, StoreTree, type TreePlacement } from '../../src/controllers/statestore/StoreTree.ts';
import type { DestinationLayout } from '../../src/statestores/layout.ts';
import { compareCodeUnits } from '../../src/api/types.ts';
import { seededRandom as random } from '../helpers/random.ts';

const layouts: DestinationLayout[] = [
  { name: 'east', root: 'east', mode: 'nestedByMetadata', filename: 'aggregated.yaml', canary: true },
  { name: 'west', root: 'west', mode: 'nestedByMetadata', filename: 'aggregated.yaml', canary: true },
];

function placement(rnd: () => number, i: number, version: number): TreePlacement {
  const escape = rnd() < 0.03;
  // Now and then two placements are of the same resource, pipeline and group: the same folder.
  const resource = rnd() < 0.01 ? 'shared' : `r${i}`;
  return {
    target: rnd() < 0.5 ? 'east' : 'west',
    deleting: rnd() < 0.05,
    files: {
      namespace: i % 3 === 0 ? 'team-a' : 'default',
      name: `p${i}`,
      promiseName: 'app',
      resourceName: resource,
      pipeline: 'configure',
      groupId: 'abcdef',
      workloads: [
        { filepath: escape ? '../../outside.yaml' : 'deploy.yaml', content: Buffer.from(`v: ${version}\n`) },
        ...(rnd() < 0.3 ? [{ filepath: 'extra/cm.yaml', content: Buffer.from(`i: ${i}\n`) }] : []),
      ],
    },
  };
}

function sorted(placements: Map<string, TreePlacement>): [string, TreePlacement][] {
  return [...placements].sort(([a], [b]) => compareCodeUnits(a, b));
}

describe('StoreTree', () => {
  /** Over every random sequence: rounds updated in place, and rounds rebuilt because two placements claimed one path. */
  const seen = { inPlace: 0, fromScratch: 0 };
  for (const sequence of [1, 2, 3, 4, 5]) {
    it(`brought up to date in place equals made from scratch (random sequence ${sequence})`, () => {
      const rnd = random(sequence);
      const placements = new Map<string, TreePlacement>();
      const keyOf = (i: number): string => placementKey(i % 3 === 0 ? 'team-a' : 'default', `p${i}`);
      for (let i = 0; i < 60; i++) placements.set(keyOf(i), placement(rnd, i, 0));
      let tree = StoreTree.build('sig', layouts, sorted(placements));
      let inPlace = 0;
      for (let round = 1; round <= 40; round++) {
        const dirty = new Set<string>();
        for (let n = Math.floor(rnd() * 8); n >= 0; n--) {
          const i = Math.floor(rnd() * 80);
          const key = keyOf(i);
          if (rnd() < 0.15) placements.delete(key);
          else placements.set(key, placement(rnd, i, round));
          dirty.add(key);
        }
        const before = new Map(tree.files);
        const changed = tree.update(dirty, (k) => placements.get(k));
        const scratch = StoreTree.build('sig', layouts, sorted(placements));
        if (changed) {
          inPlace++;
          assert.deepEqual(new Map([...tree.files].sort()), new Map([...scratch.files].sort()), `round ${round}: the same files`);
          assert.deepEqual(new Map([...tree.failed].sort()), new Map([...scratch.failed].sort()), `round ${round}: the same failures`);
          // What the writer is told: the map differs from what it last wrote only at the paths named.
          for (const path of new Set([...before.keys(), ...tree.files.keys()]))
            if (!changed.has(path)) assert.equal(tree.files.get(path), before.get(path), `round ${round}: ${path} is not named but changed`);
        } else {
          seen.fromScratch++;
          tree = scratch;
        }
      }
      assert.ok(inPlace > 0, 'some rounds were brought up to date in place');
      seen.inPlace += inPlace;
    });
  }

  it('takes both paths over the random sequences: updated in place, and rebuilt after two placements claimed one path', () => {
    assert.ok(seen.inPlace > 0 && seen.fromScratch > 0, JSON.stringify(seen));
  });

  it('names every path that changed, and only those', () => {
    const p = (v: number, target = 'east'): TreePlacement => ({
      target,
      deleting: false,
      files: {
        namespace: 'default',
        name: 'p',
        promiseName: 'app',
        resourceName: 'r',
        pipeline: 'configure',
        groupId: 'abcdef',
        workloads: [{ filepath: 'a.yaml', content: Buffer.from(`v: ${v}\n`) }],
      },
    });
    const q: TreePlacement = { ...p(0), files: { ...p(0).files, name: 'q', resourceName: 'q' } };
    const all = new Map([
      [placementKey('default', 'p'), p(1)],
      [placementKey('default', 'q'), q],
    ]);
    const tree = StoreTree.build('sig', layouts, sorted(all));
    all.set(placementKey('default', 'p'), p(2, 'west'));
    const changed = tree.update([placementKey('default', 'p')], (k) => all.get(k));
    assert.deepEqual([...(changed ?? [])].sort(), [
      'east/resources/default/app/r/configure/abcde/a.yaml',
      'west/resources/default/app/r/configure/abcde/a.yaml',
    ]);
    assert.equal(tree.files.get('west/resources/default/app/r/configure/abcde/a.yaml')?.toString(), 'v: 2\n');
    assert.ok(tree.files.has('east/resources/default/app/q/configure/abcde/a.yaml'), 'the other placement stays');
  });

  it('is made from scratch each time for a layout other than nestedByMetadata', () => {
    const aggregated: DestinationLayout[] = [{ ...layouts[0]!, mode: 'aggregatedYAML' }];
    const tree = StoreTree.build('sig', aggregated, []);
    assert.equal(
      tree.update([], () => undefined),
      undefined,
    );
  });
});
