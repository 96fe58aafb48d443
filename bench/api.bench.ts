/**
 * API benchmark. Prints:
 *  - writes/s through the HTTPS API (concurrent creates), next to two floors: raw store commits/s in one process, and
 *    what a bare Node.js HTTPS server (no routing, authentication, admission, store) answers under the same load —
 *    with the server process's CPU per write for both. Each side is measured as a server that has been running: a
 *    warm-up of `--warm` writes first (V8 compiles a hot path in tiers; the first thousands of requests after start
 *    measure the compiler), then the median of three rounds of `--writes`; the first round after start is printed
 *    beside it;
 *  - listing 10,000 objects: server-side time of a Table list and of a JSON list, of one object by name and of a few by
 *    label, and the real kubectl end to end;
 *  - watch event latency with 100 concurrent watchers (write acknowledged → event received), p50/p99.
 * Figures only: no assertions. Usage: node bench/api.bench.ts [--objects 10000] [--writes 5000] [--warm 20000]
 * [--postgres] (--postgres: FleetOps and the raw store's floor on a throw-away PostgreSQL 15 cluster instead of the
 * embedded store; the database's CPU per write is printed beside the server's.)
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { pino } from 'pino';
import { startFleetOps } from '../src/main.ts';
import { HttpClient } from '../src/client/HttpClient.ts';
import { loadKubeconfig } from '../src/client/kubeconfig.ts';
import { SqliteStore } from '../src/store/SqliteStore.ts';
import { PostgresStore } from '../src/store/PostgresStore.ts';
import type { Store } from '../src/store/Store.ts';
import { createDatabase, startPostgres, type TestPostgres } from '../test/helpers/postgres.ts';
import { postgresCpu, postgresCpuSince } from './lib/cpuBreakdown.ts';
import { keyOf } from '../src/store/Store.ts';
import { kubectlFor } from '../test/helpers/kubectl.ts';
import { arg, pct, fmt } from './lib/figures.ts';
import { startBareHttps } from './lib/bareHttps.ts';
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';

const run = async (file: string, args: string[]): Promise<string> => (await promisify(execFile)(file, args, { maxBuffer: 1 << 20 })).stdout;

const OBJECTS = arg('objects', 10_000);
const WRITES = arg('writes', 5_000);
const WARM = arg('warm', 20_000);
const ROUNDS = 3;
const CONCURRENCY = 16;

/**
 * Raw store commits in this process, `writers` at a time: one at a time is the floor; `CONCURRENCY` at a time is what
 * the API's concurrent clients can get at most from the store, which groups concurrent commits. On PostgreSQL the
 * floor has a database of its own in the same cluster (FleetOps runs beside it and would follow its changes).
 */
interface StoreFloor {
  /** Commits per second of `count` commits, `writers` at a time. */
  round(count: number, writers: number): Promise<number>;
  close(): Promise<void>;
}

async function openStoreFloor(dir: string, db: TestPostgres | undefined): Promise<StoreFloor> {
  const store: Store = db ? await PostgresStore.open({ url: createDatabase(db, 'floor') }) : new SqliteStore({ path: join(dir, 'floor.db') });
  const t = { group: '', kind: 'ConfigMap' };
  let next = 0;
  const write = (i: number): Promise<unknown> =>
    store.commit([
      {
        op: 'create',
        key: keyOf(t, 'floor', `f${i}`),
        object: { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: `f${i}`, namespace: 'floor' }, data: { i: String(i) } },
      },
    ]);
  return {
    round: async (count, writers) => {
      const end = next + count;
      const start = performance.now();
      await Promise.all(
        Array.from({ length: writers }, async () => {
          for (let i = next++; i < end; i = next++) await write(i);
        }),
      );
      next = end;
      return count / ((performance.now() - start) / 1000);
    },
    close: () => store.close(),
  };
}

/** A load's figures: writes per second, the server process's CPU per write (and PostgreSQL's). */
interface LoadFigures {
  rate: number;
  cpuMs: number;
  dbCpuMs: number;
}

/** The median by rate of `rounds` (the CPU figures of that same round). */
function medianRound(rounds: LoadFigures[]): LoadFigures {
  const sorted = [...rounds].sort((x, y) => x.rate - y.rate);
  return sorted[Math.floor(sorted.length / 2)]!;
}

const median = (xs: number[]): number => pct(xs, 50);

async function main(): Promise<void> {
  const dir = mkdtempSync(join(tmpdir(), 'fleetops-bench-'));
  const db = process.argv.includes('--postgres') ? await startPostgres() : undefined;
  const storeFloor = await openStoreFloor(dir, db);
  const fleet = await startFleetOps({ dataDir: join(dir, 'fleet'), port: 0, logger: pino({ level: 'silent' }), ...(db ? { store: db.url } : {}) });
  const client = new HttpClient(loadKubeconfig(fleet.kubeconfigPath));
  const cm = (name: string): object => ({
    apiVersion: 'v1',
    kind: 'ConfigMap',
    metadata: { name, labels: { bench: 'yes' } },
    data: { payload: 'x'.repeat(200) },
  });
  try {
    // 1. writes/s through the API, the clients in a process of their own (a warm-up round first), and the same load
    // on a bare HTTPS server in this process; the CPU this process spends per write is the server's (FleetOps' own
    // controllers have nothing to do with ConfigMaps).
    const load = async (kubeconfig: string, writes: number, prefix: string): Promise<LoadFigures> => {
      const cpu = process.cpuUsage();
      const dbCpu = postgresCpu();
      const out = await run(process.execPath, [join(import.meta.dirname, 'lib', 'writeLoad.ts'), kubeconfig, String(writes), String(CONCURRENCY), prefix]);
      const used = process.cpuUsage(cpu);
      const seconds: unknown = JSON.parse(out.trim().split('\n').pop() ?? '{}').seconds;
      if (typeof seconds !== 'number') throw new Error(`the write load printed no figure: ${out}`);
      return { rate: writes / seconds, cpuMs: (used.user + used.system) / 1000 / writes, dbCpuMs: db ? (postgresCpuSince(dbCpu) * 1000) / writes : 0 };
    };
    // Each side's first round after start, then a warm-up of each, then the rounds of every side in turn, so that a
    // slow spell of the machine falls on all of them alike.
    const bare = await startBareHttps(join(dir, 'fleet'), fleet.kubeconfigPath, dir);
    const sequential: number[] = [];
    const concurrent: number[] = [];
    const apiRounds: LoadFigures[] = [];
    const bareRounds: LoadFigures[] = [];
    let cold: LoadFigures;
    let storeCold: number;
    try {
      storeCold = await storeFloor.round(WRITES, 1);
      cold = await load(fleet.kubeconfigPath, WRITES, 'cold');
      await storeFloor.round(WARM, 1);
      await load(fleet.kubeconfigPath, WARM, 'warm');
      await load(bare.kubeconfigPath, WARM, 'warm');
      for (let r = 0; r < ROUNDS; r++) {
        sequential.push(await storeFloor.round(WRITES, 1));
        concurrent.push(await storeFloor.round(WRITES, CONCURRENCY));
        apiRounds.push(await load(fleet.kubeconfigPath, WRITES, `w${r}-`));
        bareRounds.push(await load(bare.kubeconfigPath, WRITES, `w${r}-`));
      }
    } finally {
      await bare.close();
      await storeFloor.close();
    }
    const floor = { sequential: median(sequential), concurrent: median(concurrent), cold: storeCold };
    const api = medianRound(apiRounds);
    const transport = medianRound(bareRounds);
    const storeName = db ? 'PostgreSQL 15' : 'embedded SQLite';
    const of = (x: number, floor: number): string => `${((x / floor) * 100).toFixed(0)}%`;
    console.log(
      `writes through the API: ${fmt(api.rate)}/s (${WRITES} creates, ${CONCURRENCY} concurrent clients over HTTPS, in another process; store: ${storeName}; median of ${ROUNDS} rounds after ${WARM} writes of warm-up; the first ${WRITES} after start: ${fmt(cold.rate)}/s, ${cold.cpuMs.toFixed(3)} ms of CPU each)`,
    );
    console.log(
      `  floor, raw store commits in-process, one at a time: ${fmt(floor.sequential)}/s  → API at ${of(api.rate, floor.sequential)} of the floor (${CONCURRENCY} at a time: ${fmt(floor.concurrent)}/s; the first ${WRITES} after start one at a time: ${fmt(floor.cold)}/s)`,
    );
    console.log(
      `  floor, a bare Node.js HTTPS server under the same load (parses the body, answers 201; no routing, auth, admission, store, audit): ${fmt(transport.rate)}/s  → API at ${of(api.rate, transport.rate)} of it`,
    );
    console.log(
      `  server CPU per write: FleetOps ${api.cpuMs.toFixed(3)} ms${db ? ` (and PostgreSQL ${api.dbCpuMs.toFixed(3)} ms)` : ''}, the bare server ${transport.cpuMs.toFixed(3)} ms`,
    );

    // 2. list 10,000 objects
    await fleet.objects.list(fleet.registry.byKind('', 'Namespace')!, undefined); // warm
    const ns = fleet.registry.byKind('', 'ConfigMap')!;
    for (let i = 0; i < OBJECTS; i += 500) {
      const batch = [];
      for (let j = i; j < Math.min(OBJECTS, i + 500); j++)
        batch.push({
          op: 'create' as const,
          key: keyOf({ group: '', kind: 'ConfigMap' }, 'big', `o${j}`),
          // One in a thousand labelled sample=yes, for a list by label.
          object: { ...cm(`o${j}`), metadata: { name: `o${j}`, labels: { bench: 'yes', sample: j % 1000 === 0 ? 'yes' : 'no' } } } as never,
        });
      await fleet.store.commit(batch);
    }
    await fleet.objects.create(fleet.registry.byKind('', 'Namespace')!, '', { apiVersion: 'v1', kind: 'Namespace', metadata: { name: 'big' } });
    void ns;
    // Server time: the API server's own apiserver_request_duration_seconds (request in → response sent), as read
    // from /metrics before and after; the client's time adds its own parsing of the answer.
    const listSeconds = async (): Promise<{ sum: number; count: number }> => {
      const text = String((await client.request('GET', '/metrics', { accept: 'text/plain' })).body);
      const value = (series: string): number => {
        const m = new RegExp(
          `^apiserver_request_duration_seconds_${series}\\{verb="LIST",group="",version="v1",resource="configmaps",subresource=""\\} (\\S+)$`,
          'm',
        ).exec(text);
        return Number(m?.[1] ?? 0);
      };
      return { sum: value('sum'), count: value('count') };
    };
    const times = async (accept: string, query = ''): Promise<{ client: number[]; serverMs: number }> => {
      await client.request('GET', `/api/v1/namespaces/big/configmaps${query}`, { accept }); // warm
      const before = await listSeconds();
      const out: number[] = [];
      for (let i = 0; i < 5; i++) {
        const t0 = performance.now();
        await client.request('GET', `/api/v1/namespaces/big/configmaps${query}`, { accept });
        out.push(performance.now() - t0);
      }
      const after = await listSeconds();
      return { client: out, serverMs: ((after.sum - before.sum) / Math.max(1, after.count - before.count)) * 1000 };
    };
    const table = await times('application/json;as=Table;v=v1;g=meta.k8s.io,application/json');
    const json = await times('application/json');
    // One object by name among them, as `kubectl wait` and an informer of one object ask.
    const byName = await times('application/json', `?fieldSelector=${encodeURIComponent(`metadata.name=o${Math.floor(OBJECTS / 2)}`)}`);
    console.log(
      `list ${OBJECTS} objects, server time (mean of 5): Table ${fmt(table.serverMs)} ms, JSON ${fmt(json.serverMs)} ms; request → parsed by the client (median): Table ${fmt(pct(table.client, 50))} ms, JSON ${fmt(pct(json.client, 50))} ms`,
    );
    console.log(`  one of them by name (fieldSelector metadata.name): server time ${fmt(byName.serverMs)} ms`);
    // A few of them by label (kubectl get -l), as JSON and as a Table.
    const byLabel = await times('application/json', `?labelSelector=${encodeURIComponent('sample=yes')}`);
    const byLabelTable = await times('application/json;as=Table;v=v1;g=meta.k8s.io,application/json', `?labelSelector=${encodeURIComponent('sample=yes')}`);
    console.log(
      `  ${Math.ceil(OBJECTS / 1000)} of them by label (labelSelector sample=yes): server time JSON ${fmt(byLabel.serverMs)} ms, Table ${fmt(byLabelTable.serverMs)} ms`,
    );
    try {
      const kubectl = kubectlFor(fleet.kubeconfigPath);
      await kubectl(['get', 'configmaps', '-n', 'big', '--chunk-size=0', '-o', 'name']);
      const k: number[] = [];
      for (let i = 0; i < 3; i++) {
        const t0 = performance.now();
        const r = await kubectl(['get', 'configmaps', '-n', 'big']);
        k.push(performance.now() - t0);
        if (r.code !== 0) throw new Error(r.stderr);
      }
      console.log(`  real kubectl 1.32 "get configmaps" of ${OBJECTS} (whole command, paginated by 500, median of 3): ${fmt(pct(k, 50))} ms`);
    } catch (err) {
      console.log(`  kubectl not measured: ${(err as Error).message.split('\n')[0]}`);
    }

    // 3. watch latency with 100 watchers
    const WATCHERS = 100;
    const sent = new Map<string, number>();
    const latencies: number[] = [];
    const aborts: AbortController[] = [];
    const rv = (await client.get<{ metadata: { resourceVersion: string } }>('/api/v1/namespaces/default/configmaps?limit=1')).metadata.resourceVersion;
    const watchers = Array.from({ length: WATCHERS }, () => {
      const a = new AbortController();
      aborts.push(a);
      return client
        .watch(
          '/api/v1/namespaces/default/configmaps',
          { resourceVersion: rv, labelSelector: 'watch=yes' },
          (e) => {
            const name = (e.object as { metadata: { name: string } }).metadata.name;
            const t = sent.get(name);
            if (t !== undefined) latencies.push(performance.now() - t);
          },
          a.signal,
        )
        .catch(() => undefined);
    });
    await new Promise((r) => setTimeout(r, 500));
    const EVENTS = 200;
    for (let i = 0; i < EVENTS; i++) {
      const name = `watch-${i}`;
      sent.set(name, performance.now());
      await client.request('POST', '/api/v1/namespaces/default/configmaps', { body: { ...cm(name), metadata: { name, labels: { watch: 'yes' } } } });
      await new Promise((r) => setTimeout(r, 2));
    }
    const deadline = Date.now() + 10_000;
    while (latencies.length < EVENTS * WATCHERS && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
    for (const a of aborts) a.abort();
    await Promise.all(watchers);
    console.log(
      `watch latency, ${WATCHERS} watchers × ${EVENTS} events (send → received): p50 ${fmt(pct(latencies, 50))} ms, p99 ${fmt(pct(latencies, 99))} ms, delivered ${latencies.length}/${EVENTS * WATCHERS}`,
    );
  } finally {
    client.close();
    await fleet.stop();
    db?.cleanup();
    rmSync(dir, { recursive: true, force: true });
  }
}

await main();
