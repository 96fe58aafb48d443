/**
 * Leader election over a Lease in a real (SQLite) store: one leader at a time, take-over only after the lease has
 * gone unrenewed for its duration by the follower's own clock, a graceful stop hands over at once, and a deposed
 * leader that has not noticed yet is fenced: its writes are refused in the store's transaction. A lease held in memory
 * shows a leader renewing on its own schedule, not again at each change its renewal makes.
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import pino from 'pino';
import { isApiError } from '../../src/api/errors.ts';
import { LeaderElector, type LeaseAccess, type LeaseRecord } from '../../src/controller/LeaderElector.ts';
import { fenceCheck, leaseAccess } from '../../src/main.ts';
import { coordinationTypes } from '../../src/registry/builtin/coordinationKinds.ts';
import { configMapType, coreTypes, namespaceType } from '../../src/registry/builtin/coreKinds.ts';
import { ObjectService } from '../../src/registry/ObjectService.ts';
import { Registry } from '../../src/registry/Registry.ts';
import { SqliteStore } from '../../src/store/SqliteStore.ts';
import { eventually } from '../helpers/fleet.ts';

const LEASE = { namespace: 'fleetops-system', name: 'fleetops-controllers' };
const logger = pino({ level: 'silent' });

function setup(): { store: SqliteStore; objects: ObjectService; registry: Registry } {
  const store = new SqliteStore({ path: ':memory:' });
  const registry = new Registry();
  for (const t of [...coreTypes, ...coordinationTypes]) registry.register(t);
  return { store, registry, objects: new ObjectService({ store, registry }) };
}

async function namespaces(objects: ObjectService): Promise<void> {
  for (const name of ['default', 'fleetops-system']) await objects.create(namespaceType, '', { apiVersion: 'v1', kind: 'Namespace', metadata: { name } });
}

function elector(objects: ObjectService, identity: string, clock: { ms: number }, log: string[]): LeaderElector {
  return new LeaderElector({
    identity,
    leases: leaseAccess(objects, LEASE),
    logger,
    now: () => new Date(),
    monotonic: () => clock.ms,
    retryPeriodMs: 60_000, // rounds only when the test (or a lease change) asks
    onStartedLeading: async () => void log.push(`${identity} leads`),
    onStoppedLeading: async () => void log.push(`${identity} stops`),
  });
}

const configMap = (name: string): object => ({ apiVersion: 'v1', kind: 'ConfigMap', metadata: { name, namespace: 'default' }, data: {} });

describe('LeaderElector', () => {
  it("renews on its retry period only: the leader's own renewals bring no further round", async () => {
    // A lease in memory whose watchers are told of a write before it resolves, as the stores tell their own writes.
    let lease: { spec: LeaseRecord; resourceVersion: string } | undefined;
    let version = 0;
    let updates = 0;
    const watchers = new Set<(holder: string | undefined) => void>();
    const write = async (spec: LeaseRecord): Promise<void> => {
      await new Promise((r) => setImmediate(r));
      lease = { spec, resourceVersion: String(++version) };
      for (const w of watchers) w(spec.holderIdentity);
    };
    const leases: LeaseAccess = {
      get: async () => lease,
      create: (spec) => write(spec),
      update: async (spec, resourceVersion) => {
        if (lease?.resourceVersion !== resourceVersion) throw new Error('conflict');
        updates++;
        await write(spec);
      },
      watch: async (onChange) => {
        watchers.add(onChange);
        return { stop: () => void watchers.delete(onChange) };
      },
    };
    const a = new LeaderElector({
      identity: 'a',
      leases,
      logger,
      now: () => new Date(),
      retryPeriodMs: 60_000, // its next renewal is seconds away (a quarter of the renew deadline)
      onStartedLeading: async () => {},
      onStoppedLeading: async () => {},
    });
    await a.start();
    await eventually(() => a.isLeader(), 5_000, 'a leads');
    await new Promise((r) => setTimeout(r, 300));
    // Before, each renewal's change asked for another round, which renewed again: thousands in these 300 ms.
    assert.ok(updates <= 1, `the lease was renewed ${updates} times within 300 ms of a leading`);
    await a.stop();
  });

  it('fences a deposed leader, takes over only after the lease duration, and hands over at once on stop', async () => {
    const { store, objects, registry } = setup();
    await namespaces(objects);
    const log: string[] = [];
    const clockA = { ms: 0 };
    const clockB = { ms: 0 };
    const a = elector(objects, 'a', clockA, log);
    const b = elector(objects, 'b', clockB, log);
    const fencedFor = (e: LeaderElector): ObjectService => new ObjectService({ store, registry, fence: () => fenceCheck(LEASE, e.fence()) });
    // a acquires and then stalls: it neither renews nor watches (a process paused, or cut off for a while).
    const round = (e: LeaderElector): Promise<void> => (e as unknown as { round(): Promise<void> }).round();
    await round(a);
    assert.equal(a.isLeader(), true);
    await b.start();
    await fencedFor(a).create(configMapType, 'default', configMap('by-a'));
    await assert.rejects(fencedFor(b).create(configMapType, 'default', configMap('by-b')), (e) => isApiError(e, 'ServiceUnavailable'));

    // a stalls (no renewal); b sees the same lease until its own clock says the duration has passed.
    clockB.ms = 14_000;
    await round(b);
    assert.equal(b.isLeader(), false, 'not before the lease duration');
    clockB.ms = 16_000;
    await round(b);
    assert.equal(b.isLeader(), true, 'after it');
    assert.equal(a.isLeader(), true, 'a has not noticed yet');
    await assert.rejects(
      fencedFor(a).create(configMapType, 'default', configMap('stale')),
      (e) => isApiError(e, 'ServiceUnavailable') && /fenced/.test(e.message),
    );
    assert.equal(await store.get({ group: '', kind: 'ConfigMap', namespace: 'default', name: 'stale' }), undefined);
    await fencedFor(b).create(configMapType, 'default', configMap('by-b'));
    // a's next round sees another holder and steps down.
    clockA.ms = 20_000;
    await round(a);
    assert.equal(a.isLeader(), false);
    await a.start();

    // A graceful stop releases the lease; a follower watching it takes over without waiting out the duration.
    await b.stop();
    await eventually(() => a.isLeader(), 5_000, 'a takes over at once after b released the lease');
    assert.deepEqual(log, ['a leads', 'b leads', 'a stops', 'b stops', 'a leads']);
    await a.stop();
    await store.close();
  });
});
