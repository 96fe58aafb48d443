/**
 * Every Promise's kind gets two ClusterRoles, `fleetops:promise:<name>:edit` and `…:view`, labelled to aggregate into
 * `edit`/`admin` and `view`: teams bound to those roles may request the Promise in their namespaces (and see its
 * status, never write it), and a team limited to some Promises is bound to just their roles. Removed with the kind.
 */
import type { Logger } from 'pino';
import { RBAC_API } from '../../api/rbac.ts';
import type { KubeObject } from '../../api/types.ts';
import type { Client } from '../../client/Client.ts';
import { Controller } from '../../controller/Controller.ts';
import type { Registry } from '../../registry/Registry.ts';
import type { ResourceType } from '../../registry/ResourceType.ts';
import { ensureObject } from '../shared/ensure.ts';
import { isPromiseKind, kindServedBy, promiseNameOf } from '../shared/promiseKinds.ts';

export const LABEL_PROMISE_ROLE = 'fleetops.dev/promise';
const READ = ['get', 'list', 'watch'];

export function promiseRoleName(promise: string, access: 'edit' | 'view'): string {
  return `fleetops:promise:${promise}:${access}`;
}

export function promiseRoles(promise: string, type: ResourceType): KubeObject[] {
  const role = (access: 'edit' | 'view', aggregateTo: string[], rules: object[]): KubeObject => ({
    apiVersion: RBAC_API,
    kind: 'ClusterRole',
    metadata: {
      name: promiseRoleName(promise, access),
      labels: { [LABEL_PROMISE_ROLE]: promise, ...Object.fromEntries(aggregateTo.map((r) => [`rbac.authorization.k8s.io/aggregate-to-${r}`, 'true'])) },
    },
    rules,
  });
  return [
    role(
      'edit',
      ['edit', 'admin'],
      [
        { verbs: [...READ, 'create', 'delete', 'deletecollection', 'patch', 'update'], apiGroups: [type.group], resources: [type.plural] },
        { verbs: READ, apiGroups: [type.group], resources: [`${type.plural}/status`] },
      ],
    ),
    role('view', ['view'], [{ verbs: READ, apiGroups: [type.group], resources: [type.plural, `${type.plural}/status`] }]),
  ];
}

export interface PromiseRolesOptions {
  client: Client;
  registry: Registry;
  logger: Logger;
}

export class PromiseRoles {
  readonly controller: Controller;
  private readonly opts: PromiseRolesOptions;
  private unsubscribe: (() => void) | undefined;

  constructor(options: PromiseRolesOptions) {
    this.opts = options;
    this.controller = new Controller({ name: 'promise-roles', reconciler: { reconcile: (key) => this.reconcile(key) }, logger: options.logger });
  }

  async start(): Promise<void> {
    this.controller.start();
    this.unsubscribe = this.opts.registry.onChange(({ type }) => {
      if (isPromiseKind(type)) this.controller.enqueue(promiseNameOf(type));
    });
    for (const t of this.opts.registry.all()) if (isPromiseKind(t)) this.controller.enqueue(promiseNameOf(t));
    // Roles of Promises deleted while FleetOps was down.
    for (const r of await this.opts.client.list(RBAC_API, 'ClusterRole', { labelSelector: LABEL_PROMISE_ROLE })) {
      this.controller.enqueue(r.metadata.labels?.[LABEL_PROMISE_ROLE] ?? '');
    }
  }

  async stop(): Promise<void> {
    this.unsubscribe?.();
    await this.controller.stop();
  }

  async reconcile(promise: string): Promise<void> {
    const type = kindServedBy(this.opts.registry, promise);
    if (!type) {
      for (const access of ['edit', 'view'] as const)
        await this.opts.client.delete({ apiVersion: RBAC_API, kind: 'ClusterRole', name: promiseRoleName(promise, access) });
      return;
    }
    for (const role of promiseRoles(promise, type)) await ensureObject(this.opts.client, role, ['rules']);
  }
}
