/**
 * Keeps Backstage's view of the platform in the state stores: when a Destination is labelled `environment:
 * backstage`, each Promise gets a Work with its `API` and `Template` entities and, per namespace with requests of
 * its kind, a Work with their `Component` entities. The scheduler places them on that Destination (so Backstage
 * reads them from Git with an ordinary URL location) and their files follow every change. Owned by the Promise:
 * they go with it; a namespace's Work goes with its last request; all go when no Backstage Destination is left.
 */
import type { Logger } from 'pino';
import type { KubeObject } from '../../api/types.ts';
import type { Client } from '../../client/Client.ts';
import { getOf, listOf, watchOf } from '../../client/typed.ts';
import { encodeWorkload, ROOT_GROUP_ID } from '../../lib/workloads.ts';
import { destinationType, promiseType, workType, type KratixPromise } from '../../registry/builtin/kratixKinds.ts';
import type { Registry } from '../../registry/Registry.ts';
import { apiVersionOf } from '../../registry/ResourceType.ts';
import { ensureWork, type WorkSeal } from '../shared/workSeal.ts';
import { KindsController } from '../shared/KindsController.ts';
import { KRATIX_API, LABEL_PROMISE_NAME } from '../shared/kratixNames.ts';
import { kindServedBy, promiseNameOf } from '../shared/promiseKinds.ts';
import { resourceRequest, type ResourceRequest } from '../shared/resourceRequest.ts';
import { PLATFORM_NAMESPACE } from '../promise/PromiseController.ts';
import { apiEntity, componentEntity, templateEntity, yamlDocuments, type Entity, type PromiseApi } from './entities.ts';

export const LABEL_BACKSTAGE = 'fleetops.dev/backstage';
const SELECTOR = { environment: 'backstage' };
/** Changes within this long are written together (a rollout changes every request's status). */
const BATCH_MS = 1000;

export interface BackstageCatalogOptions {
  client: Client;
  registry: Registry;
  logger: Logger;
  /** Seals the catalog's Works (the scheduler places only sealed Works). */
  seal: WorkSeal;
  /** The portal's address (links in the entities), known once the API listens. */
  portalUrl: () => string;
}

export class BackstageCatalog {
  private readonly opts: BackstageCatalogOptions;
  private readonly runner: KindsController;
  private watches: { stop(): void }[] = [];
  /**
   * Promises known to have no catalog Work while no Backstage Destination exists: their resources' events (a fleet
   * update changes every status) then cost a list of Destinations, not a scan of every Work. Cleared when any
   * Destination changes.
   */
  private readonly absent = new Set<string>();

  constructor(options: BackstageCatalogOptions) {
    this.opts = options;
    this.runner = new KindsController({
      name: 'backstage-catalog',
      client: options.client,
      registry: options.registry,
      logger: options.logger,
      reconciler: { reconcile: (key) => this.reconcile(key) },
      onEvent: (type) => this.enqueue(promiseNameOf(type)),
    });
  }

  private enqueue(promise: string): void {
    this.runner.controller.queue.addAfter(promise, BATCH_MS);
  }

  async start(): Promise<void> {
    await this.runner.start();
    this.watches.push(
      await watchOf(this.opts.client, promiseType, {}, (e) => this.enqueue(e.object.metadata.name)),
      // A Backstage Destination coming or going changes what every Promise should have.
      await watchOf(this.opts.client, destinationType, {}, () => {
        this.absent.clear();
        for (const t of this.opts.registry.all()) if (t.owner.startsWith('promise/')) this.enqueue(promiseNameOf(t));
      }),
    );
  }

  async stop(): Promise<void> {
    for (const w of this.watches) w.stop();
    this.watches = [];
    await this.runner.stop();
  }

  async reconcile(name: string): Promise<void> {
    const { client } = this.opts;
    const backstage = await this.backstageWanted();
    if (!backstage && this.absent.has(name)) return;
    const existing = await listOf(client, workType, { labelSelector: `${LABEL_BACKSTAGE}=true,${LABEL_PROMISE_NAME}=${name}` });
    const promise = await getOf(client, promiseType, name);
    const type = kindServedBy(this.opts.registry, name);
    const wanted = backstage && promise && !promise.metadata.deletionTimestamp && type ? await this.desired(promise, type) : [];
    for (const w of wanted) await ensureWork(client, this.opts.seal, w);
    const keep = new Set(wanted.map((w) => `${w.metadata.namespace ?? ''}/${w.metadata.name ?? ''}`));
    for (const w of existing) {
      if (!keep.has(`${w.metadata.namespace ?? ''}/${w.metadata.name}`))
        await client.delete({ apiVersion: KRATIX_API, kind: 'Work', namespace: w.metadata.namespace ?? '', name: w.metadata.name });
    }
    if (!backstage) this.absent.add(name);
  }

  private async backstageWanted(): Promise<boolean> {
    return (await listOf(this.opts.client, destinationType)).some(
      (d) => d.metadata.labels?.environment === SELECTOR.environment && !d.metadata.deletionTimestamp,
    );
  }

  /** The Works a Promise should have: its API and Template, and one of Components per namespace with requests. */
  private async desired(promise: KratixPromise, type: NonNullable<ReturnType<typeof kindServedBy>>): Promise<KubeObject[]> {
    const api = promiseApi(promise, type);
    const portal = this.opts.portalUrl();
    const works = [
      this.work(promise, PLATFORM_NAMESPACE, `backstage/${promise.metadata.name}/api.yaml`, [apiEntity(api, portal), templateEntity(api, portal)]),
    ];
    const byNamespace = new Map<string, ResourceRequest[]>();
    for (const o of await this.opts.client.list(apiVersionOf(type), type.kind)) {
      if (o.metadata.deletionTimestamp) continue;
      const list = byNamespace.get(o.metadata.namespace ?? '') ?? [];
      list.push(resourceRequest(o));
      byNamespace.set(o.metadata.namespace ?? '', list);
    }
    for (const [namespace, resources] of byNamespace) {
      resources.sort((a, b) => a.metadata.name.localeCompare(b.metadata.name));
      const components = resources.map((r) => componentEntity(api, r, portal));
      works.push(this.work(promise, namespace, `backstage/${promise.metadata.name}/components-${namespace}.yaml`, components));
    }
    return works;
  }

  private work(promise: KratixPromise, namespace: string, filepath: string, entities: Entity[]): KubeObject {
    const name = promise.metadata.name;
    return {
      apiVersion: KRATIX_API,
      kind: 'Work',
      metadata: {
        name: `backstage-${name}`.slice(0, 253),
        namespace,
        labels: { [LABEL_PROMISE_NAME]: name, [LABEL_BACKSTAGE]: 'true' },
        ownerReferences: [{ apiVersion: KRATIX_API, kind: 'Promise', name, uid: promise.metadata.uid, blockOwnerDeletion: true }],
      },
      spec: {
        promiseName: name,
        workloadGroups: [
          {
            id: ROOT_GROUP_ID,
            directory: '.',
            workloads: [{ filepath, content: encodeWorkload(yamlDocuments(entities)) }],
            destinationSelectors: [{ matchLabels: SELECTOR, source: 'promise' }],
          },
        ],
      },
    };
  }
}

/** What the entities say of a Promise's API. */
export function promiseApi(
  promise: KratixPromise,
  type: { group: string; kind: string; plural: string; versions: string[]; schemas: Record<string, unknown> },
): PromiseApi {
  const version = type.versions[0] ?? 'v1';
  const schema = type.schemas[version];
  const annotations = promise.metadata.annotations ?? {};
  return {
    promise: promise.metadata.name,
    group: type.group,
    version,
    kind: type.kind,
    plural: type.plural,
    description: annotations['kratix.io/description'] ?? annotations.description ?? '',
    schema: typeof schema === 'object' && schema !== null ? { ...schema } : {},
    promiseVersion: promise.metadata.labels?.['kratix.io/promise-version'] ?? '',
  };
}
