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

/** A waiting resource's view and its rank in rollout order. */
export interface Waiting {
  readonly rank: number;
  readonly view: ResourceView;
}

export interface PendingQueueOptions {
  /** Rollout order of two waiting resources (negative: the first comes first); never 0 for two different ones. */
  order: (a: Waiting, b: Waiting) => number;
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
  first(count: number): Waiting[] {
    while (this.head < this.main.length && !this.main[this.head]!.live) this.head++;
    if (this.head > 4096 && this.head > this.main.length / 2) {
      this.main = this.main.slice(this.head);
      this.head = 0;
    }
    const out: Waiting[] = [];
    if (count <= 0) return out;
    for (const e of this.waiting()) if (out.push(e) >= count) break;
    return out;
  }

  /** Every entry still waiting, in order: the main array's from the cursor and the later arrivals', merged. */
  private waiting(): Iterable<Entry> {
    return inOrder(live(this.main, this.head), live(this.late, 0), this.order);
  }

  private merge(): void {
    this.main = [...this.waiting()];
    this.head = 0;
    this.late = [];
  }
}

function* live(entries: Entry[], from: number): Generator<Entry> {
  for (let i = from; i < entries.length; i++) if (entries[i]!.live) yield entries[i]!;
}

/** Two sequences, each in `order`, as one in `order`. */
export function* inOrder<T>(a: Iterable<T>, b: Iterable<T>, order: (x: T, y: T) => number): Generator<T> {
  const ia = a[Symbol.iterator]();
  const ib = b[Symbol.iterator]();
  let x = ia.next();
  let y = ib.next();
  while (!x.done) {
    if (y.done || order(x.value, y.value) < 0) {
      yield x.value;
      x = ia.next();
    } else {
      yield y.value;
      y = ib.next();
    }
  }
  for (; !y.done; y = ib.next()) yield y.value;
}
