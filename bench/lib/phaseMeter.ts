/**
 * What one phase of the fleet benchmark (the initial fulfilment, the update) cost FleetOps, its store, its child
 * processes and the machine: readings taken at the phase's start, differences at its end, printed per resource.
 */
import { constants as perfConstants, PerformanceObserver } from 'node:perf_hooks';
import { availableParallelism } from 'node:os';
import type { FleetOps } from '../../src/main.ts';
import { metricsRegistry, metricTotal } from '../../src/telemetry/metrics.ts';
import type { MachineBudget } from './sandboxFloor.ts';
import {
  childCpuMs,
  cpuBreakdown,
  machineTicks,
  postgresCpu,
  postgresCpuSince,
  threadCpuMs,
  threadCpuSince,
  ticksMs,
  type CpuProfile,
} from './cpuBreakdown.ts';

interface StoreCounts {
  writes: number;
  transactions: number;
  cached: number;
  missed: number;
  readQueries: number;
}

type GcCounts = Record<'minor' | 'major' | 'incremental', { count: number; ms: number }>;

export interface PhaseFigures {
  /** FleetOps' process (µs). */
  cpu: NodeJS.CpuUsage;
  /** Its threads by name (ms). */
  threads: Map<string, number>;
  /** Its child processes, the benchmark's own shell excepted (ms). */
  childrenMs: number;
  /** PostgreSQL's processes (s), when it runs. */
  postgresS: number | undefined;
  machine: { busyMs: number; busyShare: number };
  store: StoreCounts;
  writesByKind: Map<string, number>;
  /** The read cache after the phase: characters held, and its budget. */
  readCache: { held: number; budget: number };
  reconciles: [controller: string, count: number][];
  stateWrites: { count: number; seconds: number };
  gcs: GcCounts;
}

/** The main thread's garbage collection pauses by kind, counted until stop(). */
function gcCounter(): GcCounts & { stop(): void } {
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
 * a phase costs the store, whatever the machine's load.
 */
async function storeCounts(fleet: FleetOps): Promise<StoreCounts> {
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

/** Starts measuring a phase; `end()` gives its figures. `postgres`: PostgreSQL runs on this machine, its CPU counts. */
export async function startPhase(fleet: FleetOps, options: { postgres: boolean }): Promise<{ end(): Promise<PhaseFigures> }> {
  const cpuStart = process.cpuUsage();
  const threadsStart = threadCpuMs();
  const childrenStart = childCpuMs(['sh']);
  const dbCpuStart = options.postgres ? postgresCpu() : undefined;
  const machineStart = machineTicks();
  const storeStart = await storeCounts(fleet);
  // Writes by kind, from a watch on the store: names the writes each resource costs.
  const writesByKind = new Map<string, number>();
  const watch = await fleet.store.watch({}, (e) => {
    if (e.key.kind !== 'Lease') writesByKind.set(e.key.kind, (writesByKind.get(e.key.kind) ?? 0) + 1);
  });
  const reconcilesStart = await reconcileCounts();
  const stateWritesStart = await stateStoreWrites();
  const gcs = gcCounter();
  return {
    async end() {
      const cpu = process.cpuUsage(cpuStart);
      const threads = threadCpuSince(threadsStart);
      const childrenMs = childCpuMs(['sh']) - childrenStart;
      const postgresS = dbCpuStart ? postgresCpuSince(dbCpuStart) : undefined;
      const machineEnd = machineTicks();
      const storeEnd = await storeCounts(fleet);
      watch.stop();
      gcs.stop();
      const reconcilesEnd = await reconcileCounts();
      const stateWritesEnd = await stateStoreWrites();
      const diff = (key: keyof StoreCounts): number => storeEnd[key] - storeStart[key];
      return {
        cpu,
        threads,
        childrenMs,
        postgresS,
        machine: {
          busyMs: ticksMs(machineEnd.busy - machineStart.busy),
          busyShare: (machineEnd.busy - machineStart.busy) / (machineEnd.total - machineStart.total),
        },
        store: { writes: diff('writes'), transactions: diff('transactions'), cached: diff('cached'), missed: diff('missed'), readQueries: diff('readQueries') },
        writesByKind,
        readCache: {
          held: await metricTotal('fleetops_store_read_cache_characters', { of: 'held' }),
          budget: await metricTotal('fleetops_store_read_cache_characters', { of: 'budget' }),
        },
        reconciles: [...reconcilesEnd]
          .map(([controller, n]): [string, number] => [controller, n - (reconcilesStart.get(controller) ?? 0)])
          .filter(([, n]) => n > 0)
          .sort((a, b) => b[1] - a[1]),
        stateWrites: { count: stateWritesEnd.count - stateWritesStart.count, seconds: stateWritesEnd.seconds - stateWritesStart.seconds },
        gcs: { minor: gcs.minor, major: gcs.major, incremental: gcs.incremental },
      };
    },
  };
}

/**
 * FleetOps' CPU per resource by component: the main thread's CPU time split by its samples' shares (wall-clock
 * samples: on a busy machine a preempted thread still shows busy, so the shares are applied to its measured CPU
 * time), then the process's other threads by name (V8's helpers: concurrent marking, compilation; libuv's pool).
 */
function printBreakdown(profile: CpuProfile, threads: Map<string, number>, n: number): void {
  const { lines } = cpuBreakdown(profile);
  const mainCpuMs = threads.get('main') ?? 0;
  const perResource = (ms: number): string => `${(ms / n).toFixed(2)} ms`.padStart(8);
  console.log(`  by component, main thread (${perResource(mainCpuMs).trim()} per resource):`);
  let rest = 0;
  for (const line of lines) {
    if (line.share < 0.01) rest += line.share;
    else console.log(`    ${perResource(line.share * mainCpuMs)}  ${(100 * line.share).toFixed(0).padStart(2)}%  ${line.component}`);
  }
  if (rest > 0) console.log(`    ${perResource(rest * mainCpuMs)}  ${(100 * rest).toFixed(0).padStart(2)}%  the rest (each under 1%)`);
  const others = [...threads].filter(([name, ms]) => name !== 'main' && name !== PROFILER_THREAD && ms / n >= 0.005).sort((a, b) => b[1] - a[1]);
  console.log(`  other threads: ${others.map(([name, ms]) => `${name} ${perResource(ms).trim()}`).join(', ') || 'none'}`);
}

/** The thread of V8's CPU profiler that the benchmark runs for its breakdown: the benchmark's instrument, not FleetOps. */
const PROFILER_THREAD = 'v8:ProfEvntProc';

/** The CPU (ms) of the benchmark's profiler thread in a phase. */
function profilerCpuMs(f: PhaseFigures): number {
  return f.threads.get(PROFILER_THREAD) ?? 0;
}

/** FleetOps' CPU in a phase (ms): its process's, less the benchmark's profiler thread. */
function fleetOpsCpuMs(f: PhaseFigures): number {
  return (f.cpu.user + f.cpu.system) / 1000 - profilerCpuMs(f);
}

/**
 * Where the machine's CPU went, per resource, against a bare sandbox run's: what the ratio to the floor is made of.
 * The rest is the kernel's own threads (a sandbox's namespaces are torn down there, charged to no process) and any
 * other process on the machine.
 */
function printMachineBudget(f: PhaseFigures, n: number, floor: MachineBudget | undefined): void {
  const ms = (v: number): string => `${(v / n).toFixed(2)} ms`;
  const fleetOpsMs = fleetOpsCpuMs(f);
  const profilerMs = profilerCpuMs(f);
  const rest = Math.max(0, f.machine.busyMs - fleetOpsMs - profilerMs - f.childrenMs);
  console.log(
    `  machine CPU per resource: ${ms(f.machine.busyMs)} = FleetOps ${ms(fleetOpsMs)} + its child processes (sandboxes, their helper, git) ${ms(f.childrenMs)} + the benchmark's profiler ${ms(profilerMs)} + the rest (kernel threads, other processes) ${ms(rest)}`,
  );
  if (floor)
    console.log(
      `    a bare sandbox run: ${ms(floor.busyMs)} = the benchmark ${ms(floor.selfMs)} + its child processes ${ms(floor.childrenMs)} + the rest ${ms(Math.max(0, floor.busyMs - floor.selfMs - floor.childrenMs))}`,
    );
}

/** Prints a phase's figures per resource; `during`: the phase as the lines name it ("the update"). */
export function printPhase(during: string, f: PhaseFigures, n: number, extra: { profile?: CpuProfile; floor?: MachineBudget } = {}): void {
  const per = (v: number, digits = 2): string => (v / n).toFixed(digits);
  const profilerMs = profilerCpuMs(f);
  console.log(
    `  FleetOps process CPU during ${during}: ${per(fleetOpsCpuMs(f))} ms per resource (user ${(f.cpu.user / 1e6).toFixed(1)} s, system ${(f.cpu.system / 1e6).toFixed(1)} s, less the benchmark's CPU profiler thread's ${(profilerMs / 1000).toFixed(1)} s)`,
  );
  if (extra.profile) printBreakdown(extra.profile, f.threads, n);
  printMachineBudget(f, n, extra.floor);
  const { writes, transactions, cached, missed, readQueries } = f.store;
  console.log(
    `  store during ${during}: ${per(writes, 1)} writes per resource, in ${per(transactions)} transactions per resource (${(writes / Math.max(1, transactions)).toFixed(1)} writes each)`,
  );
  const kinds = [...f.writesByKind].sort((a, b) => b[1] - a[1]);
  console.log(`    writes by kind: ${kinds.map(([kind, count]) => `${kind} ${per(count)}`).join(', ')}`);
  console.log(
    `  store reads of single objects: ${per(cached + missed, 1)} per resource, ${per(missed)} missed the read cache (${(100 * (missed / Math.max(1, cached + missed))).toFixed(0)}%), read from the database in ${per(readQueries)} statements per resource`,
  );
  const mi = (chars: number): string => (chars / 1024 / 1024).toFixed(1);
  const { held, budget } = f.readCache;
  console.log(
    `    the read cache holds ${mi(held)} of its ${mi(budget)} Mi characters after ${during}: ${(held / n / 1000).toFixed(1)} K per resource${held > 0.85 * budget ? ' (full: objects past it are read from the database)' : ''}`,
  );
  console.log(
    `  state store writes (a commit each): ${f.stateWrites.count}, ${((1000 * f.stateWrites.seconds) / Math.max(1, f.stateWrites.count)).toFixed(0)} ms each on average`,
  );
  console.log(
    `  reconciles per resource: ${per(
      f.reconciles.reduce((sum, [, count]) => sum + count, 0),
      1,
    )} (${f.reconciles.map(([c, count]) => `${c} ${per(count)}`).join(', ')})`,
  );
  const { minor, major, incremental } = f.gcs;
  console.log(
    `  garbage collections during ${during} (main thread's pauses): ${minor.count} young (${minor.ms.toFixed(0)} ms), ${major.count} full (${major.ms.toFixed(0)} ms), ${incremental.count} incremental marking steps (${incremental.ms.toFixed(0)} ms)`,
  );
  if (f.postgresS !== undefined) console.log(`  PostgreSQL's CPU during ${during}: ${per(f.postgresS * 1000)} ms per resource (${f.postgresS.toFixed(1)} s)`);
  console.log(`  machine CPU busy during ${during}: ${(100 * f.machine.busyShare).toFixed(0)}% of ${availableParallelism()} cores`);
}
