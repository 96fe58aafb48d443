/**
 * Resources waiting for a rollout, in rollout order, cheap to take from the front however many wait: a sorted array
 * read from a cursor, entries that left (handed the revision, deleted, ranked anew) marked and stepped over, and the
 * few that start waiting later kept in a small sorted array of their own, merged in when it grows.
 */
import type { ResourceView } from './progress.ts';

interface Entry {
  key: string;
  rank: number;
  view: ResourceView;
  /** False once the resource left the queue (or re-entered with another rank: a new entry). */
  live: boolean;
}

export interface PendingQueueOptions {
  /** Rollout order of two waiting resources (negative: the first comes first); never 0 for two different ones. */
  order: (a: { rank: number; view: ResourceView }, b: { rank: number; view: ResourceView }) => number;
}

/** Later arrivals are merged into the main array once they are this many (or a tenth of it). */
const MERGE_AT = 1024;

export class PendingQueue {
  private readonly order: (a: Entry, b: Entry) => number;
  private main: Entry[] = [];
  private head = 0;
  private late: Entry[] = [];
  private readonly byKey = new Map<string, Entry>();

  constructor(options: PendingQueueOptions) {
    this.order = options.order;
  }

  get size(): number {
    return this.byKey.size;
  }

  /**
   * `view` waits (again, or still: a waiting resource's new view replaces the old in its place when its rank is the
   * same). While `building`, entries are only appended: `sorted()` orders them once.
   */
  add(key: string, view: ResourceView, rank: number, building = false): void {
    const current = this.byKey.get(key);
    if (current?.rank === rank) {
      current.view = view;
      return;
    }
    if (current) current.live = false;
    const entry: Entry = { key, rank, view, live: true };
    this.byKey.set(key, entry);
    if (building) {
      this.main.push(entry);
      return;
    }
    let lo = 0;
    let hi = this.late.length;
    while (lo < hi) {
      const mid = (lo + hi) >> 1;
      if (this.order(this.late[mid]!, entry) < 0) lo = mid + 1;
      else hi = mid;
    }
    this.late.splice(lo, 0, entry);
    if (this.late.length >= Math.max(MERGE_AT, (this.main.length - this.head) / 10)) this.merge();
  }

  /** Orders what was added while building (the views of a fleet come mostly in order already: a cheap sort). */
  sorted(): void {
    this.main.sort(this.order);
  }

  remove(key: string): void {
    const entry = this.byKey.get(key);
    if (!entry) return;
    entry.live = false;
    this.byKey.delete(key);
  }

  /** The first `count` waiting, in order. */
  first(count: number): ResourceView[] {
    while (this.head < this.main.length && !this.main[this.head]!.live) this.head++;
    if (this.head > 4096 && this.head > this.main.length / 2) {
      this.main = this.main.slice(this.head);
      this.head = 0;
    }
    const out: ResourceView[] = [];
    let i = this.head;
    let j = 0;
    while (out.length < count) {
      while (i < this.main.length && !this.main[i]!.live) i++;
      while (j < this.late.length && !this.late[j]!.live) j++;
      const a = this.main[i];
      const b = this.late[j];
      if (!a && !b) break;
      if (!b || (a && this.order(a, b) < 0)) {
        out.push(a!.view);
        i++;
      } else {
        out.push(b.view);
        j++;
      }
    }
    return out;
  }

  private merge(): void {
    const merged: Entry[] = [];
    let i = this.head;
    let j = 0;
    while (i < this.main.length || j < this.late.length) {
      const a = this.main[i];
      const b = this.late[j];
      const takeMain = !b || (a !== undefined && this.order(a, b) < 0);
      const e = takeMain ? a! : b;
      if (takeMain) i++;
      else j++;
      if (e.live) merged.push(e);
    }
    this.main = merged;
    this.head = 0;
    this.late = [];
  }
}
