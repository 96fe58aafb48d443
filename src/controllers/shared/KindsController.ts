/**
 * A reconciler fed by the objects of many kinds (the kinds Promises serve, or any chosen set, following the registry):
 * the watcher hands each event to `onEvent`, which enqueues the keys to reconcile. Started and stopped as one.
 */
import type { Logger } from 'pino';
import type { Client, ClientWatchEvent } from '../../client/Client.ts';
import { Controller, type Reconciler } from '../../controller/Controller.ts';
import type { Registry } from '../../registry/Registry.ts';
import type { ResourceType } from '../../registry/ResourceType.ts';
import { PromiseKindsWatcher } from './PromiseKindsWatcher.ts';

export interface KindsControllerOptions {
  name: string;
  client: Client;
  registry: Registry;
  logger: Logger;
  reconciler: Reconciler;
  /** Which kinds to watch (default: the kinds Promises serve). */
  kinds?: (type: ResourceType) => boolean;
  /** Turns an event into keys to reconcile (`enqueue`), or none. */
  onEvent(type: ResourceType, event: ClientWatchEvent, enqueue: (key: string) => void): void;
  concurrency?: number;
}

export class KindsController {
  readonly controller: Controller;
  private readonly watcher: PromiseKindsWatcher;

  constructor(options: KindsControllerOptions) {
    this.controller = new Controller({
      name: options.name,
      reconciler: options.reconciler,
      logger: options.logger,
      ...(options.concurrency ? { concurrency: options.concurrency } : {}),
    });
    const enqueue = (key: string): void => this.controller.enqueue(key);
    this.watcher = new PromiseKindsWatcher({
      client: options.client,
      registry: options.registry,
      logger: options.logger,
      ...(options.kinds ? { kinds: options.kinds } : {}),
      onEvent: (type, e) => options.onEvent(type, e, enqueue),
    });
  }

  async start(): Promise<void> {
    this.controller.start();
    await this.watcher.start();
  }

  async stop(): Promise<void> {
    await this.watcher.stop();
    await this.controller.stop();
  }
}
