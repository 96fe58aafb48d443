/**
 * A resource request (an object of a kind a Promise serves) as FleetOps' controllers read it: its spec is the
 * Promise's own schema, its status is what FleetOps writes there — Kratix's fields (conditions, message, counters,
 * `kratix.workflows`), health from HealthRecords, the components a compound Promise made — beside the fields a
 * workflow's status.yaml adds.
 */
import type { Condition } from '../../api/conditions.ts';
import { isPlainObject, type JsonObject, type StoredObject } from '../../api/types.ts';
import type { Client } from '../../client/Client.ts';
import type { WorkflowsStatus } from '../../registry/builtin/kratixKinds.ts';
import { writeStatus } from '../../client/writeStatus.ts';

export type HealthState = 'unknown' | 'ready' | 'unhealthy' | 'healthy' | 'degraded';

/** `status.healthStatus`: the worst state of the HealthRecords naming the resource, and each record. */
export interface HealthStatus {
  state: HealthState;
  healthRecords: { state: HealthState; lastRun?: number; details?: unknown; source: { name: string; namespace: string } }[];
}

/** One entry of `status.components`: a request a compound Promise's workflow made for this resource. */
export interface Component {
  apiVersion: string;
  kind: string;
  name: string;
  namespace: string;
  /** The component's Reconciled condition: True, False or Unknown. */
  ready: string;
  message?: string;
}

/** What FleetOps keeps under status.kratix.workflows to decide, level-based, whether to run. */
export interface WorkflowState extends WorkflowsStatus {
  phase?: 'Running' | 'Succeeded' | 'Failed' | 'Suspended';
  pipelines?: { name: string; phase: string }[];
}

export interface ResourceRequestStatus {
  conditions?: Condition[];
  message?: string;
  observedGeneration?: number;
  lastSuccessfulConfigureWorkflowTime?: string;
  /** The Promise revision the last successful run used. */
  promiseRevision?: number;
  workflows?: number;
  workflowsSucceeded?: number;
  workflowsFailed?: number;
  kratix?: { workflows?: WorkflowState; [field: string]: unknown };
  healthStatus?: HealthStatus | null;
  components?: Component[];
  [field: string]: unknown;
}

export interface ResourceRequest extends StoredObject {
  spec?: JsonObject;
  status?: ResourceRequestStatus;
}

/** A status FleetOps reads: an object (its fields are those FleetOps and the request's workflows wrote). */
function isStatus(value: unknown): value is ResourceRequestStatus {
  return isPlainObject(value);
}

/** Whether `obj`'s spec and status are objects (or absent), as every request FleetOps serves has them. */
export function isResourceRequest(obj: StoredObject): obj is ResourceRequest {
  return (obj.spec === undefined || isPlainObject(obj.spec)) && (obj.status === undefined || isStatus(obj.status));
}

/** `obj` read as a resource request; a spec or status that is not an object is read as absent. */
export function resourceRequest(obj: StoredObject): ResourceRequest {
  if (isResourceRequest(obj)) return obj;
  const { spec, status, ...rest } = obj;
  const view: ResourceRequest = rest;
  if (isPlainObject(spec)) view.spec = spec;
  if (isStatus(status)) view.status = status;
  return view;
}

/**
 * Writes a request's status through `change` (given a shallow copy of the status, whose members it assigns and never
 * changes in place, and the request as read), re-reading and trying again on a conflict (see writeStatus). `change`
 * returns false to leave the status as it is; an unchanged status is not written. Undefined when the request is gone.
 */
export async function writeRequestStatus(
  client: Client,
  request: ResourceRequest,
  change: (status: ResourceRequestStatus, current: ResourceRequest) => void | false,
): Promise<{ request: ResourceRequest; written: boolean } | undefined> {
  const result = await writeStatus(client, request, resourceRequest, (current) => {
    const status = { ...current.status };
    return change(status, current) === false ? false : status;
  });
  return result && { request: result.object, written: result.written };
}
