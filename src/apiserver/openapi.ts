/**
 * OpenAPI v3 per group/version, enough for kubectl's server-side field validation check (a PATCH operation per
 * kind that lists `fieldValidation`), `kubectl explain` (component schemas) and client generators.
 */
import { cloneJson } from '../api/types.ts';
import { createHash } from 'node:crypto';
import type { Registry } from '../registry/Registry.ts';
import { preferredVersion, type JsonSchema, type ResourceType } from '../registry/ResourceType.ts';

function schemaName(t: ResourceType, version: string): string {
  const group = t.group === '' ? 'io.k8s.api.core' : t.group.split('.').reverse().join('.');
  return `${group}.${version}.${t.kind}`;
}

const OBJECT_META_SCHEMA: JsonSchema = {
  type: 'object',
  description: "Standard object's metadata. More info: https://git.k8s.io/community/contributors/devel/sig-architecture/api-conventions.md#metadata",
  properties: {
    name: { type: 'string', description: 'Name must be unique within a namespace.' },
    namespace: { type: 'string', description: 'Namespace defines the space within which each name must be unique.' },
    labels: {
      type: 'object',
      additionalProperties: { type: 'string' },
      description: 'Map of string keys and values that can be used to organize and categorize objects.',
    },
    annotations: {
      type: 'object',
      additionalProperties: { type: 'string' },
      description: 'Annotations is an unstructured key value map stored with a resource.',
    },
  },
};

const PATCH_PARAMS = ['dryRun', 'fieldManager', 'fieldValidation', 'force'].map((name) => ({
  name,
  in: 'query',
  schema: { type: name === 'force' ? 'boolean' : 'string', uniqueItems: true },
}));

function paths(t: ResourceType, version: string): Record<string, unknown> {
  const prefix = t.group === '' ? `/api/${version}` : `/apis/${t.group}/${version}`;
  const collection = t.namespaced ? `${prefix}/namespaces/{namespace}/${t.plural}` : `${prefix}/${t.plural}`;
  const gvk = { group: t.group, version, kind: t.kind };
  const ref = { $ref: `#/components/schemas/${schemaName(t, version)}` };
  const ok = { '200': { description: 'OK', content: { 'application/json': { schema: ref } } } };
  const op = (action: string, extra: Record<string, unknown> = {}): object => ({
    'x-kubernetes-action': action,
    'x-kubernetes-group-version-kind': gvk,
    responses: ok,
    ...extra,
  });
  const patch = op('patch', {
    parameters: PATCH_PARAMS,
    requestBody: { content: { 'application/json-patch+json': {}, 'application/merge-patch+json': {}, 'application/apply-patch+yaml': {} } },
  });
  const item = { get: op('get'), put: op('put', { parameters: PATCH_PARAMS.slice(0, 3) }), patch, delete: op('delete') };
  const out: Record<string, unknown> = {
    [collection]: { get: op('list'), post: op('post', { parameters: PATCH_PARAMS.slice(0, 3) }) },
    [`${collection}/{name}`]: item,
  };
  if (t.statusSubresource) out[`${collection}/{name}/status`] = { get: op('get'), put: op('put'), patch };
  return out;
}

function componentSchema(t: ResourceType, version: string): JsonSchema {
  const base: JsonSchema = cloneJson(t.schemas[version] ?? t.schemas[preferredVersion(t)] ?? { type: 'object', 'x-kubernetes-preserve-unknown-fields': true });
  base.properties = { ...(base.properties ?? {}) };
  base.properties.apiVersion = { type: 'string', description: 'APIVersion defines the versioned schema of this representation of an object.' };
  base.properties.kind = { type: 'string', description: 'Kind is a string value representing the REST resource this object represents.' };
  base.properties.metadata = OBJECT_META_SCHEMA;
  base['x-kubernetes-group-version-kind'] = [{ group: t.group, version, kind: t.kind }];
  return base;
}

export function groupVersionKey(group: string, version: string): string {
  return group === '' ? `api/${version}` : `apis/${group}/${version}`;
}

export class OpenApiCache {
  private readonly registry: Registry;
  private cachedAt = -1;
  private docs = new Map<string, { body: string; hash: string }>();

  constructor(registry: Registry) {
    this.registry = registry;
  }

  private refresh(): void {
    if (this.cachedAt === this.registry.generation) return;
    const byGv = new Map<string, { paths: Record<string, unknown>; schemas: Record<string, unknown> }>();
    for (const t of this.registry.all()) {
      for (const v of t.versions) {
        const key = groupVersionKey(t.group, v);
        const doc = byGv.get(key) ?? { paths: {}, schemas: {} };
        Object.assign(doc.paths, paths(t, v));
        doc.schemas[schemaName(t, v)] = componentSchema(t, v);
        byGv.set(key, doc);
      }
    }
    this.docs = new Map();
    for (const [key, doc] of byGv) {
      const body = JSON.stringify({
        openapi: '3.0.0',
        info: { title: 'FleetOps', version: 'v1.32.0' },
        paths: doc.paths,
        components: { schemas: doc.schemas },
      });
      this.docs.set(key, { body, hash: createHash('sha256').update(body).digest('hex').slice(0, 32).toUpperCase() });
    }
    this.cachedAt = this.registry.generation;
  }

  index(): object {
    this.refresh();
    const out: Record<string, { serverRelativeURL: string }> = {};
    for (const [key, { hash }] of this.docs) out[key] = { serverRelativeURL: `/openapi/v3/${key}?hash=${hash}` };
    return { paths: out };
  }

  document(key: string): string | undefined {
    this.refresh();
    return this.docs.get(key)?.body;
  }
}
