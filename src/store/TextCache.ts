/**
 * The stored text of recently written or read objects, least recently used first, within a budget of characters: a
 * store's read cache. Each entry keeps the resourceVersion it is at. A row read from the database is kept only if the
 * cache saw no change of that object while the read was under way (`beginRead`, `endRead`): a reader that fetched a
 * row before a change cannot put the older text back. Only that object's changes count, so a full cache, which drops
 * entries all the time, still keeps what it reads (with one mark for the whole cache, a fleet larger than the cache
 * read every object it had dropped from the database again at every read).
 *
 * The most recently used objects are also kept parsed, as templates nobody else holds: a read gets a copy of the
 * template (a third of a parse's cost, and the copy's strings are the template's), so the objects a fleet update
 * reads again and again — each resource's, while its run goes on — are parsed once per version, not once per read.
 */
import { cloneJson, type StoredObject } from '../api/types.ts';
import { shareObject } from './sharedObject.ts';
import { storeMetrics } from '../telemetry/metrics.ts';

const HITS = storeMetrics.reads.with('cache');
const MISSES = storeMetrics.reads.with('database');

/**
 * The default budget: 128 Mi characters (about as many bytes). A fleet update reads each resource's objects once, in
 * the rollout's order, so a cache smaller than the fleet's objects misses on every one of them: 23 KB of text per
 * resource when this was set, 8.8 K since (10,000 resources, one-step pipeline: `bench:rollout` prints it), so about
 * 13,000 resources fit. At 32 Mi, 3,000 resources on SQLite cost 3.5–3.6 ms of FleetOps' CPU
 * per resource, 3.1–3.2 at 256 Mi; on PostgreSQL, where a miss is a round trip, 10,000 resources took 117.5 s at
 * 32 Mi and 96.8 s with every object kept. The budget is held to keep 100,000 resources within 1 GiB: RSS peaked at
 * 689 MiB at 32 Mi, 867 at 128 and 1,056 at 256 (`bench:scale`). `FLEETOPS_READ_CACHE_MIB` sets it.
 */
export const DEFAULT_MAX_CHARS = 128 * 1024 * 1024;

export interface TextCacheOptions {
  /** Characters of stored text kept at most (default DEFAULT_MAX_CHARS). */
  maxChars?: number;
  /** Parsed objects kept at most (default 1,024). */
  maxObjects?: number;
}

/** What a write checks of the row it replaces: its version, and what it carries over (uid, creation time). */
export interface RowIdentity {
  rv: number;
  uid: string;
  creationTimestamp: string;
}

interface Template {
  /** The text it was parsed from: valid while the entry holds this text. */
  text: string;
  object: StoredObject;
  /** The templates' clock when it was last put at the fresh end. */
  moved: number;
}

interface Entry {
  text: string;
  rv: number;
  /** The entries' clock when it was last put at the fresh end. */
  moved: number;
  /**
   * The object's uid and creation time when the entry was remembered from a commit (with its parsed object): a write's
   * identity check needs no template (they are bounded far below the entries) and no parse.
   */
  uid?: string | undefined;
  created?: string | undefined;
}

export class TextCache {
  private readonly entries = new Map<string, Entry>();
  private chars = 0;
  private readonly maxChars: number;
  private readonly templates = new Map<string, Template>();
  private readonly maxObjects: number;
  /**
   * Entries (templates) put at the fresh end so far. A read moves an entry only when it is in the older half: one
   * moved fewer than size/2 puts ago has at most that many entries fresher than it. So the order stays close to least
   * recently used while an object read again and again (a namespace, by every create in it) is not deleted and
   * re-inserted each time, which cost a Map's deleted slots and rehashes on every request.
   */
  private entryClock = 0;
  private templateClock = 0;
  /** Objects being read from the database: how many reads, and whether a change of the object came meanwhile. */
  private readonly reads = new Map<string, { count: number; changed: boolean }>();

  constructor(options: TextCacheOptions = {}) {
    this.maxChars = options.maxChars ?? DEFAULT_MAX_CHARS;
    this.maxObjects = options.maxObjects ?? 1024;
  }

  /** The characters held and the budget, as `fleetops_store_read_cache_characters` reports them. */
  sample(): [labels: string[], value: number][] {
    return [
      [['held'], this.chars],
      [['budget'], this.maxChars],
    ];
  }

  /**
   * A copy of the object, nobody else's (from its template, made at the first read), moved to the fresh end; with
   * `shared`, the template itself, for a reader that never changes it (see GetOptions.shared).
   */
  object(id: string, shared = false): StoredObject | undefined {
    const text = this.get(id);
    if (text === undefined) {
      MISSES.inc();
      return undefined;
    }
    HITS.inc();
    const template = this.templateOf(id, text);
    if (template !== undefined) {
      this.templateClock = freshen(this.templates, id, template, this.templateClock);
      return shared ? template.object : cloneJson(template.object);
    }
    const object: StoredObject = JSON.parse(text);
    this.keep(id, text, shared ? object : cloneJson(object));
    return object;
  }

  /** `text` (of the object `id`) parsed: a copy of the template when it was made from this very text, else a parse. */
  parsed(id: string, text: string): StoredObject {
    const template = this.templateOf(id, text);
    return template !== undefined ? cloneJson(template.object) : JSON.parse(text);
  }

  /**
   * `text` (of the object `id`) parsed, for a caller that only reads it and keeps it no longer than its synchronous
   * step: the template itself when it was made from this very text, else a parse, kept as the template when the
   * entry holds this text (a store's check of a fencing Lease before every batch parsed it each time: the templates
   * are far fewer than the entries, and a fleet's writes push it out). The entries' order is left alone.
   */
  readOnly(id: string, text: string): StoredObject {
    const template = this.templateOf(id, text);
    if (template !== undefined) return template.object;
    const object: StoredObject = JSON.parse(text);
    if (this.entries.get(id)?.text === text) this.keep(id, text, object);
    return object;
  }

  /**
   * The version, uid and creationTimestamp of `id` as last committed, when its entry was remembered from a commit or
   * has a template (no parse, no copy: the commit's object, or the template, was stamped with them); undefined when
   * the cache cannot tell without parsing. The version is the text's own: an entry remembered from a read may not
   * know it.
   */
  identity(id: string): RowIdentity | undefined {
    const entry = this.entries.get(id);
    if (entry === undefined) return undefined;
    if (entry.uid !== undefined && entry.created !== undefined && entry.rv > 0) return { rv: entry.rv, uid: entry.uid, creationTimestamp: entry.created };
    const m = this.templateOf(id, entry.text)?.object.metadata;
    const rv = Number(m?.resourceVersion);
    return m && Number.isSafeInteger(rv) && rv > 0 ? { rv, uid: m.uid, creationTimestamp: m.creationTimestamp } : undefined;
  }

  /** The template of `id` when it was made from this very text. */
  private templateOf(id: string, text: string): Template | undefined {
    const template = this.templates.get(id);
    return template !== undefined && template.text === text ? template : undefined;
  }

  /** `object`, parsed from `text` and held by nobody else, as the template later reads copy; the freshest one. */
  private keep(id: string, text: string, object: StoredObject): void {
    this.templates.delete(id);
    this.templates.set(id, { text, object: shareObject(object), moved: ++this.templateClock });
    if (this.templates.size > this.maxObjects) {
      for (const stalest of this.templates.keys()) {
        this.templates.delete(stalest);
        break;
      }
    }
  }

  /** The text, moved to the fresh end when it was in the older half. */
  get(id: string): string | undefined {
    const entry = this.entries.get(id);
    if (entry === undefined) return undefined;
    this.entryClock = freshen(this.entries, id, entry, this.entryClock);
    return entry.text;
  }

  /** The text and its version, leaving the order alone. */
  peek(id: string): { text: string; rv: number } | undefined {
    return this.entries.get(id);
  }

  /**
   * A committed change: the new text at `rv`, or with undefined, the object deleted at `rv`. `parsed`: the text
   * already parsed, which the cache keeps as the template reads copy: from now on nobody changes it (the stores
   * deliver it to their watchers, who share it and only read it).
   */
  remember(id: string, text: string | undefined, rv = 0, parsed?: StoredObject): void {
    const old = this.entries.get(id);
    if (old !== undefined) {
      this.entries.delete(id);
      this.chars -= old.text.length;
    }
    this.templates.delete(id);
    if (this.reads.size) {
      const read = this.reads.get(id);
      if (read !== undefined) read.changed = true;
    }
    if (text === undefined) return;
    if (parsed !== undefined) this.keep(id, text, parsed);
    this.entries.set(id, { text, rv, moved: ++this.entryClock, uid: parsed?.metadata.uid, created: parsed?.metadata.creationTimestamp });
    this.chars += text.length;
    if (this.chars > this.maxChars) this.evict();
  }

  /** A read of `id` from the database begins; `endRead` must follow, whether it succeeds or not. */
  beginRead(id: string): void {
    const read = this.reads.get(id);
    if (read !== undefined) read.count++;
    else this.reads.set(id, { count: 1, changed: false });
  }

  /**
   * A read begun by `beginRead` ended, with the row found at `rv` (if any): kept unless the cache saw a change of the
   * object while it was under way (the row may be older than that change), or already holds this version or a newer.
   * An entry dropped to make room needs no such care: the object was not in the cache when the read began (else
   * nobody would have read it), so it can only have come back through a change, which counts.
   */
  endRead(id: string, row?: { text: string; rv: number }): void {
    const read = this.reads.get(id);
    if (read === undefined) return;
    if (--read.count === 0) this.reads.delete(id);
    if (row === undefined || read.changed) return;
    const current = this.entries.get(id);
    if (current !== undefined && current.rv >= row.rv) return;
    this.remember(id, row.text, row.rv);
  }

  private evict(): void {
    // Down to 90% in one pass: a new iterator per eviction would step again over the entries deleted before it (a
    // Map keeps them until it is rebuilt), which made each insert cost more the longer the cache had been full.
    const target = this.maxChars * 0.9;
    for (const [id, entry] of this.entries) {
      if (this.chars <= target) break;
      this.entries.delete(id);
      this.templates.delete(id);
      this.chars -= entry.text.length;
    }
  }
}

/** Moves `item` (`map`'s entry `id`) to the fresh end when it is in the older half (see TextCache); the map's clock after. */
function freshen<T extends { moved: number }>(map: Map<string, T>, id: string, item: T, clock: number): number {
  if (clock - item.moved <= map.size >> 1) return clock;
  map.delete(id);
  item.moved = clock + 1;
  map.set(id, item);
  return clock + 1;
}
