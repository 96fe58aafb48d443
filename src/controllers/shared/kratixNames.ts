/** Kratix's API version and the labels it puts on Works, runs and resources: one definition for every controller. */
export const KRATIX_API = 'platform.kratix.io/v1alpha1';
export const LABEL_PROMISE_NAME = 'kratix.io/promise-name';
export const LABEL_RESOURCE_NAME = 'kratix.io/resource-name';
export const LABEL_PIPELINE_NAME = 'kratix.io/pipeline-name';
export const LABEL_WORK_TYPE = 'kratix.io/work-type';
export const LABEL_WORKFLOW_TYPE = 'kratix.io/workflow-type';
export const LABEL_WORKFLOW_ACTION = 'kratix.io/workflow-action';
export const LABEL_HASH = 'kratix.io/hash';
