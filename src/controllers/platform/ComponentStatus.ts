/**
 * A compound resource reports its components: the resource requests its workflow made through the platform
 * destination, each with its kind, name, Reconciled state and message, in `status.components` — so `kubectl get
 * app todoer -o yaml` shows that its database is still being made, or failed.
 */
import type { Logger } from 'pino';
import { jsonEqual, type StoredObject } from '../../api/types.ts';
import type { Client } from '../../client/Client.ts';
import type { Registry } from '../../registry/Registry.ts';
import { apiVersionOf } from '../../registry/ResourceType.ts';
import { KindsController } from '../shared/KindsController.ts';
import { isPromiseKind, kindServedBy } from '../shared/promiseKinds.ts';
import { resourceRequest, type Component } from '../shared/resourceRequest.ts';
import { LABEL_COMPONENT_OF_NAMESPACE, LABEL_COMPONENT_OF_PROMISE, LABEL_COMPONENT_OF_RESOURCE } from './PlatformApplier.ts';

export interface ComponentStatusOptions {
  client: Client;
  registry: Registry;
  logger: Logger;
}

export type { Component };

function componentOf(o: StoredObject): Component {
  const status = resourceRequest(o).status ?? {};
  const reconciled = status.conditions?.find((c) => c.type === 'Reconciled');
  return {
    apiVersion: o.apiVersion,
    kind: o.kind,
    name: o.metadata.name,
    namespace: o.metadata.namespace ?? '',
    ready: reconciled?.status ?? 'Unknown',
    ...(status.message ? { message: status.message } : {}),
  };
}

export class ComponentStatus {
  private readonly opts: ComponentStatusOptions;
  private readonly runner: KindsController;

  constructor(options: ComponentStatusOptions) {
    this.opts = options;
    this.runner = new KindsController({
      name: 'component-status',
      client: options.client,
      registry: options.registry,
      logger: options.logger,
      reconciler: { reconcile: (key) => this.reconcile(key) },
      onEvent: (_type, e, enqueue) => {
        const l = e.object.metadata.labels ?? {};
        const promise = l[LABEL_COMPONENT_OF_PROMISE];
        if (promise) enqueue(`${promise}/${l[LABEL_COMPONENT_OF_NAMESPACE] ?? ''}/${l[LABEL_COMPONENT_OF_RESOURCE] ?? ''}`);
      },
    });
  }

  start(): Promise<void> {
    return this.runner.start();
  }

  stop(): Promise<void> {
    return this.runner.stop();
  }

  async reconcile(key: string): Promise<void> {
    const { client, registry } = this.opts;
    const [promise = '', namespace = '', name = ''] = key.split('/');
    const type = kindServedBy(registry, promise);
    if (!type) return;
    const found = await client.get({ apiVersion: apiVersionOf(type), kind: type.kind, namespace, name });
    if (!found || found.metadata.deletionTimestamp) return;
    const parent = resourceRequest(found);
    const selector = `${LABEL_COMPONENT_OF_PROMISE}=${promise},${LABEL_COMPONENT_OF_RESOURCE}=${name},${LABEL_COMPONENT_OF_NAMESPACE}=${namespace}`;
    const components: Component[] = [];
    for (const t of registry.all().filter(isPromiseKind)) {
      for (const child of await client.list(apiVersionOf(t), t.kind, { namespace, labelSelector: selector })) components.push(componentOf(child));
    }
    components.sort((a, b) => `${a.kind}/${a.name}`.localeCompare(`${b.kind}/${b.name}`));
    const current = parent.status?.components ?? [];
    if (jsonEqual(current, components)) return;
    await client.mergePatch(
      { apiVersion: parent.apiVersion, kind: parent.kind, namespace, name },
      { status: { components: components.length ? components : null } },
      'status',
    );
  }
}
