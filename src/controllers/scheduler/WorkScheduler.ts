/**
 * Schedules Work to Destinations, as Kratix's scheduler does: per workload group, the effective selector is the
 * group's selectors merged in the order resource-workflow → promise-workflow → promise (the Promise wins on a key);
 * a resource group goes to one matching Destination and stays there while it matches; a dependency group goes to
 * every matching Destination. Each placement is a WorkPlacement named `<work>.<destination>-<id5>`. Unlike Kratix,
 * a placement whose Destination no longer matches (relabelled, deleted) is removed, so its files are removed, and a
 * resource group is scheduled again elsewhere. No match: the Work waits and says so in its status.
 */
import { withFinalizer, withoutFinalizer } from '../../api/finalizers.ts';
import type { Logger } from 'pino';
import { setCondition } from '../../api/conditions.ts';
import { jsonEqual, type KubeObject, cloneJson } from '../../api/types.ts';
import type { Client } from '../../client/Client.ts';
import { getOf, listOf, watchOf } from '../../client/typed.ts';
import { objectOf } from '../../registry/builtin/defineType.ts';
import {
  destinationType,
  workPlacementType,
  workType,
  type Destination,
  type Work,
  type WorkloadGroup,
  type WorkPlacement,
} from '../../registry/builtin/kratixKinds.ts';
import { Controller, type ReconcileResult } from '../../controller/Controller.ts';
import { BackgroundTasks } from '../../controller/BackgroundTasks.ts';
import { rfc3339Seconds } from '../../api/time.ts';
import type { EventRecorder } from '../shared/EventRecorder.ts';
import { KRATIX_API, LABEL_PIPELINE_NAME } from '../shared/kratixNames.ts';
import { FINALIZER_WORK_CLEANUP, type WorkSeal } from '../shared/workSeal.ts';
import type { Registry } from '../../registry/Registry.ts';
import { apiVersionOf } from '../../registry/ResourceType.ts';
import { kindServedBy } from '../shared/promiseKinds.ts';
import { resourceRequest, writeRequestStatus } from '../shared/resourceRequest.ts';

export const LABEL_WORK = 'kratix.io/work';
export const LABEL_GROUP_ID = 'kratix.io/workload-group-id';
export const LABEL_TARGET = 'kratix.io/targetDestinationName';
const SOURCE_ORDER = ['resource-workflow', 'promise-workflow', 'promise'];

export interface WorkSchedulerOptions {
  client: Client;
  /** Finds the kind of the resource a Work is for (its status says whether its Works could be placed). */
  registry: Registry;
  /** Only Works with FleetOps' seal are placed: what no Promise workflow produced never reaches a state store. */
  seal: WorkSeal;
  events: EventRecorder;
  logger: Logger;
  /** Picks one of the candidates for a resource group (injected for tests); default: uniformly at random. */
  pick?: (candidates: string[]) => string;
  now?: () => Date;
}

/** The group's selectors merged in Kratix's order; later sources override earlier ones on a key. */
export function effectiveSelector(group: Pick<WorkloadGroup, 'destinationSelectors'>): Record<string, string> {
  const selectors = [...(group.destinationSelectors ?? [])].sort((a, b) => SOURCE_ORDER.indexOf(a.source ?? '') - SOURCE_ORDER.indexOf(b.source ?? ''));
  const merged: Record<string, string> = {};
  for (const s of selectors) Object.assign(merged, s.matchLabels);
  return merged;
}

/** Whether a Destination can receive a group with this selector. */
export function destinationMatches(dest: Pick<Destination, 'metadata' | 'spec'>, selector: Record<string, string>): boolean {
  if (dest.metadata.deletionTimestamp) return false;
  const labels = dest.metadata.labels ?? {};
  if (!Object.keys(selector).length) {
    const strict = dest.spec.strictMatchLabels === true;
    return !(strict && Object.keys(labels).length);
  }
  return Object.entries(selector).every(([k, v]) => labels[k] === v);
}

/** How a workload group is named in messages: its directory, or its id for the root group. */
function groupName(g: WorkloadGroup): string {
  return g.directory && g.directory !== '.' ? g.directory : (g.id ?? '');
}

export function placementName(work: string, destination: string, groupId: string): string {
  return `${work}.${destination}-${groupId.slice(0, 5)}`;
}

export class WorkScheduler {
  readonly controller: Controller;
  private readonly opts: WorkSchedulerOptions;
  private watches: { stop(): void }[] = [];
  private readonly background: BackgroundTasks;

  constructor(options: WorkSchedulerOptions) {
    this.opts = options;
    this.background = new BackgroundTasks(options.logger);
    this.controller = new Controller({
      name: 'scheduler',
      reconciler: { reconcile: (key, log) => this.reconcile(key, log) },
      logger: options.logger,
      concurrency: 2,
    });
  }

  async start(): Promise<void> {
    this.controller.start();
    // The Destinations first: a Work is reconciled as soon as its watch names it, against the Destinations known.
    this.watches.push(
      await watchOf(this.opts.client, destinationType, {}, (e) => {
        if (e.type === 'DELETED') this.destinations.delete(e.object.metadata.name);
        else this.destinations.set(e.object.metadata.name, e.object);
        // Any Destination change can change where every Work belongs.
        // (The initial list's ADDED events come before `started`: the Work watch enqueues every Work already.)
        if (this.started) this.background.run('reschedule all Works', () => this.enqueueAll());
      }),
    );
    this.watches.push(
      await watchOf(this.opts.client, workType, {}, (e) => {
        const key = workKey(e.object);
        const mine = this.writing.get(key);
        if (mine && e.type === 'MODIFIED' && sameButVersion(mine, e.object)) return;
        this.controller.enqueue(key);
      }),
    );
    this.started = true;
  }

  private started = false;
  /**
   * The Destinations as their watch delivered them (objects nobody changes), by name: every reconcile reads them all,
   * and a list per Work was a query per Work on PostgreSQL. A change reschedules every Work once it is here.
   */
  private readonly destinations = new Map<string, Destination>();
  /**
   * The Works whose scheduling status this controller is writing (namespace/name → the body written), until the write
   * answers: the event of that write, told before it answers, brings no reconcile (it would find nothing to do; a new
   * Work's status write was its second reconcile). An event that differs in anything but its version is someone
   * else's write and is reconciled.
   */
  private readonly writing = new Map<string, Work>();

  private async enqueueAll(): Promise<void> {
    for (const w of await listOf(this.opts.client, workType)) this.controller.enqueue(workKey(w));
  }

  async stop(): Promise<void> {
    for (const w of this.watches) w.stop();
    this.watches = [];
    await this.background.drain();
    await this.controller.stop();
    this.destinations.clear(); // after the last reconcile: none may see no Destinations while stopping
  }

  async reconcile(key: string, log: Logger): Promise<ReconcileResult | void> {
    const { client } = this.opts;
    const [namespace = '', name = ''] = key.split('/');
    // The Work and its placements are only read here (a write copies what it is given): the store's shared copies.
    const work = await getOf(client, workType, name, namespace, { shared: true });
    if (!work) return;
    // The placements made so far are listed in the Work's status (no scan of every WorkPlacement per Work).
    const recorded = (work.status?.placements ?? []).slice();
    const existing = (await Promise.all(recorded.map((n) => getOf(client, workPlacementType, n, namespace, { shared: true })))).filter(
      (w): w is WorkPlacement => !!w,
    );
    const finalizers = work.metadata.finalizers ?? [];
    if (work.metadata.deletionTimestamp) {
      for (const wp of existing) await client.delete({ apiVersion: KRATIX_API, kind: 'WorkPlacement', namespace, name: wp.metadata.name });
      if (finalizers.includes(FINALIZER_WORK_CLEANUP)) await client.update(withoutFinalizer(work, FINALIZER_WORK_CLEANUP));
      return;
    }
    if (!finalizers.includes(FINALIZER_WORK_CLEANUP)) {
      await client.update(withFinalizer(work, FINALIZER_WORK_CLEANUP));
      return; // the update brings us back
    }
    if (!this.opts.seal.verify(work)) return this.refuseUnsealed(work, log);
    const spec = work.spec ?? {};
    const { wanted, unplaced } = this.placementsFor(work, [...this.destinations.values()], existing);
    const unscheduled = unplaced.map(groupName);
    const placements = [...wanted.keys()].sort();
    const groups = (spec.workloadGroups ?? []).length;
    // Placements are recorded before they are made: a crash half-way must not leave a placement nobody remembers.
    // When none goes (a new Work, one more Destination), the status the reconcile ends with records them, so it is
    // written first, in one write instead of two; a create that fails fails the reconcile, which makes it again.
    // When some go, the union is recorded first and the final status after the removals.
    const removing = recorded.some((n) => !wanted.has(n));
    let latest = work;
    if (!removing) await this.writeStatus(work, groups, placements, unscheduled);
    else {
      const union = [...new Set([...recorded, ...wanted.keys()])].sort();
      if (!jsonEqual(union, [...recorded].sort()))
        latest = objectOf(workType, await client.updateStatus({ ...work, status: { ...work.status, placements: union } }, { shared: true }));
    }
    for (const wp of existing) {
      if (!wanted.has(wp.metadata.name)) {
        await client.delete({ apiVersion: KRATIX_API, kind: 'WorkPlacement', namespace, name: wp.metadata.name });
        log.info({ workPlacement: wp.metadata.name }, 'placement removed');
      }
    }
    for (const [wpName, desired] of wanted) {
      const current = existing.find((wp) => wp.metadata.name === wpName);
      if (!current) await client.create(desired, { shared: true });
      else if (!jsonEqual(current.spec, desired.spec) || !jsonEqual(current.metadata.labels, desired.metadata.labels)) {
        await client.update({ ...current, metadata: { ...current.metadata, labels: desired.metadata.labels ?? {} }, spec: desired.spec }, { shared: true });
      }
    }
    const wasUnscheduled = work.status?.conditions?.some((c) => c.type === 'ScheduleSucceeded' && c.status === 'False') ?? false;
    if (removing) await this.writeStatus(latest, groups, placements, unscheduled);
    if (unscheduled.length) {
      await this.opts.events.record(work, 'Warning', 'NoMatchingDestination', `No matching destination found for workloadGroups: [${unscheduled.join(', ')}]`);
    }
    // The resource says so too (the common case, placed before and now, costs no read).
    if (unplaced.length || wasUnscheduled) await this.reportToResource(work, unplaced);
  }

  /**
   * Tells the resource a Work is for whether its outputs could be placed: `WorksSucceeded`, and `Reconciled` False
   * while they cannot (a request whose outputs reach no Destination is not reconciled), with what to do about it.
   */
  private async reportToResource(work: Work, unplaced: WorkloadGroup[]): Promise<void> {
    const { promiseName, resourceName } = work.spec ?? {};
    const type = promiseName && resourceName ? kindServedBy(this.opts.registry, promiseName) : undefined;
    if (!type || !resourceName) return;
    const ref = { apiVersion: apiVersionOf(type), kind: type.kind, namespace: work.metadata.namespace ?? '', name: resourceName };
    const now = this.timestamp();
    const wanted = unplaced.map(
      (g) =>
        Object.entries(effectiveSelector(g))
          .map(([k, v]) => `${k}=${v}`)
          .join(',') || '(any)',
    );
    const message = `Work ${work.metadata.name}: no Destination matches ${[...new Set(wanted)].join('; ')}; add a Destination with these labels (see docs/migrating-from-kratix.md)`;
    const found = await this.opts.client.get(ref);
    if (!found) return;
    const written = await writeRequestStatus(this.opts.client, resourceRequest(found), (status, current) => {
      if (current.metadata.deletionTimestamp) return false;
      let c = status.conditions;
      const configured = c?.some((x) => x.type === 'ConfigureWorkflowCompleted' && x.status === 'True') ?? false;
      if (unplaced.length) {
        c = setCondition(c, { type: 'WorksSucceeded', status: 'False', reason: 'UnscheduledWorks', message }, now);
        if (configured) c = setCondition(c, { type: 'Reconciled', status: 'False', reason: 'UnscheduledWorks', message: 'Not scheduled' }, now);
      } else {
        // Only the Work that made it False makes it True again (another Work of the resource may still wait).
        const works = c?.find((x) => x.type === 'WorksSucceeded');
        if (works?.status === 'False' && !works.message?.startsWith(`Work ${work.metadata.name}:`)) return false;
        c = setCondition(c, { type: 'WorksSucceeded', status: 'True', reason: 'WorksSucceeded', message: 'All works scheduled' }, now);
        if (configured) c = setCondition(c, { type: 'Reconciled', status: 'True', reason: 'Reconciled', message: 'Reconciled' }, now);
      }
      status.conditions = c;
    });
    if (written?.written && unplaced.length) await this.opts.events.record(written.request, 'Warning', 'UnscheduledWorks', message);
  }

  /**
   * A Work no Promise workflow produced (or changed since): placed nowhere new, its placements left as FleetOps last
   * made them, and said so in its status and events.
   */
  private async refuseUnsealed(work: Work, log: Logger): Promise<void> {
    const message = 'this Work was not produced by a Promise workflow (or was changed since): FleetOps does not schedule it';
    log.warn({ work: work.metadata.name, namespace: work.metadata.namespace }, 'unsealed Work refused');
    const now = this.timestamp();
    const status = cloneJson(work.status ?? {});
    status.conditions = setCondition(status.conditions, { type: 'ScheduleSucceeded', status: 'False', reason: 'NotProducedByWorkflow', message }, now);
    if (jsonEqual(status, work.status ?? {})) return;
    await this.opts.client.updateStatus({ ...work, status });
    await this.opts.events.record(work, 'Warning', 'NotProducedByWorkflow', message);
  }

  /** The placements a Work should have on these Destinations, and the groups no Destination matches. */
  private placementsFor(work: Work, destinations: Destination[], existing: WorkPlacement[]): { wanted: Map<string, KubeObject>; unplaced: WorkloadGroup[] } {
    const spec = work.spec ?? {};
    const { name, namespace = '' } = work.metadata;
    const wanted = new Map<string, KubeObject>();
    const unplaced: WorkloadGroup[] = [];
    for (const group of spec.workloadGroups ?? []) {
      const id = group.id ?? '';
      const targets = this.targetsOf(group, destinations, existing, !!spec.resourceName);
      if (!targets.length) unplaced.push(group);
      for (const dest of targets) {
        const wpName = placementName(name, dest, id);
        const labels = {
          [LABEL_WORK]: name,
          [LABEL_GROUP_ID]: id,
          [LABEL_TARGET]: dest,
          [LABEL_PIPELINE_NAME]: work.metadata.labels?.[LABEL_PIPELINE_NAME] ?? '',
        };
        wanted.set(wpName, {
          apiVersion: KRATIX_API,
          kind: 'WorkPlacement',
          metadata: {
            name: wpName,
            namespace,
            labels,
            ownerReferences: [{ apiVersion: KRATIX_API, kind: 'Work', name, uid: work.metadata.uid, controller: true, blockOwnerDeletion: true }],
          },
          spec: {
            targetDestinationName: dest,
            workloads: group.workloads ?? [],
            promiseName: spec.promiseName ?? '',
            resourceName: spec.resourceName ?? '',
            id,
            generation: work.metadata.generation ?? 1,
          },
        });
      }
    }
    return { wanted, unplaced };
  }

  /** Where one group goes: a resource group to one matching Destination (its current one while it matches), others to all. */
  private targetsOf(group: WorkloadGroup, destinations: Destination[], existing: WorkPlacement[], isResource: boolean): string[] {
    const selector = effectiveSelector(group);
    const candidates = destinations
      .filter((d) => destinationMatches(d, selector))
      .map((d) => d.metadata.name)
      .sort();
    if (!isResource) return candidates;
    const sticky = existing.find((wp) => wp.metadata.labels?.[LABEL_GROUP_ID] === group.id && candidates.includes(wp.metadata.labels?.[LABEL_TARGET] ?? ''));
    if (sticky) return [sticky.metadata.labels?.[LABEL_TARGET] ?? ''];
    const pick = this.opts.pick ?? ((c: string[]) => c[Math.floor(Math.random() * c.length)] ?? '');
    return candidates.length ? [pick(candidates)] : [];
  }

  private timestamp(): string {
    return rfc3339Seconds((this.opts.now ?? (() => new Date()))());
  }

  /** Writes the Work's scheduling status when it changes. */
  private async writeStatus(work: Work, groups: number, placements: string[], unscheduled: string[]): Promise<void> {
    const now = this.timestamp();
    // Its members are assigned, never changed in place (conditions are set as a new list): a shallow copy.
    const status = { ...work.status };
    let c = status.conditions;
    if (unscheduled.length) {
      const message = `No matching destination found for workloadGroups: [${unscheduled.join(', ')}]; add a Destination with matching labels`;
      c = setCondition(c, { type: 'ScheduleSucceeded', status: 'False', reason: 'UnscheduledWorkloads', message }, now);
      c = setCondition(c, { type: 'Ready', status: 'False', reason: 'UnscheduledWorkloads', message: 'Pending' }, now);
    } else {
      c = setCondition(c, { type: 'ScheduleSucceeded', status: 'True', reason: 'AllWorkplacementsScheduled', message: 'All workplacements scheduled' }, now);
      c = setCondition(c, { type: 'Ready', status: 'True', reason: 'AllWorkplacementsScheduled', message: 'Ready' }, now);
    }
    status.conditions = c;
    status.workPlacements = groups;
    status.workPlacementsCreated = placements.length;
    status.placements = placements;
    if (jsonEqual(status, work.status ?? {})) return;
    const key = workKey(work);
    const body = { ...work, status };
    this.writing.set(key, body);
    try {
      await this.opts.client.updateStatus(body, { shared: true });
    } finally {
      if (this.writing.get(key) === body) this.writing.delete(key);
    }
  }
}

/** A Work's key in the scheduler's queue (and in what it is writing): namespace/name. */
function workKey(work: Work): string {
  return `${work.metadata.namespace ?? ''}/${work.metadata.name}`;
}

/**
 * Whether `stored` is `written` as the store keeps it: the same spec, status, labels, annotations, finalizers,
 * generation and deletion (its version and managed fields aside).
 */
function sameButVersion(written: Work, stored: Work): boolean {
  const a = written.metadata;
  const b = stored.metadata;
  return (
    a.generation === b.generation &&
    a.deletionTimestamp === b.deletionTimestamp &&
    jsonEqual(a.labels, b.labels) &&
    jsonEqual(a.annotations, b.annotations) &&
    jsonEqual(a.finalizers, b.finalizers) &&
    jsonEqual(written.spec, stored.spec) &&
    jsonEqual(written.status, stored.status)
  );
}
