/**
 * The one client interface controllers use. Objects are addressed by apiVersion/kind; every write goes through
 * the same rules as an API request (validation, conflicts, finalizers).
 */
import { isApiError } from '../api/errors.ts';
import type { KubeObject, StoredObject } from '../api/types.ts';

export interface ObjectRef {
  apiVersion: string;
  kind: string;
  namespace?: string;
  name: string;
}

export interface ClientListOptions {
  namespace?: string;
  labelSelector?: string;
}

/**
 * `shared`: the caller only reads the object (it never changes it, in place or through what it hands on to
 * anything but a write of this client, which copies what it is given): the answer may be the copy the store's read
 * cache and watchers share rather than a copy of the caller's own. A client may ignore it.
 */
export interface ClientGetOptions {
  shared?: boolean;
}

/**
 * `shared`: the caller only reads the answer of the write, or ignores it (and, as always, leaves what it gave alone
 * after the call): the answer may be the object the store's read cache and watchers share rather than a copy of the
 * caller's own. A client may ignore it.
 */
export interface ClientWriteOptions {
  shared?: boolean;
  /** The object is not read again soon (a finished run): a cache of the client's may leave it out. A client may ignore it. */
  uncached?: boolean;
}

export interface ClientWatchEvent {
  type: 'ADDED' | 'MODIFIED' | 'DELETED';
  object: StoredObject;
}

export interface Client {
  get(ref: ObjectRef, options?: ClientGetOptions): Promise<StoredObject | undefined>;
  list(apiVersion: string, kind: string, options?: ClientListOptions): Promise<StoredObject[]>;
  /**
   * Creates; with `dryRun` the object is decoded, defaulted and validated as a create would be, and not stored;
   * `withStatus` keeps the object's status (WriteOptions.withStatus).
   */
  create(object: KubeObject, options?: ClientWriteOptions & { dryRun?: boolean; withStatus?: boolean }): Promise<StoredObject>;
  /** Full update; `object.metadata.resourceVersion` must be current (409 otherwise). */
  update(object: KubeObject, options?: ClientWriteOptions): Promise<StoredObject>;
  /** Writes `.status` only (status subresource). */
  updateStatus(object: KubeObject, options?: ClientWriteOptions): Promise<StoredObject>;
  /** RFC 7396 merge patch of the object or its status. */
  mergePatch(ref: ObjectRef, patch: Record<string, unknown>, subresource?: 'status', options?: ClientWriteOptions): Promise<StoredObject>;
  /** Server-side apply by `fieldManager`; creates when missing. */
  apply(object: KubeObject, fieldManager: string, force?: boolean): Promise<StoredObject>;
  /** Deletes (or marks for deletion while finalizers remain). Missing objects are not an error. */
  delete(ref: ObjectRef): Promise<void>;
  /** Lists then watches; `onEvent` gets a synthetic ADDED per existing object first. */
  watch(apiVersion: string, kind: string, options: { namespace?: string }, onEvent: (event: ClientWatchEvent) => void): Promise<{ stop(): void }>;
}

export function refOf(obj: KubeObject): ObjectRef {
  const ref: ObjectRef = { apiVersion: obj.apiVersion, kind: obj.kind, name: obj.metadata.name ?? '' };
  if (obj.metadata.namespace) ref.namespace = obj.metadata.namespace;
  return ref;
}

/**
 * Creates `object`, or answers undefined when one of its name exists already (AlreadyExists): for a writer that
 * believes the object new and creates it without reading first, and reads what exists when it was wrong.
 */
export async function createUnlessExists(client: Client, object: KubeObject, options?: ClientWriteOptions): Promise<StoredObject | undefined> {
  try {
    return await client.create(object, options);
  } catch (err) {
    if (isApiError(err, 'AlreadyExists')) return undefined;
    throw err;
  }
}
