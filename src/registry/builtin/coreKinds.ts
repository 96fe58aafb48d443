/** The few core v1 kinds FleetOps serves: Namespaces, Events (for `kubectl describe`), Secrets, ConfigMaps, ServiceAccounts. */
import { isPlainObject } from '../../api/types.ts';
import type { ResourceType } from '../ResourceType.ts';
import { ageColumn, defineType, s, type ObjectOf } from './defineType.ts';

export const namespaceType = defineType({
  group: '',
  version: 'v1',
  kind: 'Namespace',
  noGeneration: true,
  plural: 'namespaces',
  namespaced: false,
  shortNames: ['ns'],
  statusSubresource: true,
  nameIsLabel: true,
  patchStrategies: { 'status.conditions': { strategy: 'merge', mergeKey: 'type' } },
  schema: s.root(s.obj({ finalizers: s.arr(s.str()) }), s.obj({ phase: s.str() })),
  printerColumns: [{ name: 'Status', type: 'string', jsonPath: '.status.phase' }, ageColumn],
  strategy: {
    prepareForCreate(ns) {
      ns.status = { phase: 'Active' };
    },
    // As Kubernetes does, so selectors can pick namespaces by name.
    normalize(ns) {
      ns.metadata.labels = { ...ns.metadata.labels, 'kubernetes.io/metadata.name': ns.metadata.name ?? '' };
    },
  },
});

const objectReference = s.obj({
  apiVersion: s.str(),
  kind: s.str(),
  name: s.str(),
  namespace: s.str(),
  uid: s.str(),
  resourceVersion: s.str(),
  fieldPath: s.str(),
});

export const eventType = defineType({
  group: '',
  version: 'v1',
  kind: 'Event',
  noGeneration: true,
  plural: 'events',
  namespaced: true,
  shortNames: ['ev'],
  patchStrategies: {},
  schema: s.root(undefined, undefined, {
    involvedObject: objectReference,
    reason: s.str(),
    message: s.str(),
    type: s.str(),
    count: s.int(),
    firstTimestamp: s.str({ nullable: true }),
    lastTimestamp: s.str({ nullable: true }),
    eventTime: s.str({ nullable: true }),
    source: s.obj({ component: s.str(), host: s.str() }),
    reportingComponent: s.str(),
    reportingInstance: s.str(),
    action: s.str(),
  }),
  selectableFields: [
    'involvedObject.name',
    'involvedObject.namespace',
    'involvedObject.kind',
    'involvedObject.uid',
    'involvedObject.apiVersion',
    'reason',
    'type',
  ],
  printerColumns: [
    { name: 'Last Seen', type: 'date', jsonPath: '.lastTimestamp' },
    { name: 'Type', type: 'string', jsonPath: '.type' },
    { name: 'Reason', type: 'string', jsonPath: '.reason' },
    {
      name: 'Object',
      type: 'string',
      jsonPath: '.involvedObject.name',
      // As kubectl prints it: `promise/app` and `app/todoer`, never a bare `app` that could be either.
      compute: (e) => {
        const o = isPlainObject(e.involvedObject) ? e.involvedObject : {};
        return typeof o.kind === 'string' && o.kind ? `${o.kind.toLowerCase()}/${String(o.name ?? '')}` : o.name;
      },
    },
    { name: 'Message', type: 'string', jsonPath: '.message' },
  ],
});

export const secretType = defineType({
  group: '',
  version: 'v1',
  kind: 'Secret',
  noGeneration: true,
  plural: 'secrets',
  namespaced: true,
  patchStrategies: {},
  schema: s.root(undefined, undefined, { data: s.map(s.str({ format: 'byte' })), stringData: s.map(), type: s.str(), immutable: s.bool() }),
  printerColumns: [{ name: 'Type', type: 'string', jsonPath: '.type' }, ageColumn],
  strategy: {
    // As the apiserver does: stringData is write-only, merged over data (base64) and never stored.
    normalize(secret) {
      const stringData = secret.stringData as Record<string, unknown> | undefined;
      if (stringData && typeof stringData === 'object') {
        const data = { ...((secret.data as Record<string, string> | undefined) ?? {}) };
        for (const [k, v] of Object.entries(stringData)) data[k] = Buffer.from(String(v)).toString('base64');
        secret.data = data;
      }
      delete secret.stringData;
      if (!secret.type) secret.type = 'Opaque';
    },
  },
});

export const configMapType = defineType({
  group: '',
  version: 'v1',
  kind: 'ConfigMap',
  noGeneration: true,
  plural: 'configmaps',
  namespaced: true,
  shortNames: ['cm'],
  patchStrategies: {},
  schema: s.root(undefined, undefined, { data: s.map(), binaryData: s.map(s.str({ format: 'byte' })), immutable: s.bool() }),
  printerColumns: [ageColumn],
});

export const serviceAccountType = defineType({
  group: '',
  version: 'v1',
  kind: 'ServiceAccount',
  noGeneration: true,
  plural: 'serviceaccounts',
  namespaced: true,
  shortNames: ['sa'],
  patchStrategies: { secrets: { strategy: 'merge', mergeKey: 'name' } },
  schema: s.root(undefined, undefined, {
    secrets: s.arr(objectReference),
    imagePullSecrets: s.arr(s.obj({ name: s.str() })),
    automountServiceAccountToken: s.bool(),
  }),
  printerColumns: [ageColumn],
});

export type KubeEvent = ObjectOf<typeof eventType>;
export type Secret = ObjectOf<typeof secretType>;
export type ConfigMap = ObjectOf<typeof configMapType>;

export const coreTypes: ResourceType[] = [namespaceType, eventType, secretType, configMapType, serviceAccountType];
