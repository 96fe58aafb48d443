/**
 * FleetOps' own kinds (`fleetops.dev/v1alpha1`), beside Kratix's. WorkflowRun records one pipeline execution (the
 * role Kratix gives a Kubernetes Job): which object, Promise and pipeline, each step's image, exit code, duration
 * and log tail. It is written by the workflow executor only; its name carries a random suffix as Kratix's Jobs do.
 */
import type { ResourceType } from '../ResourceType.ts';
import { ageColumn, defineType, s } from './defineType.ts';

export const FLEETOPS_GROUP = 'fleetops.dev';
export const FLEETOPS_VERSION = 'v1alpha1';
export const FLEETOPS_API = `${FLEETOPS_GROUP}/${FLEETOPS_VERSION}`;

const step = s.obj({
  name: s.str(),
  image: s.str(),
  command: s.arr(s.str()),
  exitCode: { type: 'integer', nullable: true },
  signal: { type: 'string', nullable: true },
  timedOut: s.bool(),
  durationMs: s.int(),
  startedAt: s.str(),
  log: s.str(),
  logTruncated: s.bool(),
});

export const workflowRunType: ResourceType = defineType({
  group: FLEETOPS_GROUP,
  version: FLEETOPS_VERSION,
  kind: 'WorkflowRun',
  plural: 'workflowruns',
  namespaced: true,
  shortNames: ['wfr', 'run'],
  categories: ['fleetops'],
  statusSubresource: true,
  schema: s.root(
    s.obj({
      promiseName: s.str(),
      workflowType: s.str({ enum: ['resource', 'promise'] }),
      action: s.str({ enum: ['configure', 'delete'] }),
      pipeline: s.str(),
      object: s.obj({ apiVersion: s.str(), kind: s.str(), namespace: s.str(), name: s.str(), uid: s.str(), generation: s.int() }),
      hash: s.str(),
      steps: s.arr(s.obj({ name: s.str(), image: s.str(), command: s.arr(s.str()) })),
    }),
    s.obj({
      phase: s.str({ enum: ['Running', 'Succeeded', 'Failed'] }),
      message: s.str(),
      startTime: s.str(),
      completionTime: s.str(),
      durationMs: s.int(),
      steps: s.arr(step),
    }),
  ),
  printerColumns: [
    { name: 'Object', type: 'string', jsonPath: '.spec.object.name' },
    { name: 'Pipeline', type: 'string', jsonPath: '.spec.pipeline' },
    { name: 'Action', type: 'string', jsonPath: '.spec.action', priority: 1 },
    { name: 'Phase', type: 'string', jsonPath: '.status.phase' },
    { name: 'Duration (ms)', type: 'integer', jsonPath: '.status.durationMs' },
    { name: 'Message', type: 'string', jsonPath: '.status.message', priority: 1 },
    ageColumn,
  ],
});

export const fleetopsTypes: ResourceType[] = [workflowRunType];
