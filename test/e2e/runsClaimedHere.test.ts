/**
 * Runs claimed where they are created (#25): a leader that runs pipelines itself creates its runs claimed by its own
 * worker — every run while no other replica runs pipelines (no run is ever seen unclaimed, one write fewer each), and
 * only as many as its worker has room for once another worker replica is up, so the others are left to any replica.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import type { KubeObject } from '../../src/api/types.ts';
import { eventually } from '../helpers/fleet.ts';
import { TEST_IMAGE } from '../helpers/images.ts';
import type { FleetProcess } from '../helpers/process.ts';
import { startPostgresReplicas, type PostgresReplicas } from '../helpers/replicas.ts';
import { testPromise } from '../helpers/promises.ts';

const KRATIX = '/apis/platform.kratix.io/v1alpha1';
const RUNS = '/apis/fleetops.dev/v1alpha1/namespaces/default/workflowruns';
const LEASES = '/apis/coordination.k8s.io/v1/namespaces/fleetops-system/leases';
const NAPS = '/apis/test.fleetops.dev/v1/namespaces/default/naps';

interface Run extends KubeObject {
  spec: { object: { name: string } };
  status?: { phase?: string; claim?: { holder?: string; attempt?: number } };
}

/** Every version of every run, as a watch delivers them. */
interface Seen {
  type: string;
  run: Run;
}

/** A Promise whose one step sleeps for the resource's `spec.seconds`, then reports `done: true`. */
const napPromise = testPromise({
  kind: 'Nap',
  plural: 'naps',
  pipeline: {
    name: 'nap',
    spec: {
      containers: [
        {
          name: 'nap',
          image: TEST_IMAGE,
          command: [
            'sh',
            '-c',
            'sleep "$(grep -o "seconds: [0-9]*" /kratix/input/object.yaml | cut -d" " -f2)"; echo "done: true" > /kratix/metadata/status.yaml',
          ],
        },
      ],
    },
  },
});

/** What the tests do through a replica's API: the Promise, naps, and what became of them. */
function napsThrough(c: FleetProcess['client']) {
  return {
    async serve(): Promise<void> {
      await c.request('POST', `${KRATIX}/promises`, { body: napPromise });
      await eventually(() => c.get(NAPS), 30_000, 'kind served');
    },
    async nap(name: string, seconds: number): Promise<void> {
      await c.request('POST', NAPS, { body: { apiVersion: 'test.fleetops.dev/v1', kind: 'Nap', metadata: { name }, spec: { seconds } } });
    },
    async done(names: string[]): Promise<boolean> {
      const items = (await c.get<{ items: (KubeObject & { status?: { done?: boolean } })[] }>(NAPS)).items;
      return names.every((n) => items.some((i) => i.metadata.name === n && i.status?.done === true));
    },
    async leaseOf(f: FleetProcess): Promise<boolean> {
      return (await c.get<{ items: KubeObject[] }>(LEASES)).items.some((l) => l.metadata.name?.includes(`-${f.child.pid}-`));
    },
  };
}

const holderIs = (run: Run, f: FleetProcess): boolean => run.status?.claim?.holder?.includes(`-${f.child.pid}-`) === true;

/** Replicas on a PostgreSQL of the describe's own (made before its tests, removed after), and a signal for its watches. */
function describeReplicas(): { replicas: () => PostgresReplicas; watching: AbortController } {
  let replicas: PostgresReplicas | undefined;
  const watching = new AbortController();
  before(async () => {
    replicas = await startPostgresReplicas();
  });
  after(async () => {
    watching.abort();
    await replicas?.stop();
  });
  return { replicas: () => replicas!, watching };
}

/** The first replica (role all) up with its Lease, the nap Promise served, and every version of every run recorded. */
async function startLeader(replicas: PostgresReplicas, signal: AbortSignal) {
  const a = await replicas.start('a', 'all');
  const seen: Seen[] = [];
  const watch = a.client.watch(RUNS, {}, (e) => seen.push({ type: e.type, run: e.object as Run }), signal);
  const naps = napsThrough(a.client);
  await naps.serve();
  // Its Lease is written once its worker has started.
  await eventually(() => naps.leaseOf(a), 30_000, "the replica's Lease");
  return { a, seen, watch, ...naps };
}

describe('runs claimed where they are created', () => {
  const { replicas, watching } = describeReplicas();

  it('creates every run claimed while alone, and leaves runs to other workers once they are up', async () => {
    const { a, seen, watch, nap, done, leaseOf } = await startLeader(replicas(), watching.signal);

    // Alone: each run appears claimed by this replica (attempt 1), and is never seen unclaimed or claimed again. More
    // runs than the replica has step slots (8 on 2 cores), each alive for seconds (waiting for a slot, then its step):
    // no claim is renewed while nobody else could take it over (a renewal is a write).
    const alone = Array.from({ length: 32 }, (_, i) => `alone-${i}`);
    for (const name of alone) await nap(name, 2);
    await eventually(() => done(alone), 120_000, 'the first resources done');
    const aloneRuns = seen.filter((s) => alone.includes(s.run.spec.object.name));
    const added = aloneRuns.filter((s) => s.type === 'ADDED');
    assert.equal(added.length, alone.length, 'one run per resource');
    for (const { run } of added) {
      assert.equal(run.status?.phase, 'Running', `${run.metadata.name} created running`);
      assert.ok(holderIs(run, a), `${run.metadata.name} created claimed by the replica that created it`);
      assert.equal(run.status?.claim?.attempt, 1);
    }
    for (const { run } of aloneRuns) {
      assert.ok(holderIs(run, a), `${run.metadata.name} is never unclaimed nor claimed by another`);
      assert.equal(run.status?.claim?.attempt, 1, `${run.metadata.name} is never claimed again`);
    }
    for (const name of new Set(added.map((s) => s.run.metadata.name)))
      assert.deepEqual(
        aloneRuns.filter((s) => s.run.metadata.name === name).map((s) => s.run.status?.phase),
        ['Running', 'Succeeded'],
        `${name}: created claimed, then finished (no claim written, none renewed)`,
      );

    // A worker replica comes up: more runs at once than this replica's worker has room for (8 steps on 2 cores, 4 per
    // core elsewhere) are left unclaimed at creation, and the other worker takes some of them.
    const b = await replicas().start('b', 'worker');
    await eventually(() => leaseOf(b), 30_000, "the worker's Lease seen by the leader");
    const busy = Array.from({ length: 40 }, (_, i) => `busy-${i}`);
    for (const name of busy) await nap(name, 5);
    await eventually(() => done(busy), 180_000, 'every resource done');
    const busyRuns = seen.filter((s) => busy.includes(s.run.spec.object.name));
    const createdFree = busyRuns.filter((s) => s.type === 'ADDED' && !s.run.status?.claim?.holder);
    assert.ok(createdFree.length > 0, 'runs past the leader worker’s room are created for any replica');
    const finished = busyRuns.filter((s) => s.run.status?.phase === 'Succeeded');
    assert.ok(
      finished.some((s) => holderIs(s.run, b)),
      'the other worker carries some of them out',
    );
    assert.equal(new Set(finished.map((s) => s.run.spec.object.name)).size, busy.length, 'each resource has its run');
    watching.abort();
    await watch;
  });
});

describe('a backlog claimed alone', () => {
  const { replicas, watching } = describeReplicas();

  it('spreads once another worker is up: runs not yet in a sandbox are released, and that worker carries them out', async () => {
    const { a, seen, watch, nap, done } = await startLeader(replicas(), watching.signal);

    // Alone, the leader claims every run it creates: four times its 8 step slots, each step 20 s, so most of them
    // wait for a slot on this replica for a minute or more.
    const backlog = Array.from({ length: 32 }, (_, i) => `backlog-${i}`);
    for (const name of backlog) await nap(name, 20);
    await eventually(() => backlog.every((n) => seen.some((s) => s.type === 'ADDED' && s.run.spec.object.name === n)), 60_000, 'every run created');
    const created = seen.filter((s) => s.type === 'ADDED' && backlog.includes(s.run.spec.object.name));
    assert.ok(
      created.every((s) => holderIs(s.run, a)),
      'created claimed by the leader',
    );

    // Another worker comes up while most of them wait: the leader keeps what its slots can take and releases the rest.
    const b = await replicas().start('b', 'worker');
    await eventually(() => done(backlog), 240_000, 'every resource done');
    const runs = seen.filter((s) => backlog.includes(s.run.spec.object.name));
    const finished = runs.filter((s) => s.run.status?.phase === 'Succeeded');
    assert.ok(
      runs.some((s) => s.type === 'MODIFIED' && !s.run.status?.claim?.holder),
      'some runs were released',
    );
    assert.ok(
      finished.some((s) => holderIs(s.run, b)),
      'the joining worker carries out runs the leader had claimed',
    );
    assert.ok(
      finished.some((s) => holderIs(s.run, a)),
      'the leader carries out the runs it kept',
    );
    const succeeded = new Map(finished.map((s) => [s.run.metadata.name, s.run.spec.object.name]));
    assert.deepEqual([...succeeded.values()].sort(), [...backlog].sort(), 'each resource has exactly one run succeeded');
    watching.abort();
    await watch;
  });
});
