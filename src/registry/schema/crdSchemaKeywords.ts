/**
 * A CRD's openAPIV3Schema checked as Kubernetes checks it before anything compiles it: `type` one of the six, no
 * keyword Kubernetes forbids ($ref…), nested schemas where schemas go; a keyword it does not know (apiextensions.k8s.io/v1
 * JSONSchemaProps) is a warning naming its path and the keyword meant, since Kubernetes drops unknown fields of a CRD
 * that Kratix creates (marketplace Promises carry some, e.g. `regex`). A misspelt `propertes:` shows when the Promise
 * is applied, not later when a team's request is refused.
 */
import { cause, type StatusCause } from '../../api/errors.ts';
import { isPlainObject } from '../../api/types.ts';

const KEYWORDS = new Set([
  'id',
  '$schema',
  'description',
  'type',
  'format',
  'title',
  'default',
  'maximum',
  'exclusiveMaximum',
  'minimum',
  'exclusiveMinimum',
  'maxLength',
  'minLength',
  'pattern',
  'maxItems',
  'minItems',
  'uniqueItems',
  'multipleOf',
  'enum',
  'maxProperties',
  'minProperties',
  'required',
  'items',
  'allOf',
  'oneOf',
  'anyOf',
  'not',
  'properties',
  'additionalProperties',
  'externalDocs',
  'example',
  'nullable',
  'x-kubernetes-preserve-unknown-fields',
  'x-kubernetes-embedded-resource',
  'x-kubernetes-int-or-string',
  'x-kubernetes-list-map-keys',
  'x-kubernetes-list-type',
  'x-kubernetes-map-type',
  'x-kubernetes-validations',
]);
/** Keywords of JSON Schema that Kubernetes does not allow in a CRD, with what to use instead. */
const FORBIDDEN: Record<string, string> = {
  $ref: 'CRD schemas cannot refer to others: write the schema out',
  definitions: 'CRD schemas cannot hold definitions: write each schema where it is used',
  dependencies: 'not supported in a CRD schema',
  patternProperties: 'not supported in a CRD schema: use additionalProperties',
  additionalItems: 'not supported in a CRD schema',
};
const TYPES = ['array', 'boolean', 'integer', 'number', 'object', 'string'];

/** Edits from a to b (to name the keyword a misspelling meant). */
function distance(a: string, b: string): number {
  let prev = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    const row = [i];
    for (let j = 1; j <= b.length; j++) row[j] = Math.min(prev[j]! + 1, row[j - 1]! + 1, prev[j - 1]! + (a[i - 1] === b[j - 1] ? 0 : 1));
    prev = row;
  }
  return prev[b.length]!;
}

function meant(key: string): string {
  const best = [...KEYWORDS].map((k) => ({ k, d: distance(key.toLowerCase(), k.toLowerCase()) })).sort((x, y) => x.d - y.d)[0];
  return best && best.d <= 2 ? `; did you mean "${best.k}"?` : '';
}

/**
 * What is wrong with `schema` at `path` (e.g. `spec.api.spec.versions[0].schema.openAPIV3Schema`): causes refuse it,
 * warnings (unknown keywords) are told.
 */
export function crdSchemaCauses(schema: unknown, path: string): { causes: StatusCause[]; warnings: string[] } {
  const causes: StatusCause[] = [];
  const warnings: string[] = [];
  const walk = (s: unknown, at: string): void => {
    if (typeof s === 'boolean') return;
    if (!isPlainObject(s)) return void causes.push(cause('FieldValueTypeInvalid', at, 'Invalid value: a schema must be an object'));
    for (const [k, v] of Object.entries(s)) {
      if (k in FORBIDDEN) causes.push(cause('FieldValueForbidden', `${at}.${k}`, `Forbidden: ${FORBIDDEN[k]}`));
      else if (!KEYWORDS.has(k)) warnings.push(`${at}.${k}: unknown field ${JSON.stringify(k)} in a schema, ignored (Kubernetes drops it)${meant(k)}`);
      else if (k === 'type' && !TYPES.includes(String(v)))
        causes.push(
          cause('FieldValueNotSupported', `${at}.type`, `Unsupported value: ${JSON.stringify(v)}: supported values: ${TYPES.map((t) => `"${t}"`).join(', ')}`),
        );
    }
    const mapType = s['x-kubernetes-map-type'];
    if (mapType !== undefined) {
      if (mapType !== 'atomic' && mapType !== 'granular')
        causes.push(
          cause(
            'FieldValueNotSupported',
            `${at}.x-kubernetes-map-type`,
            `Unsupported value: ${JSON.stringify(mapType)}: supported values: "atomic", "granular"`,
          ),
        );
      else if (s.type === undefined)
        causes.push(cause('FieldValueRequired', `${at}.type`, 'Required value: must be object if x-kubernetes-map-type is specified'));
      else if (s.type !== 'object')
        causes.push(cause('FieldValueInvalid', `${at}.x-kubernetes-map-type`, `Invalid value: ${JSON.stringify(mapType)}: is only allowed for type: object`));
    }
    if (isPlainObject(s.properties)) for (const [name, p] of Object.entries(s.properties)) walk(p, `${at}.properties.${name}`);
    else if (s.properties !== undefined) causes.push(cause('FieldValueTypeInvalid', `${at}.properties`, 'Invalid value: must be a map of schemas'));
    if (Array.isArray(s.items)) s.items.forEach((item, i) => walk(item, `${at}.items[${i}]`));
    else if (s.items !== undefined) walk(s.items, `${at}.items`);
    if (s.additionalProperties !== undefined) walk(s.additionalProperties, `${at}.additionalProperties`);
    for (const k of ['allOf', 'anyOf', 'oneOf'] as const) {
      const list = s[k];
      if (Array.isArray(list)) list.forEach((x, i) => walk(x, `${at}.${k}[${i}]`));
    }
    if (s.not !== undefined) walk(s.not, `${at}.not`);
  };
  walk(schema, path);
  return { causes, warnings };
}
