/**
 * What a write does to one object, the same in every Store: create refuses an existing key and stamps uid and
 * creationTimestamp; update and delete refuse a missing key or a stale expectedRv and keep uid and
 * creationTimestamp; every change gets the new resourceVersion; a stored object over MAX_OBJECT_BYTES is refused.
 * The stores differ only in how they read the existing row and write the result.
 */
import type { Context } from '../telemetry/tracing.ts';
import { storeMetrics } from '../telemetry/metrics.ts';
import { alreadyExists, conflict, notFound } from '../api/errors.ts';
import { rfc3339Seconds } from '../api/time.ts';
import type { KubeObject, StoredObject } from '../api/types.ts';
import type { RowIdentity } from './TextCache.ts';
import { MAX_OBJECT_BYTES, objectTooLarge, type CheckOp, type ObjectKey, type StoreEvent, type TypeKey, type WriteOp } from './Store.ts';

/** The row a write finds: its identity, and (for a delete, which stores it as last seen) the whole object. */
export interface ExistingRow {
  resourceVersion: string;
  uid: string;
  creationTimestamp: string;
  object(): StoredObject;
}

export interface Stamp {
  now: () => Date;
  newUid: () => string;
}

/** Kind-agnostic "plural" used only in store error messages, which the registry rewrites with real names. */
export function resourceName(key: TypeKey): string {
  return key.kind.toLowerCase();
}

/** The row a write finds, from its identity as known without its text; `object` reads the whole object if needed. */
export function existingRow(identity: RowIdentity, object: () => StoredObject): ExistingRow {
  return { resourceVersion: String(identity.rv), uid: identity.uid, creationTimestamp: identity.creationTimestamp, object };
}

export function rowOf(object: StoredObject): ExistingRow {
  return {
    resourceVersion: object.metadata.resourceVersion,
    uid: object.metadata.uid,
    creationTimestamp: object.metadata.creationTimestamp,
    object: () => object,
  };
}

/**
 * The event a write makes at `rv`, the stored text and the object it was made from (sharing members with the
 * caller's: to be copied, not handed on); throws the Kubernetes error that refuses it.
 */
export function stampWrite(
  op: Exclude<WriteOp, CheckOp>,
  existing: ExistingRow | undefined,
  rv: number,
  stamp: Stamp,
): { type: StoreEvent['type']; data: string; stored: KubeObject } {
  const { key } = op;
  let stored: KubeObject;
  let type: StoreEvent['type'];
  if (op.op === 'delete') {
    if (!existing) throw notFound(resourceName(key), key.group, key.name);
    if (op.expectedRv !== undefined && op.expectedRv !== existing.resourceVersion) throw conflict(resourceName(key), key.group, key.name);
    const last = existing.object();
    stored = { ...last, metadata: { ...last.metadata, resourceVersion: String(rv) } };
    type = 'DELETED';
  } else {
    const metadata = { ...op.object.metadata, name: key.name, resourceVersion: String(rv) };
    if (op.op === 'create') {
      if (existing) throw alreadyExists(resourceName(key), key.group, key.name);
      Object.assign(metadata, { uid: stamp.newUid(), creationTimestamp: rfc3339Seconds(stamp.now()) });
      type = 'ADDED';
    } else {
      if (!existing) throw notFound(resourceName(key), key.group, key.name);
      if (op.expectedRv !== undefined && op.expectedRv !== existing.resourceVersion) throw conflict(resourceName(key), key.group, key.name);
      Object.assign(metadata, { uid: existing.uid, creationTimestamp: existing.creationTimestamp });
      type = 'MODIFIED';
    }
    if (key.namespace) metadata.namespace = key.namespace;
    stored = { ...op.object, metadata };
  }
  const data = JSON.stringify(stored);
  // Characters, not bytes: close enough for a limit, and free (the JSON is made for the row anyway).
  if (type !== 'DELETED' && data.length > MAX_OBJECT_BYTES) throw objectTooLarge(key, data.length);
  return { type, data, stored };
}

/**
 * The problems of one stored row (checkIntegrity): its text, name, version and uid against its key, the store's rv,
 * and the uid the row keeps beside its text, if it does.
 */
export function rowProblems(key: ObjectKey, rv: number, data: string, storeRv: number, uid?: string): string[] {
  const where = `${key.group}/${key.kind} ${key.namespace}/${key.name}`;
  let obj: KubeObject;
  try {
    obj = JSON.parse(data);
  } catch {
    return [`${where}: data is not JSON`];
  }
  const problems: string[] = [];
  if (obj.metadata?.name !== key.name) problems.push(`${where}: metadata.name is ${obj.metadata?.name}`);
  if (obj.metadata?.resourceVersion !== String(rv)) problems.push(`${where}: resourceVersion mismatch`);
  if (rv > storeRv) problems.push(`${where}: rv ${rv} beyond store rv ${storeRv}`);
  if (!obj.metadata?.uid) problems.push(`${where}: no uid`);
  else if (uid !== undefined && obj.metadata.uid !== uid) problems.push(`${where}: uid ${obj.metadata.uid} in its text, ${uid} in its row`);
  return problems;
}

/** A commit waiting for the store's next transaction. */
export interface PendingCommit {
  ops: WriteOp[];
  /** CommitOptions.shared: the writer gets the objects its watchers get. */
  shared: boolean;
  /** CommitOptions.uncached: the read cache keeps none of its texts. */
  uncached: boolean;
  /** The trace context the commit was asked for in (tracing on): its events reach watchers inside it. */
  cause?: Context | undefined;
  resolve(objects: StoredObject[]): void;
  reject(err: unknown): void;
}

/** One change a transaction made, with the stored text (parsed once per receiver). */
export interface CommittedEvent {
  type: StoreEvent['type'];
  rv: number;
  key: ObjectKey;
  data: string;
  /**
   * The object `data` was made from (it shares members with its writer's objects, which are the store's until the
   * commit settles): a copy of it is what parsing `data` gives, at a third of the cost.
   */
  stored: KubeObject;
  cause?: Context | undefined;
}

const EVENT_TYPES: readonly StoreEvent['type'][] = ['ADDED', 'MODIFIED', 'DELETED'];

/** A change-log row's type; anything else means the log was changed by hand. */
export function eventTypeOf(value: unknown): StoreEvent['type'] {
  const t = EVENT_TYPES.find((e) => e === value);
  if (!t) throw new Error(`the store's change log holds an unknown event type ${String(value)}`);
  return t;
}

const COMMIT_SECONDS = storeMetrics.commitDuration.with();
const COMMITS = storeMetrics.commits.with();

/** Counts a store transaction that committed, timed from `startedMs` (performance.now()). */
export function countCommit(startedMs: number): void {
  COMMIT_SECONDS.observe((performance.now() - startedMs) / 1000);
  COMMITS.inc();
}
