/** What the portal reads from a Promise: the kind it serves, its request schema, version and description. */
import { get, pathOf, type Obj } from './api.ts';

export interface JsonSchema {
  type?: string;
  description?: string;
  properties?: Record<string, JsonSchema>;
  required?: string[];
  items?: JsonSchema;
  [keyword: string]: unknown;
}

export interface PromiseKind {
  promise: string;
  group: string;
  version: string;
  kind: string;
  plural: string;
  /** The schema of the request's `spec` (what the form asks for). */
  specSchema: JsonSchema;
  description: string;
  promiseVersion: string;
  available: boolean;
}

interface CrdVersion {
  name: string;
  served?: boolean;
  storage?: boolean;
  schema?: { openAPIV3Schema?: JsonSchema };
}

/** The kind a Promise serves, or undefined when it serves none. */
export function kindOf(promise: Obj): PromiseKind | undefined {
  const api = (promise.spec?.api ?? undefined) as
    { spec?: { group?: string; names?: { kind?: string; plural?: string }; versions?: CrdVersion[] } } | undefined;
  const crd = api?.spec;
  if (!crd?.group || !crd.names?.kind || !crd.names.plural) return undefined;
  const versions = crd.versions ?? [];
  const v = versions.find((x) => x.storage) ?? versions[0];
  if (!v) return undefined;
  const root = v.schema?.openAPIV3Schema ?? {};
  const specSchema: JsonSchema = root.properties?.spec ?? { type: 'object' };
  const annotations = promise.metadata.annotations ?? {};
  const description = annotations['kratix.io/description'] ?? annotations['description'] ?? specSchema.description ?? root.description ?? '';
  return {
    promise: promise.metadata.name,
    group: crd.group,
    version: v.name,
    kind: crd.names.kind,
    plural: crd.names.plural,
    specSchema,
    description,
    promiseVersion: promise.metadata.labels?.['kratix.io/promise-version'] ?? '',
    available: (promise.status as { status?: string } | undefined)?.status === 'Available',
  };
}

export async function listPromises(): Promise<Obj[]> {
  return (await get<{ items: Obj[] }>(pathOf('platform.kratix.io', 'v1alpha1', 'promises'))).items;
}

export async function promiseKind(name: string): Promise<PromiseKind> {
  const p = await get<Obj>(pathOf('platform.kratix.io', 'v1alpha1', 'promises', undefined, name));
  const k = kindOf(p);
  if (!k) throw new Error(`Promise ${name} serves no API`);
  return k;
}

export { formSchema } from '../../src/api/formSchema.ts';
