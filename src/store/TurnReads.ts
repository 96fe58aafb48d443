/**
 * Reads of single rows gathered by turn of the event loop: the reads asked for in one turn go to the database
 * together, in as few statements as `maxBatch` allows, and two reads of the same row in that turn share one answer.
 *
 * PostgreSQL's read cache misses come in bursts: a fleet larger than the cache misses on each resource's objects
 * (its request, Work, placement, binding, Event) as the rollout reaches it, from many reconciles at once. One
 * statement per miss cost a round trip each, the database's per-statement work and the client's, for rows of a
 * couple of KB. A read joins only a batch not yet sent, so its answer is at least as new as the moment it asked.
 */
import type { ObjectKey } from './Store.ts';

/** A stored row: its version and text. */
export interface StoredRow {
  rv: number;
  text: string;
}

export interface TurnReadsOptions {
  /** Reads the rows of `keys` (one to `maxBatch`, distinct) in one statement: by id, absent keys left out. */
  read(keys: ReadonlyMap<string, ObjectKey>): Promise<Map<string, StoredRow>>;
  /** Keys per statement at most (default 256). */
  maxBatch?: number;
  /** Runs `fn` after the current turn's callbacks (default setImmediate). */
  defer?: (fn: () => void) => void;
}

interface Waiting {
  key: ObjectKey;
  resolve: Array<(row: StoredRow | undefined) => void>;
  reject: Array<(err: unknown) => void>;
}

export class TurnReads {
  private readonly opts: TurnReadsOptions;
  private readonly maxBatch: number;
  private readonly defer: (fn: () => void) => void;
  /** The reads asked for since the last batch was sent, by id. */
  private waiting = new Map<string, Waiting>();

  constructor(options: TurnReadsOptions) {
    this.opts = options;
    this.maxBatch = Math.max(1, options.maxBatch ?? 256);
    this.defer = options.defer ?? setImmediate;
  }

  /** The row `id` (of `key`) as the database holds it once this turn's reads are sent; undefined when absent. */
  read(id: string, key: ObjectKey): Promise<StoredRow | undefined> {
    return new Promise((resolve, reject) => {
      const joined = this.waiting.get(id);
      if (joined) {
        joined.resolve.push(resolve);
        joined.reject.push(reject);
        return;
      }
      if (this.waiting.size === 0) this.defer(() => this.send());
      this.waiting.set(id, { key, resolve: [resolve], reject: [reject] });
    });
  }

  private send(): void {
    const all = this.waiting;
    this.waiting = new Map();
    let batch = new Map<string, Waiting>();
    for (const [id, w] of all) {
      batch.set(id, w);
      if (batch.size === this.maxBatch) {
        void this.sendBatch(batch);
        batch = new Map();
      }
    }
    if (batch.size) void this.sendBatch(batch);
  }

  private async sendBatch(batch: Map<string, Waiting>): Promise<void> {
    const keys = new Map<string, ObjectKey>();
    for (const [id, w] of batch) keys.set(id, w.key);
    let rows: Map<string, StoredRow>;
    try {
      rows = await this.opts.read(keys);
    } catch (err) {
      for (const w of batch.values()) for (const reject of w.reject) reject(err);
      return;
    }
    for (const [id, w] of batch) for (const resolve of w.resolve) resolve(rows.get(id));
  }
}
