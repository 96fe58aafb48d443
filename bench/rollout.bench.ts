/**
 * Fleet update benchmark (the workshop's scenario at scale): N resources (default 10,000) of a Promise with a one-step
 * shell pipeline are fulfilled, then the Promise changes and the default rollout takes every resource to the new
 * revision. Measured end to end: from the Promise update to every status on the new revision and every output
 * committed to the embedded Git state store. Against the floor measured in the same run: N bare sandbox runs of the
 * same step (same bwrap arguments, same parallelism); also, for what the steps' limits cost, the same runs in the
 * control groups FleetOps gives each step. FleetOps' CPU per resource is printed by component, from a CPU profile of
 * its main thread sampled during the update. Figures only, no assertions.
 *
 * Usage: node bench/rollout.bench.ts [--resources 10000] [--concurrency 8] [--profile rollout.cpuprofile] [--no-floor]
 *   [--postgres] [--pg-statements] [--allocations [rollout.heapprofile]] [--survivors]
 * (--profile writes a CPU profile of FleetOps' process during the fleet update only; --no-floor skips the floors, for
 * benchmarks that compare FleetOps with itself; --postgres runs FleetOps on a throw-away PostgreSQL 15 cluster
 * instead of the embedded store, and adds the database's CPU; --pg-statements (implies --postgres) loads
 * pg_stat_statements and prints the database's statements and tables during the update; --allocations samples the heap's allocations during the
 * update and prints them per resource by component, at a small cost to the CPU figures, and writes the sampled
 * profile to the file named after it, if any; with --survivors only what outlived a young collection is counted (what
 * the scavenger copied and promoted: the objects that make young collections cost); KEEP_BENCH_DIR=1 keeps the
 * data directory.)
 */
import { testPromise } from '../test/helpers/promises.ts';
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { Session } from 'node:inspector/promises';
import { availableParallelism, tmpdir } from 'node:os';
import { join } from 'node:path';
import { constants as perfConstants, performance, PerformanceObserver } from 'node:perf_hooks';
import { pino } from 'pino';
import type { KubeObject } from '../src/api/types.ts';
import { startFleetOps, type FleetOps } from '../src/main.ts';
import { defaultWorkflowConcurrency } from '../src/controllers/resource/ResourceController.ts';
import { keyOf } from '../src/store/Store.ts';
import { bareSpawns, describeFloors, describeLimitedFloor, sandboxFloors, type MachineBudget } from './lib/sandboxFloor.ts';
import { BENCH_IMAGE, buildBenchImage } from './lib/benchImage.ts';
import { arg } from './lib/figures.ts';
import {
  childCpuMs,
  cpuBreakdown,
  machineTicks,
  ticksMs,
  postgresCpu,
  postgresCpuSince,
  threadCpuMs,
  threadCpuSince,
  type CpuProfile,
} from './lib/cpuBreakdown.ts';
import { startPostgres, type TestPostgres } from '../test/helpers/postgres.ts';
import { printStatements, resetStatements, STATEMENT_SETTINGS } from './lib/postgresStatements.ts';
import { metricsRegistry, metricTotal } from '../src/telemetry/metrics.ts';
import { allocationBreakdown, type SamplingHeapProfile } from './lib/allocationBreakdown.ts';

const N = arg('resources', 10_000);
const CONCURRENCY = arg('concurrency', defaultWorkflowConcurrency());
/** With --allocations: only what outlived a young collection is sampled and printed. */
const SURVIVORS = process.argv.includes('--survivors');
const GROUP = 'bench.fleetops.dev';

/** The step: one output document and one status field, both carrying the revision. */
const step = (revision: number): string[] => [
  'sh',
  '-c',
  `printf "apiVersion: v1\\nkind: ConfigMap\\nmetadata: {name: $KRATIX_OBJECT_NAME}\\ndata: {revision: \\"${revision}\\"}\\n" > /kratix/output/cm.yaml; echo "revision: ${revision}" > /kratix/metadata/status.yaml`,
];

function promise(revision: number): KubeObject {
  return testPromise({
    kind: 'Thing',
    plural: 'things',
    group: GROUP,
    specProperties: { size: { type: 'integer' } },
    destinationSelectors: { environment: 'worker' },
    pipeline: { name: 'render', spec: { containers: [{ name: 'render', image: BENCH_IMAGE, command: step(revision) }] } },
  });
}

/**
 * Counts resources whose status shows a revision (the step ran and its status was merged), from a watch: polling a
 * list of 10,000 objects would cost the event loop more than the work being measured.
 */
async function statusCounter(fleet: FleetOps): Promise<{ at(revision: number): number; stop(): void }> {
  const seen = new Map<string, number>();
  const type = fleet.registry.byKind(GROUP, 'Thing')!;
  const handle = await fleet.objects.watch(type, undefined, {}, (e) => {
    const st = e.object.status as { revision?: number; kratix?: { workflows?: { phase?: string } } } | undefined;
    if (e.type !== 'DELETED' && st?.kratix?.workflows?.phase === 'Succeeded' && typeof st.revision === 'number')
      seen.set(e.object.metadata.name as string, st.revision);
  });
  return {
    at: (revision) => [...seen.values()].filter((r) => r === revision).length,
    stop: () => handle.stop(),
  };
}

/**
 * Output files at a revision in the embedded repository's main branch, counted by git started from a small shell that
 * was itself started before FleetOps: a fork from this process (FleetOps', hundreds of MB) would cost it a copy of its
 * page tables and then a fault per page it touches, charged to the update being measured.
 */
function commitCounter(): { at(repo: string, revision: number): Promise<number>; stop(): void } {
  const shell = spawn(
    'sh',
    ['-c', 'while read -r repo rev; do git -C "$repo" grep -l "revision: \\"$rev\\"" main -- worker-1/resources 2>/dev/null | wc -l; done'],
    { stdio: ['pipe', 'pipe', 'inherit'] },
  );
  const waiting: ((count: number) => void)[] = [];
  let buffered = '';
  shell.stdout.setEncoding('utf8').on('data', (chunk: string) => {
    buffered += chunk;
    for (let nl = buffered.indexOf('\n'); nl >= 0; nl = buffered.indexOf('\n')) {
      waiting.shift()?.(Number(buffered.slice(0, nl).trim()));
      buffered = buffered.slice(nl + 1);
    }
  });
  return {
    at: (repo, revision) =>
      new Promise((resolve) => {
        waiting.push(resolve);
        shell.stdin.write(`${repo} ${revision}\n`);
      }),
    stop: () => shell.stdin.end(),
  };
}

/** Heap allocations during the update per resource, by component (components under 2% together). */
function printAllocations(profile: SamplingHeapProfile): void {
  const { total, lines } = allocationBreakdown(profile);
  const kib = (bytes: number): string => `${(bytes / 1024 / N).toFixed(0)} KiB`.padStart(8);
  const what = SURVIVORS ? 'heap allocated during the update that outlived a young collection' : 'heap allocated during the update';
  console.log(`  ${what}: ${kib(total).trim()} per resource (sampled), by component:`);
  let rest = 0;
  for (const line of lines) {
    if (line.bytes < total * 0.02) rest += line.bytes;
    else console.log(`    ${kib(line.bytes)}  ${((100 * line.bytes) / total).toFixed(0).padStart(2)}%  ${line.component}`);
  }
  if (rest > 0) console.log(`    ${kib(rest)}  ${((100 * rest) / total).toFixed(0).padStart(2)}%  the rest (each under 2%)`);
}

/** The main thread's garbage collection pauses by kind, counted until stop(). */
function gcCounter(): Record<'minor' | 'major' | 'incremental', { count: number; ms: number }> & { stop(): void } {
  const counts = { minor: { count: 0, ms: 0 }, major: { count: 0, ms: 0 }, incremental: { count: 0, ms: 0 } };
  const observer = new PerformanceObserver((list) => {
    for (const entry of list.getEntries()) {
      const detail: unknown = Reflect.get(entry, 'detail');
      const kind: unknown = typeof detail === 'object' && detail !== null ? Reflect.get(detail, 'kind') : undefined;
      const into =
        kind === perfConstants.NODE_PERFORMANCE_GC_MINOR
          ? counts.minor
          : kind === perfConstants.NODE_PERFORMANCE_GC_MAJOR
            ? counts.major
            : kind === perfConstants.NODE_PERFORMANCE_GC_INCREMENTAL
              ? counts.incremental
              : undefined;
      if (into) {
        into.count++;
        into.ms += entry.duration;
      }
    }
  });
  observer.observe({ entryTypes: ['gc'] });
  return { ...counts, stop: () => observer.disconnect() };
}

/**
 * Writes (resourceVersions handed out) and transactions (grouped commits: fleetops_store_commits_total) so far: what
 * the update costs the store, whatever the machine's load.
 */
async function storeCounts(fleet: FleetOps): Promise<{ writes: number; transactions: number; cached: number; missed: number; readQueries: number }> {
  return {
    writes: await fleet.store.currentRv(),
    transactions: await metricTotal('fleetops_store_commits_total'),
    cached: await metricTotal('fleetops_store_reads_total', { from: 'cache' }),
    missed: await metricTotal('fleetops_store_reads_total', { from: 'database' }),
    readQueries: await metricTotal('fleetops_store_read_queries_total'),
  };
}

/** Reconciles so far by controller (controller_runtime_reconcile_total, every result together). */
async function reconcileCounts(): Promise<Map<string, number>> {
  const counts = new Map<string, number>();
  for (const v of (await metricsRegistry.getSingleMetric('controller_runtime_reconcile_total')?.get())?.values ?? []) {
    const controller = String(v.labels.controller ?? '');
    counts.set(controller, (counts.get(controller) ?? 0) + v.value);
  }
  return counts;
}

/** State store writes so far (each a batch of changes in one commit) and the seconds they took, every destination's together. */
async function stateStoreWrites(): Promise<{ count: number; seconds: number }> {
  let count = 0;
  let seconds = 0;
  for (const v of (await metricsRegistry.getSingleMetric('fleetops_statestore_write_duration_seconds')?.get())?.values ?? []) {
    const name = String((v as { metricName?: string }).metricName ?? '');
    if (name.endsWith('_count')) count += v.value;
    else if (name.endsWith('_sum')) seconds += v.value;
  }
  return { count, seconds };
}

/** Writes during the update by kind (a watch on the store), to name the writes each resource costs. */
async function writesByKind(fleet: FleetOps): Promise<{ counts: Map<string, number>; stop(): void }> {
  const counts = new Map<string, number>();
  const handle = await fleet.store.watch({}, (e) => {
    if (e.key.kind !== 'Lease') counts.set(e.key.kind, (counts.get(e.key.kind) ?? 0) + 1);
  });
  return { counts, stop: () => handle.stop() };
}

/**
 * Where the machine's CPU went, per resource, against a bare sandbox run's: what the ratio to the floor is made of.
 * The rest is the kernel's own threads (a sandbox's namespaces are torn down there, charged to no process) and any
 * other process on the machine.
 */
function printMachineBudget(b: { fleetOpsMs: number; childrenMs: number; busyMs: number; floor?: MachineBudget }): void {
  const ms = (v: number): string => `${(v / N).toFixed(2)} ms`;
  const rest = Math.max(0, b.busyMs - b.fleetOpsMs - b.childrenMs);
  console.log(
    `  machine CPU per resource: ${ms(b.busyMs)} = FleetOps ${ms(b.fleetOpsMs)} + its child processes (sandboxes, their helper, git) ${ms(b.childrenMs)} + the rest (kernel threads, other processes) ${ms(rest)}`,
  );
  if (b.floor) {
    const f = b.floor;
    console.log(
      `    a bare sandbox run: ${ms(f.busyMs)} = the benchmark ${ms(f.selfMs)} + its child processes ${ms(f.childrenMs)} + the rest ${ms(Math.max(0, f.busyMs - f.selfMs - f.childrenMs))}`,
    );
  }
}

async function waitFor(what: string, start: number, check: () => Promise<number>, target: number, pollMs: number): Promise<void> {
  let lastPrint = performance.now();
  for (;;) {
    const n = await check();
    if (n >= target) return;
    if (performance.now() - lastPrint > 10_000) {
      lastPrint = performance.now();
      process.stderr.write(`  ${what}: ${n}/${target} after ${((performance.now() - start) / 1000).toFixed(0)} s\n`);
    }
    await new Promise((r) => setTimeout(r, pollMs));
  }
}

/**
 * FleetOps' CPU per resource by component: the main thread's CPU time split by its samples' shares (wall-clock
 * samples: on a busy machine a preempted thread still shows busy, so the shares are applied to its measured CPU
 * time), then the process's other threads by name (V8's helpers: concurrent marking, compilation; libuv's pool).
 */
function printBreakdown(profile: CpuProfile, threads: Map<string, number>): void {
  const { lines } = cpuBreakdown(profile);
  const mainCpuMs = threads.get('main') ?? 0;
  const perResource = (ms: number): string => `${(ms / N).toFixed(2)} ms`.padStart(8);
  console.log(`  by component, main thread (${perResource(mainCpuMs).trim()} per resource):`);
  let rest = 0;
  for (const line of lines) {
    if (line.share < 0.01) rest += line.share;
    else console.log(`    ${perResource(line.share * mainCpuMs)}  ${(100 * line.share).toFixed(0).padStart(2)}%  ${line.component}`);
  }
  if (rest > 0) console.log(`    ${perResource(rest * mainCpuMs)}  ${(100 * rest).toFixed(0).padStart(2)}%  the rest (each under 1%)`);
  const others = [...threads].filter(([name, ms]) => name !== 'main' && ms / N >= 0.005).sort((a, b) => b[1] - a[1]);
  console.log(`  other threads: ${others.map(([name, ms]) => `${name} ${perResource(ms).trim()}`).join(', ') || 'none'}`);
}

async function main(): Promise<void> {
  const dir = mkdtempSync(join(tmpdir(), 'fleetops-rollout-bench-'));
  // --pg-statements: PostgreSQL's own account of the update (its statements, its tables), printed at the end.
  const statements = process.argv.includes('--pg-statements');
  const db: TestPostgres | undefined =
    process.argv.includes('--postgres') || statements ? await startPostgres(statements ? { settings: STATEMENT_SETTINGS } : {}) : undefined;
  const commits = commitCounter();
  const fleet = await startFleetOps({
    dataDir: join(dir, 'fleet'),
    port: 0,
    logger: pino({ level: 'silent' }),
    workflowConcurrency: CONCURRENCY,
    ...(db ? { store: db.url } : {}),
  });
  const fmt = (ms: number): string => `${(ms / 1000).toFixed(1)} s (${(N / (ms / 1000)).toFixed(0)} resources/s)`;
  try {
    const root = await buildBenchImage(fleet.images);
    const withFloor = !process.argv.includes('--no-floor');
    if (withFloor) process.stderr.write(`floor: ${N} bare sandbox runs of the step…\n`);
    const floors = withFloor ? await sandboxFloors({ n: N, concurrency: CONCURRENCY, hiddenPaths: [fleet.dataDir], command: step(2), root }) : undefined;
    const spawnMs = withFloor ? await bareSpawns(N, CONCURRENCY) : undefined;

    const promiseType = fleet.registry.byKind('platform.kratix.io', 'Promise')!;
    await fleet.objects.create(promiseType, '', promise(1));
    while (!fleet.registry.byKind(GROUP, 'Thing')) await new Promise((r) => setTimeout(r, 20));
    const statuses = await statusCounter(fleet);
    process.stderr.write(`setup: ${N} resources fulfilled at revision 1…\n`);
    const setupStart = performance.now();
    for (let i = 0; i < N; i += 500) {
      const batch = [];
      for (let j = i; j < Math.min(N, i + 500); j++)
        batch.push({
          op: 'create' as const,
          key: keyOf({ group: GROUP, kind: 'Thing' }, 'default', `t${j}`),
          object: { apiVersion: `${GROUP}/v1`, kind: 'Thing', metadata: { name: `t${j}`, namespace: 'default' }, spec: { size: j } } as never,
        });
      await fleet.store.commit(batch);
    }
    await waitFor('revision 1 statuses', setupStart, () => Promise.resolve(statuses.at(1)), N, 1000);
    await waitFor('revision 1 commits', setupStart, () => commits.at(fleet.embeddedGit.path, 1), N, 2000);
    const setupMs = performance.now() - setupStart;

    process.stderr.write('fleet update: the Promise changes, the rollout takes every resource to revision 2…\n');
    const profile = process.argv.indexOf('--profile') > 0 ? process.argv[process.argv.indexOf('--profile') + 1] : undefined;
    // Always sampled, for the breakdown by component: every 4 ms costs the process next to nothing; --profile samples
    // every 1 ms (V8's default) and keeps the file.
    const session = new Session();
    session.connect();
    await session.post('Profiler.enable');
    await session.post('Profiler.setSamplingInterval', { interval: profile ? 1000 : 4000 });
    await session.post('Profiler.start');
    const allocations = process.argv.includes('--allocations');
    if (allocations) {
      await session.post('HeapProfiler.enable');
      await session.post('HeapProfiler.startSampling', {
        samplingInterval: 32 * 1024,
        includeObjectsCollectedByMajorGC: true,
        includeObjectsCollectedByMinorGC: !SURVIVORS,
      });
    }
    const start = performance.now();
    const cpuStart = process.cpuUsage();
    const threadsStart = threadCpuMs();
    const childrenStart = childCpuMs(['sh']);
    if (db && statements) await resetStatements(db.url);
    const dbCpuStart = postgresCpu();
    const machineStart = machineTicks();
    const storeStart = await storeCounts(fleet);
    const byKind = await writesByKind(fleet);
    const reconcilesStart = await reconcileCounts();
    const stateWritesStart = await stateStoreWrites();
    const gcs = gcCounter();
    const current = await fleet.objects.get(promiseType, '', 'thing');
    await fleet.objects.update(promiseType, '', 'thing', {
      ...promise(2),
      metadata: { ...promise(2).metadata, resourceVersion: current.metadata.resourceVersion },
    });
    await waitFor('revision 2 statuses', start, () => Promise.resolve(statuses.at(2)), N, 500);
    const statusMs = performance.now() - start;
    await waitFor('revision 2 commits', start, () => commits.at(fleet.embeddedGit.path, 2), N, 500);
    const totalMs = performance.now() - start;
    const cpu = process.cpuUsage(cpuStart);
    const threads = threadCpuSince(threadsStart);
    const childrenMs = childCpuMs(['sh']) - childrenStart;
    const dbCpu = db ? postgresCpuSince(dbCpuStart) : 0;
    const machineEnd = machineTicks();
    const storeEnd = await storeCounts(fleet);
    byKind.stop();
    const reconcilesEnd = await reconcileCounts();
    const stateWritesEnd = await stateStoreWrites();
    gcs.stop();
    const machineBusy = (machineEnd.busy - machineStart.busy) / (machineEnd.total - machineStart.total);
    const { profile: sampled } = await session.post('Profiler.stop');
    const heapSampled = allocations ? (await session.post('HeapProfiler.stopSampling')).profile : undefined;
    session.disconnect();
    if (profile) writeFileSync(profile, JSON.stringify(sampled));
    statuses.stop();
    const rollout = await fleet.objects.get(fleet.registry.byKind('fleetops.dev', 'Rollout')!, '', 'thing-r2');

    console.log(
      `Fleet update of ${N} resources, one-step shell pipeline, ${CONCURRENCY} workflows in parallel on ${availableParallelism()} cores, store: ${db ? 'PostgreSQL 15 (same machine)' : 'embedded SQLite'}:`,
    );
    console.log(`  fleet update, Promise change → every status on revision 2:        ${fmt(statusMs)}`);
    console.log(
      `  fleet update, Promise change → every output committed to Git:     ${fmt(totalMs)}   (rollout ${String((rollout.status as { phase?: string }).phase)})`,
    );
    if (floors) {
      console.log(`  floor: ${N} bare sandbox runs of the same step (same bwrap args):  ${fmt(floors.bestMs)}`);
      console.log(`    (${describeFloors(floors, fmt)})`);
      console.log(`  ratio to the floor: ${(totalMs / floors.bestMs).toFixed(2)}× (statuses only: ${(statusMs / floors.bestMs).toFixed(2)}×)`);
      const limited = describeLimitedFloor(floors, N, totalMs, fmt);
      if (limited) console.log(`  ${limited}`);
    }
    console.log(
      `  FleetOps process CPU during the update: ${((cpu.user + cpu.system) / 1000 / N).toFixed(2)} ms per resource (user ${(cpu.user / 1e6).toFixed(1)} s, system ${(cpu.system / 1e6).toFixed(1)} s)`,
    );
    printBreakdown(sampled as CpuProfile, threads);
    printMachineBudget({
      fleetOpsMs: (cpu.user + cpu.system) / 1000,
      childrenMs,
      busyMs: ticksMs(machineEnd.busy - machineStart.busy),
      ...(floors ? { floor: floors.budget } : {}),
    });
    const writes = storeEnd.writes - storeStart.writes;
    const transactions = storeEnd.transactions - storeStart.transactions;
    console.log(
      `  store during the update: ${(writes / N).toFixed(1)} writes per resource, in ${(transactions / N).toFixed(2)} transactions per resource (${(writes / Math.max(1, transactions)).toFixed(1)} writes each)`,
    );
    const [cached, missed, readQueries] = [
      storeEnd.cached - storeStart.cached,
      storeEnd.missed - storeStart.missed,
      storeEnd.readQueries - storeStart.readQueries,
    ];
    console.log(
      `  store reads of single objects: ${((cached + missed) / N).toFixed(1)} per resource, ${(missed / N).toFixed(2)} missed the read cache (${(100 * (missed / Math.max(1, cached + missed))).toFixed(0)}%), read from the database in ${(readQueries / N).toFixed(2)} statements per resource`,
    );
    const kinds = [...byKind.counts].sort((a, b) => b[1] - a[1]);
    console.log(`    by kind: ${kinds.map(([kind, n]) => `${kind} ${(n / N).toFixed(2)}`).join(', ')}`);
    const [held, budget] = [
      await metricTotal('fleetops_store_read_cache_characters', { of: 'held' }),
      await metricTotal('fleetops_store_read_cache_characters', { of: 'budget' }),
    ];
    const mi = (chars: number): string => (chars / 1024 / 1024).toFixed(1);
    console.log(
      `    the read cache holds ${mi(held)} of its ${mi(budget)} Mi characters after the update: ${(held / N / 1000).toFixed(1)} K per resource${held > 0.85 * budget ? ' (full: objects past it are read from the database)' : ''}`,
    );
    const reconciles = [...reconcilesEnd]
      .map(([controller, n]): [string, number] => [controller, n - (reconcilesStart.get(controller) ?? 0)])
      .filter(([, n]) => n > 0)
      .sort((a, b) => b[1] - a[1]);
    const stateWrites = stateWritesEnd.count - stateWritesStart.count;
    console.log(
      `  state store writes (a commit each): ${stateWrites}, ${((1000 * (stateWritesEnd.seconds - stateWritesStart.seconds)) / Math.max(1, stateWrites)).toFixed(0)} ms each on average`,
    );
    console.log(
      `  reconciles per resource: ${(reconciles.reduce((sum, [, n]) => sum + n, 0) / N).toFixed(1)} (${reconciles.map(([c, n]) => `${c} ${(n / N).toFixed(2)}`).join(', ')})`,
    );
    console.log(
      `  garbage collections during the update (main thread's pauses): ${gcs.minor.count} young (${gcs.minor.ms.toFixed(0)} ms), ${gcs.major.count} full (${gcs.major.ms.toFixed(0)} ms), ${gcs.incremental.count} incremental marking steps (${gcs.incremental.ms.toFixed(0)} ms)`,
    );
    if (heapSampled) printAllocations(heapSampled);
    const heapFile = process.argv[process.argv.indexOf('--allocations') + 1];
    if (heapSampled && heapFile?.endsWith('.heapprofile')) writeFileSync(heapFile, JSON.stringify(heapSampled));
    if (db && statements) await printStatements(db.url, N);
    if (db) console.log(`  PostgreSQL's CPU during the update: ${((dbCpu * 1000) / N).toFixed(2)} ms per resource (${dbCpu.toFixed(1)} s)`);
    console.log(`  machine CPU busy during the update: ${(100 * machineBusy).toFixed(0)}% of ${availableParallelism()} cores`);
    console.log(
      `  for reference: initial fulfilment of ${N} requests ${fmt(setupMs)}${spawnMs !== undefined ? `; ${N} bare spawns of true (no sandbox) ${fmt(spawnMs)}` : ''}`,
    );
  } finally {
    commits.stop();
    await fleet.stop();
    db?.cleanup();
    if (!process.env.KEEP_BENCH_DIR) rmSync(dir, { recursive: true, force: true });
    else console.log(dir);
  }
}

await main();
