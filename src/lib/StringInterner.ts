/**
 * One copy of each short string value in long-lived parsed objects. JSON.parse makes a new string for every value,
 * so 100,000 cached resources hold 100,000 copies of each reason, finalizer, apiVersion, label and timestamp — a
 * third of the heap a fleet's caches take. The table is bounded: when full it starts over (objects keep the copies
 * they have; values still in use are shared again from then on).
 */
export interface StringInternerOptions {
  /** Distinct strings remembered before the table starts over (default 50,000). */
  maxEntries?: number;
  /** Longer strings are left alone (default 100 characters: long ones rarely repeat). */
  maxLength?: number;
  /** Values under these keys are unique to their object (uids, resourceVersions) and left alone. */
  skipKeys?: readonly string[];
}

export class StringInterner {
  private table = new Map<string, string>();
  private readonly maxEntries: number;
  private readonly maxLength: number;
  private readonly skip: ReadonlySet<string>;

  constructor(options: StringInternerOptions = {}) {
    this.maxEntries = options.maxEntries ?? 50_000;
    this.maxLength = options.maxLength ?? 100;
    this.skip = new Set(options.skipKeys ?? ['uid', 'resourceVersion']);
  }

  /**
   * Replaces, in place, the string values of a parsed JSON value with their shared copies. A frozen object (a store's
   * shared one, under FLEETOPS_CHECK_SHARED) is left as it is.
   */
  internAll(value: unknown): void {
    if (Object.isFrozen(value)) return;
    if (Array.isArray(value)) {
      for (let i = 0; i < value.length; i++) {
        const v: unknown = value[i];
        if (typeof v === 'string') value[i] = this.intern(v);
        else if (v !== null && typeof v === 'object') this.internAll(v);
      }
      return;
    }
    if (!isRecord(value)) return;
    const record = value;
    for (const key in record) {
      const v = record[key];
      if (typeof v === 'string') {
        if (!this.skip.has(key)) record[key] = this.intern(v);
      } else if (v !== null && typeof v === 'object') this.internAll(v);
    }
  }

  /** The shared copy of `s` (the first one seen). */
  intern(s: string): string {
    if (s.length > this.maxLength) return s;
    const known = this.table.get(s);
    if (known !== undefined) return known;
    if (this.table.size >= this.maxEntries) this.table = new Map();
    this.table.set(s, s);
    return s;
  }
}

function isRecord(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}
