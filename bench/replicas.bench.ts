/**
 * Scale-out benchmark (#22), each PostgreSQL figure next to SQLite's in the same run. Prints:
 *  - writes/s through the HTTPS API (concurrent creates) on the embedded SQLite store and on PostgreSQL 15 (a
 *    throw-away cluster, no fsync, as in the tests), and raw store commits/s for both (the floor);
 *  - watch latency (write sent → event received), p50/p99: within one replica, and across replicas
 *    (written through replica A, watched on replica B, a separate process);
 *  - controller take-over time after a graceful stop and after kill -9 of the Lease holder;
 *  - RSS of each replica process;
 *  - workflow runs/s of resources whose one step waits 200 ms: SQLite alone, and PostgreSQL with an API replica
 *    (the leader, no steps) and 1 then 2 worker replicas (the runs spread over them).
 * Figures only: no assertions. Usage: node bench/replicas.bench.ts [--writes 3000] [--rounds 5] [--events 200]
 */
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import type { HttpClient } from '../src/client/HttpClient.ts';
import { SqliteStore } from '../src/store/SqliteStore.ts';
import { PostgresStore } from '../src/store/PostgresStore.ts';
import { keyOf, type Store } from '../src/store/Store.ts';
import { spawnFleet, type FleetProcess } from '../test/helpers/process.ts';
import { createDatabase, startPostgres } from '../test/helpers/postgres.ts';
import { openImageCache } from '../src/workflows/images/openImageCache.ts';
import { BENCH_IMAGE, buildBenchImage } from './lib/benchImage.ts';
import { arg, pct, fmt } from './lib/figures.ts';

const WRITES = arg('writes', 3_000);
const EVENTS = arg('events', 200);
const CONCURRENCY = arg('concurrency', 16);

const cm = (name: string, labels: Record<string, string> = {}): object => ({
  apiVersion: 'v1',
  kind: 'ConfigMap',
  metadata: { name, labels },
  data: { payload: 'x'.repeat(200) },
});

/** Raw commits/s, 16 at a time, as the API's concurrent writers reach the store. */
async function storeRate(store: Store): Promise<number> {
  const t = { group: '', kind: 'ConfigMap' };
  let next = 0;
  const start = performance.now();
  await Promise.all(
    Array.from({ length: CONCURRENCY }, async () => {
      for (let i = next++; i < WRITES; i = next++) await store.commit([{ op: 'create', key: keyOf(t, 'floor', `f${i}`), object: cm(`f${i}`) as never }]);
    }),
  );
  const rate = WRITES / ((performance.now() - start) / 1000);
  await store.close();
  return rate;
}

const ROUNDS = arg('rounds', 5);

/** Creates/s by CONCURRENCY clients, spread evenly over the given replicas (as a load balancer would). */
async function apiRate(clients: HttpClient[], prefix: string): Promise<number> {
  let next = 0;
  const start = performance.now();
  await Promise.all(
    Array.from({ length: CONCURRENCY }, async (_, w) => {
      const client = clients[w % clients.length]!;
      for (let i = next++; i < WRITES; i = next++) await client.request('POST', '/api/v1/namespaces/default/configmaps', { body: cm(`${prefix}${i}`) });
    }),
  );
  return WRITES / ((performance.now() - start) / 1000);
}

/**
 * Each setup's API write rate as the median of ROUNDS rounds, the setups taking turns round by round (this machine's
 * speed drifts by a quarter within a minute: figures taken one after the other compare the drift as much as the
 * stores). A warm-up round each first: a replica just started still compiles its hot paths and runs its first reconciles.
 */
async function apiRates(setups: HttpClient[][]): Promise<{ median: number; rounds: number[] }[]> {
  for (const [i, clients] of setups.entries()) await apiRate(clients, `warm${i}-`);
  const rounds: number[][] = setups.map(() => []);
  for (let r = 0; r < ROUNDS; r++) for (const [i, clients] of setups.entries()) rounds[i]!.push(await apiRate(clients, `r${r}-${i}-`));
  return rounds.map((rs) => ({ median: pct(rs, 50), rounds: rs }));
}

/** Write through `writer`, watch on `watcher`: latency from sending the write to receiving its event. */
async function watchLatency(writer: HttpClient, watcher: HttpClient, tag: string): Promise<number[]> {
  const sent = new Map<string, number>();
  const latencies: number[] = [];
  const abort = new AbortController();
  const rv = (await watcher.get<{ metadata: { resourceVersion: string } }>('/api/v1/namespaces/default/configmaps?limit=1')).metadata.resourceVersion;
  const watching = watcher
    .watch(
      '/api/v1/namespaces/default/configmaps',
      { resourceVersion: rv, labelSelector: `watch=${tag}` },
      (e) => {
        const t = sent.get((e.object as { metadata: { name: string } }).metadata.name);
        if (t !== undefined) latencies.push(performance.now() - t);
      },
      abort.signal,
    )
    .catch(() => undefined);
  await new Promise((r) => setTimeout(r, 500));
  for (let i = 0; i < EVENTS; i++) {
    const name = `${tag}-${i}`;
    sent.set(name, performance.now());
    await writer.request('POST', '/api/v1/namespaces/default/configmaps', { body: cm(name, { watch: tag }) });
    await new Promise((r) => setTimeout(r, 5));
  }
  const deadline = Date.now() + 10_000;
  while (latencies.length < EVENTS && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
  abort.abort();
  await watching;
  return latencies;
}

const rssMb = (pid: number | undefined): number => Number(/VmRSS:\s+(\d+)/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))?.[1] ?? 0) / 1024;

async function leaseHolder(client: HttpClient): Promise<string> {
  try {
    return (
      (await client.get<{ spec?: { holderIdentity?: string } }>('/apis/coordination.k8s.io/v1/namespaces/fleetops-system/leases/fleetops-controllers')).spec
        ?.holderIdentity ?? ''
    );
  } catch {
    return '';
  }
}

/** Milliseconds until a replica other than `gone` holds the lease (read through `via`). */
async function takeover(via: HttpClient, gone: FleetProcess, stop: () => Promise<void>): Promise<number> {
  const start = performance.now();
  await stop();
  for (;;) {
    const holder = await leaseHolder(via);
    if (holder && !holder.includes(`-${gone.child.pid}-`)) return performance.now() - start;
    await new Promise((r) => setTimeout(r, 25));
  }
}

const RUNS = arg('runs', 64);

/** Seconds from creating RUNS resources (one 200 ms step each) to all of them done, through `client`. */
async function runRate(client: HttpClient, tag: string): Promise<number> {
  const kratix = '/apis/platform.kratix.io/v1alpha1';
  const plural = `waits${tag}`;
  const path = `/apis/bench.fleetops.dev/v1/namespaces/default/${plural}`;
  const kind = `Wait${tag}`;
  await client.request('POST', `${kratix}/promises`, {
    body: {
      apiVersion: 'platform.kratix.io/v1alpha1',
      kind: 'Promise',
      metadata: { name: `wait${tag}` },
      spec: {
        api: {
          apiVersion: 'apiextensions.k8s.io/v1',
          kind: 'CustomResourceDefinition',
          metadata: { name: `${plural}.bench.fleetops.dev` },
          spec: {
            group: 'bench.fleetops.dev',
            names: { kind, plural, singular: `wait${tag}` },
            scope: 'Namespaced',
            versions: [{ name: 'v1', served: true, storage: true, schema: { openAPIV3Schema: { type: 'object', properties: { spec: { type: 'object' } } } } }],
          },
        },
        workflows: {
          resource: {
            configure: [
              {
                apiVersion: 'platform.kratix.io/v1alpha1',
                kind: 'Pipeline',
                metadata: { name: 'wait' },
                spec: {
                  containers: [{ name: 'wait', image: BENCH_IMAGE, command: ['sh', '-c', 'sleep 0.2; echo "done: true" > /kratix/metadata/status.yaml'] }],
                },
              },
            ],
          },
        },
      },
    },
  });
  for (;;) {
    try {
      await client.get(path);
      break;
    } catch {
      await new Promise((r) => setTimeout(r, 100));
    }
  }
  const start = performance.now();
  for (let i = 0; i < RUNS; i++)
    await client.request('POST', path, { body: { apiVersion: 'bench.fleetops.dev/v1', kind, metadata: { name: `w${i}` }, spec: {} } });
  for (;;) {
    const items = (await client.get<{ items: { status?: { done?: boolean } }[] }>(path)).items;
    if (items.filter((x) => x.status?.done === true).length === RUNS) break;
    await new Promise((r) => setTimeout(r, 100));
  }
  return RUNS / ((performance.now() - start) / 1000);
}

/** A data directory with the benchmark's step image in its cache. */
async function withImage(dir: string): Promise<string> {
  const images = openImageCache(dir);
  await buildBenchImage(images);
  images.stop();
  return dir;
}

async function main(): Promise<void> {
  const dir = mkdtempSync(join(tmpdir(), 'fo-bench-replicas-'));
  const db = await startPostgres();
  const fleets: FleetProcess[] = [];
  try {
    const sqliteFloor = await storeRate(new SqliteStore({ path: join(dir, 'floor.db') }));
    const pgFloor = await storeRate(await PostgresStore.open({ url: db.url.replace(/fleetops$/, 'postgres') }));
    console.log(`raw store commits, ${CONCURRENCY} concurrent: SQLite ${fmt(sqliteFloor)}/s, PostgreSQL ${fmt(pgFloor)}/s`);

    const single = await spawnFleet(await withImage(join(dir, 'sqlite')));
    fleets.push(single);
    const sqliteRuns = await runRate(single.client, 's');
    // SQLite, one PostgreSQL replica alone, then a second one joined and the clients spread over both.
    const a = await spawnFleet(join(dir, 'a'), { FLEETOPS_STORE: db.url });
    fleets.push(a);
    const [sqliteApi, pgApi] = await apiRates([[single.client], [a.client]]);
    const sqliteWatch = await watchLatency(single.client, single.client, 'sqlite');
    const sqliteRss = rssMb(single.child.pid);
    await single.kill('SIGTERM');
    const b = await spawnFleet(join(dir, 'b'), { FLEETOPS_STORE: db.url });
    fleets.push(b);
    const [pgApiBoth] = await apiRates([[a.client, b.client]]);
    const rate = (r: { median: number; rounds: number[] } | undefined): string => `${fmt(r?.median ?? NaN)}/s (rounds ${r?.rounds.map(fmt).join(', ')})`;
    const ofSqlite = (r: { median: number } | undefined): string => `${(((r?.median ?? NaN) / (sqliteApi?.median ?? NaN)) * 100).toFixed(0)}% of SQLite's`;
    console.log(`writes through the API, ${WRITES} creates by ${CONCURRENCY} clients, median of ${ROUNDS} rounds taken in turns:`);
    console.log(`  SQLite ${rate(sqliteApi)}`);
    console.log(`  PostgreSQL through one replica ${rate(pgApi)}: ${ofSqlite(pgApi)}`);
    console.log(`  PostgreSQL spread over two replicas ${rate(pgApiBoth)}: ${ofSqlite(pgApiBoth)}`);
    const within = await watchLatency(a.client, a.client, 'within');
    const across = await watchLatency(a.client, b.client, 'across');
    const line = (l: number[]): string => `p50 ${fmt(pct(l, 50))} ms, p99 ${fmt(pct(l, 99))} ms (${l.length}/${EVENTS})`;
    console.log(`watch latency, ${EVENTS} events: SQLite ${line(sqliteWatch)}`);
    console.log(`  PostgreSQL within a replica ${line(within)}; across replicas ${line(across)}`);
    console.log(`RSS after the load: SQLite replica ${fmt(sqliteRss)} MiB; PostgreSQL replicas ${fmt(rssMb(a.child.pid))} MiB, ${fmt(rssMb(b.child.pid))} MiB`);

    // Take-over: whichever holds the lease goes; the other takes it.
    const holder = await leaseHolder(a.client);
    const [leader, follower] = holder.includes(`-${a.child.pid}-`) ? [a, b] : [b, a];
    const graceful = await takeover(follower.client, leader, () => leader.kill('SIGTERM'));
    const c = await spawnFleet(join(dir, 'c'), { FLEETOPS_STORE: db.url });
    fleets.push(c);
    await new Promise((r) => setTimeout(r, 1000));
    const killed = await takeover(c.client, follower, () => follower.kill('SIGKILL'));
    console.log(`controller take-over: ${fmt(graceful)} ms after a graceful stop, ${fmt(killed)} ms after kill -9 (lease 15 s)`);
    for (const f of fleets) await f.kill('SIGTERM');

    // Runs spread over workers: an API replica leads (no steps), then 1 and 2 workers run the steps.
    const runsDb = createDatabase(db, 'runs');
    const lead = await spawnFleet(join(dir, 'lead'), { FLEETOPS_STORE: runsDb, FLEETOPS_ROLE: 'api' });
    fleets.push(lead);
    const w1 = await spawnFleet(await withImage(join(dir, 'w1')), { FLEETOPS_STORE: runsDb, FLEETOPS_ROLE: 'worker' });
    fleets.push(w1);
    const oneWorker = await runRate(lead.client, 'one');
    const w2 = await spawnFleet(await withImage(join(dir, 'w2')), { FLEETOPS_STORE: runsDb, FLEETOPS_ROLE: 'worker' });
    fleets.push(w2);
    const twoWorkers = await runRate(lead.client, 'two');
    console.log(
      `workflow runs/s, ${RUNS} resources with one 200 ms step: SQLite ${fmt(sqliteRuns)}/s; PostgreSQL with 1 worker ${fmt(oneWorker)}/s, with 2 workers ${fmt(twoWorkers)}/s`,
    );
  } finally {
    for (const f of fleets) await f.kill('SIGKILL');
    db.cleanup();
    rmSync(dir, { recursive: true, force: true });
  }
}

await main();
