/**
 * The metadata every resource request carries for its Promise, as Kratix's request controller sets it: the
 * `kratix.io/promise-name` label, and the finalizers that hold its deletion until its Works and runs are cleaned up
 * (and its delete workflow has run, when its Promise has one). The API gives them to a new request as it stores it
 * (`ResourceType.createDefaults`): a request deleted at once is still cleaned up, and its first reconcile has no
 * metadata to write. The resource controller adds whichever a request lacks (one stored before, or another revision's).
 */
import type { KratixPromise } from '../../registry/builtin/kratixKinds.ts';
import type { CreateDefaults } from '../../registry/ResourceType.ts';
import type { Pipeline } from '../../workflows/PipelineRunner.ts';
import { LABEL_PROMISE_NAME } from './kratixNames.ts';

export const RESOURCE_FINALIZERS = ['kratix.io/work-cleanup', 'kratix.io/workflows-cleanup'];
export const FINALIZER_DELETE_WORKFLOWS = 'kratix.io/delete-workflows';

/** The request workflows of one action, as the Promise (at some revision) defines them. */
export function requestPipelines(promise: KratixPromise, action: 'configure' | 'delete'): Pipeline[] {
  return promise.spec?.workflows?.resource?.[action] ?? [];
}

/** The finalizers a request of this Promise (at this revision) carries. */
export function requestFinalizers(promise: KratixPromise): string[] {
  return requestPipelines(promise, 'delete').length ? [...RESOURCE_FINALIZERS, FINALIZER_DELETE_WORKFLOWS] : [...RESOURCE_FINALIZERS];
}

/** What the API gives a new request of the Promise's kind. */
export function requestCreateDefaults(promise: KratixPromise): CreateDefaults {
  return { labels: { [LABEL_PROMISE_NAME]: promise.metadata.name }, finalizers: requestFinalizers(promise) };
}
