/**
 * One watch per kind for all controllers, as client-go's shared informers: the first watch of a kind (all
 * namespaces) starts it; later watchers are brought up to date, then get the same events as everyone. The last
 * watcher to stop ends it. Reads and writes pass straight through: controllers use this as their Client.
 *
 * While the controllers start, each informer keeps a cache of every object, so a late watcher's catch-up is a replay
 * of it. Once they have started (`stopCaching`), the caches go: a fleet's cached objects were the largest part of
 * the heap that grows with the fleet (and what the collector walks again and again), yet served only the few watches
 * that start later — a leader taking over, a Promise's new kind — which now list what exists instead (`CatchUp`).
 *
 * Objects are shared between watchers: handlers treat them as read-only (they copy before changing).
 */
import type { StoredObject } from '../../api/types.ts';
import type { Client, ClientGetOptions, ClientListOptions, ClientWatchEvent, ObjectRef } from '../../client/Client.ts';
import { StringInterner } from '../../lib/StringInterner.ts';

type Handler = (event: ClientWatchEvent) => void;

interface Informer {
  /** namespace/name → object, as the last event left it; only while caching. */
  cache: Map<string, StoredObject> | undefined;
  readonly handlers: Set<Handler>;
  /** Settles once every existing object has been delivered (the underlying watch has listed them). */
  readonly synced: Promise<void>;
  /** What the first watcher threw while the existing objects were delivered to it (it is then not joined). */
  firstFailure?: unknown;
  stop(): void;
}

const keyOf = (o: StoredObject): string => `${o.metadata.namespace ?? ''}/${o.metadata.name}`;
const versionOf = (o: StoredObject): number => Number(o.metadata.resourceVersion ?? 0);

/**
 * The cache keeps objects without their managed fields, as controller-runtime's caches are usually told to: no
 * controller reads them, an update that omits them keeps the stored ones, and they are a third of a resource's
 * size. A copy of the top level: the event's object may be shared with other watchers.
 */
function withoutManagedFields(o: StoredObject): StoredObject {
  if (o.metadata.managedFields === undefined) return o;
  const { managedFields: _dropped, ...metadata } = o.metadata;
  return { ...o, metadata };
}

/**
 * A watcher joining a running informer without a cache: it listens from before its list (holding what comes), then
 * gets the list as ADDED and, of what it held and what follows, only changes newer than every listed object. The
 * list reflects every change committed before it, and the informer's events come in commit order, so nothing is lost
 * and nothing older than what was listed is replayed over it. What it may see that an apiserver watch would not: the
 * DELETED of an object gone before the list, or a short-lived object's ADDED and DELETED — both true history.
 */
class CatchUp {
  private held: ClientWatchEvent[] | undefined = [];
  /** Events at or below this version are already in the list. */
  private floor = Infinity;
  private readonly onEvent: Handler;

  constructor(onEvent: Handler) {
    this.onEvent = onEvent;
  }

  readonly handle = (event: ClientWatchEvent): void => {
    if (this.held) this.held.push(event);
    else if (this.floor === 0 || versionOf(event.object) > this.floor) {
      this.floor = 0; // events come in order: every later one is newer still
      this.onEvent(event);
    }
  };

  /** Delivers the list, then what was held past it. */
  listed(objects: StoredObject[]): void {
    const held = this.held ?? [];
    this.held = undefined;
    let floor = 0;
    for (const object of objects) floor = Math.max(floor, versionOf(object));
    this.floor = floor;
    for (const object of objects) this.onEvent({ type: 'ADDED', object });
    for (const event of held) this.handle(event);
  }
}

export class SharedInformers implements Client {
  private readonly client: Client;
  private readonly informers = new Map<string, Informer>();
  /** Cached objects share their short string values (a fleet's caches repeat them per object). */
  private strings: StringInterner | undefined = new StringInterner();

  constructor(options: { client: Client }) {
    this.client = options.client;
  }

  get(ref: ObjectRef, options?: ClientGetOptions): Promise<StoredObject | undefined> {
    return this.client.get(ref, options);
  }
  list(apiVersion: string, kind: string, options?: ClientListOptions): Promise<StoredObject[]> {
    return this.client.list(apiVersion, kind, options);
  }
  create(...args: Parameters<Client['create']>): Promise<StoredObject> {
    return this.client.create(...args);
  }
  update(...args: Parameters<Client['update']>): Promise<StoredObject> {
    return this.client.update(...args);
  }
  updateStatus(...args: Parameters<Client['updateStatus']>): Promise<StoredObject> {
    return this.client.updateStatus(...args);
  }
  mergePatch(...args: Parameters<Client['mergePatch']>): Promise<StoredObject> {
    return this.client.mergePatch(...args);
  }
  apply(object: Parameters<Client['apply']>[0], fieldManager: string, force?: boolean): Promise<StoredObject> {
    return this.client.apply(object, fieldManager, force);
  }
  delete(ref: ObjectRef): Promise<void> {
    return this.client.delete(ref);
  }

  /** Whether the informer of a kind still keeps a cache (undefined when nobody watches the kind). */
  caching(apiVersion: string, kind: string): boolean | undefined {
    const informer = this.informers.get(`${apiVersion}|${kind}`);
    return informer && informer.cache !== undefined;
  }

  /** The controllers have started: the caches go, and no informer keeps one from now on. */
  stopCaching(): void {
    this.strings = undefined;
    for (const informer of this.informers.values()) informer.cache = undefined;
  }

  async watch(apiVersion: string, kind: string, options: { namespace?: string }, onEvent: Handler): Promise<{ stop(): void }> {
    // A namespace's watch is rare and small: it is not shared.
    if (options.namespace !== undefined) return this.client.watch(apiVersion, kind, options, onEvent);
    const id = `${apiVersion}|${kind}`;
    const existing = this.informers.get(id);
    const informer = existing ?? this.start(apiVersion, kind, onEvent);
    if (!existing) this.informers.set(id, informer);
    let handler = onEvent;
    const leave = (): void => {
      informer.handlers.delete(handler);
      if (informer.handlers.size === 0 && this.informers.get(id) === informer) {
        this.informers.delete(id);
        informer.stop();
      }
    };
    try {
      await informer.synced;
    } catch (err) {
      if (this.informers.get(id) === informer) this.informers.delete(id);
      throw err;
    }
    if (!existing) {
      // The first watcher got the underlying list as it came; its own failure there is its alone.
      if (informer.firstFailure !== undefined) {
        leave();
        throw informer.firstFailure;
      }
    } else if (informer.cache) {
      // Replay and join in one synchronous step: no event can fall between them.
      for (const object of informer.cache.values()) onEvent({ type: 'ADDED', object });
      informer.handlers.add(onEvent);
    } else {
      const catchUp = new CatchUp(onEvent);
      handler = catchUp.handle;
      informer.handlers.add(handler);
      try {
        catchUp.listed(await this.client.list(apiVersion, kind));
      } catch (err) {
        leave();
        throw err;
      }
    }
    return { stop: leave };
  }

  /** Starts the kind's informer with its first watcher, who gets the underlying watch's list as it comes. */
  private start(apiVersion: string, kind: string, first: Handler): Informer {
    const handlers = new Set<Handler>([first]);
    let handle: { stop(): void } | undefined;
    let stopped = false;
    let listing = true;
    const informer: Informer = {
      cache: this.strings ? new Map() : undefined,
      handlers,
      synced: this.client
        .watch(apiVersion, kind, {}, (delivered) => {
          const cache = informer.cache;
          let event = delivered;
          if (cache) {
            event = { type: delivered.type, object: withoutManagedFields(delivered.object) };
            if (event.type === 'DELETED') cache.delete(keyOf(event.object));
            else {
              this.strings?.internAll(event.object);
              cache.set(keyOf(event.object), event.object);
            }
          }
          // One watcher's failure does not keep the event from the others; it still surfaces, as it would unshared.
          let failure: unknown;
          for (const h of handlers) {
            try {
              h(event);
            } catch (err) {
              if (listing && h === first) {
                informer.firstFailure = err;
                handlers.delete(first);
              } else failure ??= err;
            }
          }
          if (failure !== undefined) throw failure;
        })
        .then((h) => {
          listing = false;
          handle = h;
          if (stopped) h.stop();
        }),
      stop: () => {
        stopped = true;
        handle?.stop();
        informer.cache = undefined;
      },
    };
    return informer;
  }
}
