/**
 * The REST semantics of every served kind, independent of HTTP: what create, update, patch, apply and delete do
 * to an object before it reaches the store (defaulting, pruning, validation, generation, status subresource,
 * finalizers, dry run, field ownership) and how lists and watches are filtered. The API server and the in-process
 * client both go through here, so controllers obey the same rules as users.
 */
import { randomUUID } from 'node:crypto';
import { applyPatch } from 'rfc6902';
import { ApiError, badRequest, cause, conflict, invalid, isApiError, notFound, alreadyExists, type StatusCause, errorMessage } from '../api/errors.ts';
import { applyStrategicMergePatch } from '../api/strategicMergePatch.ts';
import { applyMergePatch } from '../api/mergePatch.ts';
import { isPlainObject, jsonEqual, type KubeObject, type StoredObject, cloneJson } from '../api/types.ts';
import { keyOf, type CheckOp, type GetOptions, type ObjectKey, type Store, type WatchHandle, type WriteOp } from '../store/Store.ts';
import { rfc3339Seconds } from '../api/time.ts';
import { recordUpdate, serverSideApply } from './managedFields.ts';
import { atomicFieldsOf, type AtomicFields } from './schema/atomicFields.ts';
import { ObjectReader, objectKey, present, type ListQuery, type ObjectList, type TextList, type WatchEvent, type WatchQuery } from './ObjectReader.ts';
import { addCreateDefaults, ObjectStrategy, type AdmitOptions, type BodyHolding } from './ObjectStrategy.ts';
import type { Registry } from './Registry.ts';
import { apiVersionOf, preferredVersion, type ResourceType } from './ResourceType.ts';
import type { SchemaValidator } from './schema/SchemaValidator.ts';
import { prune } from './schema/structural.ts';

export type { FieldValidation } from './ObjectStrategy.ts';
export type { ListQuery, ObjectList, TextList, WatchEvent, WatchQuery } from './ObjectReader.ts';

export interface WriteOptions extends AdmitOptions {
  dryRun?: boolean;
  fieldManager?: string;
  /** Version the caller speaks; the answer carries it as apiVersion. Defaults to the preferred version. */
  version?: string;
  /**
   * Validating admission of the caller's (the API server's checks that need the request's user, such as RBAC's
   * escalation rules): sees the object exactly as it would be stored, after every patch and default, and throws to refuse.
   */
  validate?: (object: KubeObject, old: KubeObject | undefined) => Promise<void>;
  /**
   * The body was parsed for this write and nobody else holds it (an API request's): it becomes the stored object
   * rather than being copied first. Unset, the caller's object is copied: callers keep and reuse theirs.
   */
  ownedBody?: boolean;
  /**
   * The caller only reads the answer, or ignores it, and leaves the body alone after the call: the answer may be the
   * object the store's watchers and read cache share (frozen under FLEETOPS_CHECK_SHARED) rather than a copy of the
   * caller's own, and that object may hold the body's members (only the body's root and metadata are copied; see
   * BodyHolding). GetOptions.shared's counterpart.
   */
  shared?: boolean;
  /**
   * A create keeps the body's status even behind a status subresource: an in-process writer whose object starts in a
   * state of its own (a WorkflowRun created already claimed by the replica that runs it). The API never sets it.
   */
  withStatus?: boolean;
  /** The object is not read again soon: the store's read cache does not keep it (CommitOptions.uncached). */
  uncached?: boolean;
}

/** How a write's body is held (ObjectStrategy.decode). */
function holdingOf(opts: WriteOptions): BodyHolding {
  return opts.ownedBody ? 'owned' : opts.shared ? 'shared' : 'copy';
}

export interface UpdateOptions extends WriteOptions {
  subresource?: 'status';
}

export interface PatchOptions extends UpdateOptions {
  force?: boolean;
}

export type PatchType = 'merge' | 'json' | 'apply' | 'strategic';

export interface WriteResult {
  /** As stored; a dry run's object has no resourceVersion. */
  object: KubeObject;
  warnings: string[];
  /** True when the write created the object (POST, or apply of a missing object). */
  created: boolean;
}

export interface DeleteOptions {
  dryRun?: boolean;
  preconditions?: { uid?: string; resourceVersion?: string };
  /**
   * What becomes of the object's dependents (objects whose ownerReferences name it), as in Kubernetes: Background
   * (default) deletes them after it; Foreground keeps it (finalizer `foregroundDeletion`) until they are gone;
   * Orphan keeps it (finalizer `orphan`) until they no longer name it. The garbage collector does the work.
   */
  propagationPolicy?: PropagationPolicy;
}

export type PropagationPolicy = 'Orphan' | 'Background' | 'Foreground';
export const FINALIZER_ORPHAN = 'orphan';
export const FINALIZER_FOREGROUND = 'foregroundDeletion';
/** Holds a deleted Namespace until the namespace controller has deleted what it held (Kubernetes' finalizer name). */
export const FINALIZER_NAMESPACE = 'kubernetes';

function isNamespace(type: ResourceType): boolean {
  return type.group === '' && type.kind === 'Namespace';
}

/** The maps a version of a kind's schema marks atomic, for its managed fields (the preferred version's as a fallback). */
function atomicMaps(type: ResourceType, version: string): AtomicFields | undefined {
  return atomicFieldsOf(type.schemas[version] ?? type.schemas[preferredVersion(type)]);
}

export interface DeleteResult {
  /** The object as last stored (with deletionTimestamp when finalizers hold it). */
  object: KubeObject;
  /** True when the object is gone; false when finalizers keep it. */
  deleted: boolean;
}

export interface ObjectServiceOptions {
  /**
   * A precondition added to every write (a leader's fencing token: ADR 0019); checked in the write's transaction,
   * it refuses the write when it no longer holds.
   */
  fence?: () => CheckOp;
  store: Store;
  registry: Registry;
  now?: () => Date;
  validator?: SchemaValidator;
}

const NAMESPACE_TYPE = { group: '', kind: 'Namespace' };

/** The object a single-op commit returned. */
function only(object: StoredObject | undefined): StoredObject {
  if (!object) throw new Error('the store returned no object for a write');
  return object;
}

/**
 * The generic store of every served kind (Kubernetes' registry.Store): create, update, patch, server-side apply and
 * delete with optimistic concurrency, dry runs, finalizers, propagation policies and a namespace's cascade. What an
 * object must be is the strategy's (ObjectStrategy); who owns which field is the field manager's (managedFields.ts);
 * reads are the reader's (ObjectReader), offered here too so callers have one service.
 */
export class ObjectService {
  private readonly store: Store;
  readonly registry: Registry;
  private readonly now: () => Date;
  private readonly strategy: ObjectStrategy;
  private readonly reader: ObjectReader;
  private readonly fence: (() => CheckOp) | undefined;

  constructor(options: ObjectServiceOptions) {
    this.fence = options.fence;
    this.store = options.store;
    this.registry = options.registry;
    this.now = options.now ?? (() => new Date());
    this.strategy = new ObjectStrategy(options.validator ? { validator: options.validator } : {});
    this.reader = new ObjectReader({ store: options.store });
  }

  private key(type: ResourceType, namespace: string, name: string): ObjectKey {
    return objectKey(type, namespace, name);
  }

  private present<T extends KubeObject>(type: ResourceType, obj: T, version?: string): T {
    return present(type, obj, version);
  }

  currentResourceVersion(): Promise<string> {
    return this.reader.currentResourceVersion();
  }

  get(type: ResourceType, namespace: string, name: string, version?: string, read: GetOptions = {}): Promise<StoredObject> {
    return this.reader.get(type, namespace, name, version, read);
  }

  /** Like `get` but answers undefined for a missing object (see ObjectReader.find). */
  find(type: ResourceType, namespace: string, name: string, version?: string, read: GetOptions = {}): Promise<StoredObject | undefined> {
    return this.reader.find(type, namespace, name, version, read);
  }

  /** Parses a query's selectors; throws 400 for bad ones. */
  selectors(type: ResourceType, query: { labelSelector?: string; fieldSelector?: string }): ReturnType<ObjectReader['selectors']> {
    return this.reader.selectors(type, query);
  }

  list(type: ResourceType, namespace: string | undefined, query: ListQuery = {}): Promise<ObjectList> {
    return this.reader.list(type, namespace, query);
  }

  listTexts(type: ResourceType, namespace: string | undefined, query: ListQuery = {}): Promise<TextList> {
    return this.reader.listTexts(type, namespace, query);
  }

  watch(type: ResourceType, namespace: string | undefined, query: WatchQuery, onEvent: (e: WatchEvent) => void): Promise<WatchHandle> {
    return this.reader.watch(type, namespace, query, onEvent);
  }

  /** Checks a stored object against another type definition (e.g. a Promise's changed schema). */
  validateAgainst(type: ResourceType, object: KubeObject): StatusCause[] {
    return this.strategy.validateAgainst(type, object);
  }

  /** Store errors name the kind generically; give them the resource's real name. */
  private translate(type: ResourceType, name: string, err: unknown): unknown {
    if (!isApiError(err)) return err;
    if (err.reason === 'NotFound') return notFound(type.plural, type.group, name);
    if (err.reason === 'AlreadyExists') return alreadyExists(type.plural, type.group, name);
    if (err.reason === 'Conflict') return conflict(type.plural, type.group, name);
    return err;
  }

  /**
   * The objects stored; with `shared`, as the store's watchers and read cache share them (WriteOptions.shared): the
   * objects given are made for the write (decoded, admitted), and nothing here changes them afterwards.
   */
  private async commit(type: ResourceType, name: string, ops: WriteOp[], opts: Pick<WriteOptions, 'shared' | 'uncached'> = {}): Promise<StoredObject[]> {
    try {
      return await this.store.commit(this.fence ? [this.fence(), ...ops] : ops, { shared: opts.shared === true, uncached: opts.uncached === true });
    } catch (err) {
      throw this.translate(type, name, err);
    }
  }

  /**
   * The object a write starts from: the cached version when `usable` accepts it (the write carries its version, so a
   * stale one is refused at commit and retried), else the latest — a refusal (not found, conflict, failed
   * precondition) is only ever decided on the latest.
   */
  private async readForWrite(key: ObjectKey, usable: (o: StoredObject | undefined) => boolean, shared = false): Promise<StoredObject | undefined> {
    const cached = await this.store.get(key, { cached: true, shared });
    return usable(cached) ? cached : this.store.get(key, { shared });
  }

  private async ensureNamespace(type: ResourceType, namespace: string): Promise<void> {
    if (!type.namespaced) return;
    if (!namespace) throw badRequest('a namespace is required for a namespaced kind');
    if (!this.registry.byKind('', 'Namespace')) return;
    // As Kubernetes' NamespaceLifecycle admission reads its informer: what this process has seen, unless that says
    // missing or terminating (a refusal is decided on the latest).
    // Only looked at (every create in the namespace reads it): the store's shared copy, not one of its own.
    const ns = await this.readForWrite(keyOf(NAMESPACE_TYPE, '', namespace), (o) => o !== undefined && !o.metadata.deletionTimestamp, true);
    if (!ns) throw new ApiError(404, 'NotFound', `namespaces "${namespace}" not found`, { name: namespace, kind: 'namespaces' });
    if (ns.metadata.deletionTimestamp) {
      throw new ApiError(
        403,
        'Forbidden',
        `${type.plural} "${''}" is forbidden: unable to create new content in namespace ${namespace} because it is being terminated`,
      );
    }
  }

  async create(type: ResourceType, namespace: string, body: unknown, opts: WriteOptions = {}): Promise<WriteResult> {
    const version = opts.version ?? preferredVersion(type);
    const holding = holdingOf(opts);
    const obj = this.strategy.decodeForWrite(type, body, namespace, version, undefined, holding).toWrite(undefined);
    this.strategy.prepareForCreate(type, obj, opts.withStatus === true);
    const m = obj.metadata;
    const warnings = this.strategy.admit(type, obj, undefined, opts, version);
    await opts.validate?.(obj, undefined);
    await this.ensureNamespace(type, namespace);
    if (opts.fieldManager)
      m.managedFields = recordUpdate(undefined, obj, opts.fieldManager, obj.apiVersion, this.timestamp(), undefined, atomicMaps(type, version));
    // After the managed fields: what the API adds is not the creator's (an apply that leaves it out keeps it).
    addCreateDefaults(type, obj);
    const name = m.name ?? '';
    if (opts.dryRun) {
      if (await this.store.get(this.key(type, namespace, name))) throw alreadyExists(type.plural, type.group, name);
      return { object: { ...obj, metadata: { ...m, uid: randomUUID(), creationTimestamp: this.timestamp() } }, warnings, created: true };
    }
    const [stored] = await this.commit(type, name, [{ op: 'create', key: this.key(type, namespace, name), object: obj }], opts);
    return { object: this.present(type, only(stored), version), warnings, created: true };
  }

  private timestamp(): string {
    return rfc3339Seconds(this.now());
  }

  /**
   * The shared update path: carries server-owned fields over from `old`, bumps generation, enforces status
   * subresource and finalizer rules, and finishes deletion when the last finalizer goes.
   */
  private async write(
    type: ResourceType,
    old: StoredObject,
    next: KubeObject,
    opts: UpdateOptions & { expectedRv: string; managedFieldsSet?: boolean },
    version: string,
  ): Promise<WriteResult> {
    const name = old.metadata.name;
    // `old` was read from the store for this write and is nobody else's: it is not copied.
    const obj = this.strategy.prepareForUpdate(type, old, next, opts.subresource);
    const m = obj.metadata;
    const warnings = this.strategy.admit(type, obj, old, opts, version);
    await opts.validate?.(obj, old);
    const generation = this.strategy.generation(type, old, obj);
    // Not set to undefined for a kind without one: the stored object is its watchers' as it is (JSON data only).
    if (generation === undefined) delete m.generation;
    else m.generation = generation;
    // Whether the managed fields record a change of some field: then the write is not a no-op, and the object need
    // not be compared whole with the stored one (a walk of every member on most writes).
    let fieldChanged = false;
    if (!opts.managedFieldsSet) {
      const sentOwn = next.metadata.managedFields !== undefined && !jsonEqual(next.metadata.managedFields, old.metadata.managedFields);
      if (!sentOwn && opts.fieldManager) {
        const before = old.metadata.managedFields;
        m.managedFields = recordUpdate(old, obj, opts.fieldManager, obj.apiVersion, this.timestamp(), opts.subresource, atomicMaps(type, version));
        // recordUpdate answers the entries it was given when no field changed, a new list when one did.
        fieldChanged = before === undefined ? m.managedFields.length > 0 : m.managedFields !== before;
      } else if (!sentOwn) m.managedFields = old.metadata.managedFields;
      if (m.managedFields === undefined || m.managedFields.length === 0) delete m.managedFields;
    }
    const key = this.key(type, old.metadata.namespace ?? '', name);
    const finishing = m.deletionTimestamp !== undefined && (m.finalizers ?? []).length === 0;
    if (opts.dryRun) return { object: obj, warnings, created: false };
    if (finishing) {
      const [gone] = await this.commit(type, name, [{ op: 'delete', key, expectedRv: opts.expectedRv }]);
      const last = only(gone);
      return {
        object: this.present(type, { ...last, metadata: { ...m, resourceVersion: last.metadata.resourceVersion } }, version),
        warnings,
        created: false,
      };
    }
    const unchanged =
      !fieldChanged &&
      jsonEqual({ ...obj, metadata: { ...m, resourceVersion: undefined } }, { ...old, metadata: { ...old.metadata, resourceVersion: undefined } });
    if (unchanged && opts.expectedRv === old.metadata.resourceVersion) {
      // no-op writes keep the resourceVersion, as the apiserver does
      return { object: this.present(type, old, version), warnings, created: false };
    }
    const [stored] = await this.commit(type, name, [{ op: 'update', key, object: obj, expectedRv: opts.expectedRv }], opts);
    return { object: this.present(type, only(stored), version), warnings, created: false };
  }

  async update(type: ResourceType, namespace: string, name: string, body: unknown, opts: UpdateOptions = {}): Promise<WriteResult> {
    const version = opts.version ?? preferredVersion(type);
    const holding = holdingOf(opts);
    const next = this.strategy.decodeForWrite(type, body, namespace, version, opts.subresource, holding);
    if (next.metadata.name !== undefined && next.metadata.name !== name) {
      throw badRequest(`the name of the object (${next.metadata.name}) does not match the name on the URL (${name})`);
    }
    next.metadata.name = name;
    const rv = next.metadata.resourceVersion;
    if (!rv) {
      throw invalid(type.kind, type.group, name, [
        cause('FieldValueInvalid', 'metadata.resourceVersion', 'Invalid value: 0x0: must be specified for an update'),
      ]);
    }
    // A write that shares its answer starts from the store's shared object: admission changes nothing below the root.
    const old = await this.readForWrite(this.key(type, namespace, name), (o) => o?.metadata.resourceVersion === rv, opts.shared);
    if (!old) throw notFound(type.plural, type.group, name);
    if (old.metadata.resourceVersion !== rv) throw conflict(type.plural, type.group, name);
    return this.write(type, old, next.toWrite(old), { ...opts, expectedRv: rv }, version);
  }

  async patch(type: ResourceType, namespace: string, name: string, patchType: PatchType, patch: unknown, opts: PatchOptions = {}): Promise<WriteResult> {
    const version = opts.version ?? preferredVersion(type);
    if (patchType === 'strategic' && !type.patchStrategies) {
      throw new ApiError(
        415,
        'UnsupportedMediaType',
        'the body of the request was in an unknown format - accepted media types include: application/json-patch+json, application/merge-patch+json, application/apply-patch+yaml',
      );
    }
    if (patchType === 'apply') return this.apply(type, namespace, name, patch, opts, version);
    if (opts.force !== undefined) {
      throw invalid('PatchOptions', 'meta.k8s.io', '', [cause('FieldValueForbidden', 'force', 'Forbidden: may not be specified for non-apply patch')]);
    }
    // Retries on conflict like the apiserver's GuaranteedUpdate, unless the patch pins a resourceVersion.
    for (let attempt = 0; ; attempt++) {
      // After a conflict, the latest: the cached version was behind.
      const old = attempt
        ? await this.store.get(this.key(type, namespace, name))
        : await this.readForWrite(this.key(type, namespace, name), (o) => o !== undefined, opts.shared);
      if (!old) throw notFound(type.plural, type.group, name);
      // A merge patch copies what it changes, and nothing below the root of its result is changed after (decode
      // copies it, or, for a shared write, admission replaces rather than changes): `old` needs no deep copy for it.
      const current = this.present(type, patchType === 'json' ? cloneJson(old) : { ...old }, version);
      let patched: unknown;
      if (patchType === 'merge' || patchType === 'strategic') {
        if (!isPlainObject(patch)) throw badRequest(`a ${patchType === 'merge' ? 'merge' : 'strategic merge'} patch must be a JSON object`);
        patched = patchType === 'merge' ? applyMergePatch(current, patch) : applyStrategicMergePatch(current, patch, type.patchStrategies ?? {});
      } else {
        if (!Array.isArray(patch)) throw badRequest('a JSON patch must be an array of operations');
        patched = cloneJson(current);
        let results;
        try {
          results = applyPatch(patched, patch);
        } catch (err) {
          throw badRequest(`invalid JSON patch: ${errorMessage(err)}`, { cause: err });
        }
        const failed = results.find((r) => r !== null);
        if (failed) throw invalid(type.kind, type.group, name, [cause('FieldValueInvalid', '', `JSON patch failed: ${failed.name}: ${failed.message}`)]);
      }
      const next = this.strategy.decodeForWrite(type, patched, namespace, version, opts.subresource, opts.shared ? 'shared' : 'copy').toWrite(old);
      if (next.metadata.name !== name) throw badRequest('a patch may not change metadata.name');
      const pinned = next.metadata.resourceVersion !== old.metadata.resourceVersion ? next.metadata.resourceVersion : undefined;
      if (pinned !== undefined) throw conflict(type.plural, type.group, name);
      try {
        return await this.write(type, old, next, { ...opts, expectedRv: old.metadata.resourceVersion }, version);
      } catch (err) {
        if (attempt < 5 && isApiError(err, 'Conflict')) continue;
        throw err;
      }
    }
  }

  private async apply(type: ResourceType, namespace: string, name: string, patch: unknown, opts: PatchOptions, version: string): Promise<WriteResult> {
    if (!opts.fieldManager) {
      throw invalid('PatchOptions', 'meta.k8s.io', '', [cause('FieldValueRequired', 'fieldManager', 'Required value: is required for apply patch')]);
    }
    const applied = this.strategy.decode(type, patch, namespace, version);
    if (applied.metadata.name !== undefined && applied.metadata.name !== name) {
      throw badRequest(`the name of the object (${applied.metadata.name}) does not match the name on the URL (${name})`);
    }
    applied.metadata.name = name;
    const schema = type.schemas[version] ?? type.schemas[preferredVersion(type)];
    const warnings: string[] = [];
    if (schema) {
      const unknown = prune(schema, applied);
      if (unknown.length && opts.fieldValidation === 'Strict') {
        throw badRequest(
          `${type.kind} in version "${version}" cannot be handled as a ${type.kind}: strict decoding error: ${unknown.map((u) => `unknown field "${u}"`).join(', ')}`,
        );
      }
      if (opts.fieldValidation !== 'Ignore') for (const u of unknown) warnings.push(`unknown field "${u}"`);
    }
    for (let attempt = 0; ; attempt++) {
      const old = await this.store.get(this.key(type, namespace, name));
      const live = old ? this.present(type, cloneJson(old), version) : undefined;
      if (live && opts.subresource !== 'status' && type.statusSubresource) delete applied.status;
      const { object, conflicts } = serverSideApply(
        live,
        applied,
        opts.fieldManager,
        opts.force === true,
        apiVersionOf(type, version),
        this.timestamp(),
        atomicMaps(type, version),
      );
      if (conflicts.length) {
        const summary = conflicts.map((c) => c.message).join('\n- ');
        throw new ApiError(
          409,
          'Conflict',
          `Apply failed with ${conflicts.length} conflict${conflicts.length > 1 ? 's' : ''}: ${conflicts.length > 1 ? '\n- ' : ''}${summary}`,
          {
            name,
            group: type.group,
            kind: type.plural,
            causes: conflicts,
          },
        );
      }
      if (!old) {
        // One write: the object is created with the ownership apply computed (no second, spurious MODIFIED event).
        try {
          const created = await this.create(type, namespace, object, { ...opts, fieldManager: undefined, version });
          return { ...created, warnings: [...warnings, ...created.warnings] };
        } catch (err) {
          if (attempt < 5 && isApiError(err, 'AlreadyExists')) continue; // created meanwhile: apply to it
          throw err;
        }
      }
      try {
        const result = await this.write(type, old, object, { ...opts, expectedRv: old.metadata.resourceVersion, managedFieldsSet: true }, version);
        return { ...result, warnings: [...warnings, ...result.warnings] };
      } catch (err) {
        if (attempt < 5 && isApiError(err, 'Conflict') && !err.details?.causes) continue;
        throw err;
      }
    }
  }

  /**
   * Deletes (or, with finalizers, marks for deletion). Like the apiserver's GuaranteedUpdate, a write that lands between
   * reading the object and committing is not the caller's conflict: the delete is tried again on the fresh object
   * (preconditions are checked each time, so a caller who pinned a uid or resourceVersion still gets 409).
   */
  async delete(type: ResourceType, namespace: string, name: string, opts: DeleteOptions = {}): Promise<DeleteResult> {
    for (let attempt = 0; ; attempt++) {
      try {
        return await this.deleteOnce(type, namespace, name, opts, attempt > 0);
      } catch (err) {
        if (attempt < 10 && err instanceof StaleRead) continue;
        if (err instanceof StaleRead) throw err.conflict;
        throw err;
      }
    }
  }

  /** One try; `latest` after a conflict (the cached version was behind). */
  private async deleteOnce(type: ResourceType, namespace: string, name: string, opts: DeleteOptions, latest: boolean): Promise<DeleteResult> {
    const key = this.key(type, namespace, name);
    const pre = opts.preconditions;
    const old = latest
      ? await this.store.get(key)
      : await this.readForWrite(
          key,
          (o) => o !== undefined && (!pre?.uid || pre.uid === o.metadata.uid) && (!pre?.resourceVersion || pre.resourceVersion === o.metadata.resourceVersion),
        );
    if (!old) throw notFound(type.plural, type.group, name);
    if (pre?.uid && pre.uid !== old.metadata.uid) {
      throw conflict(type.plural, type.group, name, `Precondition failed: UID in precondition: ${pre.uid}, UID in object meta: ${old.metadata.uid}`);
    }
    if (pre?.resourceVersion && pre.resourceVersion !== old.metadata.resourceVersion) {
      throw conflict(
        type.plural,
        type.group,
        name,
        `Precondition failed: ResourceVersion in precondition: ${pre.resourceVersion}, ResourceVersion in object meta: ${old.metadata.resourceVersion}`,
      );
    }
    const commit = async (op: Parameters<ObjectService['commit']>[2][number]): Promise<StoredObject> => {
      try {
        const [result] = await this.commit(type, name, [op]);
        return only(result);
      } catch (err) {
        if (isApiError(err, 'Conflict')) throw new StaleRead(err);
        throw err;
      }
    };
    const policy = opts.propagationPolicy;
    const held = policy === 'Orphan' ? FINALIZER_ORPHAN : policy === 'Foreground' ? FINALIZER_FOREGROUND : undefined;
    const finalizers = [...(old.metadata.finalizers ?? [])];
    if (held && !old.metadata.deletionTimestamp && !finalizers.includes(held)) finalizers.push(held);
    // A Namespace is emptied by the namespace controller before it goes (level-based: a crash half-way resumes).
    if (isNamespace(type) && !old.metadata.deletionTimestamp && !finalizers.includes(FINALIZER_NAMESPACE)) finalizers.push(FINALIZER_NAMESPACE);
    if (finalizers.length > 0) {
      if (old.metadata.deletionTimestamp) return { object: this.present(type, old), deleted: false };
      const marked: KubeObject = {
        ...old,
        metadata: { ...old.metadata, finalizers, deletionTimestamp: this.timestamp(), deletionGracePeriodSeconds: 0 },
        ...(isNamespace(type) ? { status: { ...(isPlainObject(old.status) ? old.status : {}), phase: 'Terminating' } } : {}),
      };
      if (opts.dryRun) return { object: this.present(type, marked), deleted: false };
      const stored = await commit({ op: 'update', key, object: marked, expectedRv: old.metadata.resourceVersion });
      return { object: this.present(type, stored), deleted: false };
    }
    if (opts.dryRun) return { object: this.present(type, old), deleted: true };
    const gone = await commit({ op: 'delete', key, expectedRv: old.metadata.resourceVersion });
    return { object: this.present(type, gone), deleted: true };
  }
}

/** The object changed between read and commit: the operation is tried again on the fresh object. */
class StaleRead extends Error {
  readonly conflict: Error;
  constructor(conflict: Error) {
    super(conflict.message, { cause: conflict });
    this.conflict = conflict;
  }
}
