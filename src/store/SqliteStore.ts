/**
 * Embedded Store on `node:sqlite` in WAL mode. One process owns the file. Writes are synchronous SQLite
 * transactions, so a write is durable against a process crash (kill -9) once `commit` resolves: WAL pages are in
 * the OS before COMMIT returns. Watchers are fed in-process after each commit.
 */
import { DatabaseSync, type SQLOutputValue, type StatementSync } from 'node:sqlite';
import { randomUUID } from 'node:crypto';
import { stored, type StoredObject } from '../api/types.ts';
import { alreadyExists, expired } from '../api/errors.ts';
import {
  type CommitOptions,
  type GetOptions,
  type ListOptions,
  type ListResult,
  type ObjectKey,
  type Store,
  type StoredEntry,
  type StoreEvent,
  type TypeKey,
  type WatchHandle,
  type WatchOptions,
  type WriteOp,
} from './Store.ts';
import type { Logger } from 'pino';
import { WalCheckpointer } from './WalCheckpointer.ts';
import { WatchHub } from './WatchHub.ts';
import { cachedIn } from '../lib/cachedIn.ts';
import { watchersObject } from './sharedObject.ts';
import { TextCache, type RowIdentity } from './TextCache.ts';
import { storeMetrics } from '../telemetry/metrics.ts';
import { activeTraceContext } from '../telemetry/tracing.ts';
import { listPage, listQuery, type ListDialect, type ListQuery } from './listPage.ts';
import { openSqliteSchema } from './sqliteSchema.ts';
import { countCommit, eventTypeOf, existingRow, resourceName, rowProblems, stampWrite, type CommittedEvent, type PendingCommit } from './storedWrite.ts';

export interface SqliteStoreOptions {
  /** Database file path, or ':memory:'. */
  path: string;
  /** Clock for creationTimestamp. */
  now?: () => Date;
  /** uid generator. */
  newUid?: () => string;
  /** Change-log entries kept; older are compacted away automatically. Default 100,000. */
  historySize?: number;
  /** Characters of object text kept in memory for reads (default: TextCache's). */
  cacheChars?: number;
  /** Where a problem that costs no data is told (the log checkpointer's failure). */
  logger?: Logger;
}

const cacheId = (key: ObjectKey): string => `${key.group}\0${key.kind}\0${key.namespace}\0${key.name}`;

/** Kind-agnostic "plural" used only in store error messages, which the registry rewrites with real names. */
type Row = Record<string, SQLOutputValue>;

/** A TEXT column of a row (the schema declares them NOT NULL; anything else means the file was changed by hand). */
function text(row: Row, column: string): string {
  const v = row[column];
  if (typeof v !== 'string') throw new Error(`the store's column ${column} holds ${typeof v}, not text`);
  return v;
}

/** An INTEGER column of a row. */
function int(row: Row, column: string): number {
  const v = row[column];
  if (typeof v === 'number') return v;
  if (typeof v === 'bigint') return Number(v);
  throw new Error(`the store's column ${column} holds ${typeof v}, not an integer`);
}

/** An object row as the store wrote it (stamped with name, uid, resourceVersion and creationTimestamp on create). */
function decodeStored(text: string): StoredObject {
  return JSON.parse(text);
}

/** An object row's stored text, as a column of a statement on the objects table: the change log's at its version. */
const TEXT_OF_ROW = '(SELECT data FROM events WHERE events.rv = objects.rv) AS data';

/**
 * The rows a list reads: each object's key with its stored text as a column of its own, which the list's conditions
 * may search (ListOptions.containing). SQLite flattens it into a join that seeks the key's index as a list of the
 * objects table alone does, and reads each text once.
 */
const LIST_ROWS = `(SELECT objects.grp AS grp, objects.kind AS kind, objects.ns AS ns, objects.name AS name, events.data AS data
  FROM objects JOIN events ON events.rv = objects.rv)`;

/**
 * How a list's SQL is written for SQLite. A text is searched with GLOB (`*…*`, its own wildcards each in brackets):
 * case-sensitive as `instr`, and measured at 10,000 rows of ~1 KB, 10 ms against instr's 17 (which compares at every
 * character) and 13 for reading every row.
 */
export const SQLITE_LIST_DIALECT: ListDialect = {
  placeholder: () => '?',
  contains: (text, param) => `data GLOB ${param(`*${text.replace(/[*?[]/g, '[$&]')}*`)}`,
};

/** A list's statement. */
export function sqliteListSql(q: ListQuery): string {
  return `SELECT ns, name, data FROM ${LIST_ROWS} WHERE ${q.where} ORDER BY ns, name${q.limitSql}`;
}

/**
 * Writes between two compactions of the change log (see compactSync), which runs on the event loop: each deletes
 * about as many rows. Measured with rows of 2.5–8 KB: every 1,000 writes a compaction holds the loop ~2 ms (6 at
 * most), every 10,000 (a tenth of the history, as before) ~10 ms and up to 58, for the same CPU in all.
 */
const COMPACT_EVERY = 1000;

const READ_QUERIES = storeMetrics.readQueries.with();

export class SqliteStore implements Store {
  private readonly db: DatabaseSync;
  readonly now: () => Date;
  readonly newUid: () => string;
  private readonly historySize: number;
  private readonly hub = new WatchHub();
  private readonly checkpointer: WalCheckpointer | undefined;
  private rv: number;
  private compactedRv: number;
  private writesSinceCompact = 0;
  private closed = false;
  private readonly untrackLog = storeMetrics.changeLog.track(() => [[[], this.rv - this.compactedRv]]);
  private readonly untrackCache = storeMetrics.readCache.track(() => this.cache.sample());
  /** Stored text of recently used objects by cacheId (see get). */
  private readonly cache: TextCache;
  private readonly prepared = new Map<string, StatementSync>();
  /** Commits waiting for the next transaction (see commit). */
  private queue: PendingCommit[] = [];
  private readonly stmts: {
    get: StatementSync;
    identity: StatementSync;
    begin: StatementSync;
    commit: StatementSync;
    rollback: StatementSync;
    savepoint: StatementSync;
    release: StatementSync;
    rollbackTo: StatementSync;
    upsert: StatementSync;
    del: StatementSync;
    event: StatementSync;
    dropEvent: StatementSync;
    history: StatementSync;
  };

  constructor(options: SqliteStoreOptions) {
    this.now = options.now ?? (() => new Date());
    this.newUid = options.newUid ?? randomUUID;
    this.historySize = options.historySize ?? 100_000;
    this.cache = new TextCache({ ...(options.cacheChars !== undefined ? { maxChars: options.cacheChars } : {}) });
    this.db = new DatabaseSync(options.path);
    // No memory map of the file: its pages would count in the process's resident memory (at 20,000 resources, 200
    // MiB of a 720 MiB RSS), where reads through SQLite's page cache and the kernel's cost about the same.
    this.db.exec(`
      PRAGMA journal_mode = WAL;
      PRAGMA synchronous = NORMAL;
      PRAGMA busy_timeout = 5000;
      PRAGMA cache_size = -65536;
      PRAGMA mmap_size = 0;
      PRAGMA temp_store = MEMORY;
    `);
    if (options.path !== ':memory:' && options.path !== '') {
      // The log is checkpointed off the event loop (see WalCheckpointer), not inside a COMMIT.
      this.db.exec('PRAGMA wal_autocheckpoint = 0');
      this.checkpointer = new WalCheckpointer({
        path: options.path,
        onFailure: (err) => {
          options.logger?.warn({ err }, 'the log checkpointer failed: the store checkpoints on commit again');
          if (!this.closed) this.db.exec('PRAGMA wal_autocheckpoint = 1000');
        },
      });
    }
    openSqliteSchema(this.db);
    const maxRv = (table: string): number => {
      const row = this.db.prepare(`SELECT coalesce(max(rv), 0) AS m FROM ${table}`).get();
      return row ? int(row, 'm') : 0;
    };
    const compacted = this.db.prepare("SELECT v FROM meta WHERE k = 'compactedRv'").get();
    this.compactedRv = compacted ? Number(text(compacted, 'v')) : 0;
    this.rv = Math.max(maxRv('events'), maxRv('objects'), this.compactedRv);
    this.stmts = {
      get: this.db.prepare(`SELECT ${TEXT_OF_ROW} FROM objects WHERE grp = ? AND kind = ? AND ns = ? AND name = ?`),
      identity: this.db.prepare('SELECT rv, uid, created FROM objects WHERE grp = ? AND kind = ? AND ns = ? AND name = ?'),
      begin: this.db.prepare('BEGIN IMMEDIATE'),
      commit: this.db.prepare('COMMIT'),
      rollback: this.db.prepare('ROLLBACK'),
      savepoint: this.db.prepare('SAVEPOINT write'),
      release: this.db.prepare('RELEASE write'),
      rollbackTo: this.db.prepare('ROLLBACK TO write'),
      upsert: this.db.prepare(
        'INSERT INTO objects (grp, kind, ns, name, rv, uid, created) VALUES (?, ?, ?, ?, ?, ?, ?) ' +
          'ON CONFLICT (grp, kind, ns, name) DO UPDATE SET rv = excluded.rv',
      ),
      del: this.db.prepare('DELETE FROM objects WHERE grp = ? AND kind = ? AND ns = ? AND name = ?'),
      event: this.db.prepare('INSERT INTO events (rv, type, grp, kind, ns, name, data) VALUES (?, ?, ?, ?, ?, ?, ?)'),
      dropEvent: this.db.prepare('DELETE FROM events WHERE rv = ?'),
      history: this.db.prepare('SELECT rv, type, grp, kind, ns, name, data FROM events WHERE rv > ? ORDER BY rv'),
    };
  }

  /**
   * Reads are served from the stored text of recently written or read objects when it is there (most reads are of
   * objects just written: a controller reads what the previous step of a run wrote), else from SQLite. Only this
   * process writes the file, and the cache changes only after a transaction commits, so it never disagrees with it:
   * every read is of the latest, and `options.cached` changes nothing.
   */
  async get(key: ObjectKey, options?: GetOptions): Promise<StoredObject | undefined> {
    const id = cacheId(key);
    const cached = this.cache.object(id, options?.shared);
    if (cached !== undefined) return cached;
    READ_QUERIES.inc();
    const text = this.storedText(key);
    if (text === undefined) return undefined;
    this.cache.remember(id, text);
    return decodeStored(text); // parsed here: an object bigger than the cache's budget is not kept in it
  }

  /** The identity of the object's row as the database holds it (inside a transaction: with its uncommitted writes). */
  private identityRow(key: ObjectKey): RowIdentity | undefined {
    const row = this.stmts.identity.get(key.group, key.kind, key.namespace, key.name);
    return row && { rv: int(row, 'rv'), uid: text(row, 'uid'), creationTimestamp: text(row, 'created') };
  }

  /** The object's text as the database holds it (inside a transaction: with its uncommitted writes). */
  private storedText(key: ObjectKey): string | undefined {
    const row = this.stmts.get.get(key.group, key.kind, key.namespace, key.name);
    return row && text(row, 'data');
  }

  private getSync(key: ObjectKey): StoredObject | undefined {
    const text = this.storedText(key);
    return text === undefined ? undefined : this.cache.parsed(cacheId(key), text);
  }

  /**
   * A prepared statement for SQL built at run time (lists: a few shapes, by filter and limit), kept: preparing one
   * costs more than running it on a small table.
   */
  private statement(sql: string): StatementSync {
    return cachedIn(this.prepared, sql, 64, () => this.db.prepare(sql));
  }

  async list(type: TypeKey, options: ListOptions = {}): Promise<ListResult> {
    const q = listQuery(type, options, SQLITE_LIST_DIALECT);
    // One read transaction keeps rv and rows consistent with each other.
    const rows = this.statement(sqliteListSql(q)).all(...q.values);
    return listPage(
      rows.map((r) => ({ ns: text(r, 'ns'), name: text(r, 'name'), data: text(r, 'data') })),
      q.limit,
      String(this.rv),
    );
  }

  /**
   * Writes are grouped: every commit asked for during one turn of the event loop goes into one SQLite transaction
   * (one WAL append instead of one per write; measured 110 → 73 µs per write with four at a time), each inside its
   * own savepoint, so a failing one (conflict, already exists) rolls back alone and the others are stored. A commit
   * resolves only after the transaction holding it is committed: what is acknowledged is durable.
   */
  commit(ops: WriteOp[], options?: CommitOptions): Promise<StoredObject[]> {
    if (this.closed) return Promise.reject(new Error('store is closed'));
    return new Promise((resolve, reject) => {
      this.queue.push({ ops, shared: options?.shared === true, uncached: options?.uncached === true, resolve, reject, cause: activeTraceContext() });
      if (this.queue.length === 1) setImmediate(() => this.flush());
    });
  }

  private flush(): void {
    const batch = this.queue;
    this.queue = [];
    if (!batch.length) return;
    if (this.closed) {
      for (const item of batch) item.reject(new Error('store is closed'));
      return;
    }
    const batchStartRv = this.rv;
    const done: { item: PendingCommit; events: CommittedEvent[] }[] = [];
    const started = performance.now();
    // Keys this transaction wrote: their rows differ from the read cache until it commits.
    const touched = new Set<string>();
    let settled = 0;
    try {
      this.stmts.begin.run();
      const alone = batch.length === 1;
      for (const item of batch) {
        const startRv = this.rv;
        // A savepoint only for a commit of several operations among several commits: a lone commit's refusal rolls
        // back the transaction, and a single operation is refused before it writes anything (stampWrite decides
        // first). Two statements per write saved on most writes.
        const savepoint = !alone && item.ops.length > 1;
        if (savepoint) this.stmts.savepoint.run();
        const progress = { wrote: false };
        try {
          done.push({ item, events: this.apply(item.ops, touched, progress) });
          if (savepoint) this.stmts.release.run();
        } catch (err) {
          // Written in part without a savepoint (SQLite itself failed): only the whole transaction can go.
          if (progress.wrote && !savepoint && !alone) throw err;
          if (alone) this.stmts.rollback.run();
          else if (savepoint) {
            this.stmts.rollbackTo.run();
            this.stmts.release.run();
          }
          this.rv = startRv;
          item.reject(err);
        }
        settled++;
      }
      if (done.length || !alone) this.stmts.commit.run();
      countCommit(started);
      this.checkpointer?.wrote();
    } catch (err) {
      // BEGIN, a write or COMMIT failed (I/O): nothing of the batch is stored, and every commit not yet refused fails.
      try {
        this.stmts.rollback.run();
      } catch {
        // no transaction left to roll back
      }
      this.rv = batchStartRv;
      for (const d of done) d.item.reject(err);
      for (const item of batch.slice(settled)) item.reject(err);
      return;
    }
    let written = 0;
    for (const d of done) written += d.events.length;
    this.writesSinceCompact += written;
    if (this.writesSinceCompact >= COMPACT_EVERY) {
      this.writesSinceCompact = 0;
      this.compactSync(this.historySize);
    }
    // The watchers and the read cache share the object the text was made from, and so does a writer that only reads
    // what it gets (CommitOptions.shared); any other writer gets that object and the others a copy of it. The copy is
    // made from the object (this is the same synchronous step as the transaction): what parsing the text would give,
    // at a third of the cost.
    // The read cache takes the whole transaction before any watcher runs: a handler reading another object of the
    // same batch must see it as committed.
    const delivered = done.map(({ item, events }) => ({
      item,
      events: events.map((e) => {
        const own = stored(e.stored);
        return { e, own, shared: watchersObject(own, item.shared) };
      }),
    }));
    for (const { item, events } of delivered) {
      for (const { e, shared } of events) this.cache.remember(cacheId(e.key), e.type === 'DELETED' || item.uncached ? undefined : e.data, e.rv, shared);
    }
    for (const { item, events } of delivered) {
      for (const { e, shared } of events) this.hub.publish({ type: e.type, rv: e.rv, key: e.key, object: shared }, item.cause);
      item.resolve(events.map((x) => x.own));
    }
  }

  /**
   * One commit's operations inside the open transaction; throws (leaving rv to the caller) on the first refusal.
   * `touched`: the keys the transaction has written so far (added to); `progress.wrote` once a statement has written.
   */
  private apply(ops: WriteOp[], touched: Set<string>, progress: { wrote: boolean }): CommittedEvent[] {
    const events: CommittedEvent[] = [];
    for (const op of ops) {
      if (op.op === 'check') {
        const text = this.storedText(op.key);
        if (!op.accept(text === undefined ? undefined : this.cache.readOnly(cacheId(op.key), text))) throw op.refusal();
        continue;
      }
      const rv = ++this.rv;
      const { key } = op;
      // Only the identity of the stored object is needed here, no text is parsed: from the read cache's template when
      // it has one and this transaction has not written the key yet (the cache holds what is committed), else from
      // the row. A delete stores the object as last seen.
      const id = cacheId(key);
      const known = touched.has(id) ? undefined : this.cache.identity(id);
      const row = known ?? this.identityRow(key);
      touched.add(id);
      const existingRv = row?.rv ?? 0;
      const existing =
        row &&
        existingRow(row, () => {
          const stored = this.getSync(key);
          if (!stored) throw new Error(`the store's row of ${key.kind} ${key.namespace}/${key.name} vanished inside its transaction`);
          return stored;
        });
      const { type, data, stored: stamped } = stampWrite(op, existing, rv, this);
      progress.wrote = true;
      // The version it replaces was kept through compaction only as the current one: it goes now (see compactSync).
      if (row && existingRv <= this.compactedRv) this.stmts.dropEvent.run(existingRv);
      if (type === 'DELETED') this.stmts.del.run(key.group, key.kind, key.namespace, key.name);
      else this.stmts.upsert.run(key.group, key.kind, key.namespace, key.name, rv, stamped.metadata.uid ?? '', stamped.metadata.creationTimestamp ?? '');
      this.stmts.event.run(rv, type, key.group, key.kind, key.namespace, key.name, data);
      events.push({ type, rv, key, data, stored: stamped });
    }
    return events;
  }

  async watch(options: WatchOptions, onEvent: (event: StoreEvent) => void): Promise<WatchHandle> {
    if (options.fromRv !== undefined && options.fromRv < this.compactedRv) {
      throw expired(`too old resource version: ${options.fromRv} (${this.compactedRv + 1})`);
    }
    // Subscribing and reading history happen in one synchronous step, so no commit can fall between them.
    const handle = this.hub.subscribe(options, onEvent, options.fromRv ?? this.rv);
    if (options.fromRv !== undefined && options.fromRv < this.rv) {
      for (const row of this.stmts.history.all(options.fromRv)) {
        const key = { group: text(row, 'grp'), kind: text(row, 'kind'), namespace: text(row, 'ns'), name: text(row, 'name') };
        this.hub.deliver(handle, { type: eventTypeOf(row.type), rv: int(row, 'rv'), key, object: decodeStored(text(row, 'data')) });
      }
    }
    return handle;
  }

  async currentRv(): Promise<number> {
    return this.rv;
  }

  async oldestRv(): Promise<number> {
    return this.compactedRv;
  }

  async compact(keep: number): Promise<void> {
    this.compactSync(keep);
  }

  /**
   * Drops the change log's rows up to `rv - keep`, but for each object's current version (its stored text): below the
   * compacted version the log holds exactly those, and a write drops the one it replaces. So each compaction reads
   * only the rows it newly passes, never the whole fleet's.
   */
  private compactSync(keep: number): void {
    const cutoff = this.rv - keep;
    if (cutoff <= this.compactedRv) return;
    this.db.exec('BEGIN IMMEDIATE');
    try {
      this.db
        .prepare(
          'DELETE FROM events WHERE rv > ? AND rv <= ? AND NOT EXISTS (SELECT 1 FROM objects o ' +
            'WHERE o.grp = events.grp AND o.kind = events.kind AND o.ns = events.ns AND o.name = events.name AND o.rv = events.rv)',
        )
        .run(this.compactedRv, cutoff);
      this.db.prepare("INSERT INTO meta (k, v) VALUES ('compactedRv', ?) ON CONFLICT (k) DO UPDATE SET v = excluded.v").run(String(cutoff));
      this.db.exec('COMMIT');
      this.compactedRv = cutoff;
    } catch (err) {
      this.db.exec('ROLLBACK');
      throw err;
    }
  }

  async *dump(): AsyncIterable<StoredEntry[]> {
    let after: (string | number)[] = ['', '', '', ''];
    for (;;) {
      const rows = this.db
        .prepare(`SELECT grp, kind, ns, name, ${TEXT_OF_ROW} FROM objects WHERE (grp, kind, ns, name) > (?, ?, ?, ?) ORDER BY grp, kind, ns, name LIMIT 1000`)
        .all(...after);
      if (!rows.length) return;
      yield rows.map((r) => ({
        key: { group: text(r, 'grp'), kind: text(r, 'kind'), namespace: text(r, 'ns'), name: text(r, 'name') },
        object: decodeStored(text(r, 'data')),
      }));
      const last = rows[rows.length - 1]!;
      after = [text(last, 'grp'), text(last, 'kind'), text(last, 'ns'), text(last, 'name')];
    }
  }

  async load(entries: StoredEntry[]): Promise<void> {
    if (this.queue.length) this.flush();
    this.db.exec('BEGIN IMMEDIATE');
    try {
      let top = this.rv;
      for (const { key, object } of entries) {
        const rv = Number(object.metadata.resourceVersion);
        if (!Number.isSafeInteger(rv) || rv <= 0) throw new Error(`${key.kind} ${key.namespace}/${key.name} has no resourceVersion to keep`);
        if (this.getSync(key)) throw alreadyExists(resourceName(key), key.group, key.name);
        this.stmts.upsert.run(key.group, key.kind, key.namespace, key.name, rv, object.metadata.uid, object.metadata.creationTimestamp);
        this.stmts.event.run(rv, 'ADDED', key.group, key.kind, key.namespace, key.name, JSON.stringify(object));
        top = Math.max(top, rv);
      }
      this.db.prepare("INSERT INTO meta (k, v) VALUES ('compactedRv', ?) ON CONFLICT (k) DO UPDATE SET v = excluded.v").run(String(top));
      this.db.exec('COMMIT');
      this.rv = top;
      this.compactedRv = top;
    } catch (err) {
      this.db.exec('ROLLBACK');
      throw err;
    }
  }

  async checkIntegrity(): Promise<string[]> {
    const problems: string[] = [];
    for (const row of this.db.prepare('PRAGMA integrity_check').all()) {
      const result = String(row.integrity_check);
      if (result !== 'ok') problems.push(`sqlite: ${result}`);
    }
    for (const row of this.db.prepare(`SELECT grp, kind, ns, name, rv, uid, ${TEXT_OF_ROW} FROM objects`).all()) {
      const key = { group: text(row, 'grp'), kind: text(row, 'kind'), namespace: text(row, 'ns'), name: text(row, 'name') };
      if (typeof row.data !== 'string') {
        problems.push(`${key.group}/${key.kind} ${key.namespace}/${key.name}: no stored text at its resourceVersion ${int(row, 'rv')}`);
        continue;
      }
      problems.push(...rowProblems(key, int(row, 'rv'), row.data, this.rv, text(row, 'uid')));
    }
    return problems;
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.flush(); // commits already asked for are written, not dropped
    this.closed = true;
    this.untrackLog();
    this.untrackCache();
    this.hub.closeAll();
    // The writer's connection closes last: its close checkpoints what is left and removes the log.
    await this.checkpointer?.stop();
    this.db.close();
  }
}
