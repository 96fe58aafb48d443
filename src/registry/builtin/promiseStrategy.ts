/**
 * Admission rules for Promises, as Kratix's webhook enforces them: `spec.api` is a valid namespaced CRD whose
 * identity never changes once installed, and every workflow entry is a well-formed Pipeline.
 */
import { cause, type StatusCause } from '../../api/errors.ts';
import { isPlainObject, type JsonObject, type KubeObject } from '../../api/types.ts';
import { validateDns1123Label } from '../../api/validation.ts';
import { crdToResourceType } from '../crd.ts';
import { crdSchemaCauses } from '../schema/crdSchemaKeywords.ts';
import type { TypeStrategy } from '../ResourceType.ts';
import type { SchemaValidator } from '../schema/SchemaValidator.ts';

const PIPELINE_SPEC_FIELDS = new Set(['containers', 'imagePullSecrets', 'jobOptions', 'nodeSelector', 'tolerations', 'restartPolicy', 'volumes', 'rbac']);
const CONTAINER_FIELDS = new Set([
  'name',
  'image',
  'args',
  'command',
  'env',
  'envFrom',
  'volumeMounts',
  'imagePullPolicy',
  'securityContext',
  'resources',
  'workingDir',
]);

function hasApi(spec: JsonObject | undefined): boolean {
  return isPlainObject(spec?.api) && Object.keys(spec.api).length > 0;
}

function apiIdentity(api: JsonObject): string {
  const spec = isPlainObject(api.spec) ? api.spec : {};
  const names = isPlainObject(spec.names) ? spec.names : {};
  const meta = isPlainObject(api.metadata) ? api.metadata : {};
  return JSON.stringify([meta.name, spec.group, names.kind, names.plural, names.singular]);
}

function pipelineCauses(promiseName: string, spec: JsonObject): StatusCause[] {
  const causes: StatusCause[] = [];
  const workflows = isPlainObject(spec.workflows) ? spec.workflows : {};
  for (const wfType of ['resource', 'promise'] as const) {
    const byAction = isPlainObject(workflows[wfType]) ? workflows[wfType] : {};
    for (const action of ['configure', 'delete'] as const) {
      const list = byAction[action];
      if (list === undefined) continue;
      const base = `spec.workflows.${wfType}.${action}`;
      if (!Array.isArray(list)) {
        causes.push(cause('FieldValueTypeInvalid', base, 'Invalid value: must be a list of Pipelines'));
        continue;
      }
      const seen = new Set<string>();
      list.forEach((p: unknown, i) => {
        const at = `${base}[${i}]`;
        if (!isPlainObject(p)) return void causes.push(cause('FieldValueTypeInvalid', at, 'Invalid value: must be a Pipeline object'));
        if (p.apiVersion !== 'platform.kratix.io/v1alpha1' || p.kind !== 'Pipeline') {
          causes.push(
            cause(
              'FieldValueInvalid',
              at,
              `Invalid value: ${JSON.stringify(`${String(p.apiVersion)}/${String(p.kind)}`)}: must be apiVersion platform.kratix.io/v1alpha1, kind Pipeline`,
            ),
          );
        }
        for (const k of Object.keys(p))
          if (!['apiVersion', 'kind', 'metadata', 'spec'].includes(k)) causes.push(cause('FieldValueUnknown', `${at}.${k}`, 'unknown field'));
        const name = isPlainObject(p.metadata) ? p.metadata.name : undefined;
        if (typeof name !== 'string' || validateDns1123Label(name)) {
          causes.push(cause('FieldValueInvalid', `${at}.metadata.name`, `Invalid value: ${JSON.stringify(name)}: a Pipeline needs a DNS-1123 label name`));
        } else {
          if (seen.has(name)) causes.push(cause('FieldValueDuplicate', `${at}.metadata.name`, `Duplicate value: ${JSON.stringify(name)}`));
          seen.add(name);
          const id = `${promiseName}-${wfType}-${action}-${name}`;
          if (id.length > 60) causes.push(cause('FieldValueTooLong', `${at}.metadata.name`, `Too long: "${id}" must be at most 60 characters`));
        }
        const pspec = isPlainObject(p.spec) ? p.spec : {};
        for (const k of Object.keys(pspec)) if (!PIPELINE_SPEC_FIELDS.has(k)) causes.push(cause('FieldValueUnknown', `${at}.spec.${k}`, 'unknown field'));
        if (pspec.jobOptions !== undefined) {
          const limit = isPlainObject(pspec.jobOptions) ? pspec.jobOptions.backoffLimit : 'not an object';
          if (limit !== undefined && !(typeof limit === 'number' && Number.isInteger(limit) && limit >= 0))
            causes.push(
              cause('FieldValueInvalid', `${at}.spec.jobOptions.backoffLimit`, `Invalid value: ${JSON.stringify(limit)}: must be a non-negative integer`),
            );
        }
        const containers = pspec.containers;
        if (!Array.isArray(containers) || containers.length === 0) {
          causes.push(cause('FieldValueRequired', `${at}.spec.containers`, 'Required value: a Pipeline needs at least one container'));
          return;
        }
        const cnames = new Set<string>();
        containers.forEach((c: unknown, j) => {
          const cat = `${at}.spec.containers[${j}]`;
          if (!isPlainObject(c)) return void causes.push(cause('FieldValueTypeInvalid', cat, 'Invalid value: must be a container object'));
          for (const k of Object.keys(c)) if (!CONTAINER_FIELDS.has(k)) causes.push(cause('FieldValueUnknown', `${cat}.${k}`, 'unknown field'));
          if (typeof c.name !== 'string' || validateDns1123Label(c.name))
            causes.push(cause('FieldValueInvalid', `${cat}.name`, `Invalid value: ${JSON.stringify(c.name)}: a container needs a DNS-1123 label name`));
          else if (cnames.has(c.name)) causes.push(cause('FieldValueDuplicate', `${cat}.name`, `Duplicate value: ${JSON.stringify(c.name)}`));
          else cnames.add(c.name);
          if (typeof c.image !== 'string' || !c.image) causes.push(cause('FieldValueRequired', `${cat}.image`, 'Required value'));
          for (const k of ['command', 'args'] as const) {
            if (c[k] !== undefined && (!Array.isArray(c[k]) || (c[k] as unknown[]).some((x) => typeof x !== 'string'))) {
              causes.push(cause('FieldValueTypeInvalid', `${cat}.${k}`, 'Invalid value: must be a list of strings'));
            }
          }
        });
      });
    }
  }
  return causes;
}

export function promiseStrategy(validator: SchemaValidator): TypeStrategy {
  return {
    validate(obj: KubeObject, old: KubeObject | undefined): StatusCause[] {
      const spec = isPlainObject(obj.spec) ? obj.spec : {};
      const oldSpec = old && isPlainObject(old.spec) ? old.spec : undefined;
      const causes: StatusCause[] = [];
      if (hasApi(spec)) causes.push(...crdToResourceType(spec.api, '', validator).causes);
      if (oldSpec && hasApi(oldSpec)) {
        if (!hasApi(spec)) causes.push(cause('FieldValueForbidden', 'spec.api', 'Forbidden: the API of an installed Promise cannot be removed'));
        else if (apiIdentity(spec.api as JsonObject) !== apiIdentity(oldSpec.api as JsonObject)) {
          causes.push(
            cause(
              'FieldValueForbidden',
              'spec.api',
              'Forbidden: metadata.name, spec.group and spec.names of a Promise API are immutable; create a new Promise instead',
            ),
          );
        }
      }
      causes.push(...pipelineCauses(obj.metadata.name ?? '', spec));
      return causes;
    },
    warnings(obj: KubeObject): string[] {
      const api = isPlainObject(obj.spec) && isPlainObject(obj.spec.api) ? obj.spec.api : undefined;
      const versions = api && isPlainObject(api.spec) && Array.isArray(api.spec.versions) ? api.spec.versions : [];
      return versions.flatMap((v, i) => {
        const schema = isPlainObject(v) && isPlainObject(v.schema) ? v.schema.openAPIV3Schema : undefined;
        return schema === undefined ? [] : crdSchemaCauses(schema, `spec.api.spec.versions[${i}].schema.openAPIV3Schema`).warnings;
      });
    },
  };
}
