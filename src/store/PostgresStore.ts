/**
 * A Store on PostgreSQL, shared by several FleetOps replicas. Same contract as SqliteStore (the conformance suite
 * runs on both); what differs is how order and watches work across processes:
 *
 * - **Order.** Every write transaction first locks the `rv` counter row (`SELECT … FOR UPDATE`) and holds it until
 *   COMMIT, so writers of all replicas commit one after another and resourceVersions are handed out in commit order.
 *   A reader that sees rv N therefore sees every rv below it: a watcher reading the change log never skips a gap
 *   that fills in later.
 * - **Grouping.** Commits asked for while a transaction is in flight wait and go into the next batch together; each
 *   is checked in memory against the rows the batch read, so one refused commit drops out alone and the rest are
 *   written by one call of `fleetops_write` for the whole batch.
 * - **Optimistic batches.** A batch reads its rows without the lock (none for keys it only creates), assuming the
 *   counter as the batch before it leaves it, while that one is still in flight; its write takes the lock and
 *   writes only if the counter and every row are what it assumed, else the batch is redone the locked way (lock,
 *   read, write: two round trips). The lock is held for one call inside the database, never across a round trip to
 *   a replica, so replicas' batches follow each other as fast as the database runs them.
 * - **Watches.** Each replica tails the change log: a `LISTEN` connection is woken by the `NOTIFY` each transaction
 *   sends on commit, a poll every second is the backstop, and after a reconnect the tail resumes from the last
 *   version delivered. A replica's own commits are delivered to its watchers before the commit resolves (as with
 *   SQLite): what a controller wrote, its informers have seen.
 *
 * While the database is unreachable `ready()` is false and writes fail; the pool and the listener reconnect with
 * back-off. Credentials stay in the connection string and are never logged.
 */
import { randomUUID } from 'node:crypto';
import pg from 'pg';
import { isPlainObject, stored, type StoredObject } from '../api/types.ts';
import { ApiError, errorMessage, expired, isApiError } from '../api/errors.ts';
import {
  type CommitOptions,
  type GetOptions,
  type ListOptions,
  type ListResult,
  type ObjectKey,
  type Store,
  type StoredEntry,
  type CheckOp,
  type StoreEvent,
  type TypeKey,
  type WatchHandle,
  type WatchOptions,
  type WriteOp,
} from './Store.ts';
import { WatchHub } from './WatchHub.ts';
import { shareObject, watchersObject } from './sharedObject.ts';
import { TextCache } from './TextCache.ts';
import { TurnReads, type StoredRow } from './TurnReads.ts';
import { storeMetrics } from '../telemetry/metrics.ts';
import { activeTraceContext } from '../telemetry/tracing.ts';
import { listPage, listQuery, type ListDialect } from './listPage.ts';
import {
  countCommit,
  eventTypeOf,
  existingRow,
  rowOf,
  rowProblems,
  stampWrite,
  type CommittedEvent,
  type ExistingRow,
  type PendingCommit,
} from './storedWrite.ts';
import { migrate } from './postgresSchema.ts';
import { CHANGES_CHANNEL, keyArrays, lockAndReadSql, READ_ROW, READ_ROWS, readRowsSql, writeQuery, type Assumed, type Slot } from './postgresBatchSql.ts';

/** How a list's SQL is written for PostgreSQL. */
const POSTGRES_LIST_DIALECT: ListDialect = { placeholder: (n) => `$${n}`, contains: (text, param) => `strpos(data, ${param(text)}) > 0` };

export interface PostgresStoreOptions {
  /** `postgres://user:password@host:port/database` (libpq's parameters in the query string). */
  url: string;
  now?: () => Date;
  newUid?: () => string;
  /** Change-log entries kept; older are compacted away automatically. Default 100,000. */
  historySize?: number;
  /** Connections in the pool (default 10). */
  poolSize?: number;
  /** Characters of stored text kept in the read cache (default: TextCache's). */
  cacheChars?: number;
  /** How often the change log is read when no NOTIFY came (default 1,000 ms). */
  pollMs?: number;
  /** Told of connection losses and recoveries (never the connection string). */
  onConnectionChange?: (state: { ready: boolean; problem?: string }) => void;
}

/** Rows read from the change log at a time while catching up. */
const TAIL_PAGE = 2000;
const READ_QUERIES = storeMetrics.readQueries.with();

const idOf = (key: ObjectKey): string => `${key.group}\0${key.kind}\0${key.namespace}\0${key.name}`;

/** A batch's commits settled in memory: those to write with their events, those refused, and the counter after them. */
interface Settled {
  done: { item: PendingCommit; events: CommittedEvent[] }[];
  refused: { item: PendingCommit; err: unknown }[];
  rv: number;
}

/**
 * A batch sent (or being redone under the lock). `after`, for a batch sent optimistically: the counter and the rows it
 * writes should it commit, which the next batch assumes.
 */
interface Flight {
  finished: Promise<void>;
  after: { counter: number; rows: Map<string, Slot> } | undefined;
}

interface EventRow {
  rv: string;
  type: string;
  grp: string;
  kind: string;
  ns: string;
  name: string;
  data: string;
  /** Written with CommitOptions.uncached (migration 5; read by the tail, which fills the read cache). */
  uncached?: boolean;
}

/** The versions of a batch's entries written with CommitOptions.uncached. */
function uncachedVersions(done: Settled['done']): number[] {
  return done.flatMap((d) => (d.item.uncached ? d.events.map((e) => e.rv) : []));
}

function eventOf(row: EventRow): StoreEvent {
  return {
    type: eventTypeOf(row.type),
    rv: Number(row.rv),
    key: { group: row.grp, kind: row.kind, namespace: row.ns, name: row.name },
    object: JSON.parse(row.data),
  };
}

export class PostgresStore implements Store {
  private readonly opts: PostgresStoreOptions;
  private readonly pool: pg.Pool;
  readonly now: () => Date;
  readonly newUid: () => string;
  private readonly historySize: number;
  private readonly hub = new WatchHub();
  /** The newest resourceVersion handed to this replica's watchers (the tail's position). */
  private delivered = 0;
  /** Serialises tail reads, own deliveries and watch starts (order to watchers depends on it). */
  private lane: Promise<void> = Promise.resolve();
  private queue: PendingCommit[] = [];
  private flushing: Promise<void> | undefined;
  private listener: pg.Client | undefined;
  private closed = false;
  private pollTimer: NodeJS.Timeout | undefined;
  private reconnectTimer: NodeJS.Timeout | undefined;
  private reconnectDelay = 100;
  private tailWanted = false;
  private tailRunning: Promise<void> | undefined;
  private writesSinceCompact = 0;
  private compacting: Promise<void> | undefined;
  /** The last resourceVersion of each of this replica's batches between its COMMIT and their delivery. */
  private readonly ownCommits = new Set<number>();
  /** Stored text of objects this replica delivered or read, at their versions (see get). */
  private readonly cache: TextCache;
  /** The cache's misses, read from the database a turn's at a time. */
  private readonly rowReads = new TurnReads({ read: (keys) => this.readRows(keys) });
  /** Gets waiting for the next read of the counter (see freshRv). */
  private rvWaiters: { resolve(rv: number): void; reject(err: unknown): void }[] = [];
  /** The change log's start as this replica last saw it (at open and after its own compactions), for the metric. */
  private compactedSeen = 0;
  private readonly untrackLog = storeMetrics.changeLog.track(() => [[[], Math.max(0, this.delivered - this.compactedSeen)]]);
  private readonly untrackCache = storeMetrics.readCache.track(() => this.cache.sample());

  private constructor(options: PostgresStoreOptions) {
    this.opts = options;
    this.now = options.now ?? (() => new Date());
    this.newUid = options.newUid ?? randomUUID;
    this.historySize = options.historySize ?? 100_000;
    this.cache = new TextCache({ ...(options.cacheChars !== undefined ? { maxChars: options.cacheChars } : {}) });
    this.pool = new pg.Pool({ connectionString: options.url, max: options.poolSize ?? 10, connectionTimeoutMillis: 5_000 });
    // A connection that breaks (the server restarted) must not crash the process: an idle one the pool drops; one
    // in use fails its query (and the transaction with it), and its 'error' event, emitted besides, is ignored here.
    this.pool.on('error', () => undefined);
    this.pool.on('connect', (client) => client.on('error', () => undefined));
  }

  /** Connects, applies the schema migrations, and starts tailing the change log. */
  static async open(options: PostgresStoreOptions): Promise<PostgresStore> {
    const store = new PostgresStore(options);
    try {
      const client = await store.pool.connect();
      try {
        await migrate(client);
      } finally {
        client.release();
      }
      store.delivered = await store.currentRv();
      store.compactedSeen = await store.oldestRv();
      await store.listen();
    } catch (err) {
      store.untrackLog();
      store.untrackCache();
      await store.pool.end().catch(() => undefined);
      throw err;
    }
    store.pollTimer = setInterval(() => store.wakeTail(), options.pollMs ?? 1_000);
    store.pollTimer.unref();
    return store;
  }

  /** Whether the database answers (the LISTEN connection is up). */
  ready(): boolean {
    return this.listener !== undefined && !this.closed;
  }

  private async listen(): Promise<void> {
    const client = new pg.Client({ connectionString: this.opts.url, connectionTimeoutMillis: 5_000 });
    const lost = (err?: Error): void => {
      if (this.listener !== client) return;
      this.listener = undefined;
      this.opts.onConnectionChange?.({ ready: false, problem: err ? errorMessage(err) : 'connection closed' });
      client.removeAllListeners();
      client.on('error', () => undefined);
      client.end().catch(() => undefined);
      this.scheduleReconnect();
    };
    client.on('error', lost);
    client.on('end', () => lost());
    // A commit this replica has already delivered, or is about to deliver (its own: the notification can overtake
    // the COMMIT's answer), needs no read of the change log.
    client.on('notification', (n) => {
      const rv = Number(n.payload);
      if (!(rv <= this.delivered) && !this.ownCommits.has(rv)) this.wakeTail();
    });
    await client.connect();
    await client.query(`LISTEN ${CHANGES_CHANNEL}`);
    this.listener = client;
    this.reconnectDelay = 100;
  }

  private scheduleReconnect(): void {
    if (this.closed || this.reconnectTimer) return;
    const delay = this.reconnectDelay;
    this.reconnectDelay = Math.min(this.reconnectDelay * 2, 2_000);
    this.reconnectTimer = setTimeout(() => {
      this.reconnectTimer = undefined;
      this.listen().then(
        () => {
          this.opts.onConnectionChange?.({ ready: true });
          // Whatever was committed while we were away comes from the change log.
          this.wakeTail();
        },
        () => this.scheduleReconnect(),
      );
    }, delay);
    this.reconnectTimer.unref();
  }

  /** Asks for a read of the change log; calls that come while one runs are coalesced into one more read. */
  private wakeTail(): void {
    if (this.closed) return;
    this.tailWanted = true;
    if (this.tailRunning) return;
    this.tailRunning = (async () => {
      while (this.tailWanted && !this.closed) {
        this.tailWanted = false;
        try {
          await this.inLane(() => this.catchUp());
        } catch {
          // The database is away: the reconnect (or the next poll) reads again.
          break;
        }
      }
    })().finally(() => {
      this.tailRunning = undefined;
    });
  }

  private inLane<T>(fn: () => Promise<T>): Promise<T> {
    const run = this.lane.then(fn);
    this.lane = run.then(
      () => undefined,
      () => undefined,
    );
    return run;
  }

  /** Delivers every change-log entry after `delivered` (call inside the lane). */
  private async catchUp(): Promise<void> {
    for (;;) {
      const { rows } = await this.pool.query<EventRow>({
        name: 'fleetops-tail',
        text: 'SELECT rv, type, grp, kind, ns, name, data, uncached FROM fleetops_events WHERE rv > $1 ORDER BY rv LIMIT $2',
        values: [this.delivered, TAIL_PAGE],
      });
      for (const row of rows) {
        const event = eventOf(row);
        shareObject(event.object);
        // Kept out of the read cache as its writer kept it (CommitOptions.uncached); any older text goes.
        this.cache.remember(idOf(event.key), event.type === 'DELETED' || row.uncached === true ? undefined : row.data, event.rv, event.object);
        this.delivered = event.rv;
        this.hub.publish(event);
      }
      if (rows.length < TAIL_PAGE) return;
    }
  }

  async get(key: ObjectKey, options: GetOptions = {}): Promise<StoredObject | undefined> {
    // A consistent read, as Kubernetes' reads from its watch cache: the counter now (one read shared by the gets of
    // a turn), the tail caught up to it, then the object's text as of then from the cache of what this replica has
    // delivered and read; the database only on a miss (a turn's misses in one statement: TurnReads).
    // A cached read skips the counter: what this replica has delivered (its own writes are delivered before they
    // resolve, so a controller reads what it wrote).
    if (!options.cached) {
      const target = await this.freshRv();
      if (this.delivered < target) await this.inLane(() => (this.delivered < target ? this.catchUp() : Promise.resolve()));
    }
    const id = idOf(key);
    const cached = this.cache.object(id, options.shared);
    if (cached !== undefined) return cached;
    this.cache.beginRead(id);
    let row: StoredRow | undefined;
    try {
      row = await this.rowReads.read(id, key);
    } finally {
      this.cache.endRead(id, row);
    }
    return row && JSON.parse(row.text);
  }

  /** The rows of `keys` as the database holds them now, in one statement (a turn's read cache misses). */
  private async readRows(keys: ReadonlyMap<string, ObjectKey>): Promise<Map<string, StoredRow>> {
    READ_QUERIES.inc();
    const rows = new Map<string, StoredRow>();
    const [only] = keys;
    if (keys.size === 1 && only) {
      const [id, key] = only;
      const { rows: found } = await this.pool.query<{ rv: string; data: string }>({ ...READ_ROW, values: [key.group, key.kind, key.namespace, key.name] });
      if (found[0]) rows.set(id, { rv: Number(found[0].rv), text: found[0].data });
      return rows;
    }
    const { rows: found } = await this.pool.query<{ grp: string; kind: string; ns: string; name: string; rv: string; data: string }>({
      ...READ_ROWS,
      values: keyArrays(keys.values()),
    });
    for (const r of found) rows.set(idOf({ group: r.grp, kind: r.kind, namespace: r.ns, name: r.name }), { rv: Number(r.rv), text: r.data });
    return rows;
  }

  /**
   * The counter as the database holds it now, read once for every caller of this turn of the event loop: a read sent
   * before a caller asked could miss a write acknowledged in between, so callers only join a read not yet sent.
   */
  private freshRv(): Promise<number> {
    return new Promise((resolve, reject) => {
      this.rvWaiters.push({ resolve, reject });
      if (this.rvWaiters.length === 1) setImmediate(() => void this.readRvForWaiters());
    });
  }

  private async readRvForWaiters(): Promise<void> {
    const waiters = this.rvWaiters;
    this.rvWaiters = [];
    try {
      const rv = await this.currentRv();
      for (const w of waiters) w.resolve(rv);
    } catch (err) {
      for (const w of waiters) w.reject(unavailable(err));
    }
  }

  async list(type: TypeKey, options: ListOptions = {}): Promise<ListResult> {
    const q = listQuery(type, options, POSTGRES_LIST_DIALECT);
    // One statement, one snapshot: the counter and the rows agree (a watch from this rv misses nothing).
    const { rows } = await this.pool.query<{ rv: string; ns: string | null; name: string | null; data: string | null }>(
      `SELECT m.v AS rv, o.ns, o.name, o.data FROM fleetops_meta m
       LEFT JOIN LATERAL (SELECT ns, name, data FROM fleetops_objects WHERE ${q.where} ORDER BY ns, name${q.limitSql}) o ON true
       WHERE m.k = 'rv'`,
      q.values,
    );
    const found = rows.flatMap((r) => (r.ns !== null && r.name !== null && r.data !== null ? [{ ns: r.ns, name: r.name, data: r.data }] : []));
    return listPage(found, q.limit, rows[0]?.rv ?? '0');
  }

  commit(ops: WriteOp[], options?: CommitOptions): Promise<StoredObject[]> {
    if (this.closed) return Promise.reject(new Error('store is closed'));
    return new Promise((resolve, reject) => {
      this.queue.push({ ops, shared: options?.shared === true, uncached: options?.uncached === true, resolve, reject, cause: activeTraceContext() });
      if (!this.flushing) this.flushing = this.flushAll();
    });
  }

  /**
   * Writes queued commits a batch at a time until none wait, two batches in flight: while one batch's transaction
   * runs, the next reads its rows without the lock and settles its commits in memory, assuming the batch in flight
   * commits; its transaction then writes only if what it assumed holds under the lock (else it is redone the locked
   * way). So the counter's lock is held for one statement, never across a round trip to this process.
   */
  private async flushAll(): Promise<void> {
    try {
      // Let the commits of this turn of the event loop join the first batch.
      await new Promise((r) => setImmediate(r));
      let prev: Flight | undefined;
      for (;;) {
        if (!this.queue.length) {
          if (!prev) return;
          await prev.finished;
          prev = undefined;
          continue;
        }
        const batch = this.queue;
        this.queue = [];
        const flight = await this.prepare(batch, prev);
        if (prev) {
          await prev.finished;
          // One turn of the event loop before the next batch is taken: the writers the finished batch resolved write
          // their next objects in it, and join that batch rather than the one after (a fleet update: 3.4 → 2.95
          // transactions per resource, PostgreSQL's CPU per resource −18%). More turns gathered no more.
          await new Promise((r) => setImmediate(r));
        }
        prev = flight.after ? flight : undefined;
        if (!flight.after) await flight.finished;
      }
    } finally {
      this.flushing = undefined;
    }
  }

  /**
   * Reads the rows `batch` touches (no lock), settles its commits against them and against what `prev` writes, and
   * sends its transaction. A batch whose commits are all refused, or that the database does not answer, is redone
   * the locked way once `prev` has finished (a refusal read from a stale row must not stand).
   */
  private async prepare(batch: PendingCommit[], prev: Flight | undefined): Promise<Flight> {
    const keys = new Map<string, ObjectKey>();
    // Keys only created need no read: they are assumed absent (or as the batch in flight leaves them); nor do keys
    // in the read cache: assumed as this replica last saw them.
    const toRead = new Map<string, ObjectKey>();
    const known = new Map<string, Slot>();
    for (const item of batch)
      for (const op of item.ops) {
        const id = idOf(op.key);
        keys.set(id, op.key);
        if (op.op === 'create' || prev?.after?.rows.has(id) || known.has(id)) continue;
        const cached = this.cache.peek(id);
        if (cached) known.set(id, { key: op.key, rv: cached.rv, data: cached.text, dirty: false, identity: this.cache.identity(id) });
        else toRead.set(id, op.key);
      }
    const locked = (): Flight => ({ finished: prev?.finished.then(() => this.flushLocked(batch)) ?? this.flushLocked(batch), after: undefined });
    const slots = new Map<string, Slot>();
    for (const [id, key] of keys) {
      const written = prev?.after?.rows.get(id);
      slots.set(id, written ? { ...written, dirty: false } : (known.get(id) ?? { key, rv: 0, data: undefined, dirty: false }));
    }
    // The counter: as the batch in flight leaves it, else as read with the rows, else the newest this replica has seen.
    let counter = prev?.after?.counter ?? this.delivered;
    if (toRead.size) {
      let read: pg.QueryResult<Record<string, unknown>>;
      try {
        read = await this.pool.query<Record<string, unknown>>(readRowsSql(toRead.values()));
      } catch {
        return locked();
      }
      for (const r of read.rows) {
        if (r.name === null || r.name === undefined) continue;
        const key = { group: String(r.grp), kind: String(r.kind), namespace: String(r.ns), name: String(r.name) };
        slots.set(idOf(key), { key, rv: Number(r.rv), data: String(r.data), dirty: false });
      }
      if (!prev?.after) counter = Number(read.rows[0]?.counter ?? 0);
    }
    const assumed: Assumed = { counter, rows: [...slots.values()].map((s) => ({ key: s.key, rv: s.data === undefined ? 0 : s.rv })) };
    const { done, refused, rv } = this.settle(batch, slots, counter);
    if (!done.length) return locked();
    const events = done.flatMap((d) => d.events);
    const uncached = uncachedVersions(done);
    const written = new Map<string, Slot>();
    for (const [id, slot] of slots) if (slot.dirty) written.set(id, slot);
    this.ownCommits.add(rv);
    const started = performance.now();
    const write = (again: boolean): Promise<boolean> =>
      this.pool.query<{ ok: number }>(writeQuery(slots.values(), events, rv, uncached, assumed)).then(async (r) => {
        const outcome = r.rows[0]?.ok;
        // Too early: the batch in flight had not taken the lock yet. Once it has committed, the assumptions hold
        // (if it committed as assumed: else the second answer is not 1 either, and the batch is redone locked).
        if (outcome === -1 && again && prev) {
          await prev.finished;
          return write(false);
        }
        return outcome === 1;
      });
    const sent = write(true);
    const finished = (async () => {
      // A transaction whose answer was lost may have committed: its commits fail as unavailable (clients retry),
      // never redone here.
      const wrote = await sent.catch((err: unknown) => unavailable(err));
      await prev?.finished;
      if (wrote !== true) {
        this.ownCommits.delete(rv);
        if (wrote === false) return this.flushLocked(batch);
        for (const item of batch) item.reject(wrote);
        return;
      }
      countCommit(started);
      for (const r of refused) r.item.reject(r.err);
      await this.committed(done);
    })();
    return { finished, after: { counter: rv, rows: written } };
  }

  /** Settles the batch's commits in order against `slots` (changed in place), the counter at `counter`. */
  private settle(batch: PendingCommit[], slots: Map<string, Slot>, counter: number): Settled {
    const done: Settled['done'] = [];
    const refused: Settled['refused'] = [];
    let rv = counter;
    for (const item of batch) {
      const overlay = new Map<string, Slot>();
      const startRv = rv;
      try {
        const events: CommittedEvent[] = [];
        for (const op of item.ops) {
          if (op.op === 'check') {
            const slot = overlay.get(idOf(op.key)) ?? slots.get(idOf(op.key));
            if (!op.accept(slot?.data === undefined ? undefined : this.cache.readOnly(idOf(op.key), slot.data))) throw op.refusal();
            continue;
          }
          rv++;
          events.push({ ...this.apply(op, rv, slots, overlay), cause: item.cause });
        }
        for (const [id, slot] of overlay) slots.set(id, slot);
        done.push({ item, events });
      } catch (err) {
        rv = startRv;
        refused.push({ item, err });
      }
    }
    return { done, refused, rv };
  }

  /** A batch written under the counter's lock, read and written in one transaction (two round trips). */
  private async flushLocked(batch: PendingCommit[]): Promise<void> {
    let client: pg.PoolClient;
    try {
      client = await this.pool.connect();
    } catch (err) {
      for (const item of batch) item.reject(unavailable(err));
      return;
    }
    let done: Settled['done'] = [];
    let broken = false;
    const started = performance.now();
    let rv = 0;
    try {
      const { counter, slots } = await this.begin(client, batch);
      const settled = this.settle(batch, slots, counter);
      done = settled.done;
      rv = settled.rv;
      for (const r of settled.refused) r.item.reject(r.err);
      if (!done.length) {
        await client.query('ROLLBACK');
        return;
      }
      this.ownCommits.add(rv);
      await client.query(
        writeQuery(
          slots.values(),
          done.flatMap((d) => d.events),
          rv,
          uncachedVersions(done),
        ),
      );
      await client.query('COMMIT');
      countCommit(started);
    } catch (err) {
      this.ownCommits.delete(rv);
      broken = true;
      await client.query('ROLLBACK').catch(() => undefined);
      for (const d of done) d.item.reject(unavailable(err));
      return;
    } finally {
      client.release(broken ? true : undefined);
    }
    await this.committed(done);
  }

  /** A committed batch: delivered to this replica's watchers, then its commits resolved; compaction when due. */
  private async committed(done: Settled['done']): Promise<void> {
    const events = done.flatMap((d) => d.events);
    try {
      await this.deliverOwn(done);
    } finally {
      this.ownCommits.delete(events[events.length - 1]?.rv ?? -1);
    }
    // Each writer gets back the object its text was made from, as from SQLite: the watchers' own when the writer
    // asked for it shared and this replica delivered the batch itself (see deliverOwn).
    for (const d of done) d.item.resolve(d.events.map((e) => stored(e.stored)));
    this.writesSinceCompact += events.length;
    if (this.writesSinceCompact >= Math.max(1000, this.historySize / 10) && !this.compacting) {
      this.writesSinceCompact = 0;
      this.compacting = this.compact(this.historySize)
        .catch(() => undefined)
        .finally(() => {
          this.compacting = undefined;
        });
    }
  }

  /** Opens the batch's transaction: BEGIN, the counter's lock, and the rows the batch touches read under it, in one round trip. */
  private async begin(client: pg.PoolClient, batch: PendingCommit[]): Promise<{ counter: number; slots: Map<string, Slot> }> {
    const keys = new Map<string, ObjectKey>();
    for (const item of batch) for (const op of item.ops) keys.set(idOf(op.key), op.key);
    const results: unknown = await client.query(lockAndReadSql(keys.values()));
    const slots = new Map<string, Slot>();
    for (const k of keys.values()) slots.set(idOf(k), { key: k, rv: 0, data: undefined, dirty: false });
    for (const r of resultRows(results, 2)) {
      const key = { group: String(r.grp), kind: String(r.kind), namespace: String(r.ns), name: String(r.name) };
      slots.set(idOf(key), { key, rv: Number(r.rv), data: String(r.data), dirty: false });
    }
    return { counter: Number(lockedCounter(results)), slots };
  }

  /** One operation against the batch's view of the rows; throws the refusal (the caller drops the commit's overlay). */
  private apply(op: Exclude<WriteOp, CheckOp>, rv: number, slots: Map<string, Slot>, overlay: Map<string, Slot>): CommittedEvent {
    const { key } = op;
    const id = idOf(key);
    const current = overlay.get(id) ?? slots.get(id);
    const text = current?.data;
    // Only the row's identity is read: as the slot knows it, else from the read cache's shared template when it was
    // made from this text, else from a parse. A delete stores the object as last seen, and hands it to its writer: a
    // copy of its own.
    let existing: ExistingRow | undefined;
    if (text !== undefined) {
      const object = (): StoredObject => this.cache.parsed(id, text);
      const known = current?.identity;
      existing = known && known.rv === current.rv ? existingRow(known, object) : { ...rowOf(this.cache.readOnly(id, text)), object };
    }
    const { type, data, stored: stamped } = stampWrite(op, existing, rv, this);
    if (type === 'DELETED') overlay.set(id, { key, rv, data: undefined, dirty: true });
    else {
      const { uid, creationTimestamp } = stored(stamped).metadata;
      overlay.set(id, { key, rv, data, dirty: true, identity: { rv, uid, creationTimestamp } });
    }
    return { type, rv, key, data, stored: stamped };
  }

  /**
   * This replica's committed events to its watchers, in order: straight away when they follow what was delivered,
   * else after reading the change log up to them (another replica committed in between).
   */
  private deliverOwn(done: Settled['done']): Promise<void> {
    const first = done[0]?.events[0];
    const last = done[done.length - 1]?.events.at(-1);
    if (!first || !last) return Promise.resolve();
    return this.inLane(async () => {
      if (this.delivered >= last.rv) return;
      if (this.delivered === first.rv - 1) {
        // The read cache takes the whole batch before any watcher runs (one reading another object of it sees it).
        // One object per text, shared by the watchers and the cache (and a writer that asked for it shared): made
        // here only, as the change log's path parses its own.
        const events = done.flatMap((d) => d.events.map((e) => ({ e, shared: watchersObject(stored(e.stored), d.item.shared), uncached: d.item.uncached })));
        for (const { e, shared, uncached } of events) this.cache.remember(idOf(e.key), e.type === 'DELETED' || uncached ? undefined : e.data, e.rv, shared);
        for (const { e, shared } of events) this.hub.publish({ type: e.type, rv: e.rv, key: e.key, object: shared }, e.cause);
        this.delivered = last.rv;
        return;
      }
      try {
        await this.catchUp();
      } catch {
        // The commit is durable; the tail delivers it once the database answers again.
        this.wakeTail();
      }
    });
  }

  async watch(options: WatchOptions, onEvent: (event: StoreEvent) => void): Promise<WatchHandle> {
    return this.inLane(async () => {
      const from = options.fromRv;
      if (from !== undefined) {
        const oldest = await this.oldestRv();
        if (from < oldest) throw expired(`too old resource version: ${from} (${oldest + 1})`);
      }
      const handle = this.hub.subscribe(options, onEvent, from ?? this.delivered);
      // History up to what has been delivered live; everything after comes through the tail (deduplicated by rv).
      let after = from ?? this.delivered;
      while (after < this.delivered) {
        const values: (string | number)[] = [after, this.delivered, TAIL_PAGE];
        let filter = '';
        if (options.type) {
          values.push(options.type.group, options.type.kind);
          filter += ` AND grp = $4 AND kind = $5`;
        }
        if (options.namespace !== undefined) {
          values.push(options.namespace);
          filter += ` AND ns = $${values.length}`;
        }
        const { rows } = await this.pool.query<EventRow>(
          `SELECT rv, type, grp, kind, ns, name, data FROM fleetops_events WHERE rv > $1 AND rv <= $2${filter} ORDER BY rv LIMIT $3`,
          values,
        );
        for (const row of rows) this.hub.deliver(handle, eventOf(row));
        if (rows.length < TAIL_PAGE) break;
        after = Number(rows[rows.length - 1]!.rv);
      }
      return handle;
    });
  }

  async currentRv(): Promise<number> {
    const { rows } = await this.pool.query<{ v: string }>({ name: 'fleetops-rv', text: "SELECT v FROM fleetops_meta WHERE k = 'rv'" });
    return Number(rows[0]?.v ?? 0);
  }

  async oldestRv(): Promise<number> {
    const { rows } = await this.pool.query<{ v: string }>({ name: 'fleetops-compacted', text: "SELECT v FROM fleetops_meta WHERE k = 'compactedRv'" });
    return Number(rows[0]?.v ?? 0);
  }

  async compact(keep: number): Promise<void> {
    const client = await this.pool.connect();
    try {
      await client.query('BEGIN');
      // Under the counter's lock: the cutoff cannot pass a version a concurrent writer is about to hand out.
      const { rows } = await client.query<{ v: string }>("SELECT v FROM fleetops_meta WHERE k = 'rv' FOR UPDATE");
      const cutoff = Number(rows[0]?.v ?? 0) - keep;
      await client.query('DELETE FROM fleetops_events WHERE rv <= $1', [cutoff]);
      await client.query("UPDATE fleetops_meta SET v = GREATEST(v, $1) WHERE k = 'compactedRv'", [cutoff]);
      await client.query('COMMIT');
      this.compactedSeen = Math.max(this.compactedSeen, cutoff);
    } catch (err) {
      await client.query('ROLLBACK').catch(() => undefined);
      throw err;
    } finally {
      client.release();
    }
  }

  async *dump(): AsyncIterable<StoredEntry[]> {
    let after = ['', '', '', ''];
    for (;;) {
      const { rows } = await this.pool.query<{ grp: string; kind: string; ns: string; name: string; data: string }>(
        'SELECT grp, kind, ns, name, data FROM fleetops_objects WHERE (grp, kind, ns, name) > ($1, $2, $3, $4) ORDER BY grp, kind, ns, name LIMIT 1000',
        after,
      );
      if (!rows.length) return;
      yield rows.map((r) => ({ key: { group: r.grp, kind: r.kind, namespace: r.ns, name: r.name }, object: JSON.parse(r.data) }));
      const last = rows[rows.length - 1]!;
      after = [last.grp, last.kind, last.ns, last.name];
    }
  }

  async load(entries: StoredEntry[]): Promise<void> {
    const client = await this.pool.connect();
    try {
      await client.query('BEGIN');
      const { rows } = await client.query<{ v: string }>("SELECT v FROM fleetops_meta WHERE k = 'rv' FOR UPDATE");
      let top = Number(rows[0]?.v ?? 0);
      const cols: string[][] = [[], [], [], [], [], []];
      for (const { key, object } of entries) {
        const rv = Number(object.metadata.resourceVersion);
        if (!Number.isSafeInteger(rv) || rv <= 0) throw new Error(`${key.kind} ${key.namespace}/${key.name} has no resourceVersion to keep`);
        [key.group, key.kind, key.namespace, key.name, String(rv), JSON.stringify(object)].forEach((v, i) => cols[i]!.push(v));
        top = Math.max(top, rv);
      }
      try {
        await client.query(
          'INSERT INTO fleetops_objects (grp, kind, ns, name, rv, data) SELECT * FROM unnest($1::text[], $2::text[], $3::text[], $4::text[], $5::bigint[], $6::text[])',
          cols,
        );
      } catch (err) {
        if (err instanceof Error && 'code' in err && err.code === '23505')
          throw new Error('the target store already holds some of these objects: copy into an empty one', { cause: err });
        throw err;
      }
      await client.query("UPDATE fleetops_meta SET v = $1 WHERE k IN ('rv', 'compactedRv')", [top]);
      await client.query('COMMIT');
      this.delivered = Math.max(this.delivered, top);
    } catch (err) {
      await client.query('ROLLBACK').catch(() => undefined);
      throw err;
    } finally {
      client.release();
    }
  }

  async checkIntegrity(): Promise<string[]> {
    const problems: string[] = [];
    const rv = await this.currentRv();
    const { rows } = await this.pool.query<{ grp: string; kind: string; ns: string; name: string; rv: string; data: string }>(
      'SELECT grp, kind, ns, name, rv, data FROM fleetops_objects',
    );
    for (const row of rows) problems.push(...rowProblems({ group: row.grp, kind: row.kind, namespace: row.ns, name: row.name }, Number(row.rv), row.data, rv));
    const { rows: beyond } = await this.pool.query<{ n: string }>('SELECT count(*) AS n FROM fleetops_events WHERE rv > $1', [rv]);
    if (Number(beyond[0]?.n ?? 0) > 0) problems.push(`the change log has entries beyond the store's rv ${rv}`);
    return problems;
  }

  async close(): Promise<void> {
    if (this.closed) return;
    // Commits already asked for are written, not dropped.
    while (this.flushing) await this.flushing;
    await this.compacting;
    this.closed = true;
    clearInterval(this.pollTimer);
    clearTimeout(this.reconnectTimer);
    await this.tailRunning;
    await this.lane;
    this.untrackLog();
    this.untrackCache();
    this.hub.closeAll();
    const listener = this.listener;
    this.listener = undefined;
    await listener?.end().catch(() => undefined);
    await this.pool.end();
  }
}

/** The rows of the n-th statement of a simple query's results. */
function resultRows(results: unknown, n: number): Record<string, unknown>[] {
  const result: unknown = Array.isArray(results) ? results[n] : undefined;
  const rows: unknown = isPlainObject(result) ? result.rows : undefined;
  return Array.isArray(rows) ? rows.filter(isPlainObject) : [];
}

/** The counter's value from the results of `BEGIN; SELECT v … FOR UPDATE` (a simple query answers with one result each). */
function lockedCounter(results: unknown): string {
  const first = resultRows(results, 1)[0];
  if (typeof first?.v !== 'string') throw new Error("the store's counter row is missing: was the schema migrated?");
  return first.v;
}

/** A write that failed because the database did not answer: 503 ServiceUnavailable, so clients retry. */
function unavailable(err: unknown): ApiError {
  if (isApiError(err)) return err;
  return new ApiError(503, 'ServiceUnavailable', `the database is unavailable, try again: ${errorMessage(err)}`, undefined, { cause: err });
}

export function isPostgresUrl(url: string): boolean {
  return /^postgres(ql)?:\/\//i.test(url);
}

/** What of a connection string must never reach a log: the password (and the whole string). */
export function secretsOf(url: string): string[] {
  try {
    const password = decodeURIComponent(new URL(url).password);
    return password ? [url, password] : [url];
  } catch {
    return [url];
  }
}
