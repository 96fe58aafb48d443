/**
 * Kubernetes' garbage collector over ownerReferences: an object all of whose owners are gone (no object of that
 * kind and name with that uid) is deleted; references to owners that are gone are dropped when others remain. A
 * delete with `propagationPolicy: Foreground` holds the owner (finalizer `foregroundDeletion`) until its dependents
 * are gone; `Orphan` (finalizer `orphan`) until they no longer name it. Level-based: the index of who owns what is
 * rebuilt from watches, and every decision re-reads the objects it acts on.
 */
import type { Logger } from 'pino';
import { parseApiVersion, type StoredObject, type OwnerReference } from '../../api/types.ts';
import type { Client, ObjectRef } from '../../client/Client.ts';
import type { ReconcileResult } from '../../controller/Controller.ts';
import { FINALIZER_FOREGROUND, FINALIZER_ORPHAN } from '../../registry/ObjectService.ts';
import type { Registry } from '../../registry/Registry.ts';
import { apiVersionOf, type ResourceType } from '../../registry/ResourceType.ts';
import { KindsController } from '../shared/KindsController.ts';
import { LiveObjects } from './LiveObjects.ts';
import { OwnerIndex } from './OwnerIndex.ts';

export interface GarbageCollectorOptions {
  client: Client;
  registry: Registry;
  logger: Logger;
}

function refOf(o: StoredObject): ObjectRef {
  return { apiVersion: o.apiVersion, kind: o.kind, name: o.metadata.name, ...(o.metadata.namespace ? { namespace: o.metadata.namespace } : {}) };
}

const keyOf = (r: ObjectRef): string => JSON.stringify([r.apiVersion, r.kind, r.namespace ?? '', r.name]);

/** What an owner reference must match of the object it names: its group, kind, namespace and name. */
const identityOf = (group: string, kind: string, namespace: string, name: string): string => `${group}|${kind}|${namespace}|${name}`;

/** How many objects' uids the collector keeps as known to exist (see LiveObjects): a few MiB. */
const LIVE_CAPACITY = 16_384;

/** The reference a `keyOf` key was made from. */
function refFromKey(key: string): ObjectRef {
  const parts: unknown = JSON.parse(key);
  if (!Array.isArray(parts) || parts.length !== 4 || !parts.every((p) => typeof p === 'string')) throw new Error(`not an object key: ${key}`);
  const [apiVersion = '', kind = '', namespace = '', name = ''] = parts;
  return { apiVersion, kind, name, ...(namespace ? { namespace } : {}) };
}

export class GarbageCollector {
  private readonly opts: GarbageCollectorOptions;
  private readonly runner: KindsController;
  /** Who names whom as owner (object keys and owner uids). */
  private readonly index = new OwnerIndex();
  /** Objects known to exist: a new dependent whose owners all are is not read (two reads and a reconcile per new request). */
  private readonly live = new LiveObjects({ capacity: LIVE_CAPACITY });

  constructor(options: GarbageCollectorOptions) {
    this.opts = options;
    this.runner = new KindsController({
      name: 'garbage-collector',
      client: options.client,
      registry: options.registry,
      logger: options.logger,
      concurrency: 2,
      kinds: (t) => !t.createOnly,
      reconciler: { reconcile: (key) => this.reconcile(key) },
      onEvent: (_type, e, enqueue) => this.observe(e.type, e.object, enqueue),
    });
  }

  start(): Promise<void> {
    return this.runner.start();
  }

  stop(): Promise<void> {
    return this.runner.stop();
  }

  private observe(event: 'ADDED' | 'MODIFIED' | 'DELETED', obj: StoredObject, enqueue: (key: string) => void): void {
    const uid = obj.metadata.uid ?? '';
    const owners = obj.metadata.ownerReferences ?? [];
    if (event === 'DELETED') {
      // Whose owners may be gone: its dependents.
      this.index.set(keyOf(refOf(obj)), []);
      this.live.gone(uid);
      for (const d of this.index.dependentsOf(uid)) enqueue(`dependent ${d}`);
      this.index.forget(uid);
      return;
    }
    // Most objects name no owner, and every write of every kind comes here: their key is not even made. (One whose
    // owners were all removed stays in the index until it goes; its former owner's going then finds nothing to do.)
    if (owners.length) {
      const key = keyOf(refOf(obj));
      const uids = owners.map((r) => r.uid);
      this.index.set(key, uids);
      // A new dependent whose owners may be gone is checked once, as it appears.
      if (event === 'ADDED' && !this.ownersLive(obj)) enqueue(`dependent ${key}`);
    }
    if (uid) this.live.seen(uid, () => identityOf(parseApiVersion(obj.apiVersion).group, obj.kind, obj.metadata.namespace ?? '', obj.metadata.name));
    const finalizers = obj.metadata.finalizers ?? [];
    if (obj.metadata.deletionTimestamp && (finalizers.includes(FINALIZER_ORPHAN) || finalizers.includes(FINALIZER_FOREGROUND))) {
      enqueue(`owner ${keyOf(refOf(obj))}`);
    }
  }

  /** Whether every owner `obj` names is known to exist, as named (a namespaced owner in the dependent's namespace). */
  private ownersLive(obj: StoredObject): boolean {
    return (obj.metadata.ownerReferences ?? []).every((owner) => {
      const type = this.typeOf(owner.apiVersion, owner.kind);
      const namespace = type?.namespaced ? (obj.metadata.namespace ?? '') : '';
      return type !== undefined && this.live.has(owner.uid, identityOf(type.group, type.kind, namespace, owner.name));
    });
  }

  private async reconcile(work: string): Promise<ReconcileResult | void> {
    const space = work.indexOf(' ');
    const ref = refFromKey(work.slice(space + 1));
    if (work.startsWith('dependent ')) return this.collect(ref);
    return this.release(ref);
  }

  private typeOf(apiVersion: string, kind: string): ResourceType | undefined {
    const { group } = parseApiVersion(apiVersion);
    return this.opts.registry.byKind(group, kind);
  }

  /** Whether the owner a reference names still exists (same uid). */
  private async ownerExists(owner: OwnerReference, dependentNamespace: string | undefined): Promise<boolean> {
    const type = this.typeOf(owner.apiVersion, owner.kind);
    if (!type) return false;
    // Only its uid is looked at: the store's shared copy.
    const found = await this.opts.client.get(
      {
        apiVersion: apiVersionOf(type),
        kind: type.kind,
        name: owner.name,
        ...(type.namespaced && dependentNamespace ? { namespace: dependentNamespace } : {}),
      },
      { shared: true },
    );
    return found?.metadata.uid === owner.uid;
  }

  /** Deletes an object whose owners are all gone; drops references to the gone ones otherwise. */
  private async collect(ref: ObjectRef): Promise<void> {
    const { client } = this.opts;
    // Read, and written from only as a new object (a spread): the store's shared copy.
    const obj = await client.get(ref, { shared: true });
    const refs = obj?.metadata.ownerReferences ?? [];
    if (!obj || !refs.length || obj.metadata.deletionTimestamp) return;
    const alive: OwnerReference[] = [];
    for (const o of refs) if (await this.ownerExists(o, ref.namespace)) alive.push(o);
    if (alive.length === refs.length) return;
    if (alive.length === 0) {
      await client.delete(ref);
      this.opts.logger.info({ object: ref }, 'deleted: its owners are gone');
    } else {
      await client.update({ ...obj, metadata: { ...obj.metadata, ownerReferences: alive } });
    }
  }

  /** An owner deleted with Foreground or Orphan: its dependents go (or are let go) before its finalizer does. */
  private async release(ref: ObjectRef): Promise<ReconcileResult | void> {
    const { client } = this.opts;
    const owner = await client.get(ref);
    if (!owner?.metadata.deletionTimestamp) return;
    const uid = owner.metadata.uid;
    const finalizers = owner.metadata.finalizers ?? [];
    const dependents = this.index.dependentsOf(uid).map(refFromKey);
    let remaining = 0;
    for (const d of dependents) {
      const dep = await client.get(d);
      if (!dep || !(dep.metadata.ownerReferences ?? []).some((r) => r.uid === uid)) continue;
      if (finalizers.includes(FINALIZER_ORPHAN)) {
        const { ownerReferences, ...metadata } = dep.metadata;
        const rest = (ownerReferences ?? []).filter((r) => r.uid !== uid);
        await client.update({ ...dep, metadata: rest.length ? { ...metadata, ownerReferences: rest } : metadata });
      } else {
        await client.delete(d);
        remaining++;
      }
    }
    // Foreground waits for its dependents to be gone (their deletions come back here through the watch).
    if (remaining > 0) return { requeueAfter: 500 };
    const left = finalizers.filter((f) => f !== FINALIZER_ORPHAN && f !== FINALIZER_FOREGROUND);
    await client.update({ ...owner, metadata: { ...owner.metadata, finalizers: left } });
  }
}
