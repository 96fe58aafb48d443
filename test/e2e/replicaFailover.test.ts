/**
 * kill -9 of the replica that runs the controllers in the middle of a rollout of 200 resources (#22): another replica
 * on the same PostgreSQL takes the Lease over, the rollout completes, every resource is on the new revision with
 * exactly one successful run of it, no run is left looking alive, and each resource's change is one commit in Git.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { KubeObject } from '../../src/api/types.ts';
import { openImageCache } from '../../src/workflows/images/openImageCache.ts';
import { eventually } from '../helpers/fleet.ts';
import { connectStateStore, startGitServer, type TestGitServer } from '../helpers/gitServer.ts';
import { buildTestImage } from '../helpers/images.ts';
import { startPostgres, type TestPostgres } from '../helpers/postgres.ts';
import { spawnFleet, type FleetProcess } from '../helpers/process.ts';
import { counterPromise } from '../helpers/promises.ts';

const KRATIX = '/apis/platform.kratix.io/v1alpha1';
const COUNTERS = '/apis/test.fleetops.dev/v1/namespaces/default/counters';
const LEASE = '/apis/coordination.k8s.io/v1/namespaces/fleetops-system/leases/fleetops-controllers';
const N = 200;

const counter = (revision: number): KubeObject =>
  counterPromise(revision, { stepSeconds: 0.1, maxConcurrent: 10, destinationSelectors: { environment: 'worker' } });

interface Counter extends KubeObject {
  status?: { seen?: number; promiseRevision?: number };
}
interface Run extends KubeObject {
  spec: { object: { name: string }; steps: { command: string[] }[] };
  status?: { phase?: string };
}
interface Rollout extends KubeObject {
  status?: { phase?: string; updated?: number };
}

describe('fail-over of the controllers during a rollout', () => {
  let db: TestPostgres;
  let git: TestGitServer;
  const dirs: string[] = [];
  const fleets: FleetProcess[] = [];

  before(async () => {
    db = await startPostgres();
    git = await startGitServer();
    await git.createRepo('platform');
    for (let i = 0; i < 2; i++) {
      const dir = mkdtempSync(join(tmpdir(), `fo-failover-${i}-`));
      dirs.push(dir);
      const images = openImageCache(dir);
      await buildTestImage(images);
      images.stop();
      fleets.push(await spawnFleet(dir, { FLEETOPS_STORE: db.url }));
    }
  });

  after(async () => {
    for (const f of fleets) await f.kill('SIGKILL');
    await git.close();
    db.cleanup();
    for (const d of dirs) rmSync(d, { recursive: true, force: true });
  });

  it('completes the rollout on another replica, each resource run once on the new revision and committed once', async () => {
    const holderPid = async (via: FleetProcess): Promise<number | undefined> => {
      const holder = (await via.client.get<{ spec?: { holderIdentity?: string } }>(LEASE).catch(() => undefined))?.spec?.holderIdentity ?? '';
      return fleets.find((f) => holder.includes(`-${f.child.pid}-`))?.child.pid;
    };
    /** A clone once every output in Git is on `revision`. */
    const inGit = (revision: number): Promise<string> =>
      eventually(
        async () => {
          const dir = await git.clone('platform');
          const grep = execFileSync('git', ['-C', dir, 'grep', '-l', `revision: ${revision}`, '--', 'worker-1/resources'], { encoding: 'utf8' }).trim();
          return grep && grep.split('\n').length === N ? dir : undefined;
        },
        60_000,
        `every output on revision ${revision} in Git`,
      );
    const firstPid = await eventually(() => holderPid(fleets[0]!), 30_000, 'a leader');
    const leader = fleets.find((f) => f.child.pid === firstPid)!;
    const other = fleets.find((f) => f !== leader)!;
    // Outputs go to an external Git server, which every replica reaches (the embedded one is one machine's disk).
    const c = other.client;
    for (const d of ['worker-1', 'platform']) await c.request('DELETE', `${KRATIX}/destinations/${d}`);
    await c.request('DELETE', `${KRATIX}/gitstatestores/default`);
    await connectStateStore(c, git, 'platform');
    await c.request('POST', `${KRATIX}/promises`, { body: counter(1) });
    await eventually(() => c.get(COUNTERS), 30_000, 'kind served on the replica that does not lead');
    for (let i = 0; i < N; i++)
      await c.request('POST', COUNTERS, { body: { apiVersion: 'test.fleetops.dev/v1', kind: 'Counter', metadata: { name: `c-${i}` }, spec: {} } });
    await eventually(
      async () => (await c.get<{ items: Counter[] }>(COUNTERS)).items.filter((x) => x.status?.seen === 1).length === N,
      180_000,
      'revision 1 everywhere',
    );

    await inGit(1); // committed before the change, so each resource's change to revision 2 is a commit of its own
    const current = await c.get<KubeObject>(`${KRATIX}/promises/counter`);
    await c.request('PUT', `${KRATIX}/promises/counter`, {
      body: { ...counter(2), metadata: { ...counter(2).metadata, resourceVersion: current.metadata.resourceVersion } },
    });
    await eventually(
      async () => ((await c.get<Rollout>('/apis/fleetops.dev/v1alpha1/rollouts/counter-r2').catch(() => undefined))?.status?.updated ?? 0) >= 20,
      120_000,
      'rollout under way',
    );
    await leader.kill('SIGKILL');
    await eventually(async () => (await holderPid(other)) === other.child.pid, 40_000, 'the other replica took the Lease');

    const done = await eventually(
      async () => {
        const r = await c.get<Rollout>('/apis/fleetops.dev/v1alpha1/rollouts/counter-r2');
        return r.status?.phase === 'Complete' ? r : undefined;
      },
      240_000,
      'rollout complete on the new leader',
    );
    assert.equal(done.status?.updated, N);
    const counters = (await c.get<{ items: Counter[] }>(COUNTERS)).items;
    assert.deepEqual(
      counters.filter((x) => x.status?.seen !== 2 || x.status.promiseRevision !== 2).map((x) => x.metadata.name),
      [],
      'every resource on revision 2',
    );
    const runs = (await c.get<{ items: Run[] }>('/apis/fleetops.dev/v1alpha1/namespaces/default/workflowruns')).items;
    const succeeded = new Map<string, number>();
    for (const r of runs)
      if (r.status?.phase === 'Succeeded' && r.spec.steps[0]!.command.join(' ').includes('revision: 2'))
        succeeded.set(r.spec.object.name, (succeeded.get(r.spec.object.name) ?? 0) + 1);
    assert.deepEqual(
      counters.map((x) => x.metadata.name).filter((n) => succeeded.get(n as string) !== 1),
      [],
      'exactly one successful run of revision 2 per resource',
    );
    assert.deepEqual(
      runs.filter((r) => r.status?.phase === undefined || r.status.phase === 'Running').map((r) => r.metadata.name),
      [],
      'no run left looking alive',
    );
    // In Git: each resource's output written once with revision 1 and changed once to revision 2.
    const clone = await inGit(2);
    const touches = execFileSync('git', ['-C', clone, 'log', '--format=', '--name-only', '--', 'worker-1/resources'], { encoding: 'utf8', maxBuffer: 64 << 20 })
      .split('\n')
      .filter((l) => l.endsWith('out.yaml'));
    const perFile = new Map<string, number>();
    for (const f of touches) perFile.set(f, (perFile.get(f) ?? 0) + 1);
    assert.equal(perFile.size, N);
    assert.deepEqual(
      [...perFile].filter(([, n]) => n !== 2),
      [],
      'each output committed twice: created on revision 1, changed once to revision 2',
    );
  });
});
