/**
 * Kratix's ResourceBindings over FleetOps' revisions: one binding per resource request (`<resource>-<promise>`,
 * owned by it), `spec.version: latest` by default. A binding pinned to a version pins its resource to the newest
 * revision carrying that version (label `fleetops.dev/pinned-version` on the resource, which the resource controller
 * and rollouts honour: rollouts pass pinned resources by); changing it upgrades just that resource; `latest` lets the
 * resource follow rollouts again. The binding's status says the version the resource last ran, so `kubectl get
 * resourcebindings` is true during a rollout.
 */
import type { Logger } from 'pino';
import { setCondition } from '../../api/conditions.ts';
import { ANNOTATION_PINNED_VERSION } from '../../api/fleetopsNames.ts';
import { isPlainObject, jsonEqual } from '../../api/types.ts';
import { rfc3339Seconds } from '../../api/time.ts';
import type { Client } from '../../client/Client.ts';
import { getOf, watchOf } from '../../client/typed.ts';
import { configMapType } from '../../registry/builtin/coreKinds.ts';
import { objectOf } from '../../registry/builtin/defineType.ts';
import { promiseType, resourceBindingType, type ResourceBinding } from '../../registry/builtin/kratixKinds.ts';
import { resourceRequest, type ResourceRequest } from '../shared/resourceRequest.ts';
import type { Registry } from '../../registry/Registry.ts';
import { apiVersionOf } from '../../registry/ResourceType.ts';
import { KindsController } from '../shared/KindsController.ts';
import { kindServedBy, promiseNameOf } from '../shared/promiseKinds.ts';
import { KRATIX_API, LABEL_PROMISE_NAME, LABEL_RESOURCE_NAME } from '../shared/kratixNames.ts';
import type { RevisionVersions } from './revisionVersions.ts';
import { parseYamlBounded, UNTRUSTED_LIMITS } from '../../api/boundedYaml.ts';
import { LABEL_PROMISE_VERSION, PLATFORM_NAMESPACE } from '../promise/PromiseController.ts';

export interface ResourceBindingsOptions {
  client: Client;
  registry: Registry;
  versions: RevisionVersions;
  logger: Logger;
  now?: () => Date;
}

export function bindingName(resource: string, promise: string): string {
  return `${resource}-${promise}`.slice(0, 253);
}

export class ResourceBindings {
  private readonly opts: ResourceBindingsOptions;
  private readonly runner: KindsController;
  private watch: { stop(): void } | undefined;
  /** What a binding depends on, per resource: a resource event that changes none of it needs no reconcile. */
  private readonly seen = new Map<string, string>();

  constructor(options: ResourceBindingsOptions) {
    this.opts = options;
    this.runner = new KindsController({
      name: 'resource-bindings',
      client: options.client,
      registry: options.registry,
      logger: options.logger,
      concurrency: 2,
      reconciler: { reconcile: (key) => this.reconcile(key) },
      onEvent: (type, e, enqueue) => {
        const key = `${promiseNameOf(type)}/${e.object.metadata.namespace ?? ''}/${e.object.metadata.name}`;
        if (e.type === 'DELETED') {
          this.seen.delete(key);
          return;
        }
        // Most events of a resource are its workflow's progress: only the revision run, its outcome and the pin matter.
        const wf = resourceRequest(e.object).status?.kratix?.workflows ?? {};
        const facts = `${e.object.metadata.uid}/${wf.revision ?? ''}/${wf.phase === 'Succeeded'}/${e.object.metadata.annotations?.[ANNOTATION_PINNED_VERSION] ?? ''}`;
        if (this.seen.get(key) === facts) return;
        this.seen.set(key, facts);
        enqueue(key);
      },
    });
  }

  async start(): Promise<void> {
    await this.runner.start();
    // A binding's own status writes need no reaction: only its spec (generation) and its coming and going.
    const generations = new Map<string, number>();
    this.watch = await watchOf(this.opts.client, resourceBindingType, {}, (e) => {
      const id = `${e.object.metadata.namespace ?? ''}/${e.object.metadata.name}`;
      const generation = e.object.metadata.generation ?? 0;
      if (e.type === 'DELETED') generations.delete(id);
      else if (generations.get(id) === generation) return;
      else generations.set(id, generation);
      const spec = e.object.spec;
      const ns = spec?.resourceRef.namespace ?? e.object.metadata.namespace ?? '';
      if (spec?.promiseRef.name && spec.resourceRef.name) this.runner.controller.enqueue(`${spec.promiseRef.name}/${ns}/${spec.resourceRef.name}`);
    });
  }

  async stop(): Promise<void> {
    this.watch?.stop();
    await this.runner.stop();
  }

  async reconcile(key: string): Promise<void> {
    const { client, registry, versions } = this.opts;
    const [promiseName = '', namespace = '', name = ''] = key.split('/');
    const type = kindServedBy(registry, promiseName);
    const promise = await getOf(client, promiseType, promiseName);
    if (!type || !promise) return;
    const found = await client.get({ apiVersion: apiVersionOf(type), kind: type.kind, namespace, name });
    if (!found || found.metadata.deletionTimestamp) return; // its binding goes with it (ownerReference)
    const resource = resourceRequest(found);
    const ref = { apiVersion: KRATIX_API, kind: 'ResourceBinding', namespace, name: bindingName(name, promiseName) };
    let binding = await getOf(client, resourceBindingType, ref.name, namespace);
    if (!binding) {
      // Kratix's `resourceBindingVersionStrategy: pinned`: a new request stays on the version it was made at.
      const version = (await this.pinsNewRequests()) ? promise.metadata.labels?.[LABEL_PROMISE_VERSION] || 'latest' : 'latest';
      const created = await client.create({
        apiVersion: KRATIX_API,
        kind: 'ResourceBinding',
        metadata: {
          name: ref.name,
          namespace,
          labels: { [LABEL_PROMISE_NAME]: promiseName, [LABEL_RESOURCE_NAME]: name },
          ownerReferences: [{ apiVersion: resource.apiVersion, kind: resource.kind, name, uid: resource.metadata.uid, blockOwnerDeletion: true }],
        },
        spec: { version, promiseRef: { name: promiseName }, resourceRef: { name, namespace } },
      });
      binding = objectOf(resourceBindingType, created);
    }
    const wanted = binding.spec?.version || 'latest';
    const latest = promise.status?.latestRevision ?? 0;
    const pinnedRevision = wanted === 'latest' ? undefined : await versions.revisionOf(promiseName, latest, wanted);
    // The pin on the resource: what the resource controller and rollouts read.
    const pin = wanted !== 'latest' && pinnedRevision !== undefined ? wanted : undefined;
    if ((resource.metadata.annotations?.[ANNOTATION_PINNED_VERSION] ?? undefined) !== pin) {
      await client.mergePatch(
        { apiVersion: resource.apiVersion, kind: resource.kind, namespace, name },
        { metadata: { annotations: { [ANNOTATION_PINNED_VERSION]: pin ?? null } } },
      );
    }
    await this.writeStatus(binding, resource, wanted, pinnedRevision, latest);
  }

  /** Whether the `kratix` ConfigMap (key `config`, in the platform namespace) says resourceBindingVersionStrategy: pinned. */
  private async pinsNewRequests(): Promise<boolean> {
    const cm = await getOf(this.opts.client, configMapType, 'kratix', PLATFORM_NAMESPACE);
    const text = cm?.data?.config;
    if (!text) return false;
    try {
      const config = parseYamlBounded(text, UNTRUSTED_LIMITS);
      return isPlainObject(config) && config.resourceBindingVersionStrategy === 'pinned';
    } catch {
      return false; // a broken config pins nothing; Kratix reads the other keys the same way
    }
  }

  private async writeStatus(
    binding: ResourceBinding,
    resource: ResourceRequest,
    wanted: string,
    pinnedRevision: number | undefined,
    latest: number,
  ): Promise<void> {
    const promiseName = binding.spec?.promiseRef.name ?? '';
    const wf = resource.status?.kratix?.workflows ?? {};
    const ran = typeof wf.revision === 'number' ? await this.opts.versions.versionOf(promiseName, latest, wf.revision) : undefined;
    const status = { ...binding.status };
    const now = rfc3339Seconds((this.opts.now ?? (() => new Date()))());
    let conditions = status.conditions ?? [];
    if (wf.phase === 'Succeeded' && ran !== undefined) status.lastAppliedVersion = ran;
    if (wanted !== 'latest' && pinnedRevision === undefined) {
      status.failedVersion = wanted;
      conditions = setCondition(
        conditions,
        { type: 'UpgradeSucceeded', status: 'False', reason: 'UpgradeFailed', message: `no revision of Promise ${promiseName} has version ${wanted}` },
        now,
      );
    } else {
      delete status.failedVersion;
      const done = wf.phase === 'Succeeded' && (pinnedRevision === undefined || wf.revision === pinnedRevision);
      // A binding following `latest` is moved by rollouts, which report their own progress: it says where it is.
      if (done) {
        conditions = setCondition(
          conditions,
          { type: 'UpgradeSucceeded', status: 'True', reason: 'UpgradeComplete', message: `on version ${ran || '(none)'}` },
          now,
        );
      } else if (pinnedRevision !== undefined) {
        conditions = setCondition(
          conditions,
          { type: 'UpgradeSucceeded', status: 'Unknown', reason: 'UpgradeInProgress', message: `moving to ${wanted}` },
          now,
        );
      }
    }
    status.conditions = conditions;
    if (jsonEqual(status, binding.status ?? {})) return;
    await this.opts.client.updateStatus({ ...binding, status });
  }
}
