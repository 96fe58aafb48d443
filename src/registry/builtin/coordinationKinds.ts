/** `coordination.k8s.io/v1` Lease: who holds a replica-wide role (controller-runtime's leader election object). */
import type { ResourceType } from '../ResourceType.ts';
import { ageColumn, defineType, s, type ObjectOf } from './defineType.ts';

export const leaseType = defineType({
  group: 'coordination.k8s.io',
  version: 'v1',
  kind: 'Lease',
  noGeneration: true,
  plural: 'leases',
  namespaced: true,
  schema: s.root(
    s.obj({
      holderIdentity: s.str(),
      leaseDurationSeconds: s.int(),
      acquireTime: s.str(),
      renewTime: s.str(),
      leaseTransitions: s.int(),
    }),
    undefined,
  ),
  printerColumns: [{ name: 'Holder', type: 'string', jsonPath: '.spec.holderIdentity' }, ageColumn],
});

export type Lease = ObjectOf<typeof leaseType>;

export const coordinationTypes: ResourceType[] = [leaseType];
