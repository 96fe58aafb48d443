/**
 * Kratix's ResourceBindings over FleetOps' revisions: one binding per resource request (`<resource>-<promise>`,
 * owned by it), `spec.version: latest` by default. A binding pinned to a version pins its resource to the newest
 * revision carrying that version (label `fleetops.dev/pinned-version` on the resource, which the resource controller
 * and rollouts honour: rollouts pass pinned resources by); changing it upgrades just that resource; `latest` lets the
 * resource follow rollouts again. The binding's status says the version the resource last ran, so `kubectl get
 * resourcebindings` is true during a rollout.
 */
import type { Logger } from 'pino';
import { setCondition, type Condition } from '../../api/conditions.ts';
import { ANNOTATION_PINNED_VERSION } from '../../api/fleetopsNames.ts';
import { isPlainObject, jsonEqual } from '../../api/types.ts';
import { rfc3339Seconds } from '../../api/time.ts';
import { createUnlessExists, type Client } from '../../client/Client.ts';
import { getOf, watchOf } from '../../client/typed.ts';
import { configMapType } from '../../registry/builtin/coreKinds.ts';
import { objectOf } from '../../registry/builtin/defineType.ts';
import { promiseType, resourceBindingType, type KratixPromise, type ResourceBinding } from '../../registry/builtin/kratixKinds.ts';
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

/** What a binding reads of its Promise. */
interface PromiseFacts {
  latestRevision: number;
  /** Its `kratix.io/promise-version` label. */
  version: string | undefined;
}

function factsOf(promise: KratixPromise): PromiseFacts {
  return { latestRevision: promise.status?.latestRevision ?? 0, version: promise.metadata.labels?.[LABEL_PROMISE_VERSION] };
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
  /**
   * Resources whose binding exists and follows the latest version (from the bindings' watch). Such a binding changes
   * only when a run succeeds (its lastAppliedVersion, its condition): the start of a run tells it nothing.
   */
  private readonly followsLatest = new Set<string>();
  /**
   * What a binding reads of its Promise (its latest revision, its version label), kept from the Promises' watch: a
   * Promise carries its whole API schema and workflows, and reading (copying) it at each of a resource's reconciles
   * cost more than the rest of the reconcile. A revision is recorded on the Promise before any resource runs it, so
   * a reconcile its resource's event brings finds the Promise's event already told.
   */
  private readonly promises = new Map<string, PromiseFacts>();
  private promiseWatch: { stop(): void } | undefined;
  /**
   * Whether Kratix's config (the `kratix` ConfigMap's key `config`, in the platform namespace) says
   * resourceBindingVersionStrategy: pinned, kept from a watch of that namespace's ConfigMaps: read at each new
   * request, it was a read of an object that mostly does not exist (a round trip on PostgreSQL, where only objects
   * that exist are cached).
   */
  private pinned = false;
  private configWatch: { stop(): void } | undefined;
  /**
   * The bindings (namespace/name) a reconcile is creating: their creation's event is told to the binding watch before
   * the create answers, while that reconcile goes on to write the binding's status; another reconcile for it, which
   * would read everything again and find nothing to do, is not asked for (one reconcile less per new request).
   */
  private readonly creating = new Set<string>();
  /**
   * Every binding's generation (namespace/name), from their watch: a spec change is told from a status write by it;
   * and once the watch has told every existing binding (`bindingsListed`), a binding it has not told of does not
   * exist as far as this process has seen, and is created without being read first (a read that misses every cache).
   */
  private readonly generations = new Map<string, number>();
  private bindingsListed = false;
  /**
   * What each binding's status says (namespace/name → `statusFacts`), from the same watch, status writes included. A
   * resource whose run succeeded on a revision of the version its binding already reports needs no read of the
   * binding: a fleet update that keeps the Promise's version read every binding once, to write nothing. The strings
   * are shared: most bindings say the same.
   */
  private readonly statuses = new Map<string, string>();
  private readonly statusTexts = new Map<string, string>();
  /**
   * The status facts of the bindings whose status this controller is writing (namespace/name), until the write
   * answers: the event of its own write, told before that, brings no reconcile (there would be nothing to do).
   */
  private readonly writing = new Map<string, string>();

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
        if (wf.phase !== 'Succeeded' && this.followsLatest.has(key) && this.seen.get(key)?.startsWith(`${e.object.metadata.uid}/`)) return;
        const facts = `${e.object.metadata.uid}/${wf.revision ?? ''}/${wf.phase === 'Succeeded'}/${e.object.metadata.annotations?.[ANNOTATION_PINNED_VERSION] ?? ''}`;
        if (this.seen.get(key) === facts) return;
        this.seen.set(key, facts);
        enqueue(key);
      },
    });
  }

  async start(): Promise<void> {
    this.configWatch = await watchOf(this.opts.client, configMapType, { namespace: PLATFORM_NAMESPACE }, (e) => {
      if (e.object.metadata.name === KRATIX_CONFIG) this.pinned = e.type !== 'DELETED' && pinsNewRequests(e.object.data?.config);
    });
    this.promiseWatch = await watchOf(this.opts.client, promiseType, {}, (e) => {
      if (e.type === 'DELETED') this.promises.delete(e.object.metadata.name);
      else this.promises.set(e.object.metadata.name, factsOf(e.object));
    });
    await this.runner.start();
    // A binding's spec (generation), its coming and going, and a change of its status: the status is this controller's
    // to write, so one changed by someone else is written back (a write of its own brings no reconcile: `writing`).
    const generations = this.generations;
    this.watch = await watchOf(this.opts.client, resourceBindingType, {}, (e) => {
      const id = `${e.object.metadata.namespace ?? ''}/${e.object.metadata.name}`;
      const generation = e.object.metadata.generation ?? 0;
      const mine = this.writing.get(id);
      const statusChanged = this.recordStatus(id, e.type === 'DELETED' ? undefined : e.object.status) && (mine === undefined || mine !== this.statuses.get(id));
      if (e.type === 'DELETED') generations.delete(id);
      else if (generations.get(id) === generation && !statusChanged) return;
      else generations.set(id, generation);
      const spec = e.object.spec;
      const ns = spec?.resourceRef.namespace ?? e.object.metadata.namespace ?? '';
      if (!spec?.promiseRef.name || !spec.resourceRef.name) return;
      const key = `${spec.promiseRef.name}/${ns}/${spec.resourceRef.name}`;
      if (e.type !== 'DELETED' && (spec.version || 'latest') === 'latest') this.followsLatest.add(key);
      else this.followsLatest.delete(key);
      if (e.type === 'ADDED' && this.creating.has(id)) return;
      this.runner.controller.enqueue(key);
    });
    this.bindingsListed = true;
  }

  async stop(): Promise<void> {
    this.watch?.stop();
    this.bindingsListed = false;
    this.generations.clear();
    this.statuses.clear();
    await this.runner.stop();
    this.promiseWatch?.stop();
    this.configWatch?.stop();
  }

  async reconcile(key: string): Promise<void> {
    const { client, registry, versions } = this.opts;
    const [promiseName = '', namespace = '', name = ''] = key.split('/');
    const type = kindServedBy(registry, promiseName);
    if (!type) return;
    // The resource and its binding are only read here (a write copies what it is given): the store's shared copies.
    const found = await client.get({ apiVersion: apiVersionOf(type), kind: type.kind, namespace, name }, { shared: true });
    if (!found || found.metadata.deletionTimestamp) return; // its binding goes with it (ownerReference)
    const resource = resourceRequest(found);
    const ref = { apiVersion: KRATIX_API, kind: 'ResourceBinding', namespace, name: bindingName(name, promiseName) };
    const id = `${namespace}/${ref.name}`;
    // The Promise as its watch told it, unless that may be behind what this reconcile saw (a watch delivered apart
    // from the resource's, with a shared store): not told yet, or older than the revision the resource ran. A pinned
    // version (or a new binding, which may take the Promise's version) is looked up among the revisions as stored:
    // one released a moment ago may not have been told yet.
    const told = this.promises.get(promiseName);
    const ran = resource.status?.kratix?.workflows?.revision;
    const current = told !== undefined && told.latestRevision >= (typeof ran === 'number' ? ran : 0);
    if (current && (await this.reportsAlready(key, id, resource, promiseName, told.latestRevision))) return;
    const read = (): Promise<ResourceBinding | undefined> => getOf(client, resourceBindingType, ref.name, namespace, { shared: true });
    let binding = this.bindingsListed && !this.generations.has(id) ? undefined : await read();
    const pinned = !binding || (binding.spec?.version ?? 'latest') !== 'latest';
    const promise = current && !pinned ? told : await this.readPromise(promiseName);
    if (!promise) return;
    if (!binding) {
      // Kratix's `resourceBindingVersionStrategy: pinned`: a new request stays on the version it was made at.
      const version = this.pinned ? promise.version || 'latest' : 'latest';
      this.creating.add(id);
      // The answer is only read from here on: the store's shared copy.
      const created = await createUnlessExists(
        client,
        {
          apiVersion: KRATIX_API,
          kind: 'ResourceBinding',
          metadata: {
            name: ref.name,
            namespace,
            labels: { [LABEL_PROMISE_NAME]: promiseName, [LABEL_RESOURCE_NAME]: name },
            ownerReferences: [{ apiVersion: resource.apiVersion, kind: resource.kind, name, uid: resource.metadata.uid, blockOwnerDeletion: true }],
          },
          spec: { version, promiseRef: { name: promiseName }, resourceRef: { name, namespace } },
        },
        { shared: true },
      ).finally(() => this.creating.delete(id));
      // One this process had not been told of yet: it is read, and the reconcile goes on from it.
      binding = created ? objectOf(resourceBindingType, created) : await read();
      if (!binding) throw new Error(`ResourceBinding ${id} was deleted while it was being created: reconciled again`);
    }
    const wanted = binding.spec?.version || 'latest';
    const latest = promise.latestRevision;
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

  /** What a binding reads of a Promise, as stored (and told to the cache); undefined when it is gone. */
  private async readPromise(name: string): Promise<PromiseFacts | undefined> {
    // Read for two facts: the store's shared copy, not a copy of the whole Promise (its API schema, its workflows).
    const promise = await getOf(this.opts.client, promiseType, name, undefined, { shared: true });
    if (!promise) return undefined;
    const facts = factsOf(promise);
    const told = this.promises.get(name);
    // The watch may have told a newer one meanwhile: the cache never goes back.
    if (!told || told.latestRevision <= facts.latestRevision) this.promises.set(name, facts);
    return facts;
  }

  /**
   * Keeps what a binding's status says (undefined: the binding is gone). Whether it may have changed: it did, or it
   * holds more than `statusFacts` tells (then it cannot be told, and a reconcile looks).
   */
  private recordStatus(id: string, status: unknown): boolean {
    const facts = status === undefined ? undefined : statusFacts(status);
    const before = this.statuses.get(id);
    if (facts === undefined) {
      this.statuses.delete(id);
      return status !== undefined;
    }
    let shared = this.statusTexts.get(facts);
    if (shared === undefined) {
      if (this.statusTexts.size >= 1024) this.statusTexts.clear();
      this.statusTexts.set(facts, (shared = facts));
    }
    this.statuses.set(id, shared);
    return shared !== before;
  }

  /**
   * Whether the binding `id` of a resource following `latest` already says what `writeStatus` would write now: the
   * resource's run succeeded, and the binding reports that revision's version as applied and the upgrade complete
   * (and nothing else). Then it is not read.
   */
  private async reportsAlready(key: string, id: string, resource: ResourceRequest, promiseName: string, latest: number): Promise<boolean> {
    const told = this.statuses.get(id);
    const wf = resource.status?.kratix?.workflows;
    if (told === undefined || !this.followsLatest.has(key) || wf?.phase !== 'Succeeded' || typeof wf.revision !== 'number') return false;
    if (resource.metadata.annotations?.[ANNOTATION_PINNED_VERSION] !== undefined) return false;
    const version = await this.opts.versions.versionOf(promiseName, latest, wf.revision);
    return version !== undefined && told === completeFacts(version);
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
        conditions = setCondition(conditions, upgradeComplete(ran), now);
      } else if (pinnedRevision !== undefined) {
        conditions = setCondition(
          conditions,
          { type: 'UpgradeSucceeded', status: 'Unknown', reason: 'UpgradeInProgress', message: `moving to ${wanted}` },
          now,
        );
      }
    }
    // No empty list where there was none: a new binding whose resource has not run yet says nothing so far, and
    // writing `conditions: []` was a write per new request that carried no information.
    if (conditions.length || status.conditions !== undefined) status.conditions = conditions;
    if (jsonEqual(status, binding.status ?? {})) return;
    const id = `${binding.metadata.namespace ?? ''}/${binding.metadata.name}`;
    const facts = statusFacts(status);
    if (facts !== undefined) this.writing.set(id, facts);
    try {
      await this.opts.client.updateStatus({ ...binding, status }, { shared: true }); // the answer is not read
    } finally {
      this.writing.delete(id);
    }
  }
}

/** The name of Kratix's own ConfigMap in the platform namespace. */
const KRATIX_CONFIG = 'kratix';

/** Whether Kratix's config text (the ConfigMap's key `config`) says resourceBindingVersionStrategy: pinned. */
function pinsNewRequests(text: string | undefined): boolean {
  if (!text) return false;
  try {
    const config = parseYamlBounded(text, UNTRUSTED_LIMITS);
    return isPlainObject(config) && config.resourceBindingVersionStrategy === 'pinned';
  } catch {
    return false; // a broken config pins nothing; Kratix reads the other keys the same way
  }
}

/**
 * A binding's status as one string — the version applied, the one that failed, each condition's type, status,
 * reason, message and whether it has a transition time — or undefined when it holds anything else (then a reconcile
 * always reads the binding).
 */
function statusFacts(status: unknown): string | undefined {
  if (!isPlainObject(status)) return undefined;
  const { lastAppliedVersion, failedVersion, conditions, ...rest } = status;
  if (Object.keys(rest).length || !optionalString(lastAppliedVersion) || !optionalString(failedVersion)) return undefined;
  const listed: unknown[] = [];
  if (conditions !== undefined) {
    if (!Array.isArray(conditions)) return undefined;
    for (const c of conditions) {
      if (!isPlainObject(c)) return undefined;
      const { type, status: value, reason, message, lastTransitionTime, ...other } = c;
      if (Object.keys(other).length || ![type, value, reason, message, lastTransitionTime].every(optionalString)) return undefined;
      listed.push([type ?? null, value ?? null, reason ?? null, message ?? null, lastTransitionTime !== undefined]);
    }
  }
  return JSON.stringify([lastAppliedVersion ?? null, failedVersion ?? null, conditions === undefined ? null : listed]);
}

function optionalString(value: unknown): boolean {
  return value === undefined || typeof value === 'string';
}

/** The condition of a binding whose resource's run of `version` (undefined: a revision without one) succeeded. */
function upgradeComplete(version: string | undefined): Condition {
  return { type: 'UpgradeSucceeded', status: 'True', reason: 'UpgradeComplete', message: `on version ${version || '(none)'}` };
}

/** The facts of the status `writeStatus` leaves as it is for a resource following latest whose run of `version` succeeded. */
function completeFacts(version: string): string | undefined {
  return statusFacts({ lastAppliedVersion: version, conditions: [{ ...upgradeComplete(version), lastTransitionTime: 'set' }] });
}
