/**
 * What every kind's writes go through before they reach the store, as Kubernetes' REST strategies: decoding a body
 * into an object of the kind (identity, namespace), preparing a create (server-owned fields, generateName) or an
 * update (what carries over from the stored object, the status subresource, deletion rules), and admission
 * (normalization, pruning, defaults, metadata, schema and the kind's own rules). No I/O: the store is not touched.
 */
import { randomUUID } from 'node:crypto';
import { badRequest, cause, invalid, type StatusCause } from '../api/errors.ts';
import { isPlainObject, isJsonData, jsonEqual, type JsonObject, type KubeObject, type StoredObject, cloneJson } from '../api/types.ts';
import {
  MAX_ANNOTATIONS_BYTES,
  validateDns1123Label,
  validateDns1123Subdomain,
  validatePathSegment,
  validateLabelKey,
  validateLabelValue,
} from '../api/validation.ts';
import { apiVersionOf, preferredVersion, type ResourceType } from './ResourceType.ts';
import { SchemaValidator } from './schema/SchemaValidator.ts';
import { shareMembers } from '../store/sharedObject.ts';
import { applyDefaults, prune } from './schema/structural.ts';

export type FieldValidation = 'Strict' | 'Warn' | 'Ignore';

export interface AdmitOptions {
  /** Unknown fields: Strict rejects (400), Warn drops with a warning (the default), Ignore drops silently. */
  fieldValidation?: FieldValidation;
}

export interface ObjectStrategyOptions {
  validator?: SchemaValidator;
}

/** Everything but metadata (and status, when it has its own subresource): what `generation` counts. */
function specOf(type: ResourceType, obj: KubeObject): JsonObject {
  const { metadata: _m, status, ...rest } = obj;
  return type.statusSubresource ? rest : { ...rest, status };
}

/**
 * Who holds a write's body. `copy`: its caller keeps it, and may change it after the write: it is copied whole.
 * `shared`: its caller leaves it alone after the write and only reads the answer (WriteOptions.shared): its members
 * become the store's, shared with its watchers (see adoptShared), and only its root and metadata are copied
 * (admission changes those in place and replaces, never changes, anything below them; see schema/structural).
 * `owned`: parsed for this write and held by nobody else: not copied.
 */
export type BodyHolding = 'copy' | 'shared' | 'owned';

/**
 * A write's body, decoded (ObjectStrategy.decodeForWrite). Its metadata (a copy) may be read and set at once; the
 * object to write is had from `toWrite` once the stored version the write replaces is known, which for a shared body
 * is when its members are adopted (see adoptShared): no shared write can skip that step.
 */
export interface DecodedBody {
  metadata: KubeObject['metadata'];
  /** The object to write over `old` (undefined: a create). */
  toWrite(old: KubeObject | undefined): KubeObject;
}

function ownBody(body: JsonObject, subresource: 'status' | undefined, owned: boolean): KubeObject {
  const copy = owned ? <T>(v: T): T => v : cloneJson;
  return (
    subresource === 'status' ? { metadata: copy(body.metadata ?? {}), ...(body.status !== undefined ? { status: copy(body.status) } : {}) } : copy(body)
  ) as KubeObject;
}

function sharedBody(body: JsonObject, subresource: 'status' | undefined, apiVersion: string, kind: string): KubeObject {
  const metadata = isPlainObject(body.metadata) ? { ...body.metadata } : {};
  const kept = subresource === 'status' ? { metadata, ...(body.status !== undefined ? { status: body.status } : {}) } : body;
  return { ...kept, apiVersion, kind, metadata };
}

/** Replaces each member of `target` that is not JSON data by a copy (which makes it so); `known`: see isJsonData. */
function adoptMembers(target: object, known: object | undefined, skip?: string): void {
  for (const key of Object.keys(target)) {
    if (key === skip) continue;
    const member: unknown = Reflect.get(target, key);
    if (isJsonData(member, known && Reflect.get(known, key))) continue;
    if (member === undefined) Reflect.deleteProperty(target, key);
    else Reflect.set(target, key, cloneJson(member));
  }
}

export class ObjectStrategy {
  private readonly validator: SchemaValidator;

  constructor(options: ObjectStrategyOptions = {}) {
    this.validator = options.validator ?? new SchemaValidator();
  }

  /**
   * A request body as an object of `type` in `namespace`: 400 when it names another kind or namespace. For a write of
   * the status subresource only metadata and status are read of the body (the rest is the stored object's). How much
   * of the body is copied depends on who holds it (BodyHolding).
   */
  decode(type: ResourceType, body: unknown, namespace: string, version: string, subresource?: 'status', holding: 'copy' | 'owned' = 'copy'): KubeObject {
    return this.decodeHeld(type, body, namespace, version, subresource, holding);
  }

  /** decode, for a write whose body is held as `holding` says (see DecodedBody). */
  decodeForWrite(type: ResourceType, body: unknown, namespace: string, version: string, subresource: 'status' | undefined, holding: BodyHolding): DecodedBody {
    const obj = this.decodeHeld(type, body, namespace, version, subresource, holding);
    return {
      metadata: obj.metadata,
      toWrite: (old) => {
        if (holding === 'shared') this.adoptShared(obj, old);
        return obj;
      },
    };
  }

  private decodeHeld(
    type: ResourceType,
    body: unknown,
    namespace: string,
    version: string,
    subresource: 'status' | undefined,
    holding: BodyHolding,
  ): KubeObject {
    if (!isPlainObject(body)) throw badRequest('the body of the request must be a JSON or YAML object');
    const expected = apiVersionOf(type, version);
    if (body.kind !== undefined && body.kind !== type.kind) {
      throw badRequest(`the kind in the data (${String(body.kind)}) does not match the expected kind (${type.kind})`);
    }
    if (body.apiVersion !== undefined && body.apiVersion !== expected && !type.versions.some((v) => apiVersionOf(type, v) === body.apiVersion)) {
      throw badRequest(`the API version in the data (${String(body.apiVersion)}) does not match the expected API version (${expected})`);
    }
    if (body.metadata !== undefined && !isPlainObject(body.metadata)) throw badRequest('metadata must be an object');
    const obj = holding === 'shared' ? sharedBody(body, subresource, expected, type.kind) : ownBody(body, subresource, holding === 'owned');
    obj.apiVersion = expected;
    obj.kind = type.kind;
    obj.metadata ??= {};
    if (type.namespaced) {
      if (obj.metadata.namespace !== undefined && obj.metadata.namespace !== '' && obj.metadata.namespace !== namespace) {
        throw badRequest('the namespace of the provided object does not match the namespace sent on the request');
      }
      obj.metadata.namespace = namespace;
    } else {
      delete obj.metadata.namespace;
    }
    return obj;
  }

  /**
   * Takes the members of a shared write's body (decoded with `shared`) as they are: its watchers get them, so they
   * must be what parsing the stored text would give, and a member that is not JSON data (an undefined member, say) is
   * replaced by a copy, which makes it so. `old`: the stored object the write starts from; what the body carries of it
   * unchanged is not walked (a status write walks the status it changed, not the spec it carries). Under
   * FLEETOPS_CHECK_SHARED the members are frozen: a change made to them later, by the write or its caller, throws.
   */
  private adoptShared(obj: KubeObject, old: KubeObject | undefined): void {
    adoptMembers(obj, old, 'metadata');
    adoptMembers(obj.metadata, old?.metadata);
    shareMembers(obj);
  }

  /**
   * A new object: a name from generateName, no server-owned fields, generation 1, no status behind a subresource
   * (unless `keepStatus`: see WriteOptions.withStatus).
   */
  prepareForCreate(type: ResourceType, obj: KubeObject, keepStatus = false): void {
    const m = obj.metadata;
    if (!m.name && m.generateName) m.name = `${m.generateName}${randomUUID().replace(/-/g, '').slice(0, 5)}`;
    for (const f of ['uid', 'resourceVersion', 'creationTimestamp', 'deletionTimestamp', 'deletionGracePeriodSeconds'] as const) delete m[f];
    if (type.noGeneration) delete m.generation;
    else m.generation = 1;
    if (type.statusSubresource && !keepStatus) delete obj.status;
    type.strategy?.prepareForCreate?.(obj);
  }

  /**
   * The object an update of `old` with `next` stores (before admission): uid and creation time carried over, the
   * status subresource's rules (a status write changes only status; a main write keeps the stored status), and
   * deletion's (once deleting, it stays so and takes no new finalizers). `old` is not copied: it is the caller's.
   */
  prepareForUpdate(type: ResourceType, old: StoredObject, next: KubeObject, subresource: 'status' | undefined): KubeObject {
    let obj: KubeObject;
    if (subresource === 'status') {
      // mirrors apiextensions status strategy: everything but .status comes from the stored object
      obj = { ...old, metadata: { ...old.metadata }, status: next.status };
      if (next.status === undefined) delete obj.status;
      obj.metadata.managedFields = next.metadata.managedFields ?? old.metadata.managedFields;
    } else {
      obj = next;
      if (type.statusSubresource) {
        if (old.status === undefined) delete obj.status;
        else obj.status = old.status;
      }
    }
    const m = obj.metadata;
    m.uid = old.metadata.uid;
    m.creationTimestamp = old.metadata.creationTimestamp;
    if (old.metadata.deletionTimestamp) {
      m.deletionTimestamp = old.metadata.deletionTimestamp;
      m.deletionGracePeriodSeconds = old.metadata.deletionGracePeriodSeconds ?? 0;
      const added = (m.finalizers ?? []).filter((f) => !(old.metadata.finalizers ?? []).includes(f));
      if (added.length) {
        throw invalid(type.kind, type.group, m.name ?? '', [
          cause('FieldValueForbidden', 'metadata.finalizers', 'Forbidden: no new finalizers can be added if the object is being deleted'),
        ]);
      }
    } else {
      delete m.deletionTimestamp;
      delete m.deletionGracePeriodSeconds;
    }
    return obj;
  }

  /** The generation after an update: one more when anything but metadata (and a subresource's status) changed. */
  generation(type: ResourceType, old: KubeObject, next: KubeObject): number | undefined {
    if (type.noGeneration) return undefined;
    return (old.metadata.generation ?? 1) + (jsonEqual(specOf(type, old), specOf(type, next)) ? 0 : 1);
  }

  /** Prunes, defaults and validates an object about to be written; returns warnings. */
  admit(type: ResourceType, obj: KubeObject, old: KubeObject | undefined, opts: AdmitOptions, version: string): string[] {
    const schema = type.schemas[version] ?? type.schemas[preferredVersion(type)];
    const warnings: string[] = [];
    type.strategy?.normalize?.(obj);
    if (schema) {
      const unknown = prune(schema, obj);
      if (unknown.length) {
        const mode = opts.fieldValidation ?? 'Warn';
        if (mode === 'Strict') {
          throw badRequest(
            `${type.kind} in version "${version}" cannot be handled as a ${type.kind}: strict decoding error: ${unknown.map((u) => `unknown field "${u}"`).join(', ')}`,
          );
        }
        if (mode === 'Warn') for (const u of unknown) warnings.push(`unknown field "${u}"`);
      }
      applyDefaults(schema, obj);
    }
    const causes = this.metadataCauses(type, obj, old);
    if (schema) causes.push(...this.validator.validate(schema, obj));
    if (type.strategy?.validate) causes.push(...type.strategy.validate(obj, old));
    if (causes.length) throw invalid(type.kind, type.group, obj.metadata.name ?? '', causes);
    if (type.strategy?.warnings) warnings.push(...type.strategy.warnings(obj));
    return warnings;
  }

  /** Checks a stored object against another type definition (e.g. a Promise's changed schema). */
  validateAgainst(type: ResourceType, object: KubeObject): StatusCause[] {
    // Pruning and defaulting change the root only.
    const copy = { ...object };
    const version = preferredVersion(type);
    const schema = type.schemas[version];
    if (!schema) return [];
    prune(schema, copy);
    applyDefaults(schema, copy);
    return this.validator.validate(schema, copy);
  }

  private metadataCauses(type: ResourceType, obj: KubeObject, old: KubeObject | undefined): StatusCause[] {
    const causes: StatusCause[] = [];
    const m = obj.metadata;
    if (!m.name) causes.push(cause('FieldValueRequired', 'metadata.name', 'Required value: name or generateName is required'));
    else if (m.name !== old?.metadata.name) {
      // An update keeps the name it was created with, checked then.
      const err = type.nameIsLabel ? validateDns1123Label(m.name) : type.nameIsPathSegment ? validatePathSegment(m.name) : validateDns1123Subdomain(m.name);
      if (err) causes.push(cause('FieldValueInvalid', 'metadata.name', `Invalid value: ${JSON.stringify(m.name)}: ${err}`));
    }
    for (const [field, map] of [
      ['labels', m.labels],
      ['annotations', m.annotations],
    ] as const) {
      // The very map the stored version has (a status write, a write made from a shared read) was checked when it
      // was stored, and stored objects change only through writes.
      if (map === undefined || (old !== undefined && map === old.metadata[field])) continue;
      if (!isPlainObject(map)) {
        causes.push(cause('FieldValueTypeInvalid', `metadata.${field}`, `Invalid value: must be a map of strings`));
        continue;
      }
      let size = 0;
      for (const [k, v] of Object.entries(map)) {
        const keyErr = validateLabelKey(k);
        if (keyErr) causes.push(cause('FieldValueInvalid', `metadata.${field}`, `Invalid value: ${JSON.stringify(k)}: ${keyErr}`));
        if (typeof v !== 'string') {
          causes.push(cause('FieldValueTypeInvalid', `metadata.${field}.${k}`, `Invalid value: must be a string`));
          continue;
        }
        size += k.length + v.length;
        if (field === 'labels') {
          const valueErr = validateLabelValue(v);
          if (valueErr) causes.push(cause('FieldValueInvalid', `metadata.labels`, `Invalid value: ${JSON.stringify(v)}: ${valueErr}`));
        }
      }
      if (field === 'annotations' && size > MAX_ANNOTATIONS_BYTES) {
        causes.push(cause('FieldValueTooLong', 'metadata.annotations', `Too long: must have at most ${MAX_ANNOTATIONS_BYTES} bytes`));
      }
    }
    // Only finalizers the write adds are checked: those already stored were, and a long list is not checked again.
    const stored = new Set(old?.metadata.finalizers ?? []);
    if (
      m.finalizers !== undefined &&
      (!Array.isArray(m.finalizers) || m.finalizers.some((f) => typeof f !== 'string' || (!stored.has(f) && validateLabelKey(f) !== '')))
    ) {
      causes.push(cause('FieldValueInvalid', 'metadata.finalizers', 'Invalid value: each finalizer must be a qualified name'));
    }
    return causes;
  }
}

/**
 * The kind's createDefaults on a new object (ResourceType.createDefaults): its labels set, its finalizers added.
 * Members are replaced, never changed in place (the body's may be its caller's).
 */
export function addCreateDefaults(type: ResourceType, obj: KubeObject): void {
  const defaults = type.createDefaults;
  if (!defaults) return;
  const m = obj.metadata;
  if (defaults.labels) m.labels = { ...m.labels, ...defaults.labels };
  const have = m.finalizers ?? [];
  const more = (defaults.finalizers ?? []).filter((f) => !have.includes(f));
  if (more.length) m.finalizers = [...have, ...more];
}
