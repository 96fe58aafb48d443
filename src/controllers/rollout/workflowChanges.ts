/**
 * What a dry run of a resource's configure workflows would change: its output files against what the resource's
 * Works hold now, and the status fields against its current status. Shared by rollout plans and DryRuns.
 */
import type { StoredObject } from '../../api/types.ts';
import type { Client } from '../../client/Client.ts';
import { getOf } from '../../client/typed.ts';
import { workType } from '../../registry/builtin/kratixKinds.ts';
import { decodeWorkload } from '../../lib/workloads.ts';
import { resourceRequest } from '../shared/resourceRequest.ts';
import type { WorkflowExecutor, WorkflowOutcome, WorkflowTarget } from '../shared/WorkflowExecutor.ts';
import { diffFiles, diffStatus } from './diff.ts';

export async function workflowChanges(
  client: Client,
  executor: WorkflowExecutor,
  target: WorkflowTarget,
  obj: StoredObject,
  outcome: WorkflowOutcome,
): Promise<string[]> {
  const before = new Map<string, string>();
  const after = new Map<string, string>();
  const status = resourceRequest(obj).status ?? {};
  const current = status.kratix?.workflows?.worksFor ?? [];
  const names = new Set([...current, ...target.pipelines.map((p) => p.metadata.name)]);
  for (const pipeline of names) {
    const work = await getOf(client, workType, executor.workName(target, pipeline), target.namespace);
    for (const group of work?.spec?.workloadGroups ?? []) {
      for (const w of group.workloads ?? []) before.set(`${pipeline}/${w.filepath}`, decodeWorkload(w.content ?? '').toString('utf8'));
    }
    for (const f of outcome.outputs?.get(pipeline) ?? []) after.set(`${pipeline}/${f.path}`, f.content.toString('utf8'));
  }
  // One pipeline (the usual case): file names alone read better than pipeline/file.
  const strip = (m: Map<string, string>): Map<string, string> => (names.size === 1 ? new Map([...m].map(([k, v]) => [k.slice(k.indexOf('/') + 1), v])) : m);
  return [...diffFiles(strip(before), strip(after)), ...diffStatus(status, outcome.status)];
}
