/**
 * The persistence boundary. A Store keeps objects keyed by group/kind/namespace/name, stamps every write with one
 * global increasing resourceVersion, enforces optimistic concurrency, and keeps a change log that watches resume
 * from. It knows nothing of kinds' rules (defaulting, validation, generation bumps): that is the registry's job.
 *
 * Implementations: SqliteStore (embedded default), PostgresStore (several replicas on one database). Every
 * implementation must pass `runStoreConformance`.
 */
import type { KubeObject, StoredObject } from '../api/types.ts';
import { ApiError } from '../api/errors.ts';

export interface TypeKey {
  group: string;
  kind: string;
}

export interface ObjectKey extends TypeKey {
  /** '' for cluster-scoped objects. */
  namespace: string;
  name: string;
}

export type StoreEventType = 'ADDED' | 'MODIFIED' | 'DELETED';

export interface StoreEvent {
  type: StoreEventType;
  /** The resourceVersion this change was written at. */
  rv: number;
  key: ObjectKey;
  /** The object after the change (for DELETED: its last state, stamped with the deletion's rv). */
  object: StoredObject;
}

export interface StoredEntry {
  key: ObjectKey;
  object: StoredObject;
}

export interface ListOptions {
  /** Restrict to one namespace; undefined lists all. */
  namespace?: string;
  /** Restrict to objects of this name (a field selector `metadata.name=…`: a seek, not a scan of the type). */
  name?: string;
  /** Maximum items to return; 0 or undefined means all. */
  limit?: number;
  /** Resume after this `namespace/name` (from a previous page's `continueAfter`). */
  after?: string;
  /**
   * Only rows whose stored text holds, for each group, one of its strings (a list by label: see labelNeedles). The
   * store's query does the search, so rows that cannot match are neither sent nor copied into JavaScript strings;
   * a prefilter only: the caller still matches the objects it gets. A group of no strings matches no row.
   */
  containing?: readonly (readonly string[])[];
}

export interface ListResult {
  /** The objects, parsed from `texts` when first read (a caller that only forwards the texts parses nothing). */
  readonly items: StoredObject[];
  /** The objects as stored (JSON). */
  texts: string[];
  /** The store's resourceVersion when the list was read (a watch from here misses nothing). */
  resourceVersion: string;
  /** Set when more items remain: pass it back as `after`. */
  continueAfter?: string;
}

export type WriteOp =
  | { op: 'create'; key: ObjectKey; object: KubeObject }
  | { op: 'update'; key: ObjectKey; object: KubeObject; expectedRv?: string }
  | { op: 'delete'; key: ObjectKey; expectedRv?: string }
  | CheckOp;

/**
 * A precondition on another object, checked inside the commit's transaction (so nothing can change it in between):
 * when `accept` says no, the whole commit is refused with `refusal`. Writes nothing, takes no resourceVersion, and
 * returns no object. A leader's fencing token is checked this way (ADR 0019).
 */
export interface CheckOp {
  op: 'check';
  key: ObjectKey;
  /** Only reads the object, and keeps nothing of it: the store may hand it the copy its read cache shares. */
  accept: (object: StoredObject | undefined) => boolean;
  refusal: () => ApiError;
}

export interface WatchOptions {
  /** Only this type; undefined watches every type. */
  type?: TypeKey;
  namespace?: string;
  /** Deliver every change after this resourceVersion first (throws 410 Expired if compacted away). */
  fromRv?: number;
}

export interface WatchHandle {
  stop(): void;
}

export interface GetOptions {
  /**
   * Any version this process has seen since it started, where that saves a round trip (PostgreSQL with replicas:
   * a write of another replica may not have reached this one yet). For reads that a write checks anyway (it carries
   * the version it is based on) and for level-based controllers; unset, a read sees every acknowledged write.
   */
  cached?: boolean;
  /**
   * The caller only reads the object (it never changes it, nor hands it on): the store may answer with the copy its
   * read cache and watchers share instead of a copy of the caller's own. Stores may ignore it.
   */
  shared?: boolean;
}

export interface CommitOptions {
  /**
   * The caller only reads what the commit answers (it never changes it, nor hands it to anyone who might), and never
   * changes the objects it gave, even after: the store may answer with the objects its watchers and read cache share
   * (made of those given) rather than a copy for the caller alone. GetOptions.shared's counterpart for writes.
   */
  shared?: boolean;
  /**
   * What is written is not read again soon (a finished run: its watchers get it, nobody reads it back): the read cache
   * drops the objects' texts rather than keep them, leaving its room to objects that are read again.
   */
  uncached?: boolean;
}

export interface Store {
  get(key: ObjectKey, options?: GetOptions): Promise<StoredObject | undefined>;
  list(type: TypeKey, options?: ListOptions): Promise<ListResult>;
  /**
   * Applies writes atomically, in order: all or none. Create stamps uid, creationTimestamp and
   * resourceVersion (the generation is the registry's: kept as given, or none); update keeps uid/creationTimestamp of the stored object. Throws ApiError
   * AlreadyExists / NotFound / Conflict (stale expectedRv), and RequestEntityTooLarge (413) for an object whose
   * stored form exceeds MAX_OBJECT_BYTES. Returns the stored objects (deleted ones as last seen), for the caller alone:
   * they may share members with the objects it gave. The objects given are the store's until the commit settles (it
   * reads them when its transaction runs, after a turn of the event loop or a round trip to the database): the caller
   * does not change them meanwhile. With `options.shared` see CommitOptions.
   */
  commit(ops: WriteOp[], options?: CommitOptions): Promise<StoredObject[]>;
  /**
   * Subscribes to changes; replays history after `fromRv` first (rejects with 410 Expired when compacted away).
   * Events arrive in resourceVersion order, none skipped or repeated; a process's own commits reach its watchers
   * before the commit resolves. An event's object is shared by every watcher and the store's read cache: read it,
   * never change it (copy it first).
   */
  watch(options: WatchOptions, onEvent: (event: StoreEvent) => void): Promise<WatchHandle>;
  currentRv(): Promise<number>;
  /** Oldest resourceVersion a watch may still resume from. */
  oldestRv(): Promise<number>;
  /** Drops change-log entries so that only the newest `keep` remain. */
  compact(keep: number): Promise<void>;
  /** Verifies the store's own invariants; returns problems found (empty when healthy). */
  checkIntegrity(): Promise<string[]>;
  /** Every object as stored, a page at a time (to copy a store: `fleetops store copy`). */
  dump(): AsyncIterable<StoredEntry[]>;
  /**
   * Loads objects exactly as given (uid, resourceVersion, timestamps kept) into an empty store; call it page by page.
   * The store's resourceVersion becomes the highest loaded, and the change log starts there (older watches get 410).
   */
  load(entries: StoredEntry[]): Promise<void>;
  /** Whether the store can serve now (false while a database is unreachable); absent means always. */
  ready?(): boolean;
  close(): Promise<void>;
}

/**
 * The largest stored object (its JSON): each write is within the body limits, but patches could otherwise grow an
 * object without end (a list extended a little at a time), and every later write and watch would pay for it.
 */
export const MAX_OBJECT_BYTES = 1.5 * 1024 * 1024;

export function objectTooLarge(key: ObjectKey, bytes: number): ApiError {
  return new ApiError(
    413,
    'RequestEntityTooLarge',
    `${key.kind} "${key.name}" would be ${bytes} bytes stored, over the limit of ${MAX_OBJECT_BYTES} bytes: make it smaller (or split it)`,
  );
}

/** Convenience wrappers over `commit` used throughout the codebase. */
export async function createObject(store: Store, key: ObjectKey, object: KubeObject): Promise<StoredObject> {
  return only(await store.commit([{ op: 'create', key, object }]));
}

export async function updateObject(store: Store, key: ObjectKey, object: KubeObject, expectedRv?: string): Promise<StoredObject> {
  const op: WriteOp = expectedRv === undefined ? { op: 'update', key, object } : { op: 'update', key, object, expectedRv };
  return only(await store.commit([op]));
}

export async function deleteObject(store: Store, key: ObjectKey, expectedRv?: string): Promise<StoredObject> {
  const op: WriteOp = expectedRv === undefined ? { op: 'delete', key } : { op: 'delete', key, expectedRv };
  return only(await store.commit([op]));
}

/** The one object a single-op commit returns. */
function only(objects: StoredObject[]): StoredObject {
  const [object] = objects;
  if (!object) throw new Error('the store returned no object for a write');
  return object;
}

export function keyOf(type: TypeKey, namespace: string, name: string): ObjectKey {
  return { group: type.group, kind: type.kind, namespace, name };
}
