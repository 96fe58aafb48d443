/**
 * A Store on PostgreSQL, shared by several FleetOps replicas. Same contract as SqliteStore (the conformance suite
 * runs on both); what differs is how order and watches work across processes:
 *
 * - **Order.** Every write transaction first locks the `rv` counter row (`SELECT … FOR UPDATE`) and holds it until
 *   COMMIT, so writers of all replicas commit one after another and resourceVersions are handed out in commit order.
 *   A reader that sees rv N therefore sees every rv below it: a watcher reading the change log never skips a gap
 *   that fills in later.
 * - **Grouping.** Commits asked for while a transaction is in flight wait and go into the next one together; each
 *   is checked in memory against the rows read under the lock, so one refused commit drops out alone and the rest
 *   are written with a few statements for the whole batch.
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
import { isPlainObject, type StoredObject } from '../api/types.ts';
import { ApiError, errorMessage, expired, isApiError } from '../api/errors.ts';
import {
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
import { storeMetrics } from '../telemetry/metrics.ts';
import { activeTraceContext } from '../telemetry/tracing.ts';
import { listPage, listQuery } from './listPage.ts';
import { countCommit, eventTypeOf, rowOf, rowProblems, stampWrite, type CommittedEvent, type PendingCommit } from './storedWrite.ts';
import { migrate } from './postgresSchema.ts';

export interface PostgresStoreOptions {
  /** `postgres://user:password@host:port/database` (libpq's parameters in the query string). */
  url: string;
  now?: () => Date;
  newUid?: () => string;
  /** Change-log entries kept; older are compacted away automatically. Default 100,000. */
  historySize?: number;
  /** Connections in the pool (default 10). */
  poolSize?: number;
  /** How often the change log is read when no NOTIFY came (default 1,000 ms). */
  pollMs?: number;
  /** Told of connection losses and recoveries (never the connection string). */
  onConnectionChange?: (state: { ready: boolean; problem?: string }) => void;
}

const CHANNEL = 'fleetops_changes';
/** Rows read from the change log at a time while catching up. */
const TAIL_PAGE = 2000;

const idOf = (key: ObjectKey): string => `${key.group}\0${key.kind}\0${key.namespace}\0${key.name}`;

/** A row as the batch sees it: what the database held under the lock, then what earlier commits of the batch made it. */
interface Slot {
  key: ObjectKey;
  rv: number;
  /** Stored JSON; undefined once deleted (or never there). */
  data: string | undefined;
  /** Whether the batch changed it (and so must write it). */
  dirty: boolean;
}

interface EventRow {
  rv: string;
  type: string;
  grp: string;
  kind: string;
  ns: string;
  name: string;
  data: string;
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
  /** Namespace name → stored text, as this replica's tail has delivered them. */
  private readonly namespaces = new Map<string, string>();
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
  /** The change log's start as this replica last saw it (at open and after its own compactions), for the metric. */
  private compactedSeen = 0;
  private readonly untrackLog = storeMetrics.changeLog.track(() => [[[], Math.max(0, this.delivered - this.compactedSeen)]]);

  private constructor(options: PostgresStoreOptions) {
    this.opts = options;
    this.now = options.now ?? (() => new Date());
    this.newUid = options.newUid ?? randomUUID;
    this.historySize = options.historySize ?? 100_000;
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
      await store.followNamespaces();
      await store.listen();
    } catch (err) {
      store.untrackLog();
      await store.pool.end().catch(() => undefined);
      throw err;
    }
    store.pollTimer = setInterval(() => store.wakeTail(), options.pollMs ?? 1_000);
    store.pollTimer.unref();
    return store;
  }

  /** Loads the namespaces and keeps them from the events this replica delivers (see get). */
  private async followNamespaces(): Promise<void> {
    const type = { group: '', kind: 'Namespace' };
    this.hub.subscribe(
      { type },
      (e) => {
        if (e.type === 'DELETED') this.namespaces.delete(e.key.name);
        else this.namespaces.set(e.key.name, JSON.stringify(e.object));
      },
      this.delivered,
    );
    for (const ns of (await this.list(type)).items) this.namespaces.set(ns.metadata.name, JSON.stringify(ns));
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
    await client.query(`LISTEN ${CHANNEL}`);
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
        text: 'SELECT rv, type, grp, kind, ns, name, data FROM fleetops_events WHERE rv > $1 ORDER BY rv LIMIT $2',
        values: [this.delivered, TAIL_PAGE],
      });
      for (const row of rows) {
        const event = eventOf(row);
        this.delivered = event.rv;
        this.hub.publish(event);
      }
      if (rows.length < TAIL_PAGE) return;
    }
  }

  async get(key: ObjectKey): Promise<StoredObject | undefined> {
    // Namespaces are read by every namespaced write (does it exist, is it terminating): served from memory, kept by
    // the change-log tail, as Kubernetes' NamespaceLifecycle admission reads its informer; a miss asks the database.
    if (key.group === '' && key.kind === 'Namespace') {
      const text = this.namespaces.get(key.name);
      if (text !== undefined) return JSON.parse(text);
    }
    const { rows } = await this.pool.query<{ data: string }>({
      name: 'fleetops-get',
      text: 'SELECT data FROM fleetops_objects WHERE grp = $1 AND kind = $2 AND ns = $3 AND name = $4',
      values: [key.group, key.kind, key.namespace, key.name],
    });
    return rows[0] ? JSON.parse(rows[0].data) : undefined;
  }

  async list(type: TypeKey, options: ListOptions = {}): Promise<ListResult> {
    const q = listQuery(type, options, (n) => `$${n}`);
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

  commit(ops: WriteOp[]): Promise<StoredObject[]> {
    if (this.closed) return Promise.reject(new Error('store is closed'));
    return new Promise((resolve, reject) => {
      this.queue.push({ ops, resolve, reject, cause: activeTraceContext() });
      if (!this.flushing) this.flushing = this.flushAll();
    });
  }

  /** Writes queued commits a batch at a time until none wait. */
  private async flushAll(): Promise<void> {
    try {
      // Let the commits of this turn of the event loop join the first batch.
      await new Promise((r) => setImmediate(r));
      while (this.queue.length) {
        const batch = this.queue;
        this.queue = [];
        await this.flush(batch);
      }
    } finally {
      this.flushing = undefined;
    }
  }

  private async flush(batch: PendingCommit[]): Promise<void> {
    let client: pg.PoolClient;
    try {
      client = await this.pool.connect();
    } catch (err) {
      for (const item of batch) item.reject(unavailable(err));
      return;
    }
    const done: { item: PendingCommit; events: CommittedEvent[] }[] = [];
    let broken = false;
    const started = performance.now();
    try {
      // One round trip: the transaction, the counter's lock and the rows the batch touches (see readSlots).
      const { counter, slots } = await this.begin(client, batch);
      let rv = counter;
      for (const item of batch) {
        const overlay = new Map<string, Slot>();
        const startRv = rv;
        try {
          const events: CommittedEvent[] = [];
          for (const op of item.ops) {
            if (op.op === 'check') {
              const slot = overlay.get(idOf(op.key)) ?? slots.get(idOf(op.key));
              if (!op.accept(slot?.data === undefined ? undefined : JSON.parse(slot.data))) throw op.refusal();
              continue;
            }
            rv++;
            events.push({ ...this.apply(op, rv, slots, overlay), cause: item.cause });
          }
          for (const [id, slot] of overlay) slots.set(id, slot);
          done.push({ item, events });
        } catch (err) {
          rv = startRv;
          item.reject(err);
        }
      }
      if (!done.length) {
        await client.query('ROLLBACK');
        return;
      }
      this.ownCommits.add(rv);
      try {
        await this.writeAndCommit(
          client,
          slots,
          done.flatMap((d) => d.events),
          rv,
        );
      } catch (err) {
        this.ownCommits.delete(rv);
        throw err;
      }
      countCommit(started);
    } catch (err) {
      broken = true;
      await client.query('ROLLBACK').catch(() => undefined);
      for (const d of done) d.item.reject(unavailable(err));
      return;
    } finally {
      client.release(broken ? true : undefined);
    }
    const events = done.flatMap((d) => d.events);
    try {
      await this.deliverOwn(events);
    } finally {
      this.ownCommits.delete(events[events.length - 1]?.rv ?? -1);
    }
    for (const d of done) d.item.resolve(d.events.map((e) => JSON.parse(e.data)));
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

  /**
   * Opens the batch's transaction: BEGIN, the counter's lock, and the rows the batch touches read under it (so nobody
   * changes them before COMMIT), in one simple query: one round trip where three statements would take three. A simple
   * query takes no parameters, so the keys are quoted literals (pg's escapeLiteral), as in writeAndCommit.
   */
  private async begin(client: pg.PoolClient, batch: PendingCommit[]): Promise<{ counter: number; slots: Map<string, Slot> }> {
    const keys = new Map<string, ObjectKey>();
    for (const item of batch) for (const op of item.ops) keys.set(idOf(op.key), op.key);
    const cols: string[][] = [[], [], [], []];
    for (const k of keys.values()) [k.group, k.kind, k.namespace, k.name].forEach((v, i) => cols[i]!.push(v));
    const results: unknown = await client.query(
      "BEGIN; SELECT v FROM fleetops_meta WHERE k = 'rv' FOR UPDATE; " +
        'SELECT o.grp, o.kind, o.ns, o.name, o.rv, o.data FROM fleetops_objects o ' +
        `JOIN unnest(${cols.map((c) => arrayLiteral(c, 'text')).join(', ')}) AS k(grp, kind, ns, name) ` +
        'ON o.grp = k.grp AND o.kind = k.kind AND o.ns = k.ns AND o.name = k.name',
    );
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
    const existing = current?.data === undefined ? undefined : rowOf(JSON.parse(current.data));
    const { type, data } = stampWrite(op, existing, rv, this);
    overlay.set(id, { key, rv, data: type === 'DELETED' ? undefined : data, dirty: true });
    return { type, rv, key, data };
  }

  /**
   * The batch's writes — final rows, deletions, change-log entries, the counter, the wake-up for other replicas — and
   * COMMIT, in one simple query (one round trip; the values quoted as literals). Should the write fail, PostgreSQL
   * skips the COMMIT and the caller rolls back.
   */
  private async writeAndCommit(client: pg.PoolClient, slots: Map<string, Slot>, events: CommittedEvent[], rv: number): Promise<void> {
    const up: string[][] = [[], [], [], [], [], []];
    const gone: string[][] = [[], [], [], []];
    for (const slot of slots.values()) {
      if (!slot.dirty) continue;
      const k = slot.key;
      if (slot.data === undefined) [k.group, k.kind, k.namespace, k.name].forEach((v, i) => gone[i]!.push(v));
      else [k.group, k.kind, k.namespace, k.name, String(slot.rv), slot.data].forEach((v, i) => up[i]!.push(v));
    }
    const ev: string[][] = [[], [], [], [], [], [], []];
    for (const e of events) [String(e.rv), e.type, e.key.group, e.key.kind, e.key.namespace, e.key.name, e.data].forEach((v, i) => ev[i]!.push(v));
    const text = (cols: string[][], types: string[]): string => cols.map((c, i) => arrayLiteral(c, types[i] ?? 'text')).join(', ');
    // Every write of the batch in one statement: rows, deletions, change log, counter, and one NOTIFY, which
    // PostgreSQL sends at COMMIT (none if it rolls back). A key's final state is one of upsert or delete.
    await client.query(`WITH
        up AS (
          INSERT INTO fleetops_objects (grp, kind, ns, name, rv, data)
          SELECT * FROM unnest(${text(up, ['text', 'text', 'text', 'text', 'bigint', 'text'])})
          ON CONFLICT (grp, kind, ns, name) DO UPDATE SET rv = excluded.rv, data = excluded.data
          RETURNING 1),
        gone AS (
          DELETE FROM fleetops_objects o USING unnest(${text(gone, [])}) AS k(grp, kind, ns, name)
          WHERE o.grp = k.grp AND o.kind = k.kind AND o.ns = k.ns AND o.name = k.name
          RETURNING 1),
        log AS (
          INSERT INTO fleetops_events (rv, type, grp, kind, ns, name, data)
          SELECT * FROM unnest(${text(ev, ['bigint'])})
          RETURNING 1),
        counter AS (UPDATE fleetops_meta SET v = ${Number(rv)} WHERE k = 'rv' RETURNING v)
      SELECT pg_notify('${CHANNEL}', v::text), (SELECT count(*) FROM up), (SELECT count(*) FROM gone), (SELECT count(*) FROM log) FROM counter;
      COMMIT`);
  }

  /**
   * This replica's committed events to its watchers, in order: straight away when they follow what was delivered,
   * else after reading the change log up to them (another replica committed in between).
   */
  private deliverOwn(events: CommittedEvent[]): Promise<void> {
    const first = events[0];
    const last = events[events.length - 1];
    if (!first || !last) return Promise.resolve();
    return this.inLane(async () => {
      if (this.delivered >= last.rv) return;
      if (this.delivered === first.rv - 1) {
        for (const e of events) this.hub.publish({ type: e.type, rv: e.rv, key: e.key, object: JSON.parse(e.data) }, e.cause);
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
    this.hub.closeAll();
    const listener = this.listener;
    this.listener = undefined;
    await listener?.end().catch(() => undefined);
    await this.pool.end();
  }
}

/** The counter's value from the results of `BEGIN; SELECT v … FOR UPDATE` (a simple query answers with one result each). */
/** Values as an array literal of a simple query: each quoted by pg's escapeLiteral, cast to the element type. */
function arrayLiteral(values: string[], type: string): string {
  return values.length ? `ARRAY[${values.map((v) => pg.escapeLiteral(v)).join(',')}]::${type}[]` : `'{}'::${type}[]`;
}

/** The rows of the n-th statement of a simple query's results. */
function resultRows(results: unknown, n: number): Record<string, unknown>[] {
  const result: unknown = Array.isArray(results) ? results[n] : undefined;
  const rows: unknown = isPlainObject(result) ? result.rows : undefined;
  return Array.isArray(rows) ? rows.filter(isPlainObject) : [];
}

function lockedCounter(results: unknown): string {
  const second: unknown = Array.isArray(results) ? results[1] : undefined;
  const rows: unknown = isPlainObject(second) ? second.rows : undefined;
  const first: unknown = Array.isArray(rows) ? rows[0] : undefined;
  if (!isPlainObject(first) || typeof first.v !== 'string') throw new Error("the store's counter row is missing: was the schema migrated?");
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
