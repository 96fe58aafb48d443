/**
 * A reconciler fed by the objects of one built-in kind: the watch hands each event to `onEvent`, which enqueues the
 * keys to reconcile. Started and stopped as one (the watch stops before the workers). KindsController's counterpart
 * for the kinds Promises serve.
 */
import type { Logger } from 'pino';
import type { Client } from '../../client/Client.ts';
import { watchOf, type TypedWatchEvent } from '../../client/typed.ts';
import { Controller, type Reconciler } from '../../controller/Controller.ts';
import type { TypedResourceType } from '../../registry/builtin/defineType.ts';

export interface TypeControllerOptions<T> {
  name: string;
  client: Client;
  type: TypedResourceType<T>;
  logger: Logger;
  reconciler: Reconciler;
  /** Turns an event into keys to reconcile (`enqueue`), or none. */
  onEvent(event: TypedWatchEvent<T>, enqueue: (key: string) => void): void;
  concurrency?: number;
}

export class TypeController<T> {
  readonly controller: Controller;
  private readonly opts: TypeControllerOptions<T>;
  private watch: { stop(): void } | undefined;

  constructor(options: TypeControllerOptions<T>) {
    this.opts = options;
    this.controller = new Controller({
      name: options.name,
      reconciler: options.reconciler,
      logger: options.logger,
      ...(options.concurrency ? { concurrency: options.concurrency } : {}),
    });
  }

  async start(): Promise<void> {
    this.controller.start();
    const enqueue = (key: string): void => this.controller.enqueue(key);
    this.watch = await watchOf(this.opts.client, this.opts.type, {}, (e) => this.opts.onEvent(e, enqueue));
  }

  async stop(): Promise<void> {
    this.watch?.stop();
    this.watch = undefined;
    await this.controller.stop();
  }
}
