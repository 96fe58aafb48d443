/**
 * Who names whom as owner, for the garbage collector: object key → owner uids, and owner uid → dependent keys. It
 * holds an entry for most objects of a fleet (each resource's Works, placements, runs, binding), so the common case
 * is kept small: one owner is a string, not a list, and one dependent a string, not a set (a Set per owner cost more
 * than the rest of the entry). An object's event that names the same owners as before changes nothing.
 */
export class OwnerIndex {
  private readonly owners = new Map<string, string | string[]>();
  private readonly dependents = new Map<string, string | Set<string>>();

  /** The owners `key` names now (none: it leaves the index). */
  set(key: string, uids: readonly string[]): void {
    const previous = this.owners.get(key);
    if (sameOwners(previous, uids)) return;
    for (const u of listOf(previous)) if (!uids.includes(u)) this.unlink(u, key);
    for (const u of uids) this.link(u, key);
    if (!uids.length) this.owners.delete(key);
    else this.owners.set(key, uids.length === 1 ? uids[0]! : [...uids]);
  }

  /** The keys of the objects naming `uid` as an owner. */
  dependentsOf(uid: string): string[] {
    const d = this.dependents.get(uid);
    return d === undefined ? [] : typeof d === 'string' ? [d] : [...d];
  }

  /** Drops what is known of `uid`'s dependents (the owner is gone; they are checked, and leave as they go). */
  forget(uid: string): void {
    this.dependents.delete(uid);
  }

  private link(uid: string, key: string): void {
    const d = this.dependents.get(uid);
    if (d === undefined) this.dependents.set(uid, key);
    else if (typeof d === 'string') {
      if (d !== key) this.dependents.set(uid, new Set([d, key]));
    } else d.add(key);
  }

  private unlink(uid: string, key: string): void {
    const d = this.dependents.get(uid);
    if (d === key) this.dependents.delete(uid);
    else if (typeof d === 'object') {
      d.delete(key);
      if (d.size === 1) this.dependents.set(uid, d.values().next().value!);
    }
  }
}

function listOf(owners: string | string[] | undefined): readonly string[] {
  return owners === undefined ? [] : typeof owners === 'string' ? [owners] : owners;
}

function sameOwners(previous: string | string[] | undefined, uids: readonly string[]): boolean {
  if (previous === undefined) return uids.length === 0;
  if (typeof previous === 'string') return uids.length === 1 && uids[0] === previous;
  return previous.length === uids.length && previous.every((u, i) => u === uids[i]);
}
