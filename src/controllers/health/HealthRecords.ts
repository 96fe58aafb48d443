/**
 * Kratix's HealthRecords feed the resource they are about: every record naming a resource (by Promise, name and
 * namespace) is listed in its `status.healthStatus`, whose `state` is the worst of them (unhealthy < degraded <
 * unknown < healthy < ready), as Kratix computes it; each change of state is an Event (Warning unless healthy or
 * ready). A finalizer takes a deleted record out of the list before it goes.
 */
import type { Logger } from 'pino';
import { jsonEqual } from '../../api/types.ts';
import type { Client } from '../../client/Client.ts';
import { listOf } from '../../client/typed.ts';
import type { Static } from '../../registry/builtin/defineType.ts';
import { TypeController } from '../shared/TypeController.ts';
import { healthRecordType, type HealthRecord } from '../../registry/builtin/kratixKinds.ts';
import { resourceRequest, type HealthState, type HealthStatus } from '../shared/resourceRequest.ts';
import type { Registry } from '../../registry/Registry.ts';
import { apiVersionOf } from '../../registry/ResourceType.ts';
import type { EventRecorder } from '../shared/EventRecorder.ts';
import { kindServedBy } from '../shared/promiseKinds.ts';

export const FINALIZER_HEALTH_RECORD = 'kratix.io/health-record-cleanup';
export type { HealthState, HealthStatus };
const PRIORITY: Record<HealthState, number> = { unhealthy: 1, degraded: 2, unknown: 3, healthy: 4, ready: 5 };

/** The worst state of the records, starting from ready (Kratix's rule). */
export function overallHealth(records: { state?: HealthState }[]): HealthState {
  let worst: HealthState = 'ready';
  for (const r of records) {
    const state = r.state ?? 'unknown';
    if ((PRIORITY[state] ?? 3) < PRIORITY[worst]) worst = state;
  }
  return worst;
}

export interface HealthRecordsOptions {
  client: Client;
  registry: Registry;
  events: EventRecorder;
  logger: Logger;
}

type HealthRecordData = NonNullable<HealthRecord['data']>;

function dataOf(record: HealthRecord): HealthRecordData | undefined {
  const d = record.data;
  return d?.promiseRef.name && d.resourceRef.name ? d : undefined;
}

export class HealthRecords {
  private readonly opts: HealthRecordsOptions;
  private readonly runner: TypeController<Static<typeof healthRecordType>>;

  constructor(options: HealthRecordsOptions) {
    this.opts = options;
    this.runner = new TypeController({
      name: 'health-records',
      client: options.client,
      type: healthRecordType,
      logger: options.logger,
      reconciler: { reconcile: (key) => this.reconcile(key) },
      onEvent: (e, enqueue) => {
        const d = dataOf(e.object);
        if (d) enqueue(`${d.promiseRef.name}/${d.resourceRef.namespace ?? e.object.metadata.namespace ?? ''}/${d.resourceRef.name}`);
      },
    });
  }

  start(): Promise<void> {
    return this.runner.start();
  }

  stop(): Promise<void> {
    return this.runner.stop();
  }

  /** Re-derives one resource's healthStatus from the records naming it, then lets deleted records go. */
  async reconcile(key: string): Promise<void> {
    const { client } = this.opts;
    const [promise = '', namespace = '', name = ''] = key.split('/');
    // Records live beside the resource they are about (as Kratix's health pipelines write them).
    const all = (await listOf(client, healthRecordType, { namespace })).filter((r) => {
      const d = dataOf(r);
      return d?.promiseRef.name === promise && d.resourceRef.name === name && (d.resourceRef.namespace ?? r.metadata.namespace) === namespace;
    });
    const live = all.filter((r) => !r.metadata.deletionTimestamp);
    for (const r of live) {
      const finalizers = r.metadata.finalizers ?? [];
      if (!finalizers.includes(FINALIZER_HEALTH_RECORD))
        await client.update({ ...r, metadata: { ...r.metadata, finalizers: [...finalizers, FINALIZER_HEALTH_RECORD] } });
    }
    const type = kindServedBy(this.opts.registry, promise);
    const found = type ? await client.get({ apiVersion: apiVersionOf(type), kind: type.kind, namespace, name }) : undefined;
    if (found && !found.metadata.deletionTimestamp) {
      const resource = resourceRequest(found);
      const records = live.flatMap((r) => {
        const d = dataOf(r);
        if (!d) return [];
        return {
          state: d.state ?? 'unknown',
          ...(d.lastRun !== undefined ? { lastRun: d.lastRun } : {}),
          ...(d.details !== undefined ? { details: d.details } : {}),
          source: { name: r.metadata.name, namespace: r.metadata.namespace ?? '' },
        };
      });
      const next: HealthStatus | null = records.length ? { state: overallHealth(records), healthRecords: records } : null;
      const current = resource.status?.healthStatus ?? null;
      if (!jsonEqual(current, next)) {
        await client.mergePatch({ apiVersion: resource.apiVersion, kind: resource.kind, namespace, name }, { status: { healthStatus: next } }, 'status');
        if (next && next.state !== current?.state) {
          const healthy = next.state === 'healthy' || next.state === 'ready';
          await this.opts.events.record(
            resource,
            healthy ? 'Normal' : 'Warning',
            'HealthRecord',
            `health is ${next.state} (${records.length} record${records.length === 1 ? '' : 's'})`,
          );
        }
      }
    }
    for (const r of all) {
      if (!r.metadata.deletionTimestamp) continue;
      const finalizers = (r.metadata.finalizers ?? []).filter((f) => f !== FINALIZER_HEALTH_RECORD);
      if (finalizers.length !== (r.metadata.finalizers ?? []).length) await client.update({ ...r, metadata: { ...r.metadata, finalizers } });
    }
  }
}
