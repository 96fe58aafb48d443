/**
 * A set of keys kept in code-unit order as keys come and go, for a walk in that order at every state store write:
 * sorting 100,000 placements per write took ~0.2 s of the event loop, and a fleet update adds and removes no keys at
 * all. New keys wait in a small list, sorted and merged in at the next walk; removed keys are dropped at the next walk.
 */
export class KeyOrder {
  private sorted: string[] = [];
  private readonly added = new Set<string>();
  private readonly removed = new Set<string>();

  /** A key the set does not hold (the caller knows: it keeps what the keys stand for). */
  add(key: string): void {
    if (!this.removed.delete(key)) this.added.add(key);
  }

  /** A key the set holds. */
  delete(key: string): void {
    if (!this.added.delete(key)) this.removed.add(key);
  }

  get size(): number {
    return this.sorted.length + this.added.size - this.removed.size;
  }

  /** Every key, in code-unit order (the array is the set's own: read it, do not change it). */
  keys(): readonly string[] {
    if (this.removed.size) {
      this.sorted = this.sorted.filter((k) => !this.removed.has(k));
      this.removed.clear();
    }
    if (this.added.size) {
      this.sorted = merge(this.sorted, [...this.added].sort());
      this.added.clear();
    }
    return this.sorted;
  }
}

/** Two arrays in code-unit order, merged into one. */
function merge(a: readonly string[], b: readonly string[]): string[] {
  const out: string[] = [];
  let i = 0;
  let j = 0;
  for (;;) {
    const x = a[i];
    const y = b[j];
    if (x === undefined) return y === undefined ? out : out.concat(b.slice(j));
    if (y === undefined) return out.concat(a.slice(i));
    if (x <= y) {
      out.push(x);
      i++;
    } else {
      out.push(y);
      j++;
    }
  }
}
