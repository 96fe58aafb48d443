/**
 * FleetOps at fleet size (#25): N resources (default 100,000) of one Promise, stored and watched by a FleetOps
 * process of its own. Prints:
 *  - the store: N objects written in batches of 1,000 (commits/s), the database's size;
 *  - start-up with N objects: from spawning the process to /readyz answering (open store, fill caches, serve), and
 *    until every resource is reconciled (its status says so);
 *  - memory: RSS once started, reconciled, after `--settle` seconds of quiet (probes only), and the peak (VmHWM);
 *  - a Promise change (a configure pipeline added): time until its Rollout exists and until it hands the first
 *    resource the new revision — the rollout must start without a whole-fleet pass on the event loop;
 *  - /healthz latency (p50, p99, max) polled every 50 ms throughout from a thread of its own (the liveness a load
 *    balancer sees, not delayed by this process's work), and by phase;
 *  - how long a graceful stop (SIGTERM) takes with the rollout under way.
 * The floor for start-up is the same process started on an empty data directory.
 * With --trace-gc, FleetOps runs with V8's --trace-gc and the benchmark prints its full collections and every pause
 * over 50 ms by phase, to tell a probe held by a collection from one held by work.
 * Figures only, no assertions. Usage: node bench/scale.bench.ts [--resources 100000] [--settle 30] [--trace-gc]
 * (KEEP_BENCH_DIR=1 keeps the data)
 */
import { mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import type { HttpClient } from '../src/client/HttpClient.ts';
import { SqliteStore } from '../src/store/SqliteStore.ts';
import { keyOf } from '../src/store/Store.ts';
import { spawnFleet, type FleetProcess } from '../test/helpers/process.ts';
import { testPromise } from '../test/helpers/promises.ts';
import { arg, fmt, pct } from './lib/figures.ts';
import { healthProbe } from './lib/healthProbe.ts';

const N = arg('resources', 100_000);
/** Seconds of quiet after every resource is reconciled, before the RSS that stays is read. */
const SETTLE_S = arg('settle', 30);
const GROUP = 'scale.fleetops.dev';
const STOP_GRACE_MS = 120_000;
const TRACE_GC = process.argv.includes('--trace-gc');
const THINGS = `/apis/${GROUP}/v1/namespaces/default/things`;
const KRATIX = '/apis/platform.kratix.io/v1alpha1';

/** Revision 1 has no workflow (requests are only recorded); revision 2 adds one, which starts a rollout. */
function promise(withPipeline: boolean): object {
  const p = testPromise({
    kind: 'Thing',
    plural: 'things',
    group: GROUP,
    specProperties: { size: { type: 'integer' } },
    pipeline: { name: 'render', spec: { containers: [{ name: 'render', image: 'busybox', command: ['true'] }] } },
  });
  if (!withPipeline) delete (p.spec as { workflows?: unknown }).workflows;
  return p;
}

const memory = (pid: number | undefined): { rss: number; peak: number } => {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  const kb = (field: string): number => Number(new RegExp(`${field}:\\s+(\\d+)`).exec(status)?.[1] ?? 0);
  return { rss: kb('VmRSS') / 1024, peak: kb('VmHWM') / 1024 };
};

const portOf = (fleet: FleetProcess): number | undefined => {
  const m = /listening on https:\/\/[^:]+:(\d+)/.exec(fleet.output());
  return m ? Number(m[1]) : undefined;
};

async function until(what: string, check: () => Promise<boolean>, pollMs: number, timeoutMs = 30 * 60_000): Promise<number> {
  const start = performance.now();
  let lastPrint = start;
  while (!(await check().catch(() => false))) {
    if (performance.now() - start > timeoutMs) throw new Error(`timed out: ${what}`);
    if (performance.now() - lastPrint > 15_000) {
      lastPrint = performance.now();
      process.stderr.write(`  ${what}… ${((performance.now() - start) / 1000).toFixed(0)} s\n`);
    }
    await new Promise((r) => setTimeout(r, pollMs));
  }
  return performance.now() - start;
}

/**
 * Whether the resource controller has written every resource's status, read page by page from where the last call
 * stopped: a status once written stays, so a page found complete is not listed again (listing the whole fleet every
 * poll made the benchmark's own reads a fifth of FleetOps' work, and of the /healthz figure).
 */
/**
 * Whether every controller is idle: no key queued (`workqueue_depth`) and no reconcile running
 * (`controller_runtime_active_workers`), from FleetOps' own metrics. What follows the resources' reconcile (their
 * ResourceBindings, the rollout's tally) goes on after every resource's status says it was reconciled.
 */
async function controllersIdle(client: HttpClient): Promise<boolean> {
  const text = String((await client.request<string>('GET', '/metrics')).body);
  let busy = 0;
  for (const line of text.split('\n'))
    if (/^(workqueue_depth|controller_runtime_active_workers)\{/.test(line)) busy += Number(line.slice(line.lastIndexOf(' ') + 1));
  return busy === 0;
}

function reconciledWatcher(client: HttpClient): () => Promise<boolean> {
  let complete = 0;
  let cursor: string | undefined;
  return async () => {
    for (;;) {
      const page = await client.get<{ items: { status?: { message?: string } }[]; metadata: { continue?: string } }>(THINGS, {
        // Small pages: each is one task on FleetOps' event loop, and /healthz is measured meanwhile.
        query: { limit: '1000', ...(cursor ? { continue: cursor } : {}) },
      });
      if (page.items.some((i) => i.status?.message === undefined)) return false;
      if (!page.metadata.continue) return complete + page.items.length >= N;
      complete += page.items.length;
      cursor = page.metadata.continue;
    }
  };
}

/**
 * V8's --trace-gc lines of FleetOps' output, by phase: full collections, and every pause over 50 ms. A line's time is
 * counted from the process's start, which is placed at its spawn (a few ms early: V8 starts after the fork).
 */
function printCollections(output: string, spawnedAt: number, phases: [string, number][]): void {
  const line = /^\[\d+:0x[0-9a-f]+\]\s+(\d+) ms: ([A-Za-z-]+(?: \([a-z ]+\))?) .*?, ([\d.]+) \/ [\d.]+ ms/;
  const gcs = output.split('\n').flatMap((l) => {
    const m = line.exec(l);
    return m ? [{ at: spawnedAt + Number(m[1]), kind: m[2]!, pause: Number(m[3]) }] : [];
  });
  console.log('  garbage collections (--trace-gc), by phase:');
  phases.forEach(([name, from], i) => {
    const to = phases[i + 1]?.[1] ?? Infinity;
    const mine = gcs.filter((g) => g.at >= from && g.at < to);
    const full = mine.filter((g) => !g.kind.startsWith('Scavenge'));
    const long = mine.filter((g) => g.pause > 50).map((g) => `${g.kind} ${fmt(g.pause)} ms at +${fmt((g.at - from) / 1000)} s`);
    console.log(
      `    ${name}: ${mine.length - full.length} young, ${full.length} full (longest pause ${fmt(Math.max(0, ...full.map((g) => g.pause)))} ms)${long.length ? `; over 50 ms: ${long.join(', ')}` : ''}`,
    );
  });
}

async function main(): Promise<void> {
  const root = mkdtempSync(join(tmpdir(), 'fleetops-scale-bench-'));
  const dir = join(root, 'fleet');
  const fleets: FleetProcess[] = [];
  try {
    // Floor: the same process on an empty data directory.
    let t = performance.now();
    const empty = await spawnFleet(join(root, 'empty'));
    await until('empty start', async () => (await empty.client.request('GET', '/readyz')).status === 200, 10);
    const floorMs = performance.now() - t;
    const floorMemory = memory(empty.child.pid);
    await empty.kill('SIGTERM');

    // The Promise, installed through the API; then the resources written straight into the stopped process's store.
    const first = await spawnFleet(dir);
    fleets.push(first);
    await first.client.request('POST', `${KRATIX}/promises`, { body: promise(false) });
    await until('kind served', async () => (await first.client.request('GET', THINGS)).status === 200, 50);
    await first.kill('SIGTERM');
    process.stderr.write(`writing ${N} resources into the store…\n`);
    const store = new SqliteStore({ path: join(dir, 'fleetops.db') });
    t = performance.now();
    for (let i = 0; i < N; i += 1000) {
      const ops = [];
      for (let j = i; j < Math.min(N, i + 1000); j++)
        ops.push({
          op: 'create' as const,
          key: keyOf({ group: GROUP, kind: 'Thing' }, 'default', `t${j}`),
          object: { apiVersion: `${GROUP}/v1`, kind: 'Thing', metadata: { name: `t${j}`, namespace: 'default' }, spec: { size: j } } as never,
        });
      await store.commit(ops);
    }
    const storeMs = performance.now() - t;
    await store.close();
    const dbMb = statSync(join(dir, 'fleetops.db')).size / 1024 / 1024;

    // Start-up with N objects, /healthz polled from the moment it listens.
    process.stderr.write(`starting FleetOps on ${N} resources…\n`);
    t = performance.now();
    const spawnedAt = performance.now();
    const fleet = await spawnFleet(dir, {}, TRACE_GC ? ['--trace-gc'] : []);
    fleets.push(fleet);
    const health = healthProbe();
    // Probed from the moment it listens.
    const listening = setInterval(() => {
      const port = portOf(fleet);
      if (port === undefined) return;
      clearInterval(listening);
      health.start(port);
    }, 10);
    await until('ready', async () => (await fleet.client.request('GET', '/readyz')).status === 200, 10);
    const readyMs = performance.now() - t;
    const phases: [string, number][] = [
      ['start-up', t],
      ['reconcile', performance.now()],
    ];
    const readyMemory = memory(fleet.child.pid);
    await until('every resource reconciled', reconciledWatcher(fleet.client), 5000);
    const reconciledMs = performance.now() - t;
    const reconciledMemory = memory(fleet.child.pid);
    process.stderr.write('every resource reconciled; waiting for every controller to be idle…\n');
    const idleMs = reconciledMs + (await until('controllers idle', () => controllersIdle(fleet.client), 1000));
    // Then quiet (only the probes): the idle memory reclaimer gives back what the start-up's peak took.
    process.stderr.write(`controllers idle; ${SETTLE_S} s without requests but /healthz…\n`);
    phases.push(['quiet', performance.now()]);
    await new Promise((r) => setTimeout(r, SETTLE_S * 1000));
    const settledMemory = memory(fleet.child.pid);

    // A Promise change: its rollout must start at once.
    process.stderr.write('the Promise changes…\n');
    const current = await fleet.client.get<{ metadata: { resourceVersion: string } }>(`${KRATIX}/promises/thing`);
    const changed = promise(true) as { metadata: Record<string, unknown> };
    t = performance.now();
    phases.push(['rollout start', t]);
    await fleet.client.request('PUT', `${KRATIX}/promises/thing`, {
      body: { ...changed, metadata: { ...changed.metadata, resourceVersion: current.metadata.resourceVersion } },
    });
    type Rollout = { status?: { total?: number; updated?: number; inProgress?: number } };
    const rollout = (): Promise<Rollout> => fleet.client.get<Rollout>('/apis/fleetops.dev/v1alpha1/rollouts/thing-r2');
    const createdMs = await until('rollout created', async () => ((await rollout()).status?.total ?? 0) > 0, 10);
    const startedMs =
      createdMs +
      (await until(
        'first resource handed revision 2',
        async () => ((await rollout()).status?.inProgress ?? 0) + ((await rollout()).status?.updated ?? 0) > 0,
        10,
      ));
    await new Promise((r) => setTimeout(r, 2000)); // the rollout under way, health still polled
    clearInterval(listening);
    const probes = await health.stop();
    const rolloutMemory = memory(fleet.child.pid);

    const h = probes.latencies;
    // Each phase's probes: those asked from its start to the next one's.
    const byPhase = phases.map(([name, from], i) => {
      const to = phases[i + 1]?.[1] ?? Infinity;
      const l = h.filter((_, j) => probes.asked[j]! >= from && probes.asked[j]! < to);
      if (!l.length) return `${name}: no probes`;
      return `${name} p99 ${fmt(pct(l, 99))} ms, max ${fmt(Math.max(...l))} ms, ${l.filter((x) => x > 100).length} over 100 ms (${l.length})`;
    });
    console.log(`FleetOps with ${N} resources of one Promise (SQLite store, 2 cores):`);
    console.log(`  store: ${N} creates in batches of 1,000: ${fmt(storeMs / 1000)} s (${fmt(N / (storeMs / 1000))} objects/s); database ${fmt(dbMb)} MiB`);
    console.log(
      `  start-up to /readyz: ${fmt(readyMs)} ms (floor, empty data directory: ${fmt(floorMs)} ms); every resource reconciled after ${fmt(reconciledMs / 1000)} s, every controller idle after ${fmt(idleMs / 1000)} s`,
    );
    console.log(
      `  RSS: ${fmt(readyMemory.rss)} MiB when ready, ${fmt(reconciledMemory.rss)} MiB reconciled, ${fmt(settledMemory.rss)} MiB ${SETTLE_S} s later, ${fmt(rolloutMemory.rss)} MiB with the rollout under way; peak ${fmt(rolloutMemory.peak)} MiB (empty: ${fmt(floorMemory.rss)} MiB)`,
    );
    console.log(`  Promise change → Rollout created: ${fmt(createdMs)} ms; → first resource handed the new revision: ${fmt(startedMs)} ms`);
    console.log(`  /healthz every 50 ms: ${h.length} answers, p50 ${fmt(pct(h, 50))} ms, p99 ${fmt(pct(h, 99))} ms, max ${fmt(Math.max(...h))} ms`);
    console.log(`    by phase: ${byPhase.join('; ')}`);
    if (TRACE_GC) printCollections(fleet.output(), spawnedAt, phases);

    // A graceful stop with the rollout under way, as an orchestrator stops a process: SIGTERM, SIGKILL after a grace period.
    t = performance.now();
    const killer = setTimeout(() => fleet.child.kill('SIGKILL'), STOP_GRACE_MS);
    await fleet.kill('SIGTERM');
    clearTimeout(killer);
    const stopMs = performance.now() - t;
    console.log(`  graceful stop (SIGTERM) with the rollout under way: ${fmt(stopMs)} ms${stopMs >= STOP_GRACE_MS ? ' (killed: it did not finish)' : ''}`);
  } finally {
    // Gracefully (a CPU profile asked for with NODE_OPTIONS=--cpu-prof is written on exit), else killed.
    for (const f of fleets) {
      const timer = setTimeout(() => f.child.kill('SIGKILL'), 30_000);
      await f.kill('SIGTERM').catch(() => undefined);
      clearTimeout(timer);
    }
    if (process.env.KEEP_BENCH_DIR) console.log(root);
    else rmSync(root, { recursive: true, force: true });
  }
}

await main();
