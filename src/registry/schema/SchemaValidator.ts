/**
 * Validates objects against an OpenAPI v3 schema with ajv and reports Kubernetes-style field causes
 * (`spec.replicas: Invalid value: ...`). Compiled validators are cached per schema object.
 */
import { Ajv, type ErrorObject, type ValidateFunction } from 'ajv';
import addFormatsModule from 'ajv-formats';
import { cause, type StatusCause, errorMessage } from '../../api/errors.ts';
import { isPlainObject, member } from '../../api/types.ts';
import type { JsonSchema } from '../ResourceType.ts';

// ajv-formats ships CommonJS: under nodenext its default import is the module object, which holds the plugin as `default`.
const addFormats = addFormatsModule.default;

/** Rewrites Kubernetes extensions into plain JSON Schema that ajv understands. */
function toAjvSchema(schema: unknown, isRoot: boolean): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  if (!isPlainObject(schema)) return out;
  for (const [k, v] of Object.entries(schema)) {
    if (k.startsWith('x-kubernetes-') || k === 'default' || k === 'description' || k === 'example' || k === 'externalDocs') continue;
    if (k === 'properties' && isPlainObject(v)) {
      const props: Record<string, unknown> = {};
      for (const [name, sub] of Object.entries(v)) {
        // metadata is validated by the registry's own name/label rules, as the apiserver does
        if (isRoot && name === 'metadata') continue;
        props[name] = toAjvSchema(sub, false);
      }
      out.properties = props;
    } else if ((k === 'items' || k === 'additionalProperties' || k === 'not') && isPlainObject(v)) {
      out[k] = toAjvSchema(v, false);
    } else if ((k === 'allOf' || k === 'anyOf' || k === 'oneOf') && Array.isArray(v)) {
      out[k] = v.map((s) => toAjvSchema(s, false));
    } else {
      out[k] = v;
    }
  }
  if (schema['x-kubernetes-int-or-string']) {
    delete out.type;
    out.anyOf = [{ type: 'integer' }, { type: 'string' }, ...(Array.isArray(out.anyOf) ? out.anyOf : [])];
  }
  if (isRoot && Array.isArray(out.required)) out.required = out.required.filter((r) => r !== 'metadata');
  return out;
}

function fieldPath(instancePath: string): string {
  return instancePath
    .split('/')
    .slice(1)
    .map((p) => p.replace(/~1/g, '/').replace(/~0/g, '~'))
    .reduce((acc, p) => (/^\d+$/.test(p) ? `${acc}[${p}]` : acc ? `${acc}.${p}` : p), '');
}

function show(value: unknown): string {
  return typeof value === 'string' ? JSON.stringify(value) : (JSON.stringify(value) ?? 'null');
}

function valueAt(root: unknown, instancePath: string): unknown {
  let cur = root;
  for (const p of instancePath.split('/').slice(1)) {
    const key = p.replace(/~1/g, '/').replace(/~0/g, '~');
    cur = member(cur, key);
  }
  return cur;
}

function toCause(err: ErrorObject, root: unknown): StatusCause | undefined {
  const field = fieldPath(err.instancePath);
  const value = valueAt(root, err.instancePath);
  const p = err.params;
  switch (err.keyword) {
    case 'required': {
      const f = field ? `${field}.${String(p.missingProperty)}` : String(p.missingProperty);
      return cause('FieldValueRequired', f, 'Required value');
    }
    case 'enum': {
      const allowed = Array.isArray(p.allowedValues) ? p.allowedValues.map(show).join(', ') : '';
      return cause('FieldValueNotSupported', field, `Unsupported value: ${show(value)}: supported values: ${allowed}`);
    }
    case 'type':
      return cause('FieldValueTypeInvalid', field, `Invalid value: ${show(typeof value)}: ${field} in body must be of type ${String(p.type)}: ${show(value)}`);
    case 'maxLength':
      return cause('FieldValueTooLong', field, `Too long: may not be more than ${String(p.limit)} bytes`);
    case 'pattern':
      return cause('FieldValueInvalid', field, `Invalid value: ${show(value)}: ${field} in body should match '${String(p.pattern)}'`);
    case 'minimum':
    case 'maximum':
    case 'exclusiveMinimum':
    case 'exclusiveMaximum':
      return cause('FieldValueInvalid', field, `Invalid value: ${show(value)}: ${field} in body should be ${String(p.comparison)} ${String(p.limit)}`);
    case 'anyOf':
    case 'oneOf':
    case 'if':
      return undefined; // the branch errors say more
    default:
      return cause('FieldValueInvalid', field, `Invalid value: ${show(value)}: ${field || 'body'} ${err.message ?? 'is invalid'}`);
  }
}

export class SchemaValidator {
  private readonly ajv: Ajv;
  private readonly compiled = new WeakMap<JsonSchema, ValidateFunction>();

  constructor() {
    this.ajv = new Ajv({ allErrors: true, strict: false, logger: false, validateFormats: true });
    addFormats(this.ajv);
    // Kubernetes numeric/byte formats: accepted without checks, as the apiserver does for unknown formats.
    for (const f of ['int32', 'int64', 'float', 'double', 'byte', 'binary', 'password', 'quantity', 'int-or-string']) {
      this.ajv.addFormat(f, true);
    }
  }

  /** Checks a schema compiles; returns the error text or ''. */
  check(schema: JsonSchema): string {
    try {
      this.compile(schema);
      return '';
    } catch (err) {
      return errorMessage(err);
    }
  }

  private compile(schema: JsonSchema): ValidateFunction {
    let fn = this.compiled.get(schema);
    if (!fn) {
      fn = this.ajv.compile(toAjvSchema(schema, true));
      this.compiled.set(schema, fn);
    }
    return fn;
  }

  validate(schema: JsonSchema, object: unknown): StatusCause[] {
    const fn = this.compile(schema);
    if (fn(object)) return [];
    const causes: StatusCause[] = [];
    const seen = new Set<string>();
    for (const err of fn.errors ?? []) {
      const c = toCause(err, object);
      if (!c) continue;
      const id = `${c.field}|${c.message}`;
      if (!seen.has(id)) {
        seen.add(id);
        causes.push(c);
      }
    }
    return causes;
  }
}
