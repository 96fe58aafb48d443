/**
 * Fills the derivable names of a ResourceType so built-in definitions stay short, and keeps the type of its objects
 * (from the schema) with it, so code narrows a stored object of the kind to its typed form without a cast.
 */
import type { PatchStrategies } from '../../api/strategicMergePatch.ts';
import { parseApiVersion, type KubeObject, type StoredObject } from '../../api/types.ts';
import type { PrinterColumn, ResourceType, TypeStrategy } from '../ResourceType.ts';
import type { Schema, Static, Typed } from './schemaBuilder.ts';

export { s, type Schema, type Static } from './schemaBuilder.ts';

/** A ResourceType whose objects have the fields `T` (spec, status, … as its schema declares them). */
export type TypedResourceType<T> = Typed<ResourceType, T>;

/** A stored object of a typed kind: its metadata as stored, its fields as the kind's schema declares them. */
export type ObjectOf<K> = StoredObject & Static<K>;

export interface TypeDefinition<T> {
  group: string;
  version: string;
  kind: string;
  plural: string;
  namespaced: boolean;
  shortNames?: string[];
  categories?: string[];
  statusSubresource?: boolean;
  schema?: Schema<T>;
  printerColumns?: PrinterColumn[];
  selectableFields?: string[];
  nameIsLabel?: boolean;
  nameIsPathSegment?: boolean;
  /** No `metadata.generation` (ConfigMaps, Secrets, Namespaces, RBAC objects…), as on Kubernetes. */
  noGeneration?: boolean;
  strategy?: TypeStrategy;
  /** Built-in Kubernetes kinds only: accepts strategic merge patches with these list strategies. */
  patchStrategies?: PatchStrategies;
}

export function defineType<T>(d: TypeDefinition<T>): TypedResourceType<T> {
  const type: ResourceType = {
    group: d.group,
    versions: [d.version],
    kind: d.kind,
    listKind: `${d.kind}List`,
    plural: d.plural,
    singular: d.kind.toLowerCase(),
    shortNames: d.shortNames ?? [],
    categories: d.categories ?? [],
    namespaced: d.namespaced,
    statusSubresource: d.statusSubresource ?? false,
    schemas: { [d.version]: d.schema },
    printerColumns: d.printerColumns ?? [],
    owner: 'builtin',
  };
  if (d.selectableFields) type.selectableFields = d.selectableFields;
  if (d.nameIsLabel) type.nameIsLabel = true;
  if (d.nameIsPathSegment) type.nameIsPathSegment = true;
  if (d.noGeneration) type.noGeneration = true;
  if (d.strategy) type.strategy = d.strategy;
  if (d.patchStrategies) type.patchStrategies = d.patchStrategies;
  return type;
}

export const readyColumn = (name = 'Ready'): PrinterColumn => ({
  name,
  type: 'string',
  jsonPath: '.status.conditions[?(@.type=="Ready")].status',
});

export const ageColumn: PrinterColumn = { name: 'Age', type: 'date', jsonPath: '.metadata.creationTimestamp' };

/** Whether `obj` is of `type` (its group and kind); objects of a kind were validated against its schema on write. */
export function isObjectOf<T>(type: TypedResourceType<T>, obj: StoredObject): obj is StoredObject & T {
  return obj.kind === type.kind && parseApiVersion(obj.apiVersion).group === type.group;
}

/** `obj` read as an object of `type`; a TypeError names the mismatch when it is of another kind. */
export function objectOf<T>(type: TypedResourceType<T>, obj: StoredObject): StoredObject & T {
  if (isObjectOf(type, obj)) return obj;
  throw new TypeError(`expected a ${type.kind}.${type.group}, got ${describe(obj)}`);
}

function describe(obj: KubeObject): string {
  return `${obj.kind} ${obj.apiVersion} ${obj.metadata.name ?? ''}`.trim();
}
