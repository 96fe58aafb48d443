/**
 * Fleet update benchmark (the workshop's scenario at scale): N resources (default 10,000) of a Promise with a one-step
 * shell pipeline are fulfilled, then the Promise changes and the default rollout takes every resource to the new
 * revision. Measured end to end: from the Promise update to every status on the new revision and every output
 * committed to the embedded Git state store (the end taken from the events that report them — the last status, the
 * last placement reported written after its commit — and confirmed by looking into the repository: looks every
 * second or two added up to their interval to the figure). Against the floor measured in the same run: N bare sandbox runs of the
 * same step (same bwrap arguments, same parallelism); also, for what the steps' limits cost, the same runs in the
 * control groups FleetOps gives each step; and, as the machine's speed drifts over the minutes of a run, the floor
 * through the helper once more after both phases, with the ratios against the mean of the two. FleetOps' CPU per
 * resource is printed by component, from a CPU profile of its main thread sampled during the update. The initial
 * fulfilment (from the requests' creation to every status and output in Git) is measured the same way and printed
 * after it, with its own ratio to the floor. Figures only, no assertions.
 *
 * Usage: node bench/rollout.bench.ts [--resources 10000] [--concurrency 8] [--profile rollout.cpuprofile] [--no-floor]
 *   [--postgres] [--pg-statements] [--allocations [rollout.heapprofile]] [--survivors]
 * (--profile writes a CPU profile of FleetOps' process during the fleet update only; --no-floor skips the floors, for
 * benchmarks that compare FleetOps with itself; --postgres runs FleetOps on a throw-away PostgreSQL 15 cluster
 * instead of the embedded store, and adds the database's CPU; --pg-statements (implies --postgres) loads
 * pg_stat_statements and prints the database's statements and tables during each phase; --allocations samples the heap's allocations during the
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
import { performance } from 'node:perf_hooks';
import { pino } from 'pino';
import type { KubeObject } from '../src/api/types.ts';
import { startFleetOps, type FleetOps } from '../src/main.ts';
import { defaultWorkflowConcurrency } from '../src/controllers/resource/ResourceController.ts';
import { keyOf } from '../src/store/Store.ts';
import { addCreateDefaults } from '../src/registry/ObjectStrategy.ts';
import { bareSpawns, describeFloorAgain, describeFloors, describeLimitedFloor, helperFloorAgain, sandboxFloors } from './lib/sandboxFloor.ts';
import { BENCH_IMAGE, buildBenchImage } from './lib/benchImage.ts';
import { arg } from './lib/figures.ts';
import type { CpuProfile } from './lib/cpuBreakdown.ts';
import { printPhase, startPhase } from './lib/phaseMeter.ts';
import { startPostgres, type TestPostgres } from '../test/helpers/postgres.ts';
import { resetStatements, statementLines, STATEMENT_SETTINGS } from './lib/postgresStatements.ts';
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
 * list of 10,000 objects would cost the event loop more than the work being measured. Notes the moment the count of
 * a revision reaches the fleet's size, so the time measured is the event's, not that of the next look.
 */
async function statusCounter(fleet: FleetOps): Promise<{ at(revision: number): number; reachedAt(revision: number): number | undefined; stop(): void }> {
  const seen = new Map<string, number>();
  const counts = new Map<number, number>();
  const reached = new Map<number, number>();
  const type = fleet.registry.byKind(GROUP, 'Thing')!;
  const handle = await fleet.objects.watch(type, undefined, {}, (e) => {
    const st = e.object.status as { revision?: number; kratix?: { workflows?: { phase?: string } } } | undefined;
    if (e.type === 'DELETED' || st?.kratix?.workflows?.phase !== 'Succeeded' || typeof st.revision !== 'number') return;
    const name = e.object.metadata.name as string;
    const before = seen.get(name);
    if (before === st.revision) return;
    if (before !== undefined) counts.set(before, (counts.get(before) ?? 0) - 1);
    seen.set(name, st.revision);
    const count = (counts.get(st.revision) ?? 0) + 1;
    counts.set(st.revision, count);
    if (count === N && !reached.has(st.revision)) reached.set(st.revision, performance.now());
  });
  return {
    at: (revision) => counts.get(revision) ?? 0,
    reachedAt: (revision) => reached.get(revision),
    stop: () => handle.stop(),
  };
}

/**
 * When the state store last reported a placement written, from a watch of WorkPlacements: FleetOps reports each one
 * (WriteSucceeded, `observedGeneration`) after the Git commit holding it, so the moment every placement changed since
 * `begin()` is reported written is at or after the commit of the last of them — the end of a phase, without the
 * delay of the next look into the repository (which still confirms what each file holds).
 */
async function placementsWritten(fleet: FleetOps): Promise<{ begin(): void; allWrittenAt(): number | undefined; stop(): void }> {
  const type = fleet.registry.byKind('platform.kratix.io', 'WorkPlacement')!;
  /** Per placement: its generation and whether it is reported written at that generation. */
  const placements = new Map<string, { generation: number; written: boolean }>();
  let baseline = new Map<string, number>();
  let pending = 0;
  let allWrittenAt: number | undefined;
  const changed = (key: string, generation: number): boolean => generation > (baseline.get(key) ?? 0);
  const handle = await fleet.objects.watch(type, undefined, {}, (e) => {
    const key = `${e.object.metadata.namespace ?? ''}/${e.object.metadata.name as string}`;
    const before = placements.get(key);
    if (before && changed(key, before.generation) && !before.written) pending--;
    if (e.type === 'DELETED') {
      placements.delete(key);
      return;
    }
    const generation = Number(e.object.metadata.generation ?? 1);
    const st = e.object.status as { observedGeneration?: number; conditions?: { type: string; status: string }[] } | undefined;
    const written = st?.observedGeneration === generation && st.conditions?.some((c) => c.type === 'WriteSucceeded' && c.status === 'True') === true;
    placements.set(key, { generation, written });
    if (changed(key, generation) && !written) pending++;
    else if (changed(key, generation) && pending === 0) allWrittenAt = performance.now();
  });
  return {
    begin: () => {
      baseline = new Map([...placements].map(([key, p]) => [key, p.generation]));
      pending = 0;
      allWrittenAt = undefined;
    },
    allWrittenAt: () => (pending === 0 ? allWrittenAt : undefined),
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

/** The value once `read` has one (looked at every 20 ms). */
async function eventually(read: () => number | undefined): Promise<number> {
  for (let value = read(); ; value = read()) {
    if (value !== undefined) return value;
    await new Promise((r) => setTimeout(r, 20));
  }
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
    const floorOptions = { n: N, concurrency: CONCURRENCY, hiddenPaths: [fleet.dataDir], command: step(2), root };
    const floors = withFloor ? await sandboxFloors(floorOptions) : undefined;
    const spawnMs = withFloor ? await bareSpawns(N, CONCURRENCY) : undefined;

    const promiseType = fleet.registry.byKind('platform.kratix.io', 'Promise')!;
    await fleet.objects.create(promiseType, '', promise(1));
    while (!fleet.registry.byKind(GROUP, 'Thing')) await new Promise((r) => setTimeout(r, 20));
    const statuses = await statusCounter(fleet);
    const placements = await placementsWritten(fleet);
    process.stderr.write(`setup: ${N} resources fulfilled at revision 1…\n`);
    // Sampled in both phases, for the breakdown by component: every 4 ms costs the process next to nothing; --profile
    // samples the update every 1 ms (V8's default) and keeps the file.
    const session = new Session();
    session.connect();
    await session.post('Profiler.enable');
    await session.post('Profiler.setSamplingInterval', { interval: 4000 });
    await session.post('Profiler.start');
    if (db && statements) await resetStatements(db.url);
    const setupPhase = await startPhase(fleet, { postgres: !!db });
    const setupStart = performance.now();
    placements.begin();
    const thingType = fleet.registry.byKind(GROUP, 'Thing')!;
    for (let i = 0; i < N; i += 500) {
      const batch = [];
      for (let j = i; j < Math.min(N, i + 500); j++) {
        // As a create through the API stores it (generation 1, the kind's createDefaults), without the API's cost.
        const object: KubeObject = {
          apiVersion: `${GROUP}/v1`,
          kind: 'Thing',
          metadata: { name: `t${j}`, namespace: 'default', generation: 1 },
          spec: { size: j },
        };
        addCreateDefaults(thingType, object);
        batch.push({ op: 'create' as const, key: keyOf({ group: GROUP, kind: 'Thing' }, 'default', `t${j}`), object });
      }
      await fleet.store.commit(batch);
    }
    await waitFor('revision 1 statuses', setupStart, () => Promise.resolve(statuses.at(1)), N, 1000);
    await waitFor('revision 1 commits', setupStart, () => commits.at(fleet.embeddedGit.path, 1), N, 2000);
    const setupMs = Math.max(statuses.reachedAt(1)!, await eventually(() => placements.allWrittenAt())) - setupStart;
    const setupFigures = await setupPhase.end();
    const setupStatements = db && statements ? await statementLines(db.url, N) : [];
    const { profile: setupProfile } = await session.post('Profiler.stop');

    process.stderr.write('fleet update: the Promise changes, the rollout takes every resource to revision 2…\n');
    const profile = process.argv.indexOf('--profile') > 0 ? process.argv[process.argv.indexOf('--profile') + 1] : undefined;
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
    if (db && statements) await resetStatements(db.url);
    const updatePhase = await startPhase(fleet, { postgres: !!db });
    const start = performance.now();
    placements.begin();
    const current = await fleet.objects.get(promiseType, '', 'thing');
    await fleet.objects.update(promiseType, '', 'thing', {
      ...promise(2),
      metadata: { ...promise(2).metadata, resourceVersion: current.metadata.resourceVersion },
    });
    await waitFor('revision 2 statuses', start, () => Promise.resolve(statuses.at(2)), N, 500);
    const statusMs = statuses.reachedAt(2)! - start;
    await waitFor('revision 2 commits', start, () => commits.at(fleet.embeddedGit.path, 2), N, 500);
    const totalMs = Math.max(statuses.reachedAt(2)!, await eventually(() => placements.allWrittenAt())) - start;
    const updateFigures = await updatePhase.end();
    const { profile: sampled } = await session.post('Profiler.stop');
    const heapSampled = allocations ? (await session.post('HeapProfiler.stopSampling')).profile : undefined;
    session.disconnect();
    if (profile) writeFileSync(profile, JSON.stringify(sampled));
    statuses.stop();
    placements.stop();
    const rollout = await fleet.objects.get(fleet.registry.byKind('fleetops.dev', 'Rollout')!, '', 'thing-r2');
    if (floors) process.stderr.write('floor again: the bare sandbox runs through the helper, after both phases…\n');
    const floorAgainMs = floors ? await helperFloorAgain(floorOptions) : undefined;

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
      if (floorAgainMs !== undefined)
        console.log(`  ${describeFloorAgain(floors, floorAgainMs, { 'the update': totalMs, 'the initial fulfilment': setupMs }, fmt)}`);
    }
    printPhase('the update', updateFigures, N, { profile: sampled as CpuProfile, ...(floors ? { floor: floors.budget } : {}) });
    if (heapSampled) printAllocations(heapSampled);
    const heapFile = process.argv[process.argv.indexOf('--allocations') + 1];
    if (heapSampled && heapFile?.endsWith('.heapprofile')) writeFileSync(heapFile, JSON.stringify(heapSampled));
    if (db && statements) for (const line of await statementLines(db.url, N)) console.log(line);

    console.log(`Initial fulfilment of ${N} requests (created in the store 500 at a time → every status and output committed to Git):`);
    console.log(`  initial fulfilment: ${fmt(setupMs)}${floors ? `, ${(setupMs / floors.bestMs).toFixed(2)}× the floor` : ''}`);
    printPhase('the initial fulfilment', setupFigures, N, { profile: setupProfile as CpuProfile, ...(floors ? { floor: floors.budget } : {}) });
    for (const line of setupStatements) console.log(line);
    if (spawnMs !== undefined) console.log(`  for reference: ${N} bare spawns of true (no sandbox) ${fmt(spawnMs)}`);
  } finally {
    commits.stop();
    await fleet.stop();
    db?.cleanup();
    if (!process.env.KEEP_BENCH_DIR) rmSync(dir, { recursive: true, force: true });
    else console.log(dir);
  }
}

await main();
