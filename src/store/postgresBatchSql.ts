/**
 * The SQL of PostgresStore's write batches. Reads are simple queries (values quoted as literals by pg's escapeLiteral:
 * a simple query may hold several statements, so BEGIN and the lock ride with the read); the writes are one call of a
 * function whose statements' plans the database caches (planning the equivalent statement each time cost more than
 * running it).
 */
import pg from 'pg';
import type { ObjectKey } from './Store.ts';
import type { RowIdentity } from './TextCache.ts';

export const CHANGES_CHANNEL = 'fleetops_changes';

/** A row as a batch sees it: what the database held, then what earlier commits (of the batch, or of the batch before) made it. */
export interface Slot {
  key: ObjectKey;
  rv: number;
  /** Stored JSON; undefined once deleted (or never there). */
  data: string | undefined;
  /** Whether the batch changed it (and so must write it). */
  dirty: boolean;
  /**
   * The row's uid and creation time when known without parsing `data`: from the read cache, or from the object a
   * commit of this replica made it from (a row the batch in flight wrote, which no cache holds yet).
   */
  identity?: RowIdentity | undefined;
}

/** One change of a batch, in the change log's columns. */
export interface LogEntry {
  rv: number;
  type: string;
  key: ObjectKey;
  data: string;
}

/**
 * What an optimistic batch assumed when it was prepared without the counter's lock: the counter's value, and the rv of
 * every row it read (0: absent). Its writes happen only if both still hold under the lock.
 */
export interface Assumed {
  counter: number;
  rows: { key: ObjectKey; rv: number }[];
}

/** Values as an array literal: each quoted by pg's escapeLiteral, cast to the element type. */
function arrayLiteral(values: string[], type: string): string {
  return values.length ? `ARRAY[${values.map((v) => pg.escapeLiteral(v)).join(',')}]::${type}[]` : `'{}'::${type}[]`;
}

/** Keys as the four arguments of `unnest(…) AS k(grp, kind, ns, name)`. */
function keyColumns(keys: Iterable<ObjectKey>): string {
  const cols: string[][] = [[], [], [], []];
  for (const k of keys) [k.group, k.kind, k.namespace, k.name].forEach((v, i) => cols[i]!.push(v));
  return cols.map((c) => arrayLiteral(c, 'text')).join(', ');
}

const JOIN_KEYS = 'o.grp = k.grp AND o.kind = k.kind AND o.ns = k.ns AND o.name = k.name';

/** Keys as four parameters, the arrays of their group, kind, namespace and name (a prepared statement's text[]s). */
export function keyArrays(keys: Iterable<ObjectKey>): [string[], string[], string[], string[]] {
  const cols: [string[], string[], string[], string[]] = [[], [], [], []];
  for (const k of keys) {
    cols[0].push(k.group);
    cols[1].push(k.kind);
    cols[2].push(k.namespace);
    cols[3].push(k.name);
  }
  return cols;
}

/** The prepared read of one row by its key (the read cache's miss of a turn that had one). */
export const READ_ROW = {
  name: 'fleetops-get',
  text: 'SELECT rv, data FROM fleetops_objects WHERE grp = $1 AND kind = $2 AND ns = $3 AND name = $4',
};

/**
 * The prepared read of several rows by their keys, given as four text[] of their columns (the read cache's misses of
 * a turn, TurnReads). Its plan is the database's to cache: planned while the table was small it may scan, and the
 * table's next analysis (which the growth itself triggers) plans it again.
 */
export const READ_ROWS = {
  name: 'fleetops-get-rows',
  text: `SELECT o.grp, o.kind, o.ns, o.name, o.rv, o.data FROM unnest($1::text[], $2::text[], $3::text[], $4::text[]) AS k(grp, kind, ns, name) JOIN fleetops_objects o ON ${JOIN_KEYS}`,
};

/**
 * The rows of `keys` and the counter, in one statement (one snapshot), without any lock: the first row carries the
 * counter, and the row's columns are null when no key exists.
 */
export function readRowsSql(keys: Iterable<ObjectKey>): string {
  return (
    'SELECT m.v AS counter, r.grp, r.kind, r.ns, r.name, r.rv, r.data FROM fleetops_meta m LEFT JOIN LATERAL (' +
    `SELECT o.grp, o.kind, o.ns, o.name, o.rv, o.data FROM fleetops_objects o JOIN unnest(${keyColumns(keys)}) AS k(grp, kind, ns, name) ON ${JOIN_KEYS}` +
    ") r ON true WHERE m.k = 'rv'"
  );
}

/** BEGIN, the counter's lock, and the rows of `keys` read under it (so nobody changes them before COMMIT). */
export function lockAndReadSql(keys: Iterable<ObjectKey>): string {
  return (
    "BEGIN; SELECT v FROM fleetops_meta WHERE k = 'rv' FOR UPDATE; " +
    `SELECT o.grp, o.kind, o.ns, o.name, o.rv, o.data FROM fleetops_objects o JOIN unnest(${keyColumns(keys)}) AS k(grp, kind, ns, name) ON ${JOIN_KEYS}`
  );
}

/** The prepared call of `fleetops_write` (migration 5): one statement, its plans cached in the database. */
export const WRITE_STATEMENT = 'fleetops-write-uncached';
/** The parameters that carry objects' texts ($12 rows, $23 change-log entries): see binaryTextArray. */
const TEXT_PARAMS = new Set([12, 23]);
/** The parameter that names the versions written uncached ($25; a bigint[] even when empty, to pick the overload). */
const UNCACHED_PARAM = 25;
const WRITE_SQL = `SELECT fleetops_write(${Array.from({ length: UNCACHED_PARAM }, (_, i) =>
  TEXT_PARAMS.has(i + 1) ? `$${i + 1}::text[]` : i + 1 === UNCACHED_PARAM ? `$${i + 1}::bigint[]` : `$${i + 1}`,
).join(', ')}) AS ok`;

/** PostgreSQL's type number of `text`, named in the binary form of a text[]. */
const TEXT_OID = 25;

/**
 * Texts (null for none) as a text[] in PostgreSQL's binary form (array_send's: dimensions, a null flag, the element
 * type, then each element's length and UTF-8 bytes), which pg sends as is for a Buffer. As an array literal, pg
 * escapes each element with two regular expression passes; as a JSON array (the previous form) the texts were
 * escaped again by JSON.stringify and parsed back by the database: objects' JSON, full of quotes, was a fifth of the
 * process's allocations on PostgreSQL and the longest string work of a batch on both sides. Here each text is
 * encoded once, as sending it in any form must. The texts are JSON.stringify's output: no NUL character (which a
 * text value cannot hold), no lone surrogate.
 */
export function binaryTextArray(texts: readonly (string | null)[]): Buffer {
  const lengths = new Int32Array(texts.length);
  let size = texts.length ? 20 : 12;
  let nulls = 0;
  for (let i = 0; i < texts.length; i++) {
    const text = texts[i];
    const n = text === null || text === undefined ? -1 : Buffer.byteLength(text, 'utf8');
    if (n < 0) nulls = 1;
    lengths[i] = n;
    size += 4 + Math.max(n, 0);
  }
  const buf = Buffer.allocUnsafe(size);
  buf.writeInt32BE(texts.length ? 1 : 0, 0);
  buf.writeInt32BE(nulls, 4);
  buf.writeInt32BE(TEXT_OID, 8);
  let at = 12;
  if (texts.length) {
    buf.writeInt32BE(texts.length, 12);
    buf.writeInt32BE(1, 16); // lower bound
    at = 20;
  }
  for (let i = 0; i < texts.length; i++) {
    const n = lengths[i]!;
    buf.writeInt32BE(n, at);
    at += 4;
    if (n > 0) at += buf.write(texts[i]!, at, n, 'utf8');
  }
  return buf;
}

/**
 * A batch's writes as one call of `fleetops_write`: final rows, deletions, change-log entries, the counter and the
 * wake-up for other replicas (sent at COMMIT). With `assumed` the call takes the counter's lock itself and writes
 * only if the counter and the rows are what the batch assumed (its answer: 1 written, 0 stale, -1 too early); without, the caller
 * holds the lock and read the rows under it. A key's final state is one of upsert or delete. `uncached`: the
 * versions of the entries written with CommitOptions.uncached, which other replicas keep out of their read caches.
 */
export function writeQuery(slots: Iterable<Slot>, events: LogEntry[], rv: number, uncached: number[], assumed?: Assumed): pg.QueryConfig {
  const up: Slot[] = [];
  const gone: Slot[] = [];
  for (const slot of slots) if (slot.dirty) (slot.data === undefined ? gone : up).push(slot);
  const seen = assumed?.rows ?? [];
  // An entry at the version of a row the batch upserts has that row's text: sent once, as the row (migration 3).
  const upserted = new Set(up.map((s) => s.rv));
  return {
    name: WRITE_STATEMENT,
    text: WRITE_SQL,
    values: [
      assumed ? assumed.counter : null,
      ...keyArrays(seen.map((r) => r.key)),
      seen.map((r) => r.rv),
      ...keyArrays(up.map((s) => s.key)),
      up.map((s) => s.rv),
      binaryTextArray(up.map((s) => s.data ?? null)),
      ...keyArrays(gone.map((s) => s.key)),
      events.map((e) => e.rv),
      events.map((e) => e.type),
      ...keyArrays(events.map((e) => e.key)),
      binaryTextArray(events.map((e) => (upserted.has(e.rv) ? null : e.data))),
      rv,
      uncached,
    ],
  };
}
