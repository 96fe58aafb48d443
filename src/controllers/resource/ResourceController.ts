/**
 * Fulfils resource requests: for every object of a kind a Promise serves, runs the Promise's resource configure
 * workflow when its inputs change (the request's spec, the Promise's spec), when `kratix.io/manual-reconciliation`
 * is set, or when the reconciliation interval has passed — as Kratix does. Writes Kratix's status (status.yaml
 * fields, conditions, counters, lastSuccessfulConfigureWorkflowTime, observedGeneration). Failures retry with
 * exponential backoff recorded in the status, so a restart does not forget it. On deletion it runs the delete
 * workflow, removes the request's Works and releases its finalizers.
 *
 * Level-based: every decision is taken from the stored object and Promise, never from the event that woke it.
 */
import { withoutFinalizer } from '../../api/finalizers.ts';
import type { Logger } from 'pino';
import { availableParallelism } from 'node:os';
import { setCondition } from '../../api/conditions.ts';
import { parseGoDuration } from '../../api/duration.ts';
import { isApiError } from '../../api/errors.ts';
import { refOf, type Client } from '../../client/Client.ts';
import { getOf, listOf, watchOf } from '../../client/typed.ts';
import { promiseType, type KratixPromise, type PromiseSpec } from '../../registry/builtin/kratixKinds.ts';
import { objectOf } from '../../registry/builtin/defineType.ts';
import { revisionType, workflowRunType, type WorkflowRun } from '../../registry/builtin/fleetopsKinds.ts';
import { resourceRequest, writeRequestStatus, type ResourceRequest, type ResourceRequestStatus, type WorkflowState } from '../shared/resourceRequest.ts';
import { Controller, type ReconcileResult } from '../../controller/Controller.ts';
import { BackgroundTasks } from '../../controller/BackgroundTasks.ts';
import { PromiseKindsWatcher } from '../shared/PromiseKindsWatcher.ts';
import type { Registry } from '../../registry/Registry.ts';
import { apiVersionOf, type ResourceType } from '../../registry/ResourceType.ts';
import { rfc3339Seconds } from '../../api/time.ts';
import type { EventRecorder } from '../shared/EventRecorder.ts';
import { isUnfinishedDispatch, type CompletedRun, type WorkflowExecutor, type WorkflowTarget } from '../shared/WorkflowExecutor.ts';
import {
  isPaused,
  isPausedCondition,
  PAUSED_CONDITION,
  LABEL_HASH,
  LABEL_PAUSED,
  LABEL_MANUAL_RECONCILIATION,
  LABEL_PIPELINE_NAME,
  LABEL_PROMISE_NAME,
  LABEL_RESOURCE_NAME,
  LABEL_WORKFLOW_SUSPENDED,
} from '../shared/kratixNames.ts';
import { md5Hex } from '../../lib/workloads.ts';
import { configReader } from '../shared/configReader.ts';
import { kindServedBy, promiseNameOf } from '../shared/promiseKinds.ts';
import { revisionName } from '../../registry/builtin/fleetopsKinds.ts';
import { markRunning, recordOutcome } from './runStatus.ts';
import { nextRun } from './nextRun.ts';
import { FINALIZER_DELETE_WORKFLOWS, RESOURCE_FINALIZERS, requestFinalizers, requestPipelines } from '../shared/requestMetadata.ts';
import { ANNOTATION_PINNED_VERSION, LABEL_REVISION } from '../../api/fleetopsNames.ts';
import { RevisionVersions } from '../bindings/revisionVersions.ts';

export { LABEL_MANUAL_RECONCILIATION } from '../shared/kratixNames.ts';
export { LABEL_REVISION } from '../../api/fleetopsNames.ts';
export const ANNOTATION_RECONCILIATION_INTERVAL = 'kratix.io/reconciliation-interval';
const DEFAULT_INTERVAL_MS = 10 * 3_600_000;

export interface ResourceControllerOptions {
  client: Client;
  registry: Registry;
  executor: WorkflowExecutor;
  events: EventRecorder;
  logger: Logger;
  /** Workflows of different resources run in parallel up to this many. */
  concurrency?: number;
  /** Default re-run interval (Kratix: 10h), overridden per Promise. */
  reconciliationIntervalMs?: number;
  /** First retry delay after a failed workflow; doubles up to maxRetryDelayMs. */
  retryBaseMs?: number;
  maxRetryDelayMs?: number;
  now?: () => Date;
}

/**
 * Workflows run at once by default: 4 per core. A run spends most of its time waiting for its sandbox (or, for real
 * steps, for the network), while FleetOps' own share (status, records, Work) is a few milliseconds of the event
 * loop; with 2 per core the sandboxes stood idle while that share queued (measured: 1.9× the bare-sandbox floor
 * against 1.5× with 4 per core, on 2 cores).
 */
export function defaultWorkflowConcurrency(): number {
  return Math.max(4, availableParallelism() * 4);
}

export function resourceKey(type: Pick<ResourceType, 'group' | 'kind'>, namespace: string, name: string): string {
  return [type.group, type.kind, namespace, name].join('|');
}

/**
 * What a reconcile acts on besides the status: spec (generation), labels (revision, manual reconciliation),
 * annotations, finalizers and deletion. An event that changes only the status — mostly this controller's own
 * writes, two per run — brings no reconcile.
 */
function reconcileSignature(m: ResourceRequest['metadata']): string {
  return JSON.stringify([m.generation, m.labels, m.annotations, m.finalizers, m.deletionTimestamp]);
}

/** Hashes of Promise specs by spec object: the same few specs (live, per revision) serve every resource. */
const specHashes = new WeakMap<object, string>();

export function configureHash(promise: KratixPromise, object: ResourceRequest): string {
  const spec = promise.spec ?? {};
  let promiseHash = specHashes.get(spec);
  if (!promiseHash) {
    promiseHash = md5Hex(JSON.stringify(spec));
    specHashes.set(spec, promiseHash);
  }
  return md5Hex(`${promiseHash}-${md5Hex(JSON.stringify(object.spec ?? {}))}`);
}

const pipelineOf = (run: WorkflowRun): string => run.metadata.labels?.[LABEL_PIPELINE_NAME] ?? '';
const completedRun = (run: WorkflowRun, status: WorkflowRun['status']): CompletedRun => ({ name: run.metadata.name, status: status?.output?.status ?? {} });

export class ResourceController {
  readonly controller: Controller;
  private readonly opts: ResourceControllerOptions;
  private readonly kinds: PromiseKindsWatcher;
  private promiseWatch: { stop(): void } | undefined;
  /** Promise name → what last triggered a fleet-wide re-check (availability and pausing). */
  private readonly promiseSeen = new Map<string, string>();
  private readonly background: BackgroundTasks;
  /** Promises as the watch last delivered them: read on every reconcile, so not parsed from the store each time. */
  private readonly promises = new Map<string, KratixPromise>();
  /** What each resource's last reconcile-worthy event looked like (see reconcileSignature). */
  private readonly signatures = new Map<string, string>();
  /** Revision specs by Promise uid and number (revisions are immutable). */
  private readonly revisions = new Map<string, PromiseSpec>();

  /** Versions of the Promise's revisions, for resources a ResourceBinding pins. */
  private readonly versions: RevisionVersions;

  constructor(options: ResourceControllerOptions) {
    this.opts = options;
    this.versions = new RevisionVersions(options.client);
    this.controller = new Controller({
      name: 'resource',
      reconciler: { reconcile: (key, log, signal) => this.reconcile(key, log, signal) },
      logger: options.logger,
      concurrency: options.concurrency ?? defaultWorkflowConcurrency(),
    });
    this.background = new BackgroundTasks(options.logger);
    this.kinds = new PromiseKindsWatcher({
      client: options.client,
      registry: options.registry,
      logger: options.logger,
      onEvent: (type, e) => {
        const key = resourceKey(type, e.object.metadata.namespace ?? '', e.object.metadata.name);
        if (e.type === 'DELETED') {
          this.signatures.delete(key);
          return;
        }
        const signature = reconcileSignature(resourceRequest(e.object).metadata);
        if (e.type === 'MODIFIED' && this.signatures.get(key) === signature) return;
        this.signatures.set(key, signature);
        this.controller.enqueue(key);
      },
    });
  }

  private now(): Date {
    return (this.opts.now ?? (() => new Date()))();
  }

  async start(): Promise<void> {
    this.controller.start();
    await this.kinds.start();
    this.promiseWatch = await watchOf(this.opts.client, promiseType, {}, (e) => {
      const name = e.object.metadata.name;
      if (e.type === 'DELETED') {
        this.promiseSeen.delete(name);
        this.promises.delete(name);
        return;
      }
      this.promises.set(name, e.object);
      // Availability and pausing change what every resource may do; a spec change does not (its new revision
      // reaches resources through a Rollout, which labels them): re-checking 100,000 resources for it would only
      // hold up the rollout's start.
      const mark = `${String(e.object.status?.status)}/${String(isPaused(e.object))}`;
      const before = this.promiseSeen.get(name);
      this.promiseSeen.set(name, mark);
      if (before !== undefined && before !== mark) this.background.run('re-check resources of a changed Promise', () => this.enqueueAllOf(name));
    });
  }

  async stop(): Promise<void> {
    await this.kinds.stop();
    this.promiseWatch?.stop();
    await this.background.drain();
    await this.controller.stop();
  }

  /**
   * Every resource of the Promise's kind, from the keys the watch has delivered (every live resource has a
   * signature): no list of the fleet, whose parse would hold the event loop for seconds at 100,000 resources.
   */
  private async enqueueAllOf(promiseName: string): Promise<void> {
    const type = kindServedBy(this.opts.registry, promiseName);
    if (!type) return;
    const prefix = resourceKey(type, '', '').slice(0, -1);
    for (const key of this.signatures.keys()) if (key.startsWith(prefix)) this.controller.enqueue(key);
  }

  private intervalMs(promise: KratixPromise): number {
    const text = promise.metadata.annotations?.[ANNOTATION_RECONCILIATION_INTERVAL] ?? promise.spec?.workflows?.config?.reconciliationInterval;
    if (text) {
      try {
        return Math.max(60_000, parseGoDuration(text));
      } catch {
        // an invalid interval falls back to the default (the Promise's own status reports nothing better to do)
      }
    }
    return this.opts.reconciliationIntervalMs ?? DEFAULT_INTERVAL_MS;
  }

  async reconcile(key: string, log: Logger, signal?: AbortSignal): Promise<ReconcileResult | void> {
    const [group = '', kind = '', namespace = '', name = ''] = key.split('|');
    const type = this.opts.registry.byKind(group, kind);
    if (!type) return;
    const { client } = this.opts;
    // Only read: every change is written from a new object (spreads, a copy of the status).
    const found = await client.get({ apiVersion: apiVersionOf(type), kind, namespace, name }, { shared: true });
    if (!found) return;
    let obj = resourceRequest(found);
    const promiseName = promiseNameOf(type);
    const livePromise = this.promises.get(promiseName) ?? (await getOf(client, promiseType, promiseName));
    if (!livePromise) return;
    const state: WorkflowState = obj.status?.kratix?.workflows ?? {};
    // The Promise as of the revision this resource is to be reconciled with (see targetRevision).
    const revision = await this.targetRevision(obj, livePromise, state);
    const promise = revision ? await this.promiseAt(livePromise, revision) : livePromise;
    if (obj.metadata.deletionTimestamp) return this.finalize(obj, promise, type, log);

    // Finalizers and the promise-name label, in one write, for a request that lacks them (the API gives them to a
    // new one: see requestMetadata.ts); the reconcile goes on from what it wrote. (It used to return and wait for the
    // write's event to bring the resource back, behind every other new resource's first reconcile: 10,000 requests
    // at once had all their finalizers written before the first pipeline started.)
    const wanted = requestFinalizers(promise);
    const finalizers = obj.metadata.finalizers ?? [];
    if (wanted.some((f) => !finalizers.includes(f)) || obj.metadata.labels?.[LABEL_PROMISE_NAME] !== promiseName) {
      const metadata = {
        ...obj.metadata,
        finalizers: [...new Set([...finalizers, ...wanted])],
        labels: { ...(obj.metadata.labels ?? {}), [LABEL_PROMISE_NAME]: promiseName },
      };
      // The write's event is told before the write answers: as the signature it will carry is this reconcile's own,
      // it asks for no second reconcile (one less per new request). A write that fails leaves this one to retry.
      this.signatures.set(key, reconcileSignature(metadata));
      const written = await client.update({ ...obj, metadata }, { shared: true }); // only read from here on
      obj = resourceRequest(written);
    }

    const now = this.now();
    // Paused (the resource, or its Promise): no new run; said in the Reconciled condition, as Kratix says it.
    if (isPaused(obj) || isPaused(livePromise)) {
      const by = isPaused(obj) ? 'the resource is' : `Promise ${promiseName} is`;
      await this.writeStatus(obj, (s) => {
        s.conditions = setCondition(s.conditions, { ...PAUSED_CONDITION }, rfc3339Seconds(now));
        s.message = `Paused: ${by} labelled ${LABEL_PAUSED}=true`;
      });
      return; // removing the label brings us back (label changes are reconciled)
    }
    if (livePromise.status?.status !== 'Available') {
      // Just unpaused, with the Promise not Available yet (a paused Promise is not): the paused mark stays until it
      // is, so that the workflow then runs from the start.
      if (obj.status?.conditions?.some(isPausedCondition)) return;
      await this.writeStatus(obj, (s) => {
        s.conditions = setCondition(
          s.conditions,
          { type: 'Reconciled', status: 'Unknown', reason: 'PromiseUnavailable', message: 'Waiting for the Promise to be available' },
          rfc3339Seconds(now),
        );
        s.message = 'Pending';
      });
      return; // the Promise becoming available re-enqueues every resource
    }

    const hash = configureHash(promise, obj);
    // A resource unpaused runs its workflow from the start, as after a manual reconciliation (Kratix's behaviour).
    const unpaused = obj.status?.conditions?.some(isPausedCondition) === true;
    // A workflow that suspended itself resumes when its kratix.io/workflow-suspended label is removed.
    const resumed = state.phase === 'Suspended' && state.suspendedGeneration !== undefined && obj.metadata.labels?.[LABEL_WORKFLOW_SUSPENDED] === undefined;
    // Manual reconciliation and unpausing run the workflow from its first pipeline; a resumed one from where it stopped.
    const fromStart = obj.metadata.labels?.[LABEL_MANUAL_RECONCILIATION] === 'true' || unpaused;
    const manual = fromStart || resumed;
    const decision = nextRun(state, { hash, manual, revision, intervalMs: this.intervalMs(promise), now: now.getTime() });
    if (decision.kind === 'wait') return decision.ms === undefined ? undefined : { requeueAfter: decision.ms };
    if (decision.kind === 'adopt' && revision !== undefined) {
      // A revision whose workflows give this resource the same inputs (an undo back to what it runs): adopt it
      // without a run, so the rollout counts the resource as updated.
      await this.writeStatus(obj, (s) => {
        s.promiseRevision = revision;
        s.kratix = { ...s.kratix, workflows: { ...state, revision } };
      });
      return;
    }
    return this.runConfigure(obj, promise, type, hash, { ...state, ...(revision ? { revision } : {}) }, log, { fromStart, ...(signal ? { signal } : {}) });
  }

  /**
   * Which Promise revision a resource is reconciled with: the one a rollout assigned it (label), else the one it
   * was last reconciled with (so a new revision reaches it only through a rollout), else the newest (new requests).
   */
  private async targetRevision(obj: ResourceRequest, promise: KratixPromise, state: WorkflowState): Promise<number | undefined> {
    // A ResourceBinding pinned to a version comes first: the newest revision with that version.
    const pinned = obj.metadata.annotations?.[ANNOTATION_PINNED_VERSION];
    const latest = promise.status?.latestRevision;
    if (pinned && typeof latest === 'number') {
      const revision = await this.versions.revisionOf(promise.metadata.name, latest, pinned);
      if (revision !== undefined) return revision;
    }
    const label = Number(obj.metadata.labels?.[LABEL_REVISION]);
    if (Number.isInteger(label) && label > 0) return label;
    if (typeof state.revision === 'number') return state.revision;
    return typeof latest === 'number' ? latest : undefined;
  }

  /** The Promise with the spec of revision `n` (the live one when that revision is gone). */
  private async promiseAt(promise: KratixPromise, n: number): Promise<KratixPromise> {
    const key = `${promise.metadata.uid}/${n}`;
    let spec = this.revisions.get(key);
    if (!spec) {
      const rev = await getOf(this.opts.client, revisionType, revisionName(promise.metadata.name, n));
      spec = rev?.spec?.promiseSpec;
      if (!spec) return promise;
      if (this.revisions.size >= 256) this.revisions.clear();
      this.revisions.set(key, spec);
    }
    return { ...promise, spec };
  }

  private async runConfigure(
    obj: ResourceRequest,
    promise: KratixPromise,
    type: ResourceType,
    hash: string,
    state: WorkflowState,
    log: Logger,
    { fromStart, signal }: { fromStart: boolean; signal?: AbortSignal },
  ): Promise<ReconcileResult | void> {
    const { client, executor } = this.opts;
    const pipelines = requestPipelines(promise, 'configure');
    const nowText = (): string => rfc3339Seconds(this.now());
    // The labels that asked for this run (or said it waited) go as it starts, as on Kratix.
    let current = await this.withoutLabels(obj, [LABEL_MANUAL_RECONCILIATION, LABEL_WORKFLOW_SUSPENDED]);
    const pipelineNames = pipelines.map((p) => p.metadata.name);
    // 'Running' in the stored status means the process running it died (runs of one resource never overlap): the
    // pipelines that finished before the crash are taken from their WorkflowRuns instead of running twice.
    const since = state.phase === 'Running' && state.hash === hash ? state.runningSince : undefined;
    const recovering = since !== undefined;
    // A run of an earlier spec still under way (started by a leader that has gone) must not write its Work after ours.
    if (state.phase === 'Running' && state.hash !== hash && executor.dispatching()) await this.supersede(current, promise, hash);
    // A workflow that suspended itself (workflow-control.yaml) resumes from the pipeline that suspended, as on Kratix:
    // the ones before it, succeeded for this spec, are not run again.
    const suspended = !recovering && !fromStart && state.phase === 'Suspended' && state.hash === hash;
    const resumed = recovering
      ? await this.completedRuns(current, promise, hash, since)
      : suspended
        ? await this.runsBeforeSuspension(current, promise, hash, state)
        : new Map<string, CompletedRun>();
    if (resumed.size) log.info({ pipelines: [...resumed.keys()], after: recovering ? 'restart' : 'suspension' }, 'resuming a workflow');
    if (pipelines.length) {
      const runningSince = since ?? obj.metadata.resourceVersion;
      current = await this.writeStatus(current, (s) => markRunning(s, { state, hash, runningSince, pipelines: pipelineNames, now: nowText() }));
      // A resource that never ran has never had this event: it is created without a read first.
      await this.opts.events.record(current, 'Normal', 'PipelineStarted', `Configure Pipeline started: ${pipelineNames.join(', ')}`, {
        likelyNew: state.phase === undefined,
      });
    }
    const target: WorkflowTarget = {
      object: current,
      workflowType: 'resource',
      action: 'configure',
      promise,
      plural: type.plural,
      pipelines,
      hash,
      namespace: current.metadata.namespace ?? '',
      worksWritten: state.worksFor ?? [],
    };
    const outcome = await executor.run(target, log, {
      readConfig: configReader(client, current.metadata.namespace ?? ''),
      completed: resumed,
      ...(signal ? { signal } : {}),
    });
    const finished = nowText();
    const attempts = (state.hash === hash && state.phase === 'Failed' ? (state.attempts ?? 0) : 0) + 1;
    const retryDelay = Math.min((this.opts.retryBaseMs ?? 5_000) * 2 ** (attempts - 1), this.opts.maxRetryDelayMs ?? 300_000);
    const completed = outcome.ok && !outcome.control.suspend && outcome.control.retryAfterMs === undefined;
    if (completed) await executor.removeStaleWorks(target, state.worksFor ?? []);
    const runs = await executor.pruneRuns(target.namespace, outcome.runs, state.runs ?? []);
    const worksFor = completed ? pipelineNames : [...new Set([...(state.worksFor ?? []), ...pipelineNames.slice(0, outcome.succeeded)])];

    const at = (ms: number): string => new Date(this.now().getTime() + ms).toISOString();
    const resumeAt = outcome.control.retryAfterMs === undefined ? undefined : at(outcome.control.retryAfterMs);
    const end = { state, hash, pipelines: pipelineNames, outcome, runs, worksFor, attempts, retryAt: at(retryDelay), resumeAt };
    current = await this.writeStatus(current, (s) => recordOutcome(s, { ...end, now: finished, generation: current.metadata.generation }));
    if (outcome.ok && (outcome.control.suspend || outcome.control.retryAfterMs !== undefined)) await this.markSuspended(current);
    if (!outcome.ok) {
      await this.opts.events.record(current, 'Warning', 'ConfigureWorkflowFailed', outcome.failure ?? 'failed');
      return { requeueAfter: retryDelay };
    }
    if (outcome.control.retryAfterMs !== undefined) return { requeueAfter: outcome.control.retryAfterMs };
    if (outcome.control.suspend) return;
    return { requeueAfter: this.intervalMs(promise) };
  }

  /** Marks the unfinished dispatched runs of this resource for another spec Failed, so no replica records them. */
  private async supersede(obj: ResourceRequest, promise: KratixPromise, hash: string): Promise<void> {
    for (const run of await this.runsOf(obj, promise)) {
      if (run.metadata.labels?.[LABEL_HASH] === hash || !isUnfinishedDispatch(run)) continue;
      await this.opts.client
        .updateStatus({
          ...run,
          status: { ...run.status, phase: 'Failed', message: 'superseded: the resource or its Promise changed before this run finished' },
        })
        .catch((err: unknown) => {
          if (!isApiError(err, 'Conflict') && !isApiError(err, 'NotFound')) throw err; // it moved on: the next reconcile looks again
        });
    }
  }

  /** Succeeded WorkflowRuns of an interrupted attempt (created after it started), by pipeline; its unfinished run is marked failed. */
  private async completedRuns(obj: ResourceRequest, promise: KratixPromise, hash: string, since: string): Promise<Map<string, CompletedRun>> {
    const out = new Map<string, CompletedRun>();
    for (const run of await this.runsOf(obj, promise, hash)) {
      const st = run.status;
      if (Number(run.metadata.resourceVersion) <= Number(since)) continue;
      const adopted = this.opts.executor.awaitDispatched(run);
      if (adopted) {
        // Another replica may still be carrying it out (its claim is taken over if that replica is gone): wait for it
        // rather than run the pipeline a second time.
        const final = objectOf(workflowRunType, await adopted);
        if (final.status?.phase === 'Succeeded') out.set(pipelineOf(run), completedRun(run, final.status));
        continue;
      }
      if (st?.phase === undefined || st.phase === 'Running') {
        // Its process is gone: say so, rather than leave a run that looks alive forever.
        await this.opts.client.updateStatus({
          ...run,
          status: { ...st, phase: 'Failed', message: 'interrupted: FleetOps stopped during the run; it runs again' },
        });
        continue;
      }
      if (st?.phase !== 'Succeeded') continue;
      out.set(pipelineOf(run), completedRun(run, st));
    }
    return out;
  }

  /** The newest succeeded WorkflowRun of each pipeline the suspended attempt had completed, by pipeline. */
  private async runsBeforeSuspension(obj: ResourceRequest, promise: KratixPromise, hash: string, state: WorkflowState): Promise<Map<string, CompletedRun>> {
    const done = new Set((state.pipelines ?? []).filter((p) => p.phase === 'Succeeded').map((p) => p.name));
    const out = new Map<string, CompletedRun>();
    if (!done.size) return out;
    for (const run of await this.runsOf(obj, promise, hash)) {
      if (done.has(pipelineOf(run)) && run.status?.phase === 'Succeeded') out.set(pipelineOf(run), completedRun(run, run.status));
    }
    // All of them, or none: a run pruned since means the workflow starts over.
    return out.size === done.size ? out : new Map();
  }

  /** The resource's WorkflowRuns (for the spec with `hash`, when given), oldest first: a later run of a pipeline wins. */
  private async runsOf(obj: ResourceRequest, promise: KratixPromise, hash?: string): Promise<WorkflowRun[]> {
    const selector = `${LABEL_RESOURCE_NAME}=${obj.metadata.name},${LABEL_PROMISE_NAME}=${promise.metadata.name}${hash ? `,${LABEL_HASH}=${hash}` : ''}`;
    const runs = await listOf(this.opts.client, workflowRunType, { namespace: obj.metadata.namespace ?? '', labelSelector: selector });
    return runs.sort((a, b) => Number(a.metadata.resourceVersion) - Number(b.metadata.resourceVersion));
  }

  /** Re-reads the object and writes its status through `change`, retrying on conflicts; skips a no-op write. */
  private async writeStatus(obj: ResourceRequest, change: (status: ResourceRequestStatus) => void): Promise<ResourceRequest> {
    return (await writeRequestStatus(this.opts.client, obj, (status) => change(status)))?.request ?? obj;
  }

  /** Labels a resource whose workflow suspended itself: removing the label resumes it (Kratix's contract). */
  private async markSuspended(obj: ResourceRequest): Promise<void> {
    if (obj.metadata.labels?.[LABEL_WORKFLOW_SUSPENDED] === 'true') return;
    await this.opts.client.mergePatch(refOf(obj), { metadata: { labels: { [LABEL_WORKFLOW_SUSPENDED]: 'true' } } });
  }

  /** The resource without these labels (one update when it has any of them; as it is otherwise). */
  private async withoutLabels(obj: ResourceRequest, keys: string[]): Promise<ResourceRequest> {
    if (!keys.some((k) => obj.metadata.labels?.[k] !== undefined)) return obj;
    const labels = { ...(obj.metadata.labels ?? {}) };
    for (const k of keys) delete labels[k];
    return resourceRequest(await this.opts.client.update({ ...obj, metadata: { ...obj.metadata, labels } }));
  }

  private async finalize(obj: ResourceRequest, promise: KratixPromise, type: ResourceType, log: Logger): Promise<ReconcileResult | void> {
    const { client, executor } = this.opts;
    const finalizers = obj.metadata.finalizers ?? [];
    let current = obj;
    if (finalizers.includes(FINALIZER_DELETE_WORKFLOWS)) {
      const pipelines = requestPipelines(promise, 'delete').slice(0, 1); // Kratix runs delete[0] only
      if (pipelines.length) {
        const target: WorkflowTarget = {
          object: obj,
          workflowType: 'resource',
          action: 'delete',
          promise,
          plural: type.plural,
          pipelines,
          hash: configureHash(promise, obj),
          namespace: obj.metadata.namespace ?? '',
        };
        // A delete workflow that suspended itself holds the teardown until its label is removed or its retryAfter passes.
        const held = obj.status?.conditions?.some((c) => c.type === 'DeleteWorkflowCompleted' && c.reason === 'DeleteWorkflowSuspended') === true;
        if (held && obj.metadata.labels?.[LABEL_WORKFLOW_SUSPENDED] !== undefined) {
          const wait = Date.parse(obj.status?.kratix?.workflows?.deleteNextRetryAt ?? '') - this.now().getTime();
          if (Number.isNaN(wait)) return; // until the label is removed
          if (wait > 0) return { requeueAfter: wait };
        }
        current = await this.withoutLabels(obj, [LABEL_WORKFLOW_SUSPENDED]);
        target.object = current;
        const outcome = await executor.run(target, log, { readConfig: configReader(client, obj.metadata.namespace ?? '') });
        if (outcome.ok && (outcome.control.suspend || outcome.control.retryAfterMs !== undefined)) {
          const retryAt = outcome.control.retryAfterMs === undefined ? undefined : new Date(this.now().getTime() + outcome.control.retryAfterMs).toISOString();
          current = await this.writeStatus(current, (s) => {
            s.conditions = setCondition(
              s.conditions,
              { type: 'DeleteWorkflowCompleted', status: 'False', reason: 'DeleteWorkflowSuspended', message: 'The delete workflow is suspended' },
              rfc3339Seconds(this.now()),
            );
            const wf: WorkflowState = { ...(s.kratix?.workflows ?? {}) };
            if (retryAt) wf.deleteNextRetryAt = retryAt;
            else delete wf.deleteNextRetryAt;
            s.kratix = { ...s.kratix, workflows: wf };
            s.message = `Delete workflow suspended${outcome.control.message ? `: ${outcome.control.message}` : ''}`;
          });
          await this.markSuspended(current);
          await this.opts.events.record(current, 'Normal', 'DeleteWorkflowSuspended', outcome.control.message ?? 'The delete workflow is suspended');
          return outcome.control.retryAfterMs === undefined ? undefined : { requeueAfter: outcome.control.retryAfterMs };
        }
        if (!outcome.ok) {
          await this.writeStatus(obj, (s) => {
            s.conditions = setCondition(
              s.conditions,
              { type: 'DeleteWorkflowCompleted', status: 'False', reason: 'DeleteWorkflowFailed', message: outcome.failure ?? 'failed' },
              rfc3339Seconds(this.now()),
            );
          });
          await this.opts.events.record(obj, 'Warning', 'DeleteWorkflowFailed', outcome.failure ?? 'failed');
          // Kratix does not retry a failed delete pipeline; FleetOps retries slowly so a fixed Promise unblocks it.
          return { requeueAfter: this.opts.maxRetryDelayMs ?? 300_000 };
        }
        await this.opts.events.record(obj, 'Normal', 'DeleteWorkflowCompleted', `Delete Pipeline completed: ${pipelines[0]!.metadata.name}`);
      }
      current = resourceRequest(await client.update(withoutFinalizer(current, FINALIZER_DELETE_WORKFLOWS)));
    }
    // Its Works and workflow runs go with it (as Kratix deletes a request's Works and Jobs), by the names its status
    // keeps: no scan of every Work in the namespace.
    const state = current.status?.kratix?.workflows ?? {};
    const namespace = obj.metadata.namespace ?? '';
    await executor.removeStaleWorks(
      { object: obj, workflowType: 'resource', action: 'configure', promise, plural: type.plural, pipelines: [], hash: '', namespace },
      [...new Set([...(state.worksFor ?? []), ...requestPipelines(promise, 'configure').map((p) => p.metadata.name)])],
    );
    await executor.pruneRuns(namespace, [], state.runs ?? [], 0);
    const remaining = (current.metadata.finalizers ?? []).filter((f) => !RESOURCE_FINALIZERS.includes(f));
    if (remaining.length !== (current.metadata.finalizers ?? []).length)
      await client.update({ ...current, metadata: { ...current.metadata, finalizers: remaining } });
    log.info('resource cleaned up');
  }
}
