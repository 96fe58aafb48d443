/**
 * How a served kind is tied to the Promise that defines it: its `owner` is `promise/<name>`. One place for the
 * convention, used by every controller that goes from a Promise to its kind or back.
 */
import type { Registry } from '../../registry/Registry.ts';
import type { ResourceType } from '../../registry/ResourceType.ts';

const PREFIX = 'promise/';

export function ownerOf(promiseName: string): string {
  return `${PREFIX}${promiseName}`;
}

export function isPromiseKind(type: ResourceType): boolean {
  return type.owner.startsWith(PREFIX);
}

export function promiseNameOf(type: ResourceType): string {
  return type.owner.slice(PREFIX.length);
}

/** The kind the Promise serves, if it is registered. */
export function kindServedBy(registry: Registry, promiseName: string): ResourceType | undefined {
  return registry.all().find((t) => t.owner === ownerOf(promiseName));
}
