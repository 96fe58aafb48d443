/**
 * Replicas as their Leases in fleetops-system tell them (each replica renews its own; the holder of the controllers'
 * Lease leads): shared by `fleetops status` and the portal's platform view.
 */
import { humanDuration } from './duration.ts';
import { ANNOTATION_REPLICA_ROLE, ANNOTATION_REPLICA_STORE, ANNOTATION_REPLICA_URL, CONTROLLERS_LEASE_NAME, REPLICA_LEASE_PREFIX } from './fleetopsNames.ts';
import type { KubeObject } from './types.ts';

export const REPLICA_LEASES = '/apis/coordination.k8s.io/v1/namespaces/fleetops-system/leases';
export const REPLICA_HEADERS = ['Replica', 'Store', 'Role', 'Controllers', 'Renewed', 'URL'];

export interface Lease extends KubeObject {
  spec?: { holderIdentity?: string; leaseDurationSeconds?: number; renewTime?: string; acquireTime?: string };
}

/** How long ago a replica's Lease was renewed (Infinity: never), and whether that is past its duration (gone). */
export function leaseAge(spec: Lease['spec'], now: Date): { ageMs: number; gone: boolean } {
  const renewed = Date.parse(spec?.renewTime ?? '');
  const ageMs = Number.isNaN(renewed) ? Infinity : now.getTime() - renewed;
  return { ageMs, gone: ageMs > (spec?.leaseDurationSeconds ?? 30) * 1000 };
}

/** One row per replica, the leader first; a replica whose Lease is past its duration is marked gone. */
export function replicaRows(leases: Lease[], now: Date): string[][] {
  const controllers = leases.find((l) => l.metadata.name === CONTROLLERS_LEASE_NAME);
  const leader = controllers?.spec?.holderIdentity ?? '';
  const rows = leases
    .filter((l) => l.metadata.name?.startsWith(REPLICA_LEASE_PREFIX))
    .map((l) => {
      const id = l.spec?.holderIdentity ?? l.metadata.name?.slice(REPLICA_LEASE_PREFIX.length) ?? '';
      const { ageMs: age, gone } = leaseAge(l.spec, now);
      const ago = Number.isFinite(age) ? `${humanDuration(Math.max(0, age))} ago` : 'never';
      return [
        id,
        l.metadata.annotations?.[ANNOTATION_REPLICA_STORE] ?? '',
        l.metadata.annotations?.[ANNOTATION_REPLICA_ROLE] ?? 'all',
        // Alone on its embedded store, a replica runs the controllers without a Lease.
        (id === leader || l.metadata.annotations?.[ANNOTATION_REPLICA_STORE] === 'embedded') && !gone ? 'leader' : '-',
        gone ? `gone (renewed ${ago})` : ago,
        l.metadata.annotations?.[ANNOTATION_REPLICA_URL] ?? '',
      ];
    });
  return rows.sort((a, b) => (a[3] === 'leader' ? -1 : b[3] === 'leader' ? 1 : (a[0] ?? '').localeCompare(b[0] ?? '')));
}
