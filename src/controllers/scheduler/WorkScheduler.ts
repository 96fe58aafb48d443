/**
 * Schedules Work to Destinations, as Kratix's scheduler does: per workload group, the effective selector is the
 * group's selectors merged in the order resource-workflow → promise-workflow → promise (the Promise wins on a key);
 * a resource group goes to one matching Destination and stays there while it matches; a dependency group goes to
 * every matching Destination. Each placement is a WorkPlacement named `<work>.<destination>-<id5>`. Unlike Kratix,
 * a placement whose Destination no longer matches (relabelled, deleted) is removed, so its files are removed, and a
 * resource group is scheduled again elsewhere. No match: the Work waits and says so in its status.
 */
import type { Logger } from 'pino';
import { setCondition, type Condition } from '../../api/conditions.ts';
import { jsonEqual, type JsonObject, type KubeObject, cloneJson } from '../../api/types.ts';
import type { Client } from '../../client/Client.ts';
import { Controller, type ReconcileResult } from '../../controller/Controller.ts';
import { BackgroundTasks } from '../../controller/BackgroundTasks.ts';
import { rfc3339Seconds } from '../../api/time.ts';
import type { EventRecorder } from '../shared/EventRecorder.ts';
import { KRATIX_API, LABEL_PIPELINE_NAME } from '../shared/WorkflowExecutor.ts';

export const LABEL_WORK = 'kratix.io/work';
export const LABEL_GROUP_ID = 'kratix.io/workload-group-id';
export const LABEL_TARGET = 'kratix.io/targetDestinationName';
/** Keeps a Work until its WorkPlacements are gone (and with them, its files in the state stores). */
export const FINALIZER_WORK_CLEANUP = 'kratix.io/work-cleanup';
const SOURCE_ORDER = ['resource-workflow', 'promise-workflow', 'promise'];

interface WorkloadGroup {
  id: string;
  directory?: string;
  workloads: { filepath: string; content: string }[];
  destinationSelectors?: { matchLabels?: Record<string, string>; source?: string }[];
}

export interface WorkSchedulerOptions {
  client: Client;
  events: EventRecorder;
  logger: Logger;
  /** Picks one of the candidates for a resource group (injected for tests); default: uniformly at random. */
  pick?: (candidates: string[]) => string;
  now?: () => Date;
}

/** The group's selectors merged in Kratix's order; later sources override earlier ones on a key. */
export function effectiveSelector(group: Pick<WorkloadGroup, 'destinationSelectors'>): Record<string, string> {
  const selectors = [...(group.destinationSelectors ?? [])].sort((a, b) => SOURCE_ORDER.indexOf(a.source ?? '') - SOURCE_ORDER.indexOf(b.source ?? ''));
  return Object.assign({}, ...selectors.map((s) => s.matchLabels ?? {})) as Record<string, string>;
}

/** Whether a Destination can receive a group with this selector. */
export function destinationMatches(dest: KubeObject, selector: Record<string, string>): boolean {
  if (dest.metadata.deletionTimestamp) return false;
  const labels = dest.metadata.labels ?? {};
  if (!Object.keys(selector).length) {
    const strict = (dest.spec as { strictMatchLabels?: boolean } | undefined)?.strictMatchLabels === true;
    return !(strict && Object.keys(labels).length);
  }
  return Object.entries(selector).every(([k, v]) => labels[k] === v);
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
    this.watches.push(
      await this.opts.client.watch(KRATIX_API, 'Work', {}, (e) =>
        this.controller.enqueue(`${e.object.metadata.namespace as string}/${e.object.metadata.name as string}`),
      ),
      // Any Destination change can change where every Work belongs.
      // (The initial list's ADDED events come before `started`: the Work watch enqueues every Work already.)
      await this.opts.client.watch(KRATIX_API, 'Destination', {}, () => {
        if (this.started) this.background.run('reschedule all Works', () => this.enqueueAll());
      }),
    );
    this.started = true;
  }

  private started = false;

  private async enqueueAll(): Promise<void> {
    for (const w of await this.opts.client.list(KRATIX_API, 'Work')) this.controller.enqueue(`${w.metadata.namespace as string}/${w.metadata.name as string}`);
  }

  async stop(): Promise<void> {
    for (const w of this.watches) w.stop();
    this.watches = [];
    await this.background.drain();
    await this.controller.stop();
  }

  async reconcile(key: string, log: Logger): Promise<ReconcileResult | void> {
    const { client } = this.opts;
    const [namespace = '', name = ''] = key.split('/');
    const work = await client.get({ apiVersion: KRATIX_API, kind: 'Work', namespace, name });
    if (!work) return;
    // The placements made so far are listed in the Work's status (no scan of every WorkPlacement per Work).
    const recorded = ((work.status as { placements?: string[] } | undefined)?.placements ?? []).slice();
    const existing = (await Promise.all(recorded.map((n) => client.get({ apiVersion: KRATIX_API, kind: 'WorkPlacement', namespace, name: n })))).filter(
      (w): w is KubeObject => !!w,
    );
    const finalizers = work.metadata.finalizers ?? [];
    if (work.metadata.deletionTimestamp) {
      for (const wp of existing) await client.delete({ apiVersion: KRATIX_API, kind: 'WorkPlacement', namespace, name: wp.metadata.name as string });
      if (finalizers.includes(FINALIZER_WORK_CLEANUP))
        await client.update({ ...work, metadata: { ...work.metadata, finalizers: finalizers.filter((f) => f !== FINALIZER_WORK_CLEANUP) } });
      return;
    }
    if (!finalizers.includes(FINALIZER_WORK_CLEANUP)) {
      await client.update({ ...work, metadata: { ...work.metadata, finalizers: [...finalizers, FINALIZER_WORK_CLEANUP] } });
      return; // the update brings us back
    }
    const spec = (work.spec ?? {}) as { workloadGroups?: WorkloadGroup[]; resourceName?: string; promiseName?: string };
    const isResource = !!spec.resourceName;
    const destinations = await client.list(KRATIX_API, 'Destination');
    const wanted = new Map<string, KubeObject>();
    const unscheduled: string[] = [];
    for (const group of spec.workloadGroups ?? []) {
      const selector = effectiveSelector(group);
      const candidates = destinations
        .filter((d) => destinationMatches(d, selector))
        .map((d) => d.metadata.name as string)
        .sort();
      let targets: string[];
      if (isResource) {
        const sticky = existing.find(
          (wp) => wp.metadata.labels?.[LABEL_GROUP_ID] === group.id && candidates.includes(wp.metadata.labels?.[LABEL_TARGET] ?? ''),
        );
        const pick = this.opts.pick ?? ((c: string[]) => c[Math.floor(Math.random() * c.length)] as string);
        targets = sticky ? [sticky.metadata.labels?.[LABEL_TARGET] as string] : candidates.length ? [pick(candidates)] : [];
      } else targets = candidates;
      if (!targets.length) unscheduled.push(group.directory && group.directory !== '.' ? group.directory : group.id);
      for (const dest of targets) {
        const wpName = placementName(name, dest, group.id);
        wanted.set(wpName, {
          apiVersion: KRATIX_API,
          kind: 'WorkPlacement',
          metadata: {
            name: wpName,
            namespace,
            labels: {
              [LABEL_WORK]: name,
              [LABEL_GROUP_ID]: group.id,
              [LABEL_TARGET]: dest,
              [LABEL_PIPELINE_NAME]: work.metadata.labels?.[LABEL_PIPELINE_NAME] ?? '',
            },
            ownerReferences: [{ apiVersion: KRATIX_API, kind: 'Work', name, uid: work.metadata.uid as string, controller: true, blockOwnerDeletion: true }],
          },
          spec: {
            targetDestinationName: dest,
            workloads: group.workloads,
            promiseName: spec.promiseName ?? '',
            resourceName: spec.resourceName ?? '',
            id: group.id,
            generation: work.metadata.generation ?? 1,
          },
        });
      }
    }
    // Record the union first: a crash half-way must not leave a placement nobody remembers.
    let latest = work;
    const union = [...new Set([...recorded, ...wanted.keys()])].sort();
    if (!jsonEqual(union, [...recorded].sort()))
      latest = await client.updateStatus({ ...work, status: { ...((work.status ?? {}) as JsonObject), placements: union } });
    for (const wp of existing) {
      if (!wanted.has(wp.metadata.name as string)) {
        await client.delete({ apiVersion: KRATIX_API, kind: 'WorkPlacement', namespace, name: wp.metadata.name as string });
        log.info({ workPlacement: wp.metadata.name }, 'placement removed');
      }
    }
    for (const [wpName, desired] of wanted) {
      const current = existing.find((wp) => wp.metadata.name === wpName);
      if (!current) await client.create(desired);
      else if (!jsonEqual(current.spec, desired.spec) || !jsonEqual(current.metadata.labels, desired.metadata.labels)) {
        await client.update({ ...current, metadata: { ...current.metadata, labels: desired.metadata.labels ?? {} }, spec: desired.spec });
      }
    }
    await this.writeStatus(latest, (spec.workloadGroups ?? []).length, [...wanted.keys()].sort(), unscheduled);
    if (unscheduled.length) {
      await this.opts.events.record(work, 'Warning', 'NoMatchingDestination', `No matching destination found for workloadGroups: [${unscheduled.join(', ')}]`);
    }
  }

  private async writeStatus(work: KubeObject, groups: number, placements: string[], unscheduled: string[]): Promise<void> {
    const now = rfc3339Seconds((this.opts.now ?? (() => new Date()))());
    const status = cloneJson((work.status ?? {}) as JsonObject);
    let c = status.conditions as Condition[] | undefined;
    if (unscheduled.length) {
      const message = `No matching destination found for workloadGroups: [${unscheduled.join(', ')}]; add a Destination with matching labels`;
      c = setCondition(c, { type: 'ScheduleSucceeded', status: 'False', reason: 'UnscheduledWorkloads', message }, now);
      c = setCondition(c, { type: 'Ready', status: 'False', reason: 'UnscheduledWorkloads', message: 'Pending' }, now);
    } else {
      c = setCondition(c, { type: 'ScheduleSucceeded', status: 'True', reason: 'AllWorkplacementsScheduled', message: 'All workplacements scheduled' }, now);
      c = setCondition(c, { type: 'Ready', status: 'True', reason: 'AllWorkplacementsScheduled', message: 'Ready' }, now);
    }
    status.conditions = c as unknown as JsonObject['conditions'];
    status.workPlacements = groups;
    status.workPlacementsCreated = placements.length;
    status.placements = placements;
    if (!jsonEqual(status, work.status ?? {})) await this.opts.client.updateStatus({ ...work, status });
  }
}
