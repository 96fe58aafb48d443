/**
 * Compound Promises: what a workflow schedules to a Destination labelled `environment: platform` is applied by
 * FleetOps to its own API, as the platform cluster's GitOps agent does under Kratix. Each document becomes an object
 * owned by the resource whose workflow wrote it (ownerReference, `kratix.io/component-of-*` labels), changes when
 * the output changes and is deleted when the output drops it or the placement goes (a finalizer holds the
 * WorkPlacement until its objects are gone).
 *
 * What a pipeline may create this way is limited, since its documents are applied with the platform's rights:
 * resource requests of Promise kinds, in the namespace of the resource that asked (any namespace for a Promise's own
 * workflows, which only the platform team writes). Anything else is refused with a Warning event and is not applied.
 */
import type { Logger } from 'pino';
import { isApiError } from '../../api/errors.ts';
import { isKubeObject, isPlainObject, parseApiVersion, type KubeObject, type StoredObject } from '../../api/types.ts';
import type { Client, ObjectRef } from '../../client/Client.ts';
import { getOf } from '../../client/typed.ts';
import { destinationType, workPlacementType, type WorkPlacement } from '../../registry/builtin/kratixKinds.ts';
import { Controller } from '../../controller/Controller.ts';
import { BackgroundTasks } from '../../controller/BackgroundTasks.ts';
import { LABEL_TARGET } from '../scheduler/WorkScheduler.ts';
import { decodeWorkload } from '../../lib/workloads.ts';
import type { Registry } from '../../registry/Registry.ts';
import { apiVersionOf } from '../../registry/ResourceType.ts';
import type { EventRecorder } from '../shared/EventRecorder.ts';
import { isPromiseKind, kindServedBy } from '../shared/promiseKinds.ts';
import { KRATIX_API } from '../shared/kratixNames.ts';

export const FINALIZER_PLATFORM_APPLY = 'fleetops.dev/platform-apply';
/** The objects applied for a WorkPlacement, as JSON refs (what to delete when they leave the output). */
export const ANNOTATION_APPLIED = 'fleetops.dev/applied-objects';
export const LABEL_COMPONENT_OF_PROMISE = 'kratix.io/component-of-promise-name';
export const LABEL_COMPONENT_OF_RESOURCE = 'kratix.io/component-of-resource-name';
export const LABEL_COMPONENT_OF_NAMESPACE = 'kratix.io/component-of-resource-namespace';
const FIELD_MANAGER = 'fleetops-platform-destination';

export interface PlatformApplierOptions {
  client: Client;
  registry: Registry;
  events: EventRecorder;
  logger: Logger;
  /** Parses a multi-document YAML file under the limits for untrusted input. */
  parseYamlStream(text: string): Promise<unknown[]>;
}

function isRef(value: unknown): value is ObjectRef {
  return (
    isPlainObject(value) &&
    typeof value.apiVersion === 'string' &&
    typeof value.kind === 'string' &&
    typeof value.name === 'string' &&
    (value.namespace === undefined || typeof value.namespace === 'string')
  );
}

function refKey(r: ObjectRef): string {
  return `${r.apiVersion}/${r.kind}/${r.namespace ?? ''}/${r.name}`;
}

/** Whether objects scheduled to this Destination are applied here. */
export function isPlatformDestination(dest: KubeObject | undefined): boolean {
  return dest?.metadata.labels?.environment === 'platform';
}

export class PlatformApplier {
  readonly controller: Controller;
  private readonly opts: PlatformApplierOptions;
  private watches: { stop(): void }[] = [];
  private readonly background: BackgroundTasks;
  /**
   * The Destinations labelled `environment: platform`, from their watch. A WorkPlacement for any other Destination,
   * without this controller's finalizer, needs nothing here: its events are let pass without a reconcile (every
   * resource's placements change at each run, and each reconcile read the placement and its Destination to find
   * that out). A Destination turning platform re-examines its placements, so none is missed whichever comes first.
   */
  private readonly platformDestinations = new Set<string>();

  constructor(options: PlatformApplierOptions) {
    this.opts = options;
    this.background = new BackgroundTasks(options.logger);
    this.controller = new Controller({ name: 'platform-applier', reconciler: { reconcile: (key, log) => this.reconcile(key, log) }, logger: options.logger });
  }

  async start(): Promise<void> {
    this.controller.start();
    const key = (o: KubeObject): string => `${o.metadata.namespace ?? ''}/${o.metadata.name}`;
    this.watches.push(
      // A Destination gaining or losing `environment: platform` changes what is applied for its placements.
      await this.opts.client.watch(KRATIX_API, 'Destination', {}, (e) => {
        const name = e.object.metadata.name;
        if (e.type !== 'DELETED' && isPlatformDestination(e.object)) this.platformDestinations.add(name);
        else this.platformDestinations.delete(name);
        this.background.run('re-examine the placements of a changed destination', () => this.enqueuePlacementsOf(name));
      }),
      await this.opts.client.watch(KRATIX_API, 'WorkPlacement', {}, (e) => {
        if (this.concerns(e.object)) this.controller.enqueue(key(e.object));
      }),
    );
  }

  async stop(): Promise<void> {
    for (const w of this.watches) w.stop();
    this.watches = [];
    await this.background.drain();
    await this.controller.stop();
  }

  private async enqueuePlacementsOf(destination: string): Promise<void> {
    for (const wp of await this.opts.client.list(KRATIX_API, 'WorkPlacement', { labelSelector: `${LABEL_TARGET}=${destination}` })) {
      this.controller.enqueue(`${wp.metadata.namespace ?? ''}/${wp.metadata.name}`);
    }
  }

  /** Whether a WorkPlacement is (or may have to be) applied here: it targets a platform Destination, or was applied. */
  private concerns(wp: KubeObject): boolean {
    if (wp.metadata.finalizers?.includes(FINALIZER_PLATFORM_APPLY)) return true;
    const target = isPlainObject(wp.spec) ? wp.spec.targetDestinationName : undefined;
    return typeof target === 'string' && this.platformDestinations.has(target);
  }

  async reconcile(key: string, log: Logger): Promise<void> {
    const { client } = this.opts;
    const [namespace = '', name = ''] = key.split('/');
    const wp = await getOf(client, workPlacementType, name, namespace);
    if (!wp) return;
    const spec = wp.spec ?? {};
    const dest = spec.targetDestinationName ? await getOf(client, destinationType, spec.targetDestinationName) : undefined;
    const previous = this.appliedOf(wp);
    const finalizers = wp.metadata.finalizers ?? [];
    const applies = isPlatformDestination(dest) && !wp.metadata.deletionTimestamp;

    if (!applies) {
      if (!finalizers.includes(FINALIZER_PLATFORM_APPLY)) return;
      for (const ref of previous) await client.delete(ref);
      if (previous.length) log.info({ removed: previous.length }, 'objects applied from the platform destination removed');
      const annotations = { ...wp.metadata.annotations };
      delete annotations[ANNOTATION_APPLIED];
      await client.update({ ...wp, metadata: { ...wp.metadata, annotations, finalizers: finalizers.filter((f) => f !== FINALIZER_PLATFORM_APPLY) } });
      return;
    }
    if (!finalizers.includes(FINALIZER_PLATFORM_APPLY)) {
      await client.update({ ...wp, metadata: { ...wp.metadata, finalizers: [...finalizers, FINALIZER_PLATFORM_APPLY] } });
      return; // the update brings us back
    }

    const parent = await this.parentOf(spec.promiseName, spec.resourceName, namespace);
    const desired: KubeObject[] = [];
    const refused: string[] = [];
    for (const w of spec.workloads ?? []) {
      const docs = await this.opts.parseYamlStream(decodeWorkload(w.content ?? '').toString('utf8'));
      for (const doc of docs) {
        if (doc === null || doc === undefined) continue;
        const problem = isKubeObject(doc) ? this.check(doc, parent, namespace) : 'not a Kubernetes object (apiVersion, kind and metadata are needed)';
        if (problem) refused.push(`${w.filepath}: ${problem}`);
        else if (isKubeObject(doc)) desired.push(this.owned(doc, parent, spec.promiseName ?? '', namespace));
      }
    }
    // Record the union before writing: a crash half-way must not leave objects nobody remembers.
    const union = new Map([...previous, ...desired.map((o) => this.refOf(o))].map((r) => [refKey(r), r]));
    const current = union.size !== previous.length ? await this.record(wp, [...union.values()]) : wp;
    const applied: ObjectRef[] = [];
    for (const object of desired) {
      try {
        await client.apply(object, FIELD_MANAGER, true);
        applied.push(this.refOf(object));
      } catch (err) {
        if (!isApiError(err) || err.code >= 500) throw err;
        refused.push(`${object.kind} ${object.metadata.name}: ${err.message}`);
      }
    }
    const keep = new Set(applied.map(refKey));
    for (const ref of previous) if (!keep.has(refKey(ref))) await client.delete(ref);
    if (union.size !== applied.length) await this.record(current, applied);
    if (refused.length) {
      const message = `not applied from the platform destination: ${refused.join('; ')}`;
      log.warn({ refused }, 'documents refused by the platform destination');
      await this.opts.events.record(parent ?? wp, 'Warning', 'PlatformApplyRefused', message.slice(0, 1000));
    }
  }

  /** Why a document may not be applied, or undefined. */
  private check(doc: KubeObject, parent: StoredObject | undefined, namespace: string): string | undefined {
    const { group, version } = parseApiVersion(doc.apiVersion);
    const type = this.opts.registry.byKind(group, doc.kind);
    if (!type || !type.versions.includes(version)) return `${doc.kind} (${doc.apiVersion}) is not served here: is its Promise installed?`;
    if (!isPromiseKind(type)) return `${doc.kind} is not a Promise's kind: only resource requests are applied from the platform destination`;
    const ns = typeof doc.metadata.namespace === 'string' ? doc.metadata.namespace : namespace;
    if (parent && ns !== namespace)
      return `${doc.kind} ${String(doc.metadata.name)} is for namespace "${ns}": a resource's workflow may only request in its own ("${namespace}")`;
    return undefined;
  }

  private owned(doc: KubeObject, parent: StoredObject | undefined, promise: string, namespace: string): KubeObject {
    const metadata = { ...doc.metadata, namespace: doc.metadata.namespace ?? namespace };
    if (parent) {
      metadata.labels = {
        ...metadata.labels,
        [LABEL_COMPONENT_OF_PROMISE]: promise,
        [LABEL_COMPONENT_OF_RESOURCE]: parent.metadata.name,
        [LABEL_COMPONENT_OF_NAMESPACE]: parent.metadata.namespace ?? '',
      };
      metadata.ownerReferences = [
        {
          apiVersion: parent.apiVersion,
          kind: parent.kind,
          name: parent.metadata.name,
          uid: parent.metadata.uid,
          blockOwnerDeletion: true,
        },
      ];
    }
    return { ...doc, metadata };
  }

  private async parentOf(promise: string | undefined, resource: string | undefined, namespace: string): Promise<StoredObject | undefined> {
    if (!promise || !resource) return undefined;
    const type = kindServedBy(this.opts.registry, promise);
    if (!type) return undefined;
    return this.opts.client.get({ apiVersion: apiVersionOf(type), kind: type.kind, namespace, name: resource });
  }

  private refOf(o: KubeObject): ObjectRef {
    return { apiVersion: o.apiVersion, kind: o.kind, name: o.metadata.name ?? '', ...(o.metadata.namespace ? { namespace: o.metadata.namespace } : {}) };
  }

  private appliedOf(wp: WorkPlacement): ObjectRef[] {
    const raw = wp.metadata.annotations?.[ANNOTATION_APPLIED];
    if (!raw) return [];
    try {
      const refs: unknown = JSON.parse(raw);
      return Array.isArray(refs) ? refs.filter(isRef) : [];
    } catch {
      return [];
    }
  }

  private async record(wp: WorkPlacement, refs: ObjectRef[]): Promise<StoredObject> {
    const annotations: Record<string, string> = { ...wp.metadata.annotations, [ANNOTATION_APPLIED]: JSON.stringify(refs) };
    if (!refs.length) delete annotations[ANNOTATION_APPLIED];
    return this.opts.client.update({ ...wp, metadata: { ...wp.metadata, annotations } });
  }
}
