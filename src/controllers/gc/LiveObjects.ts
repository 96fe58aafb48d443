/**
 * The objects the garbage collector's watches have shown to exist and not yet to be gone, by uid, as the identity an
 * owner reference must match (kind, namespace, name): a new dependent whose every owner is among them needs no read
 * of its owners. Kubernetes' collector keeps the same knowledge in its graph of every object's uid; this keeps only
 * the most recently seen (`capacity`), so a fleet's size costs no memory here: an owner seen too long ago is read,
 * as every owner was before.
 *
 * Sound because the watches deliver every kind's events in the store's commit order: an owner gone before its
 * dependent was written has its deletion told first (and leaves the set), and one that goes after has its dependents
 * checked when it goes.
 */
export class LiveObjects {
  private readonly identities = new Map<string, string>();
  private readonly capacity: number;

  constructor(options: { capacity: number }) {
    this.capacity = options.capacity;
  }

  /** `uid` exists, as `identity`: it becomes the most recently seen. */
  seen(uid: string, identity: string): void {
    this.identities.delete(uid);
    this.identities.set(uid, identity);
    // The least recently seen goes first (a Map iterates in insertion order).
    if (this.identities.size > this.capacity) this.identities.delete(this.identities.keys().next().value!);
  }

  /** `uid` is gone. */
  gone(uid: string): void {
    this.identities.delete(uid);
  }

  /** Whether `uid` is known to exist as `identity`. */
  has(uid: string, identity: string): boolean {
    return this.identities.get(uid) === identity;
  }
}
