import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { replicaRows, type Lease } from '../../src/api/replicas.ts';

const lease = (name: string, holder: string, renewTime: string, store = 'postgres'): Lease => ({
  apiVersion: 'coordination.k8s.io/v1',
  kind: 'Lease',
  metadata: { name, namespace: 'fleetops-system', annotations: { 'fleetops.dev/store': store, 'fleetops.dev/url': `https://${holder}` } },
  spec: { holderIdentity: holder, leaseDurationSeconds: 30, renewTime },
});

describe('replica rows', () => {
  const now = new Date('2026-12-04T12:00:00Z');
  it('puts the leader first, marks replicas past their lease as gone, and never a gone one as leader', () => {
    const rows = replicaRows(
      [
        lease('fleetops-controllers', 'b', '2026-12-04T11:59:58Z'),
        lease('fleetops-replica-a', 'a', '2026-12-04T11:59:55Z'),
        lease('fleetops-replica-b', 'b', '2026-12-04T11:59:59Z'),
        lease('fleetops-replica-c', 'c', '2026-12-04T11:58:00Z'),
      ],
      now,
    );
    assert.deepEqual(rows, [
      ['b', 'postgres', 'all', 'leader', '1s ago', 'https://b'],
      ['a', 'postgres', 'all', '-', '5s ago', 'https://a'],
      ['c', 'postgres', 'all', '-', 'gone (renewed 2m ago)', 'https://c'],
    ]);
    assert.equal(
      replicaRows([lease('fleetops-controllers', 'c', '2026-12-04T11:58:00Z'), lease('fleetops-replica-c', 'c', '2026-12-04T11:58:00Z')], now)[0]?.[3],
      '-',
    );
  });

  it('counts a replica alone on its embedded store as the leader', () => {
    assert.equal(replicaRows([lease('fleetops-replica-x', 'x', '2026-12-04T11:59:59Z', 'embedded')], now)[0]?.[3], 'leader');
  });
});
