/**
 * Turns a CustomResourceDefinition (a Promise's `spec.api`) into a served ResourceType, the way Kratix and the
 * apiextensions apiserver do: status subresource forced on, Kratix's status schema and default printer columns,
 * metadata.name at most 63 characters.
 */
import { crdSchemaCauses } from './schema/crdSchemaKeywords.ts';
import { cause, type StatusCause } from '../api/errors.ts';
import { isPlainObject, cloneJson } from '../api/types.ts';
import { validateDns1123Label, validateDns1123Subdomain } from '../api/validation.ts';
import type { JsonSchema, PrinterColumn, ResourceType } from './ResourceType.ts';
import type { SchemaValidator } from './schema/SchemaValidator.ts';

interface CrdVersion {
  name?: unknown;
  served?: unknown;
  storage?: unknown;
  schema?: { openAPIV3Schema?: unknown };
  additionalPrinterColumns?: unknown;
}

/** Kratix replaces the status schema of every Promise API with this one. */
const KRATIX_STATUS_SCHEMA: JsonSchema = {
  type: 'object',
  'x-kubernetes-preserve-unknown-fields': true,
  properties: {
    message: { type: 'string' },
    observedGeneration: { type: 'integer', format: 'int64' },
    workflows: { type: 'integer', format: 'int64' },
    workflowsSucceeded: { type: 'integer', format: 'int64' },
    workflowsFailed: { type: 'integer', format: 'int64' },
    conditions: { type: 'array', items: { type: 'object', 'x-kubernetes-preserve-unknown-fields': true } },
    kratix: { type: 'object', 'x-kubernetes-preserve-unknown-fields': true },
  },
};

const KRATIX_DEFAULT_COLUMNS: PrinterColumn[] = [
  { name: 'message', type: 'string', jsonPath: '.status.message' },
  { name: 'status', type: 'string', jsonPath: '.status.conditions[?(@.type=="Reconciled")].message' },
];

const COLUMN_TYPES: readonly PrinterColumn['type'][] = ['string', 'integer', 'number', 'boolean', 'date'];

export interface CrdResult {
  type?: ResourceType;
  causes: StatusCause[];
  /** What is accepted but likely wrong (unknown schema keywords). */
  warnings: string[];
}

/** Converts and checks a CRD; `field` prefixes cause paths (e.g. `spec.api`). */
export function crdToResourceType(crd: unknown, owner: string, validator: SchemaValidator, field = 'spec.api'): CrdResult {
  const causes: StatusCause[] = [];
  const warnings: string[] = [];
  const bad = (path: string, msg: string, reason: StatusCause['reason'] = 'FieldValueInvalid'): void => void causes.push(cause(reason, `${field}${path}`, msg));
  if (!isPlainObject(crd)) {
    bad('', 'Invalid value: must be a CustomResourceDefinition object');
    return { causes, warnings };
  }
  // Kratix decodes spec.api into a v1 CRD whatever apiVersion it names, so marketplace Promises written against
  // v1beta1/v1alpha1 load there; accept them the same way rather than refuse Promises that work in Kratix.
  if (typeof crd.apiVersion !== 'string' || !crd.apiVersion.startsWith('apiextensions.k8s.io/') || crd.kind !== 'CustomResourceDefinition') {
    bad(
      '.kind',
      `Invalid value: ${JSON.stringify(`${String(crd.apiVersion)}/${String(crd.kind)}`)}: spec.api must be an apiextensions.k8s.io/v1 CustomResourceDefinition`,
    );
    return { causes, warnings };
  }
  const spec = isPlainObject(crd.spec) ? crd.spec : {};
  const names = isPlainObject(spec.names) ? spec.names : {};
  const group = typeof spec.group === 'string' ? spec.group : '';
  const kind = typeof names.kind === 'string' ? names.kind : '';
  const plural = typeof names.plural === 'string' ? names.plural : '';
  if (!group || validateDns1123Subdomain(group) || !group.includes('.'))
    bad('.spec.group', `Invalid value: ${JSON.stringify(group)}: should be a domain with at least one dot`);
  if (!kind) bad('.spec.names.kind', 'Required value', 'FieldValueRequired');
  if (!plural || validateDns1123Label(plural)) bad('.spec.names.plural', `Invalid value: ${JSON.stringify(plural)}: must be a lowercase DNS-1123 label`);
  const metaName = isPlainObject(crd.metadata) ? crd.metadata.name : undefined;
  if (plural && group && metaName !== `${plural}.${group}`) {
    bad('.metadata.name', `Invalid value: ${JSON.stringify(metaName)}: must be spec.names.plural+"."+spec.group (${plural}.${group})`);
  }
  if (spec.scope !== 'Namespaced')
    bad(
      '.spec.scope',
      `Unsupported value: ${JSON.stringify(spec.scope)}: supported values: "Namespaced" (Promise APIs are namespaced)`,
      'FieldValueNotSupported',
    );
  const versions = Array.isArray(spec.versions) ? (spec.versions as CrdVersion[]) : [];
  if (!versions.length) bad('.spec.versions', 'Required value: at least one version', 'FieldValueRequired');
  const served: string[] = [];
  let storage: string | undefined;
  const schemas: Record<string, JsonSchema | undefined> = {};
  let columns: PrinterColumn[] = [];
  versions.forEach((v, i) => {
    const path = `.spec.versions[${i}]`;
    if (typeof v.name !== 'string' || validateDns1123Label(v.name)) {
      bad(`${path}.name`, `Invalid value: ${JSON.stringify(v.name)}: must be a DNS-1123 label`);
      return;
    }
    if (v.storage === true) {
      if (storage) bad(`${path}.storage`, 'Invalid value: true: only one version may be the storage version');
      storage = v.name;
    }
    if (v.served !== false) served.push(v.name);
    const raw = v.schema?.openAPIV3Schema;
    if (raw !== undefined && !isPlainObject(raw)) {
      bad(`${path}.schema.openAPIV3Schema`, 'Invalid value: must be an object');
      return;
    }
    const checked = raw === undefined ? { causes: [], warnings: [] } : crdSchemaCauses(raw, `${field}${path}.schema.openAPIV3Schema`);
    warnings.push(...checked.warnings);
    if (checked.causes.length) {
      causes.push(...checked.causes);
      return;
    }
    const schema: JsonSchema = cloneJson((raw as JsonSchema | undefined) ?? { type: 'object', 'x-kubernetes-preserve-unknown-fields': true });
    schema.properties = { ...(schema.properties ?? {}) };
    schema.properties.status = KRATIX_STATUS_SCHEMA;
    schema.properties.metadata = { type: 'object', properties: { name: { type: 'string', maxLength: 63 } } };
    const err = validator.check(schema);
    if (err) bad(`${path}.schema.openAPIV3Schema`, `Invalid value: the schema does not compile: ${err}`);
    schemas[v.name] = schema;
    if (Array.isArray(v.additionalPrinterColumns) && (v.storage === true || i === 0)) {
      columns = [];
      v.additionalPrinterColumns.forEach((c: unknown, j: number) => {
        // Go's JSON decoding matches keys case-insensitively, so Kratix accepts the v1beta1 spelling `JSONPath`.
        const jsonPath = isPlainObject(c) ? Object.entries(c).find(([k]) => k.toLowerCase() === 'jsonpath')?.[1] : undefined;
        if (!isPlainObject(c) || typeof c.name !== 'string' || typeof jsonPath !== 'string' || !COLUMN_TYPES.some((t) => t === c.type)) {
          bad(`${path}.additionalPrinterColumns[${j}]`, 'Invalid value: needs name, jsonPath and a type of string|integer|number|boolean|date');
          return;
        }
        const col: PrinterColumn = { name: c.name, type: COLUMN_TYPES.find((t) => t === c.type) ?? 'string', jsonPath };
        if (typeof c.description === 'string') col.description = c.description;
        if (typeof c.priority === 'number') col.priority = c.priority;
        if (typeof c.format === 'string') col.format = c.format;
        columns.push(col);
      });
    }
  });
  if (versions.length && !storage) bad('.spec.versions', 'Invalid value: exactly one version must have storage: true');
  if (versions.length && !served.length) bad('.spec.versions', 'Invalid value: at least one version must be served');
  if (causes.length) return { causes, warnings };
  const preferred = [...(storage ? [storage] : []), ...served.filter((v) => v !== storage)].filter((v) => served.includes(v));
  const strings = (v: unknown): string[] => (Array.isArray(v) ? v.filter((x): x is string => typeof x === 'string') : []);
  const type: ResourceType = {
    group,
    versions: preferred,
    kind,
    listKind: typeof names.listKind === 'string' ? names.listKind : `${kind}List`,
    plural,
    singular: typeof names.singular === 'string' && names.singular ? names.singular : kind.toLowerCase(),
    shortNames: strings(names.shortNames),
    // In `all` too: on FleetOps a team's resource requests are what `kubectl get all -n <team>` should list.
    categories: [...new Set(['all', ...strings(names.categories)])],
    namespaced: true,
    statusSubresource: true,
    schemas,
    printerColumns: columns.length ? columns : KRATIX_DEFAULT_COLUMNS,
    owner,
  };
  return { type, causes, warnings };
}
