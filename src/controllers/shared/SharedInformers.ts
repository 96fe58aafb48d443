/**
 * One watch per kind for all controllers, as client-go's shared informers: the first watch of a kind (all
 * namespaces) starts it and keeps a cache of every object; later watchers get a synthetic ADDED per cached object,
 * then the same events as everyone. The last watcher to stop ends it and drops the cache (a Promise's kind that goes
 * away is not kept). Reads and writes pass straight through: controllers use this as their Client.
 *
 * Objects are shared between watchers: handlers treat them as read-only (they copy before changing).
 */
import type { StoredObject } from '../../api/types.ts';
import type { Client, ClientListOptions, ClientWatchEvent, ObjectRef } from '../../client/Client.ts';
import { StringInterner } from '../../lib/StringInterner.ts';

type Handler = (event: ClientWatchEvent) => void;

interface Informer {
  /** namespace/name → object, as the last event left it. */
  readonly cache: Map<string, StoredObject>;
  readonly handlers: Set<Handler>;
  /** Settles once every existing object is in the cache (the underlying watch has listed them). */
  readonly synced: Promise<void>;
  stop(): void;
}

const keyOf = (o: StoredObject): string => `${o.metadata.namespace ?? ''}/${o.metadata.name}`;

/**
 * The cache keeps objects without their managed fields, as controller-runtime's caches are usually told to: no
 * controller reads them, an update that omits them keeps the stored ones, and they are a third of a resource's
 * size — at 100,000 resources, hundreds of megabytes. A copy of the top level: the event's object may be shared
 * with other watchers.
 */
function withoutManagedFields(o: StoredObject): StoredObject {
  if (o.metadata.managedFields === undefined) return o;
  const { managedFields: _dropped, ...metadata } = o.metadata;
  return { ...o, metadata };
}

export class SharedInformers implements Client {
  private readonly client: Client;
  private readonly informers = new Map<string, Informer>();
  /** Cached objects share their short string values (a fleet's caches repeat them per object). */
  private readonly strings = new StringInterner();

  constructor(options: { client: Client }) {
    this.client = options.client;
  }

  get(ref: ObjectRef): Promise<StoredObject | undefined> {
    return this.client.get(ref);
  }
  list(apiVersion: string, kind: string, options?: ClientListOptions): Promise<StoredObject[]> {
    return this.client.list(apiVersion, kind, options);
  }
  create(...args: Parameters<Client['create']>): Promise<StoredObject> {
    return this.client.create(...args);
  }
  update(object: Parameters<Client['update']>[0]): Promise<StoredObject> {
    return this.client.update(object);
  }
  updateStatus(object: Parameters<Client['updateStatus']>[0]): Promise<StoredObject> {
    return this.client.updateStatus(object);
  }
  mergePatch(ref: ObjectRef, patch: Record<string, unknown>, subresource?: 'status'): Promise<StoredObject> {
    return this.client.mergePatch(ref, patch, subresource);
  }
  apply(object: Parameters<Client['apply']>[0], fieldManager: string, force?: boolean): Promise<StoredObject> {
    return this.client.apply(object, fieldManager, force);
  }
  delete(ref: ObjectRef): Promise<void> {
    return this.client.delete(ref);
  }

  /** The cached objects of a kind being watched (undefined when nobody watches it). */
  cached(apiVersion: string, kind: string): StoredObject[] | undefined {
    const informer = this.informers.get(`${apiVersion}|${kind}`);
    return informer && [...informer.cache.values()];
  }

  async watch(apiVersion: string, kind: string, options: { namespace?: string }, onEvent: Handler): Promise<{ stop(): void }> {
    // A namespace's watch is rare and small: it is not shared.
    if (options.namespace !== undefined) return this.client.watch(apiVersion, kind, options, onEvent);
    const id = `${apiVersion}|${kind}`;
    let informer = this.informers.get(id);
    if (!informer) {
      informer = this.start(apiVersion, kind);
      this.informers.set(id, informer);
    }
    try {
      await informer.synced;
    } catch (err) {
      if (this.informers.get(id) === informer) this.informers.delete(id);
      throw err;
    }
    // Replay and join in one synchronous step: no event can fall between them.
    for (const object of informer.cache.values()) onEvent({ type: 'ADDED', object });
    informer.handlers.add(onEvent);
    const joined = informer;
    return {
      stop: () => {
        joined.handlers.delete(onEvent);
        if (joined.handlers.size === 0 && this.informers.get(id) === joined) {
          this.informers.delete(id);
          joined.stop();
        }
      },
    };
  }

  private start(apiVersion: string, kind: string): Informer {
    const cache = new Map<string, StoredObject>();
    const handlers = new Set<Handler>();
    let handle: { stop(): void } | undefined;
    let stopped = false;
    const synced = this.client
      .watch(apiVersion, kind, {}, (delivered) => {
        const event = { type: delivered.type, object: withoutManagedFields(delivered.object) };
        if (event.type !== 'DELETED') this.strings.internAll(event.object);
        if (event.type === 'DELETED') cache.delete(keyOf(event.object));
        else cache.set(keyOf(event.object), event.object);
        // One watcher's failure does not keep the event from the others; it still surfaces, as it would unshared.
        let failure: unknown;
        for (const h of handlers) {
          try {
            h(event);
          } catch (err) {
            failure ??= err;
          }
        }
        if (failure !== undefined) throw failure;
      })
      .then((h) => {
        handle = h;
        if (stopped) h.stop();
      });
    return {
      cache,
      handlers,
      synced,
      stop: () => {
        stopped = true;
        handle?.stop();
        cache.clear();
      },
    };
  }
}
