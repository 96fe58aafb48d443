/**
 * Objects a store hands to more than one reader — its read cache's templates, what its watchers receive, what a write
 * answers — are one copy that nobody may change (GetOptions.shared, Store.watch, Store.commit). A change made through
 * one reader would show in every other and in later reads, without a write.
 *
 * With FLEETOPS_CHECK_SHARED=1 (the tests run with it) such objects are frozen, members and all, when they are
 * shared, so a change throws a TypeError where it is made rather than corrupting a reader far away: Kubernetes' cache
 * mutation detector (KUBE_CACHE_MUTATION_DETECTOR) finds changes to an informer's objects the same way. Off by
 * default: freezing walks the whole object on every write.
 */
import { cloneJson, isPlainObject, type StoredObject } from '../api/types.ts';

const checking = process.env.FLEETOPS_CHECK_SHARED === '1';

/** `object`, from now on shared: frozen under FLEETOPS_CHECK_SHARED=1, as it is otherwise. */
export function shareObject<T>(object: T): T {
  if (checking) deepFreeze(object);
  return object;
}

function deepFreeze(value: unknown): void {
  if (typeof value !== 'object' || value === null || Object.isFrozen(value)) return;
  Object.freeze(value);
  for (const member of Object.values(value)) deepFreeze(member);
}

/**
 * The object a commit's watchers and read cache share, for the committed `object` (the one its text was made from,
 * which its writer gets back): that very object when the writer only reads it (CommitOptions.shared), else a copy
 * (what parsing the stored text would give, at a third of the cost).
 */
export function watchersObject(object: StoredObject, writerShares: boolean): StoredObject {
  return shareObject(writerShares ? object : cloneJson(object));
}

/**
 * The members of a write's body that the write shares with the store's watchers (a write that asks for a shared
 * answer leaves its body alone after the call; ObjectService copies only its root and metadata): frozen under
 * FLEETOPS_CHECK_SHARED=1 (metadata's own members, not metadata), so a change made to them later, by the write or by
 * its caller, throws.
 */
export function shareMembers(body: Record<string, unknown>): void {
  if (!checking) return;
  for (const key of Object.keys(body)) {
    const member = body[key];
    if (key === 'metadata' && isPlainObject(member)) for (const m of Object.values(member)) deepFreeze(m);
    else deepFreeze(member);
  }
}
