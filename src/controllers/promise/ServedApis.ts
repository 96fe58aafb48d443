/**
 * What a replica that does not lead does for Promises: serve their APIs. The leader's PromiseController registers a
 * Promise's kind once it has checked it (and keeps the old schema when a change is refused: `APICompatible`
 * False); every other replica follows the Promises it sees, so a request sent to any replica finds the kind.
 */
import type { Logger } from 'pino';
import type { Client } from '../../client/Client.ts';
import { watchOf } from '../../client/typed.ts';
import { promiseType, type KratixPromise } from '../../registry/builtin/kratixKinds.ts';
import type { Registry } from '../../registry/Registry.ts';
import type { SchemaValidator } from '../../registry/schema/SchemaValidator.ts';
import { kindServedBy } from '../shared/promiseKinds.ts';
import { typeFromPromise } from './PromiseController.ts';
import { requestCreateDefaults } from '../shared/requestMetadata.ts';

export interface ServedApisOptions {
  client: Client;
  registry: Registry;
  validator: SchemaValidator;
  logger: Logger;
}

export class ServedApis {
  private readonly opts: ServedApisOptions;
  private watch: { stop(): void } | undefined;
  /** Promise name → the API (as JSON) served for it: status updates do not re-register the kind. */
  private readonly servedApi = new Map<string, string>();

  constructor(options: ServedApisOptions) {
    this.opts = options;
  }

  async start(): Promise<void> {
    if (this.watch) return;
    this.watch = await watchOf(this.opts.client, promiseType, {}, (e) => this.follow(e.type, e.object));
  }

  stop(): void {
    this.watch?.stop();
    this.watch = undefined;
    this.servedApi.clear();
  }

  private follow(event: string, promise: KratixPromise): void {
    const { registry } = this.opts;
    const served = kindServedBy(registry, promise.metadata.name);
    const name = promise.metadata.name;
    if (event === 'DELETED') {
      if (served) registry.unregister(served.group, served.plural);
      this.servedApi.delete(name);
      return;
    }
    // What the served type is made of: the API, and whether its requests carry the delete workflow's finalizer.
    const api = JSON.stringify([promise.spec?.api ?? null, requestCreateDefaults(promise)]);
    if (served && this.servedApi.get(name) === api) return;
    const refused = promise.status?.conditions?.some((c) => c.type === 'APICompatible' && c.status === 'False');
    if (refused) return; // the leader serves the previous schema; so do we
    let type;
    try {
      type = typeFromPromise(promise, this.opts.validator);
    } catch (err) {
      this.opts.logger.warn({ err, promise: promise.metadata.name }, 'promise API not served here');
      return;
    }
    if (!type) return;
    if (served && (served.group !== type.group || served.plural !== type.plural)) registry.unregister(served.group, served.plural);
    registry.register(type);
    this.servedApi.set(name, api);
  }
}
