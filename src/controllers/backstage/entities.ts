/**
 * The platform's catalog as Backstage entities, as Kratix offers it: for every Promise an `API` entity (its schema as
 * an OpenAPI definition) and a scaffolder `Template` (v1beta3) whose parameters are the Promise's request schema
 * and whose step applies the request to FleetOps' API; for every resource request a `Component` with its status,
 * its owner (the namespace's team) and links back to the portal.
 */
import { stringify } from 'yaml';
import { formSchema } from '../../api/formSchema.ts';
import { member } from '../../api/types.ts';
import type { ResourceRequest } from '../shared/resourceRequest.ts';

export interface PromiseApi {
  promise: string;
  group: string;
  version: string;
  kind: string;
  plural: string;
  description: string;
  /** The CRD's openAPIV3Schema of the whole object. */
  schema: Record<string, unknown>;
  promiseVersion: string;
}

export type Entity = Record<string, unknown> & { apiVersion: string; kind: string; metadata: Record<string, unknown> };

/** Backstage names: letters, digits and [-_.], at most 63, starting and ending with a letter or digit. */
export function entityName(text: string): string {
  const cleaned = text
    .replace(/[^A-Za-z0-9_.-]+/g, '-')
    .replace(/^[^A-Za-z0-9]+|[^A-Za-z0-9]+$/g, '')
    .slice(0, 63)
    .replace(/[^A-Za-z0-9]+$/, '');
  return cleaned || 'unnamed';
}

const OWNER = 'group:default/platform-team';

export function apiEntity(api: PromiseApi, portal: string): Entity {
  const definition = {
    openapi: '3.0.0',
    info: { title: `${api.kind} (${api.group}/${api.version})`, version: api.promiseVersion || api.version, description: api.description },
    paths: {},
    components: { schemas: { [api.kind]: formSchema(api.schema) } },
  };
  return {
    apiVersion: 'backstage.io/v1alpha1',
    kind: 'API',
    metadata: {
      name: entityName(api.promise),
      title: api.kind,
      description: api.description || `Requests of ${api.kind} served by the ${api.promise} Promise`,
      tags: ['fleetops', 'promise'],
      annotations: { 'fleetops.dev/promise': api.promise },
      links: [{ url: `${portal}#/request/${encodeURIComponent(api.promise)}`, title: `Request ${api.kind} in the FleetOps portal` }],
    },
    spec: { type: 'openapi', lifecycle: 'production', owner: OWNER, definition: stringify(definition, { lineWidth: 0 }) },
  };
}

export function templateEntity(api: PromiseApi, portal: string): Entity {
  const spec = formSchema(member(api.schema.properties, 'spec') ?? { type: 'object' });
  return {
    apiVersion: 'scaffolder.backstage.io/v1beta3',
    kind: 'Template',
    metadata: {
      name: entityName(`${api.promise}-request`),
      title: `Request ${api.kind === 'App' ? 'an' : 'a'} ${api.kind}`,
      description: api.description || `Requests a ${api.kind} from the platform (Promise ${api.promise})`,
      tags: ['fleetops', 'promise'],
    },
    spec: {
      owner: OWNER,
      type: 'resource',
      parameters: [
        {
          title: `Which ${api.kind}`,
          required: ['name', 'namespace'],
          properties: {
            name: { title: 'Name', type: 'string', pattern: '^[a-z0-9]([-a-z0-9]*[a-z0-9])?$', maxLength: 63 },
            namespace: { title: 'Namespace', type: 'string', description: "Your team's namespace", default: 'default' },
          },
        },
        { title: `${api.kind} settings`, properties: { spec: { ...spec, title: api.kind } } },
      ],
      steps: [
        {
          id: 'request',
          name: `Request the ${api.kind} from FleetOps`,
          // FleetOps serves the Kubernetes API: the request is applied as Kratix's Backstage plugin applies it.
          action: 'kubernetes:apply',
          input: {
            namespaced: true,
            clusterName: 'fleetops',
            manifest: {
              apiVersion: `${api.group}/${api.version}`,
              kind: api.kind,
              metadata: { name: '${{ parameters.name }}', namespace: '${{ parameters.namespace }}' },
              spec: '${{ parameters.spec }}',
            },
          },
        },
      ],
      output: {
        links: [
          {
            title: 'Open in the FleetOps portal',
            url: `${portal}#/resources/${encodeURIComponent(api.promise)}/\${{ parameters.namespace }}/\${{ parameters.name }}`,
          },
        ],
      },
    },
  };
}

export function componentEntity(api: PromiseApi, resource: ResourceRequest, portal: string): Entity {
  const { name } = resource.metadata;
  const namespace = resource.metadata.namespace ?? 'default';
  const status = resource.status ?? {};
  const ready = status.conditions?.find((c) => c.type === 'Reconciled')?.status ?? 'Unknown';
  return {
    apiVersion: 'backstage.io/v1alpha1',
    kind: 'Component',
    metadata: {
      name: entityName(`${namespace}-${api.plural}-${name}`),
      title: `${api.kind} ${namespace}/${name}`,
      description: status.message ?? `${api.kind} requested from the platform`,
      labels: { 'fleetops.dev/promise': entityName(api.promise), 'fleetops.dev/ready': ready === 'True' ? 'true' : ready === 'False' ? 'false' : 'unknown' },
      annotations: {
        'fleetops.dev/resource': `${api.group}/${api.version}/${api.plural}/${namespace}/${name}`,
        'fleetops.dev/status': String(status.message ?? 'Pending'),
        'fleetops.dev/reconciled': ready,
      },
      links: [
        {
          url: `${portal}#/resources/${encodeURIComponent(api.promise)}/${encodeURIComponent(namespace)}/${encodeURIComponent(name)}`,
          title: 'FleetOps portal',
        },
      ],
    },
    spec: {
      type: api.kind.toLowerCase(),
      lifecycle: 'production',
      owner: `group:default/${entityName(namespace)}`,
      consumesApis: [`api:default/${entityName(api.promise)}`],
    },
  };
}

/** Documents of one YAML file, as a GitOps tool or Backstage reads them. */
export function yamlDocuments(entities: Entity[]): string {
  return entities.map((e) => stringify(e, { lineWidth: 0, aliasDuplicateObjects: false })).join('---\n');
}
