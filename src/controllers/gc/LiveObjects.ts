/**
 * The objects the garbage collector's watches have shown to exist and not yet to be gone, by uid, as the identity an
 * owner reference must match (kind, namespace, name): a new dependent whose every owner is among them needs no read
 * of its owners. Kubernetes' collector keeps the same knowledge in its graph of every object's uid; this keeps only
 * the most recently seen (between `capacity` / 2 and `capacity`), so a fleet's size costs no memory here: an owner
 * seen too long ago is read, as every owner was before.
 *
 * Sound because the watches deliver every kind's events in the store's commit order: an owner gone before its
 * dependent was written has its deletion told first (and leaves the set), and one that goes after has its dependents
 * checked when it goes.
 *
 * Two generations rather than a least-recently-used order: every write of every object is seen here, and moving an
 * entry to the end of one Map (a delete and a set), then dropping the oldest through an iterator that skips the
 * deleted entries before it, cost more than the rest of the collector's handling of an event.
 */
export class LiveObjects {
  private current = new Map<string, string>();
  private previous = new Map<string, string>();
  private readonly half: number;

  constructor(options: { capacity: number }) {
    this.half = Math.max(1, Math.floor(options.capacity / 2));
  }

  /**
   * `uid` exists, as `identity` (made only when needed: an object seen since the current generation began is most of
   * the events, and a uid names one object for good).
   */
  seen(uid: string, identity: () => string): void {
    if (this.current.has(uid)) return;
    this.current.set(uid, this.previous.get(uid) ?? identity());
    if (this.current.size < this.half) return;
    // The older generation goes whole; what was seen since it began stays.
    this.previous = this.current;
    this.current = new Map();
  }

  /** `uid` is gone. */
  gone(uid: string): void {
    this.current.delete(uid);
    this.previous.delete(uid);
  }

  /** Whether `uid` is known to exist as `identity`. */
  has(uid: string, identity: string): boolean {
    return (this.current.get(uid) ?? this.previous.get(uid)) === identity;
  }
}
