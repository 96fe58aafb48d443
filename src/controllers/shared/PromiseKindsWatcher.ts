/**
 * Watches the objects of every kind a Promise serves, following the registry as Promises come and go, and calls
 * `onEvent` with the kind and the event. Shared by the controllers that act on resource requests.
 */
import type { Logger } from 'pino';
import type { Client, ClientWatchEvent } from '../../client/Client.ts';
import { BackgroundTasks } from '../../controller/BackgroundTasks.ts';
import type { Registry } from '../../registry/Registry.ts';
import { apiVersionOf, type ResourceType } from '../../registry/ResourceType.ts';
import { isPromiseKind } from './promiseKinds.ts';

export interface PromiseKindsWatcherOptions {
  client: Client;
  registry: Registry;
  logger: Logger;
  onEvent: (type: ResourceType, event: ClientWatchEvent) => void;
  /** Which kinds to watch (default: the kinds Promises serve). */
  kinds?: (type: ResourceType) => boolean;
}

export class PromiseKindsWatcher {
  private readonly opts: PromiseKindsWatcherOptions;
  private readonly watches = new Map<string, { stop(): void }>();
  /** Kinds whose existing objects have all been delivered (the watch lists before it follows). */
  private readonly synced = new Set<string>();
  private readonly background: BackgroundTasks;
  private unsubscribe: (() => void) | undefined;

  constructor(opts: PromiseKindsWatcherOptions) {
    this.opts = opts;
    this.background = new BackgroundTasks(opts.logger);
  }

  private wanted(type: ResourceType): boolean {
    return (this.opts.kinds ?? isPromiseKind)(type);
  }

  async start(): Promise<void> {
    this.unsubscribe = this.opts.registry.onChange((change) => {
      if (!this.wanted(change.type)) return;
      if (change.action === 'removed') this.unwatch(change.type);
      else this.background.run('watch kind', () => this.watchType(change.type));
    });
    for (const type of this.opts.registry.all()) if (this.wanted(type)) await this.watchType(type);
  }

  async stop(): Promise<void> {
    this.unsubscribe?.();
    for (const w of this.watches.values()) w.stop();
    this.watches.clear();
    this.synced.clear();
    await this.background.drain();
  }

  private async watchType(type: ResourceType): Promise<void> {
    const id = `${type.group}/${type.plural}`;
    if (this.watches.has(id)) return;
    this.watches.set(id, { stop() {} });
    const handle = await this.opts.client.watch(apiVersionOf(type), type.kind, {}, (e) => this.opts.onEvent(type, e));
    if (this.watches.has(id)) {
      this.watches.set(id, handle);
      this.synced.add(id);
    } else handle.stop();
  }

  /** Whether every existing object of the kind has been passed to onEvent (so a cache built from them is whole). */
  isSynced(type: ResourceType): boolean {
    return this.synced.has(`${type.group}/${type.plural}`);
  }

  private unwatch(type: ResourceType): void {
    const id = `${type.group}/${type.plural}`;
    this.watches.get(id)?.stop();
    this.watches.delete(id);
    this.synced.delete(id);
  }
}
