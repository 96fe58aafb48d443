/** An object with one finalizer added or removed, the rest of it as it was (for an update that keeps its resourceVersion). */
import type { ObjectMeta } from './types.ts';

export function withFinalizer<T extends { metadata: ObjectMeta }>(object: T, finalizer: string): T {
  const finalizers = object.metadata.finalizers ?? [];
  return finalizers.includes(finalizer) ? object : { ...object, metadata: { ...object.metadata, finalizers: [...finalizers, finalizer] } };
}

export function withoutFinalizer<T extends { metadata: ObjectMeta }>(object: T, finalizer: string): T {
  return { ...object, metadata: { ...object.metadata, finalizers: (object.metadata.finalizers ?? []).filter((f) => f !== finalizer) } };
}
