/** Fills the derivable names of a ResourceType so built-in definitions stay short. */
import type { PatchStrategies } from '../../api/strategicMergePatch.ts';
import type { JsonSchema, PrinterColumn, ResourceType, TypeStrategy } from '../ResourceType.ts';

export interface TypeDefinition {
  group: string;
  version: string;
  kind: string;
  plural: string;
  namespaced: boolean;
  shortNames?: string[];
  categories?: string[];
  statusSubresource?: boolean;
  schema?: JsonSchema;
  printerColumns?: PrinterColumn[];
  selectableFields?: string[];
  nameIsLabel?: boolean;
  nameIsPathSegment?: boolean;
  strategy?: TypeStrategy;
  /** Built-in Kubernetes kinds only: accepts strategic merge patches with these list strategies. */
  patchStrategies?: PatchStrategies;
}

export function defineType(d: TypeDefinition): ResourceType {
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
  if (d.strategy) type.strategy = d.strategy;
  if (d.patchStrategies) type.patchStrategies = d.patchStrategies;
  return type;
}

/** Schema helpers: short constructors for the built-in schemas. */
export const s = {
  str: (extra: JsonSchema = {}): JsonSchema => ({ type: 'string', ...extra }),
  bool: (extra: JsonSchema = {}): JsonSchema => ({ type: 'boolean', ...extra }),
  int: (extra: JsonSchema = {}): JsonSchema => ({ type: 'integer', ...extra }),
  obj: (properties: Record<string, JsonSchema>, extra: JsonSchema = {}): JsonSchema => ({ type: 'object', properties, ...extra }),
  map: (values: JsonSchema = { type: 'string' }): JsonSchema => ({ type: 'object', additionalProperties: values }),
  arr: (items: JsonSchema, extra: JsonSchema = {}): JsonSchema => ({ type: 'array', items, ...extra }),
  any: (): JsonSchema => ({ type: 'object', 'x-kubernetes-preserve-unknown-fields': true }),
  root: (spec: JsonSchema | undefined, status: JsonSchema | undefined, extra: Record<string, JsonSchema> = {}, required: string[] = []): JsonSchema => {
    const properties: Record<string, JsonSchema> = { apiVersion: { type: 'string' }, kind: { type: 'string' }, metadata: { type: 'object' }, ...extra };
    if (spec) properties.spec = spec;
    if (status) properties.status = status;
    return { type: 'object', properties, ...(required.length ? { required } : {}) };
  },
};

export const readyColumn = (name = 'Ready'): PrinterColumn => ({
  name,
  type: 'string',
  jsonPath: '.status.conditions[?(@.type=="Ready")].status',
});

export const ageColumn: PrinterColumn = { name: 'Age', type: 'date', jsonPath: '.metadata.creationTimestamp' };
