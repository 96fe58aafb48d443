/**
 * Workflow benchmark: N resources (default 1,000) with a one-step shell pipeline, from request to every status
 * showing the completed workflow (run recorded, Work written, status merged), against the floor measured in the same
 * run: N bare sandbox spawns (`bwrap … true`, the same sandbox arguments) at the same parallelism.
 * Figures only, no assertions. Usage: node bench/workflow.bench.ts [--resources 1000] [--concurrency 4]
 */
import { testPromise } from '../test/helpers/promises.ts';
import { mkdtempSync, rmSync } from 'node:fs';
import { availableParallelism, tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { pino } from 'pino';
import { startFleetOps } from '../src/main.ts';
import { bareSpawns, describeFloors, sandboxFloors } from './lib/sandboxFloor.ts';
import { BENCH_IMAGE, buildBenchImage } from './lib/benchImage.ts';
import { defaultWorkflowConcurrency } from '../src/controllers/resource/ResourceController.ts';
import { keyOf } from '../src/store/Store.ts';
import { arg } from './lib/figures.ts';

const N = arg('resources', 1000);
const CONCURRENCY = arg('concurrency', defaultWorkflowConcurrency());

async function main(): Promise<void> {
  const dir = mkdtempSync(join(tmpdir(), 'fleetops-wfbench-'));
  const fleet = await startFleetOps({ dataDir: join(dir, 'fleet'), port: 0, logger: pino({ level: 'silent' }), workflowConcurrency: CONCURRENCY });
  try {
    const spawnMs = await bareSpawns(N, CONCURRENCY);
    const floors = await sandboxFloors({
      n: N,
      concurrency: CONCURRENCY,
      hiddenPaths: [fleet.dataDir],
      command: ['true'],
      root: await buildBenchImage(fleet.images),
    });
    const floorMs = floors.bestMs;
    const group = 'bench.fleetops.dev';
    await fleet.objects.create(
      fleet.registry.byKind('platform.kratix.io', 'Promise')!,
      '',
      testPromise({
        kind: 'Thing',
        plural: 'things',
        group,
        specProperties: { size: { type: 'integer' } },
        pipeline: {
          name: 'render',
          spec: {
            containers: [
              {
                name: 'render',
                image: BENCH_IMAGE,
                command: [
                  'sh',
                  '-c',
                  'printf "kind: ConfigMap\\nmetadata: {name: $KRATIX_OBJECT_NAME}\\n" > /kratix/output/cm.yaml; echo "ready: true" > /kratix/metadata/status.yaml',
                ],
              },
            ],
          },
        },
      }),
    );
    while (!fleet.registry.byKind(group, 'Thing')) await new Promise((r) => setTimeout(r, 20));
    const start = performance.now();
    for (let i = 0; i < N; i += 200) {
      const batch = [];
      for (let j = i; j < Math.min(N, i + 200); j++) {
        batch.push({
          op: 'create' as const,
          key: keyOf({ group, kind: 'Thing' }, 'default', `t${j}`),
          object: { apiVersion: `${group}/v1`, kind: 'Thing', metadata: { name: `t${j}`, namespace: 'default' }, spec: { size: j } } as never,
        });
      }
      await fleet.store.commit(batch);
    }
    let done = 0;
    let lastPrint = 0;
    while (done < N) {
      await new Promise((r) => setTimeout(r, 250));
      const { items } = await fleet.store.list({ group, kind: 'Thing' });
      done = items.filter(
        (o) => (o.status as { ready?: boolean; kratix?: { workflows?: { phase?: string } } } | undefined)?.kratix?.workflows?.phase === 'Succeeded',
      ).length;
      if (performance.now() - lastPrint > 5000) {
        lastPrint = performance.now();
        process.stderr.write(`  ${done}/${N} done after ${((performance.now() - start) / 1000).toFixed(1)} s\n`);
      }
    }
    const totalMs = performance.now() - start;
    const fmt = (ms: number): string => `${(ms / 1000).toFixed(2)} s (${(N / (ms / 1000)).toFixed(0)}/s)`;
    console.log(`${N} resources, one-step shell pipeline, ${CONCURRENCY} workflows in parallel on ${availableParallelism()} cores:`);
    console.log(`  end to end (request → status, run record and Work written): ${fmt(totalMs)}`);
    console.log(`  floor, ${N} bare sandboxes (bwrap … true, same arguments): ${fmt(floorMs)}  → ratio ${(totalMs / floorMs).toFixed(2)}×`);
    console.log(`    (${describeFloors(floors, fmt)})`);
    console.log(`  for reference, ${N} bare process spawns (true, no sandbox): ${fmt(spawnMs)}`);
  } finally {
    await fleet.stop();
    rmSync(dir, { recursive: true, force: true });
  }
}

await main();
