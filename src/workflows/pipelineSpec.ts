/** The Kratix Pipeline as FleetOps reads it (`platform.kratix.io/v1alpha1`, kind Pipeline): containers as in a Pod. */
import type { PullPolicy } from './images/imageReference.ts';
import type { Volume, VolumeMount } from './volumes.ts';

export interface EnvVar {
  name: string;
  value?: string;
  valueFrom?: { configMapKeyRef?: { name: string; key: string; optional?: boolean }; secretKeyRef?: { name: string; key: string; optional?: boolean } };
}
export interface EnvFromSource {
  prefix?: string;
  configMapRef?: { name: string; optional?: boolean };
  secretRef?: { name: string; optional?: boolean };
}
export interface Container {
  name: string;
  image?: string;
  imagePullPolicy?: PullPolicy;
  command?: string[];
  args?: string[];
  workingDir?: string;
  env?: EnvVar[];
  envFrom?: EnvFromSource[];
  volumeMounts?: VolumeMount[];
  securityContext?: { runAsUser?: number; runAsGroup?: number };
  /** As in a Pod: `limits.memory` and `limits.cpu` are enforced (cgroups); requests are accepted and not used. */
  resources?: { limits?: { memory?: string | number; cpu?: string | number }; requests?: Record<string, string | number> };
}
/** Kratix's `spec.rbac`: the account the steps use against the platform API, and what it may do. */
export interface PipelineRbacSpec {
  serviceAccount?: string;
  permissions?: { apiGroups?: string[]; resources?: string[]; verbs: string[]; resourceNames?: string[]; resourceNamespace?: string }[];
}

/** Whether the pipeline's steps talk to the platform API. */
export function wantsApiAccess(pipeline: Pipeline): boolean {
  const rbac = pipeline.spec.rbac;
  return !!rbac && (!!rbac.serviceAccount || !!rbac.permissions?.length);
}

export interface Pipeline {
  apiVersion?: string;
  kind?: string;
  metadata: { name: string; labels?: Record<string, string>; annotations?: Record<string, string> };
  spec: {
    containers: Container[];
    imagePullSecrets?: { name: string }[];
    volumes?: Volume[];
    rbac?: PipelineRbacSpec;
    /** As a Job's: a failed pipeline is run again up to `backoffLimit` times within one run before it counts as failed. */
    jobOptions?: { backoffLimit?: number };
  };
}

/** How many times a failed pipeline is run again within one run (Kratix's `jobOptions.backoffLimit`; default none). */
export function backoffLimitOf(pipeline: Pipeline): number {
  const limit = pipeline.spec.jobOptions?.backoffLimit;
  return typeof limit === 'number' && Number.isInteger(limit) && limit > 0 ? limit : 0;
}
