/**
 * Installs Promises: serves the kind in `spec.api` (refusing schema changes that stored resources would fail),
 * records `spec.dependencies` as a Work, checks `requiredPromises`, writes Kratix's status and conditions, and on
 * deletion removes every resource of the kind before the kind goes away.
 */
import { ensureWork, type WorkSeal } from '../shared/workSeal.ts';
import type { Logger } from 'pino';
import { setCondition, type Condition } from '../../api/conditions.ts';
import { jsonEqual, type JsonObject, cloneJson } from '../../api/types.ts';
import { createUnlessExists, refOf, type Client } from '../../client/Client.ts';
import { getOf, listOf, watchOf } from '../../client/typed.ts';
import { promiseType, type KratixPromise, type PromiseSpec, type PromiseStatus, type WorkflowsStatus } from '../../registry/builtin/kratixKinds.ts';
import { revisionType } from '../../registry/builtin/fleetopsKinds.ts';
import { Controller, type ReconcileResult } from '../../controller/Controller.ts';
import { crdToResourceType } from '../../registry/crd.ts';
import type { ObjectService } from '../../registry/ObjectService.ts';
import type { Registry } from '../../registry/Registry.ts';
import { apiVersionOf, preferredVersion, type ResourceType } from '../../registry/ResourceType.ts';
import type { SchemaValidator } from '../../registry/schema/SchemaValidator.ts';
import { rfc3339Seconds } from '../../api/time.ts';
import type { EventRecorder } from '../shared/EventRecorder.ts';
import { encodeWorkload, ROOT_GROUP_ID } from '../../lib/workloads.ts';
import { stringify } from 'yaml';
import { md5Hex } from '../../lib/workloads.ts';
import { kindServedBy, ownerOf, promiseNameOf } from '../shared/promiseKinds.ts';
import { requestCreateDefaults } from '../shared/requestMetadata.ts';
import type { WorkflowExecutor, WorkflowTarget } from '../shared/WorkflowExecutor.ts';
import {
  isPaused,
  isPausedCondition,
  KRATIX_API,
  PAUSED_CONDITION,
  LABEL_MANUAL_RECONCILIATION,
  LABEL_PROMISE_NAME,
  LABEL_RECONCILE_RESOURCES,
} from '../shared/kratixNames.ts';
import type { Pipeline } from '../../workflows/PipelineRunner.ts';

import { FLEETOPS_API, revisionName } from '../../registry/builtin/fleetopsKinds.ts';
import { isApiError } from '../../api/errors.ts';
import { ANNOTATION_CHANGE_CAUSE, ANNOTATION_ROLLOUT_STRATEGY, parseStrategy } from '../rollout/strategy.ts';

/** What changed between two Promise specs, for `fleetops rollout history`. */
function describeChange(before: JsonObject | undefined, after: JsonObject | undefined): string {
  if (!before) return 'initial';
  const keys = [...new Set([...Object.keys(before), ...Object.keys(after ?? {})])].filter((k) => !jsonEqual(before[k], after?.[k]));
  return keys.length ? `${keys.sort().join(', ')} changed` : 'no spec change';
}

/** What a step of the Promise's reconcile found: its conditions, status fields (undefined: remove) and any problem. */
interface Step {
  conditions: Condition[];
  fields: Partial<PromiseStatus>;
  /** Why the Promise cannot fulfil requests, when it cannot. */
  problem?: string;
  /** The step changed the Promise and its next reconcile carries on. */
  restart?: boolean;
}

export const PLATFORM_NAMESPACE = 'kratix-platform-system';
export const PROMISE_FINALIZERS = ['kratix.io/resource-request-cleanup', 'kratix.io/api-crd-cleanup', 'kratix.io/dependencies-cleanup'];
export const LABEL_PROMISE_VERSION = 'kratix.io/promise-version';

export interface PromiseControllerOptions {
  client: Client;
  registry: Registry;
  objects: ObjectService;
  validator: SchemaValidator;
  events: EventRecorder;
  logger: Logger;
  /** Seals the dependencies' Work (the scheduler places only sealed Works). */
  seal: WorkSeal;
  /** Runs `workflows.promise.configure|delete`; without it Promise workflows are not run. */
  executor?: WorkflowExecutor;
  /** First retry delay after a failed Promise workflow (doubles up to 5 minutes). */
  retryBaseMs?: number;
  now?: () => Date;
}

function promisePipelines(spec: PromiseSpec, action: 'configure' | 'delete'): Pipeline[] {
  return spec.workflows?.promise?.[action] ?? [];
}

/** The type a Promise serves (its requests given their metadata as they are created), if its API is valid. */
function servedType(promise: KratixPromise, api: unknown, validator: SchemaValidator): ReturnType<typeof crdToResourceType> {
  const served = crdToResourceType(api, ownerOf(promise.metadata.name), validator);
  if (served.type) served.type.createDefaults = requestCreateDefaults(promise);
  return served;
}

/** The type a Promise serves, if its API is valid. */
export function typeFromPromise(promise: KratixPromise, validator: SchemaValidator): ResourceType | undefined {
  const api = promise.spec?.api;
  if (!api || Object.keys(api).length === 0) return undefined;
  return servedType(promise, api, validator).type;
}

export class PromiseController {
  readonly controller: Controller;
  private readonly opts: PromiseControllerOptions;
  private watch: { stop(): void } | undefined;
  /** Promise name → names of the Promises it requires, kept from the watch so a change re-checks its dependants. */
  private readonly requires = new Map<string, Set<string>>();

  constructor(options: PromiseControllerOptions) {
    this.opts = options;
    this.controller = new Controller({
      name: 'promise',
      reconciler: { reconcile: (key, log) => this.reconcile(key, log) },
      logger: options.logger,
      concurrency: 2,
    });
  }

  /** Registers the kinds of already installed Promises, so they are served before the API opens. */
  async registerInstalled(): Promise<void> {
    for (const p of await listOf(this.opts.client, promiseType)) {
      const type = typeFromPromise(p, this.opts.validator);
      if (type && !this.opts.registry.byResource(type.group, preferredVersion(type), type.plural)) this.opts.registry.register(type);
    }
  }

  async start(): Promise<void> {
    this.controller.start();
    // Any Promise change can fulfil or break another's requirements: re-check the Promises that require it.
    this.watch = await watchOf(this.opts.client, promiseType, {}, (e) => {
      const name = e.object.metadata.name;
      this.controller.enqueue(name);
      if (e.type === 'DELETED') this.requires.delete(name);
      else {
        const required = (e.object.spec?.requiredPromises ?? []).map((r) => r.name);
        if (required.length) this.requires.set(name, new Set(required));
        else this.requires.delete(name);
      }
      for (const [dependant, names] of this.requires) if (names.has(name)) this.controller.enqueue(dependant);
    });
  }

  async stop(): Promise<void> {
    this.watch?.stop();
    await this.controller.stop();
  }

  /** The injected clock (tests move it): every time of day the controller uses comes from here. */
  private clock(): Date {
    return (this.opts.now ?? (() => new Date()))();
  }

  private now(): string {
    return rfc3339Seconds(this.clock());
  }

  private servedBy(name: string): ResourceType | undefined {
    return kindServedBy(this.opts.registry, name);
  }

  async reconcile(name: string, log: Logger): Promise<ReconcileResult | void> {
    const { client } = this.opts;
    const promise = await getOf(client, promiseType, name);
    if (!promise) {
      const stale = this.servedBy(name);
      if (stale) this.opts.registry.unregister(stale.group, stale.plural);
      return;
    }
    log.trace({ rv: promise.metadata.resourceVersion, fin: promise.metadata.finalizers }, 'promise read');
    if (promise.metadata.deletionTimestamp) return this.finalize(promise, log);
    const finalizers = promise.metadata.finalizers ?? [];
    if (PROMISE_FINALIZERS.some((f) => !finalizers.includes(f))) {
      await client.update({ ...promise, metadata: { ...promise.metadata, finalizers: [...new Set([...finalizers, ...PROMISE_FINALIZERS])] } });
      return; // the update brings us back
    }
    const spec = promise.spec ?? {};
    const status: PromiseStatus = cloneJson(promise.status ?? {});
    const now = this.now();
    // Each step says what it found (status fields, conditions, why the Promise cannot be used); the last problem wins.
    const required = await this.checkRequirements(spec, status.conditions ?? [], now);
    const api = await this.serveApi(promise, required.conditions, now, log);
    // Each change of the spec is kept as an immutable revision; from the second on, a Rollout takes it to the fleet.
    await this.reconcileRevision(promise, status, log);
    await this.reconcileDependencies(promise, spec);
    if (promise.metadata.labels?.[LABEL_RECONCILE_RESOURCES] !== undefined && !isPaused(promise)) return this.reconcileResources(promise, log);
    const workflows = await this.runPromiseWorkflows(promise, status.kratix?.workflows, api.conditions, now, log);
    if (workflows.restart) return; // the update brings us back, with the recorded hash cleared so the workflow runs
    Object.assign(status, required.fields, api.fields, workflows.fields);
    for (const [k, v] of Object.entries({ ...required.fields, ...workflows.fields })) if (v === undefined) delete status[k];
    const problem = [required, api, workflows]
      .map((s) => s.problem)
      .filter((p) => p !== undefined)
      .at(-1);
    await this.writeStatus(promise, status, workflows.conditions, problem, now);
    const wf = status.kratix?.workflows ?? {};
    if (wf.phase === 'Failed' && wf.nextRetryAt) return { requeueAfter: Math.max(100, Date.parse(wf.nextRetryAt) - this.clock().getTime()) };
    return problem === undefined ? undefined : { requeueAfter: 30_000 };
  }

  /** `requiredPromises`: each installed, at its version and available. */
  private async checkRequirements(spec: PromiseSpec, conditions: Condition[], now: string): Promise<Step> {
    const required = spec.requiredPromises ?? [];
    if (!required.length) {
      return { conditions: conditions.filter((c) => c.type !== 'RequirementsFulfilled'), fields: { requiredPromises: undefined } };
    }
    const states = await Promise.all(
      required.map(async (r) => {
        const other = await getOf(this.opts.client, promiseType, r.name);
        const version = other?.metadata.labels?.[LABEL_PROMISE_VERSION];
        let state = 'Requirement installed';
        if (!other) state = 'Requirement not installed';
        else if (r.version && version !== r.version) state = 'Requirement not installed at the specified version';
        else if (other.status?.status !== 'Available') state = 'Requirement not available';
        return { name: r.name, version: r.version ?? '', state };
      }),
    );
    const unmet = states.filter((s) => s.state !== 'Requirement installed');
    if (!unmet.length) {
      const met: Condition = { type: 'RequirementsFulfilled', status: 'True', reason: 'RequirementsInstalled', message: 'Requirements fulfilled' };
      return { conditions: setCondition(conditions, met, now), fields: { requiredPromises: states } };
    }
    const problem = `Requirements not fulfilled: ${unmet.map((u) => `${u.name}${u.version ? '@' + u.version : ''} (${u.state.toLowerCase()})`).join(', ')}`;
    const unmetCondition: Condition = { type: 'RequirementsFulfilled', status: 'False', reason: 'RequirementsNotInstalled', message: problem };
    return { conditions: setCondition(conditions, unmetCondition, now), fields: { requiredPromises: states }, problem };
  }

  /** `spec.api` → the served kind, unless its schema would break stored resources or another owner serves it. */
  private async serveApi(promise: KratixPromise, conditions: Condition[], now: string, log: Logger): Promise<Step> {
    const api = promise.spec?.api;
    if (!api || Object.keys(api).length === 0) return { conditions, fields: {} };
    const name = promise.metadata.name;
    const { type, causes } = servedType(promise, api, this.opts.validator);
    if (!type) return { conditions, fields: {}, problem: `Invalid API: ${causes.map((c) => `${c.field}: ${c.message}`).join('; ')}` };
    const fields = { kind: type.kind, apiVersion: `${type.group}/${preferredVersion(type)}`.toLowerCase() };
    const clash = this.opts.registry.all().find((t) => t.group === type.group && t.plural === type.plural && t.owner !== type.owner);
    if (clash) {
      const owner = clash.owner === 'builtin' ? 'FleetOps itself' : `Promise ${promiseNameOf(clash)}`;
      return { conditions, fields, problem: `${type.plural}.${type.group} is already served by ${owner}` };
    }
    const current = this.servedBy(name);
    const compatible = conditions.filter((c) => c.type !== 'APICompatible');
    if (current && jsonEqual(current, type)) return { conditions: compatible, fields };
    const broken = current ? await this.incompatible(current, type) : [];
    if (broken.length) {
      const sample = broken
        .slice(0, 5)
        .map((b) => `${b.name}: ${b.why}`)
        .join('; ');
      const message = `the new schema is not applied: ${broken.length} existing ${type.plural} would be invalid (${sample}); fix them or make the change compatible`;
      await this.opts.events.record(
        promise,
        'Warning',
        'SchemaChangeRefused',
        `${broken.length} existing ${type.plural} would be invalid under the new schema`,
      );
      return { conditions: setCondition(conditions, { type: 'APICompatible', status: 'False', reason: 'StoredResourcesInvalid', message }, now), fields };
    }
    if (current && (current.group !== type.group || current.plural !== type.plural)) this.opts.registry.unregister(current.group, current.plural);
    this.opts.registry.register(type);
    log.info({ kind: type.kind, group: type.group }, 'api served');
    return { conditions: compatible, fields };
  }

  /**
   * `kratix.io/reconcile-resources`: every resource of the Promise is labelled for a manual reconciliation (each runs
   * its configure workflow once, and drops the label when it starts), then the Promise's label is removed. Should
   * FleetOps stop in between, the next leader labels them again: a resource may then run twice, never not at all.
   */
  private async reconcileResources(promise: KratixPromise, log: Logger): Promise<ReconcileResult | void> {
    const { client } = this.opts;
    const type = this.servedBy(promise.metadata.name);
    let count = 0;
    if (type) {
      for (const obj of await client.list(apiVersionOf(type), type.kind)) {
        if (obj.metadata.deletionTimestamp) continue;
        try {
          await client.mergePatch(refOf(obj), { metadata: { labels: { [LABEL_MANUAL_RECONCILIATION]: 'true' } } });
          count++;
        } catch (err) {
          if (!isApiError(err, 'NotFound')) throw err; // deleted meanwhile
        }
      }
    }
    const labels = { ...(promise.metadata.labels ?? {}) };
    delete labels[LABEL_RECONCILE_RESOURCES];
    await client.update({ ...promise, metadata: { ...promise.metadata, labels } });
    log.info({ promise: promise.metadata.name, resources: count }, 'every resource reconciled again (kratix.io/reconcile-resources)');
    await this.opts.events.record(promise, 'Normal', 'ReconcileResources', `${count} resources run their configure workflow again`);
    // the update brings us back
  }

  /**
   * `workflows.promise.configure`: run when the Promise's spec changes, on manual reconciliation (the label is
   * removed and the recorded hash cleared: `restart`), and again after a failure once its backoff has passed.
   */
  private async runPromiseWorkflows(
    promise: KratixPromise,
    recorded: WorkflowsStatus | undefined,
    conditions: Condition[],
    now: string,
    log: Logger,
  ): Promise<Step> {
    const { client, executor } = this.opts;
    // Paused: no new run, said in the Reconciled condition; unpaused, the workflow runs from the start.
    if (isPaused(promise)) return { conditions: setCondition(conditions, { ...PAUSED_CONDITION }, now), fields: {} };
    const unpaused = conditions.some(isPausedCondition);
    conditions = conditions.filter((c) => !isPausedCondition(c));
    const pipelines = promisePipelines(promise.spec ?? {}, 'configure');
    if (!pipelines.length || !executor) {
      // No Promise workflow (any more): what a former one recorded goes.
      return recorded
        ? { conditions: conditions.filter((c) => c.type !== 'ConfigureWorkflowCompleted'), fields: { kratix: undefined } }
        : { conditions, fields: {} };
    }
    const wf = unpaused ? { ...recorded, hash: undefined } : (recorded ?? {});
    const name = promise.metadata.name;
    if (promise.metadata.labels?.[LABEL_MANUAL_RECONCILIATION] !== undefined) {
      const labels = { ...promise.metadata.labels };
      delete labels[LABEL_MANUAL_RECONCILIATION];
      await client.update({ ...promise, metadata: { ...promise.metadata, labels } });
      await client.mergePatch({ apiVersion: KRATIX_API, kind: 'Promise', name }, { status: { kratix: { workflows: { hash: null } } } }, 'status');
      return { conditions, fields: {}, restart: true };
    }
    const hash = md5Hex(JSON.stringify(promise.spec ?? {}));
    const retryWait = wf.phase === 'Failed' && wf.nextRetryAt ? Date.parse(wf.nextRetryAt) - this.clock().getTime() : 0;
    let next: WorkflowsStatus = wf;
    let updated = conditions;
    if (wf.hash !== hash || (wf.phase === 'Failed' && retryWait <= 0)) {
      const target: WorkflowTarget = {
        object: promise,
        workflowType: 'promise',
        action: 'configure',
        promise,
        plural: 'promises',
        pipelines,
        hash,
        namespace: PLATFORM_NAMESPACE,
        worksWritten: wf.worksFor ?? [],
      };
      const outcome = await executor.run(target, log);
      const runs = await executor.pruneRuns(PLATFORM_NAMESPACE, outcome.runs, wf.runs ?? []);
      if (outcome.ok) {
        await executor.removeStaleWorks(target, wf.worksFor ?? []);
        next = { hash, phase: 'Succeeded', runs, worksFor: pipelines.map((p) => p.metadata.name) };
        const done: Condition = { type: 'ConfigureWorkflowCompleted', status: 'True', reason: 'PipelinesExecutedSuccessfully', message: 'Pipelines completed' };
        updated = setCondition(conditions, done, now);
      } else {
        const attempts = (wf.hash === hash && wf.phase === 'Failed' ? (wf.attempts ?? 0) : 0) + 1;
        const delay = Math.min((this.opts.retryBaseMs ?? 5_000) * 2 ** (attempts - 1), 300_000);
        const nextRetryAt = new Date(this.clock().getTime() + delay).toISOString();
        next = { hash, phase: 'Failed', attempts, nextRetryAt, message: outcome.failure ?? '', runs, worksFor: wf.worksFor ?? [] };
        const message = `Pipeline ${outcome.failedPipeline ?? ''} failed: ${outcome.failure ?? ''}`;
        updated = setCondition(conditions, { type: 'ConfigureWorkflowCompleted', status: 'False', reason: 'ConfigureWorkflowFailed', message }, now);
      }
    }
    const fields = { kratix: { workflows: next } };
    return next.phase === 'Failed' ? { conditions: updated, fields, problem: 'Promise configure workflow failed' } : { conditions: updated, fields };
  }

  /** Kratix's status summary, the Available condition and an event when availability changes. */
  private async writeStatus(promise: KratixPromise, status: PromiseStatus, conditions: Condition[], problem: string | undefined, now: string): Promise<void> {
    // A paused Promise is not Available, as Kratix says it (its resources say they are paused, not waiting).
    const paused = isPaused(promise);
    const available = problem === undefined && !paused;
    const version = promise.metadata.labels?.[LABEL_PROMISE_VERSION];
    if (version) status.version = version;
    else delete status.version;
    status.conditions = setCondition(
      conditions,
      available
        ? { type: 'Available', status: 'True', reason: 'PromiseAvailable', message: 'Ready to fulfil resource requests' }
        : paused
          ? { type: 'Available', status: 'False', reason: PAUSED_CONDITION.reason, message: PAUSED_CONDITION.message }
          : { type: 'Available', status: 'False', reason: 'PromiseUnavailable', message: 'Cannot fulfil resource requests' },
      now,
    );
    status.status = available ? 'Available' : 'Unavailable';
    status.message = paused ? PAUSED_CONDITION.message : (problem ?? 'Ready to fulfil resource requests');
    status.observedGeneration = promise.metadata.generation;
    if (available && promise.status?.status !== 'Available') status.lastAvailableTime = now;
    if (jsonEqual(status, promise.status)) return;
    await this.opts.client.updateStatus({ ...promise, status });
    if (promise.status?.status !== status.status) {
      await this.opts.events.record(promise, available ? 'Normal' : 'Warning', available ? 'Available' : 'Unavailable', status.message);
    }
  }

  private async reconcileRevision(promise: KratixPromise, status: PromiseStatus, log: Logger): Promise<void> {
    const { client } = this.opts;
    const name = promise.metadata.name;
    const hash = md5Hex(JSON.stringify(promise.spec ?? {}));
    if (status.latestRevisionHash === hash) return;
    const n = (status.latestRevision ?? 0) + 1;
    const previous = n > 1 ? await getOf(client, revisionType, revisionName(name, n - 1)) : undefined;
    const previousSpec = previous?.spec;
    // Set by `fleetops rollout undo` (or by hand, as kubernetes.io/change-cause): kept while it stays the same.
    const cause = promise.metadata.annotations?.[ANNOTATION_CHANGE_CAUSE] ?? '';
    const labels = { [LABEL_PROMISE_NAME]: name };
    const owner = [{ apiVersion: KRATIX_API, kind: 'Promise', name, uid: promise.metadata.uid }];
    // One that exists was made before a crash: ours.
    await createUnlessExists(client, {
      apiVersion: FLEETOPS_API,
      kind: 'Revision',
      metadata: { name: revisionName(name, n), labels, ownerReferences: owner },
      spec: {
        promiseName: name,
        revision: n,
        hash,
        version: promise.metadata.labels?.[LABEL_PROMISE_VERSION] ?? '',
        promiseSpec: promise.spec ?? {},
        changeCause: cause,
        change: cause && cause !== previousSpec?.changeCause ? cause : describeChange(previousSpec?.promiseSpec, promise.spec),
      },
    });
    if (n > 1) {
      const { strategy, problem } = parseStrategy(promise.metadata.annotations?.[ANNOTATION_ROLLOUT_STRATEGY]);
      if (problem)
        await this.opts.events.record(promise, 'Warning', 'InvalidRolloutStrategy', `${problem}; rolling out with the default strategy (all resources)`);
      const started = await createUnlessExists(client, {
        apiVersion: FLEETOPS_API,
        kind: 'Rollout',
        metadata: { name: revisionName(name, n), labels, ownerReferences: owner },
        spec: { promiseName: name, revision: n, fromRevision: n - 1, strategy, paused: false, aborted: false, approvedStep: 0 },
      });
      if (started) await this.opts.events.record(promise, 'Normal', 'RolloutStarted', `Revision ${n} is rolling out (fleetops rollout status ${name})`);
    }
    status.latestRevision = n;
    status.latestRevisionHash = hash;
    log.info({ revision: n }, 'promise revision recorded');
  }

  /** Stored resources that the new type's schema would reject. */
  private async incompatible(current: ResourceType, next: ResourceType): Promise<{ name: string; why: string }[]> {
    const broken: { name: string; why: string }[] = [];
    const { items } = await this.opts.objects.list(current, undefined);
    for (const obj of items) {
      const causes = this.opts.objects.validateAgainst(next, obj);
      if (causes.length) broken.push({ name: `${obj.metadata.namespace}/${obj.metadata.name}`, why: causes.map((c) => `${c.field} ${c.message}`).join(', ') });
    }
    return broken;
  }

  private async reconcileDependencies(promise: KratixPromise, spec: PromiseSpec): Promise<void> {
    const name = promise.metadata.name;
    const workName = `${name}-static-deps`;
    const deps = spec.dependencies ?? [];
    if (!deps.length) {
      await this.opts.client.delete({ apiVersion: KRATIX_API, kind: 'Work', namespace: PLATFORM_NAMESPACE, name: workName });
      return;
    }
    const content = deps.map((d) => stringify(d, { lineWidth: 0 })).join('---\n');
    const matchLabels: Record<string, string> = {};
    for (const s of spec.destinationSelectors ?? []) Object.assign(matchLabels, s.matchLabels);
    await ensureWork(this.opts.client, this.opts.seal, {
      apiVersion: KRATIX_API,
      kind: 'Work',
      metadata: {
        name: workName,
        namespace: PLATFORM_NAMESPACE,
        labels: { [LABEL_PROMISE_NAME]: name, 'kratix.io/work-type': 'static-dependency' },
        ownerReferences: [{ apiVersion: KRATIX_API, kind: 'Promise', name, uid: promise.metadata.uid, controller: true }],
      },
      spec: {
        promiseName: name,
        workloadGroups: [
          {
            id: ROOT_GROUP_ID,
            directory: '.',
            workloads: [{ filepath: `static/${name}-dependencies.yaml`, content: encodeWorkload(content) }],
            destinationSelectors: Object.keys(matchLabels).length ? [{ matchLabels, source: 'promise' }] : [],
          },
        ],
      },
    });
  }

  private async finalize(promise: KratixPromise, log: Logger): Promise<ReconcileResult | void> {
    const { client, registry } = this.opts;
    const name = promise.metadata.name;
    const type = this.servedBy(name);
    if (type) {
      const { items } = await this.opts.objects.list(type, undefined);
      if (items.length) {
        for (const obj of items)
          if (!obj.metadata.deletionTimestamp)
            await client.delete({ apiVersion: obj.apiVersion, kind: obj.kind, namespace: obj.metadata.namespace ?? '', name: obj.metadata.name });
        log.info({ remaining: items.length }, 'waiting for resources to be deleted');
        return { requeueAfter: 200 };
      }
      registry.unregister(type.group, type.plural);
    }
    for (const kind of ['Rollout', 'Revision']) {
      for (const o of await client.list(FLEETOPS_API, kind, { labelSelector: `${LABEL_PROMISE_NAME}=${name}` }))
        await client.delete({ apiVersion: FLEETOPS_API, kind, name: o.metadata.name });
    }
    const works = await client.list(KRATIX_API, 'Work', { labelSelector: `${LABEL_PROMISE_NAME}=${name}` });
    if (works.length) {
      for (const w of works) await client.delete({ apiVersion: KRATIX_API, kind: 'Work', namespace: w.metadata.namespace ?? '', name: w.metadata.name });
      return { requeueAfter: 200 };
    }
    const deletePipelines = promisePipelines(promise.spec ?? {}, 'delete').slice(0, 1);
    if (deletePipelines.length && this.opts.executor) {
      // Runs again if FleetOps stops before the finalizers go: delete pipelines must be idempotent, as in Kratix.
      const target: WorkflowTarget = {
        object: promise,
        workflowType: 'promise',
        action: 'delete',
        promise,
        plural: 'promises',
        pipelines: deletePipelines,
        hash: md5Hex(JSON.stringify(promise.spec ?? {})),
        namespace: PLATFORM_NAMESPACE,
      };
      const outcome = await this.opts.executor.run(target, log);
      if (!outcome.ok) {
        await this.opts.events.record(promise, 'Warning', 'DeleteWorkflowFailed', outcome.failure ?? 'failed');
        return { requeueAfter: 30_000 };
      }
    }
    await client.update({
      ...promise,
      metadata: { ...promise.metadata, finalizers: (promise.metadata.finalizers ?? []).filter((f) => !PROMISE_FINALIZERS.includes(f)) },
    });
    log.info('promise deleted');
  }
}
