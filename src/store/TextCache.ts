/**
 * The stored text of recently written or read objects, least recently used first, within a budget of characters: a
 * store's read cache. Each entry keeps the resourceVersion it is at; `forgottenRv` is the newest version the cache
 * dropped (evicted, or deleted), so a reader that fetched a row before that change cannot put the older text back.
 */
export interface TextCacheOptions {
  /** Characters of stored text kept at most (default 32 Mi). */
  maxChars?: number;
}

interface Entry {
  text: string;
  rv: number;
}

export class TextCache {
  private readonly entries = new Map<string, Entry>();
  private chars = 0;
  private readonly maxChars: number;
  /** The newest resourceVersion of any entry dropped (evicted or deleted). */
  forgottenRv = 0;

  constructor(options: TextCacheOptions = {}) {
    this.maxChars = options.maxChars ?? 32 * 1024 * 1024;
  }

  /** The text, moved to the fresh end. */
  get(id: string): string | undefined {
    const entry = this.entries.get(id);
    if (entry === undefined) return undefined;
    this.entries.delete(id);
    this.entries.set(id, entry);
    return entry.text;
  }

  /** The text and its version, leaving the order alone. */
  peek(id: string): { text: string; rv: number } | undefined {
    return this.entries.get(id);
  }

  /** A committed change: the new text at `rv`, or with undefined, the object deleted at `rv`. */
  remember(id: string, text: string | undefined, rv = 0): void {
    const old = this.entries.get(id);
    if (old !== undefined) {
      this.entries.delete(id);
      this.chars -= old.text.length;
    }
    if (text === undefined) {
      this.forgottenRv = Math.max(this.forgottenRv, rv);
      return;
    }
    this.entries.set(id, { text, rv });
    this.chars += text.length;
    if (this.chars > this.maxChars) this.evict();
  }

  /**
   * A row read from the database at `rv`: kept unless the cache knows a newer version, or dropped one after it (the
   * read may have started before a change the cache has since seen and forgotten).
   */
  offer(id: string, text: string, rv: number): void {
    const current = this.entries.get(id);
    if (current !== undefined ? current.rv >= rv : rv < this.forgottenRv) return;
    this.remember(id, text, rv);
  }

  private evict(): void {
    // Down to 90% in one pass: a new iterator per eviction would step again over the entries deleted before it (a
    // Map keeps them until it is rebuilt), which made each insert cost more the longer the cache had been full.
    const target = this.maxChars * 0.9;
    for (const [id, entry] of this.entries) {
      if (this.chars <= target) break;
      this.entries.delete(id);
      this.chars -= entry.text.length;
      this.forgottenRv = Math.max(this.forgottenRv, entry.rv);
    }
  }
}
