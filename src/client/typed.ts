/**
 * Reads of the built-in kinds in their typed form: the object comes back as its kind's schema declares it (the
 * server validated it against that schema on write), so controllers read fields without casting.
 */
import type { StoredObject } from '../api/types.ts';
import { objectOf, type TypedResourceType } from '../registry/builtin/defineType.ts';
import { apiVersionOf } from '../registry/ResourceType.ts';
import type { Client, ClientGetOptions, ClientListOptions, ObjectRef } from './Client.ts';

/** The reference to an object of `type`. */
export function refTo(type: TypedResourceType<unknown>, name: string, namespace?: string): ObjectRef {
  return { apiVersion: apiVersionOf(type), kind: type.kind, name, ...(namespace !== undefined && type.namespaced ? { namespace } : {}) };
}

export async function getOf<T>(
  client: Client,
  type: TypedResourceType<T>,
  name: string,
  namespace?: string,
  options?: ClientGetOptions,
): Promise<(StoredObject & T) | undefined> {
  const obj = await client.get(refTo(type, name, namespace), options);
  return obj && objectOf(type, obj);
}

export async function listOf<T>(client: Client, type: TypedResourceType<T>, options?: ClientListOptions): Promise<(StoredObject & T)[]> {
  return (await client.list(apiVersionOf(type), type.kind, options)).map((o) => objectOf(type, o));
}

export interface TypedWatchEvent<T> {
  type: 'ADDED' | 'MODIFIED' | 'DELETED';
  object: StoredObject & T;
}

export function watchOf<T>(
  client: Client,
  type: TypedResourceType<T>,
  options: { namespace?: string },
  onEvent: (event: TypedWatchEvent<T>) => void,
): Promise<{ stop(): void }> {
  return client.watch(apiVersionOf(type), type.kind, options, (e) => onEvent({ type: e.type, object: objectOf(type, e.object) }));
}

/** Updates an object of `type` and returns it in its typed form. */
export async function updateOf<T>(client: Client, type: TypedResourceType<T>, object: StoredObject & T): Promise<StoredObject & T> {
  return objectOf(type, await client.update(object));
}

/** Writes `status` over the object's status (fields it does not name are kept) and returns the object as stored. */
export async function mergeStatusOf<S extends object, T extends { status?: S }>(
  client: Client,
  type: TypedResourceType<T>,
  object: StoredObject & T,
  status: S,
): Promise<StoredObject & T> {
  return objectOf(type, await client.updateStatus({ ...object, status: { ...object.status, ...status } }));
}
