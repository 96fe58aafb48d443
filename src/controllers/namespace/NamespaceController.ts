/**
 * Kubernetes' namespace controller: a deleted Namespace is held by its `kubernetes` finalizer (and shows phase
 * Terminating) while everything in it is deleted, each object through the ordinary delete so its own finalizers hold
 * it; when nothing is left the finalizer goes and the Namespace with it. Level-based: after a crash the next start
 * finds the Terminating Namespace and carries on, so no object is left in a namespace that no longer exists.
 */
import { withoutFinalizer } from '../../api/finalizers.ts';
import type { Logger } from 'pino';
import type { Client } from '../../client/Client.ts';
import type { ReconcileResult } from '../../controller/Controller.ts';
import { FINALIZER_NAMESPACE } from '../../registry/ObjectService.ts';
import type { Registry } from '../../registry/Registry.ts';
import { apiVersionOf, type ResourceType } from '../../registry/ResourceType.ts';
import { namespaceType } from '../../registry/builtin/coreKinds.ts';
import { KindsController } from '../shared/KindsController.ts';

export interface NamespaceControllerOptions {
  client: Client;
  registry: Registry;
  logger: Logger;
  /** How often a Namespace whose objects are still held by their finalizers is looked at again. Default 1 s. */
  recheckMs?: number;
}

export class NamespaceController {
  private readonly opts: NamespaceControllerOptions;
  private readonly runner: KindsController;

  constructor(options: NamespaceControllerOptions) {
    this.opts = options;
    this.runner = new KindsController({
      name: 'namespace',
      client: options.client,
      registry: options.registry,
      logger: options.logger,
      kinds: (t) => t === namespaceType,
      reconciler: { reconcile: (name) => this.reconcile(name) },
      onEvent: (_type, e, enqueue) => {
        if (e.type !== 'DELETED' && e.object.metadata.deletionTimestamp) enqueue(e.object.metadata.name);
      },
    });
  }

  start(): Promise<void> {
    return this.runner.start();
  }

  stop(): Promise<void> {
    return this.runner.stop();
  }

  async reconcile(name: string): Promise<ReconcileResult | void> {
    const { client, registry } = this.opts;
    const ns = await client.get({ apiVersion: 'v1', kind: 'Namespace', name });
    if (!ns?.metadata.deletionTimestamp) return;
    const finalizers = ns.metadata.finalizers ?? [];
    if (!finalizers.includes(FINALIZER_NAMESPACE)) return;
    let remaining = 0;
    for (const type of registry.all()) {
      if (!type.namespaced || type.createOnly) continue;
      for (const o of await client.list(apiVersionOf(type), type.kind, { namespace: name })) {
        if (!o.metadata.deletionTimestamp) await client.delete(refOf(type, name, o.metadata.name));
        // Gone at once, unless its own finalizers hold it: then the Namespace waits for them.
        if (o.metadata.deletionTimestamp || (o.metadata.finalizers ?? []).length) remaining++;
      }
    }
    if (remaining > 0) return { requeueAfter: this.opts.recheckMs ?? 1000 };
    await client.update(withoutFinalizer(ns, FINALIZER_NAMESPACE));
  }
}

function refOf(type: ResourceType, namespace: string, name: string): { apiVersion: string; kind: string; namespace: string; name: string } {
  return { apiVersion: apiVersionOf(type), kind: type.kind, namespace, name };
}
