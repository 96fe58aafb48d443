/**
 * kill -9 FleetOps in the middle of a rollout: after restart the rollout continues where it was and completes; every
 * resource ends on the new revision (none skipped) with exactly one successful run of it (none run twice), and a
 * run cut off by the crash is marked as interrupted rather than left looking alive.
 */
import { counterPromise } from '../helpers/promises.ts';
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { KubeObject } from '../../src/api/types.ts';
import { eventually } from '../helpers/fleet.ts';
import { buildTestImage } from '../helpers/images.ts';
import { openImageCache } from '../../src/workflows/images/openImageCache.ts';
import { spawnFleet, type FleetProcess } from '../helpers/process.ts';

const KRATIX = '/apis/platform.kratix.io/v1alpha1';
const COUNTERS = '/apis/test.fleetops.dev/v1/namespaces/default/counters';
const N = 30;

const counter = (revision: number): KubeObject => counterPromise(revision, { stepSeconds: 0.2, maxConcurrent: 3 });

interface Counter extends KubeObject {
  status?: { seen?: number; promiseRevision?: number };
}
interface Run extends KubeObject {
  spec: { object: { name: string }; steps: { command: string[] }[] };
  status?: { phase?: string; message?: string };
}
interface Rollout extends KubeObject {
  status?: { phase?: string; updated?: number; total?: number };
}

describe('crash safety of rollouts', () => {
  it('continues a rollout after kill -9 with no resource skipped or run twice', async () => {
    const dataDir = mkdtempSync(join(tmpdir(), 'fleetops-rollout-crash-'));
    const images = openImageCache(dataDir);
    await buildTestImage(images);
    images.stop();
    let fleet: FleetProcess = await spawnFleet(dataDir);
    try {
      await fleet.client.request('POST', `${KRATIX}/promises`, { body: counter(1) });
      await eventually(() => fleet.client.get(COUNTERS), 15_000, 'kind served');
      for (let i = 0; i < N; i++)
        await fleet.client.request('POST', COUNTERS, { body: { apiVersion: 'test.fleetops.dev/v1', kind: 'Counter', metadata: { name: `c-${i}` }, spec: {} } });
      await eventually(
        async () => (await fleet.client.get<{ items: Counter[] }>(COUNTERS)).items.filter((c) => c.status?.seen === 1).length === N,
        60_000,
        'revision 1 everywhere',
      );

      const current = await fleet.client.get<KubeObject>(`${KRATIX}/promises/counter`);
      await fleet.client.request('PUT', `${KRATIX}/promises/counter`, {
        body: { ...counter(2), metadata: { ...counter(2).metadata, resourceVersion: current.metadata.resourceVersion } },
      });
      // Kill it mid-way: some updated, most not.
      await eventually(
        async () => ((await fleet.client.get<Rollout>('/apis/fleetops.dev/v1alpha1/rollouts/counter-r2').catch(() => undefined))?.status?.updated ?? 0) >= 6,
        60_000,
        'rollout under way',
      );
      await fleet.kill('SIGKILL');

      fleet = await spawnFleet(dataDir);
      const done = await eventually(
        async () => {
          const r = await fleet.client.get<Rollout>('/apis/fleetops.dev/v1alpha1/rollouts/counter-r2');
          return r.status?.phase === 'Complete' ? r : undefined;
        },
        90_000,
        'rollout complete after restart',
      );
      assert.equal(done.status?.updated, N);

      const counters = (await fleet.client.get<{ items: Counter[] }>(COUNTERS)).items;
      assert.deepEqual(
        counters.filter((c) => c.status?.seen !== 2 || c.status.promiseRevision !== 2).map((c) => c.metadata.name),
        [],
        'every resource on revision 2',
      );
      const runs = (await fleet.client.get<{ items: Run[] }>('/apis/fleetops.dev/v1alpha1/namespaces/default/workflowruns')).items;
      const succeededV2 = new Map<string, number>();
      for (const r of runs) {
        if (r.status?.phase === 'Succeeded' && r.spec.steps[0]!.command.join(' ').includes('revision: 2'))
          succeededV2.set(r.spec.object.name, (succeededV2.get(r.spec.object.name) ?? 0) + 1);
      }
      for (const c of counters) assert.equal(succeededV2.get(c.metadata.name as string), 1, `${c.metadata.name as string} ran revision 2 once`);
      const dangling = runs.filter((r) => r.status?.phase === undefined || r.status.phase === 'Running');
      assert.deepEqual(
        dangling.map((r) => r.metadata.name),
        [],
        'no run left looking alive',
      );
    } finally {
      await fleet.kill('SIGTERM');
    }
  });
});
