/**
 * The state store controller's reports on WorkPlacements, over a real SQLite store with a writer that stands in for
 * Git (held until the test lets it finish): every placement of a write is reported written with the write's version,
 * and a placement whose spec changed while the write was under way is not reported written for its new generation
 * by that write (its files were not in it) but by the next one.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { tmpdir } from 'node:os';
import { pino } from 'pino';
import { destinationType, gitStateStoreType, workPlacementType } from '../../src/registry/builtin/kratixKinds.ts';
import { objectOf } from '../../src/registry/builtin/defineType.ts';
import type { ObjectService } from '../../src/registry/ObjectService.ts';
import type { SqliteStore } from '../../src/store/SqliteStore.ts';
import type { InProcessClient } from '../../src/client/InProcessClient.ts';
import { kratixObjectStore } from '../helpers/objectStore.ts';
import { StateStoreController } from '../../src/controllers/statestore/StateStoreController.ts';
import type { SyncRequest, SyncResult } from '../../src/statestores/GitWriter.ts';
import { encodeWorkload } from '../../src/lib/workloads.ts';
import { eventually } from '../helpers/fleet.ts';

/** A writer that records what each write held and finishes a write only when the test releases it. */
class HeldWriter {
  readonly writes: Map<string, Buffer>[] = [];
  private release: (() => void)[] = [];
  private readonly waiting: (() => void)[] = [];

  async sync(request: SyncRequest): Promise<SyncResult> {
    this.writes.push(new Map(request.files));
    const n = this.writes.length;
    for (const w of this.waiting.splice(0)) w();
    await new Promise<void>((resolve) => this.release.push(resolve));
    return { version: `v${n}`, changed: request.files.size };
  }

  /** Resolves once `n` writes have started. */
  started(n: number): Promise<void> {
    if (this.writes.length >= n) return Promise.resolve();
    return new Promise((resolve) => this.waiting.push(() => void this.started(n).then(resolve)));
  }

  finishAll(): void {
    for (const r of this.release.splice(0)) r();
  }
}

const placement = (i: number, revision: number): object => ({
  apiVersion: 'platform.kratix.io/v1alpha1',
  kind: 'WorkPlacement',
  metadata: { name: `p${i}`, namespace: 'default', labels: { 'kratix.io/pipeline-name': 'render' } },
  spec: {
    targetDestinationName: 'worker',
    promiseName: 'thing',
    resourceName: `t${i}`,
    id: 'abcdef',
    workloads: [{ filepath: 'cm.yaml', content: encodeWorkload(`revision: ${revision}\n`) }],
  },
});

describe('StateStoreController reports', () => {
  let store: SqliteStore;
  let objects: ObjectService;
  let controller: StateStoreController;
  const statusOf = async (name: string) => objectOf(workPlacementType, await objects.get(workPlacementType, 'default', name)).status;
  const writer = new HeldWriter();
  /** Every status a placement was given: [name, observedGeneration, versionID]. */
  const reports: [string, number | undefined, string | undefined][] = [];

  before(async () => {
    let client: InProcessClient;
    ({ store, objects, client } = await kratixObjectStore());
    await objects.create(gitStateStoreType, '', {
      apiVersion: 'platform.kratix.io/v1alpha1',
      kind: 'GitStateStore',
      metadata: { name: 'state' },
      spec: { url: 'file:///nowhere', branch: 'main' },
    });
    await objects.create(destinationType, '', {
      apiVersion: 'platform.kratix.io/v1alpha1',
      kind: 'Destination',
      metadata: { name: 'worker' },
      spec: { path: 'worker', stateStoreRef: { kind: 'GitStateStore', name: 'state' } },
    });
    await store.watch({}, (e) => {
      if (e.key.kind !== 'WorkPlacement' || e.type === 'DELETED') return;
      const status = e.object.status as { observedGeneration?: number; versionID?: string } | undefined;
      if (status?.versionID) reports.push([e.object.metadata.name, status.observedGeneration, status.versionID]);
    });
    controller = new StateStoreController({
      client,
      logger: pino({ level: 'silent' }),
      writerFor: () => writer,
      workRoot: tmpdir(),
      batchDelayMs: 20,
    });
  });
  after(async () => {
    writer.finishAll();
    await controller.stop();
    await store.close();
  });

  it('reports every placement of a write, and a placement changed during the write only by the next one', async () => {
    for (let i = 0; i < 40; i++) await objects.create(workPlacementType, 'default', placement(i, 1));
    await controller.start();
    await writer.started(1);
    assert.equal([...writer.writes[0]!.keys()].filter((p) => p.endsWith('cm.yaml')).length, 40, 'the first write holds every placement');
    // p0's spec changes while the first write is under way: its new files are not in that write.
    const p0 = await objects.get(workPlacementType, 'default', 'p0');
    await objects.update(workPlacementType, 'default', 'p0', { ...placement(0, 2), metadata: { ...p0.metadata } });
    writer.finishAll();

    await eventually(async () => reports.filter(([, , v]) => v === 'v1').length >= 39, 10_000, 'the placements of the first write reported');
    await writer.started(2);
    assert.match(
      [...writer.writes[1]!].find(([p]) => p.includes('/t0/'))?.[1].toString() ?? '',
      /revision: 2/,
      'the second write holds p0 at its new generation',
    );
    writer.finishAll();
    await eventually(async () => (await statusOf('p0'))?.versionID === 'v2', 10_000, 'p0 reported by the second write');
    assert.deepEqual(
      reports.filter(([name, generation, version]) => name === 'p0' && generation === 2 && version === 'v1'),
      [],
      'the first write never reports p0 written at its new generation',
    );
    for (let i = 1; i < 40; i++) {
      const status = await statusOf(`p${i}`);
      assert.equal(status?.versionID, 'v1', `p${i} reported by the first write`);
      assert.equal(status?.observedGeneration, 1);
      assert.ok(status?.conditions?.some((c) => c.type === 'WriteSucceeded' && c.status === 'True'));
    }
  });
});
