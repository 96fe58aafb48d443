/**
 * Image benchmark, against a real registry on 127.0.0.1 (docker-registry) and images built here:
 *  - warm cache: N runs of a one-step pipeline in an image (PipelineRunner: workspace, image lease, Kubernetes
 *    semantics, sandbox, outputs) against N bare bwrap runs of the same root file system with the same arguments,
 *    at the same parallelism, in the same run: the overhead per run;
 *  - cold: pull and unpack of a ~5 MB and a ~100 MB image into an empty cache (median of 3);
 *  - the cache's size on disk.
 * Figures only, no assertions. Usage: node bench/image.bench.ts [--runs 1000] [--concurrency 8]
 */
import { execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { chmodSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { availableParallelism, tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { ImageCache } from '../src/workflows/images/ImageCache.ts';
import { SkopeoFetcher } from '../src/workflows/images/SkopeoFetcher.ts';
import { PipelineRunner } from '../src/workflows/PipelineRunner.ts';
import { BwrapRuntime } from '../src/workflows/runtime/BwrapRuntime.ts';
import { HelperLauncher } from '../src/workflows/runtime/HelperLauncher.ts';
import { defaultWorkflowConcurrency } from '../src/controllers/resource/ResourceController.ts';
import { startRegistry } from '../test/helpers/registry.ts';
import { pool, sandboxFloor } from './lib/sandboxFloor.ts';
import { arg } from './lib/figures.ts';

const RUNS = arg('runs', 1000);
const CONCURRENCY = arg('concurrency', defaultWorkflowConcurrency());
const s = (ms: number): string => `${(ms / 1000).toFixed(2)} s`;
const mb = (bytes: number): string => `${(bytes / 1024 / 1024).toFixed(1)} MB`;

async function main(): Promise<void> {
  const dir = mkdtempSync(join(tmpdir(), 'fleetops-imagebench-'));
  chmodSync(dir, 0o711);
  const registry = await startRegistry();
  const launcher = new HelperLauncher();
  try {
    const auths = JSON.parse(registry.dockerConfigJson()).auths as never;
    const sizes = [5, 100];
    for (const size of sizes) {
      const step = join(dir, `step-${size}`);
      mkdirSync(step);
      // Random bytes: incompressible, so the image is about its nominal size on the wire too.
      writeFileSync(join(step, 'payload.bin'), randomBytes((size - 2) * 1024 * 1024));
      await registry.push(step, `bench/payload:${size}mb`, { base: 'busybox' });
    }
    const fetcher = (name: string): SkopeoFetcher => new SkopeoFetcher({ workDir: join(dir, `fetch-${name}`), registriesConf: registry.registriesConf() });

    console.log('cold pull and unpack (empty cache, median of 3):');
    for (const size of sizes) {
      const times: number[] = [];
      for (let i = 0; i < 3; i++) {
        const cache = new ImageCache({ dir: join(dir, `cold-${size}-${i}`), fetcher: fetcher(`cold-${size}-${i}`) });
        const t = performance.now();
        (await cache.acquire(`${registry.host}/bench/payload:${size}mb`, { auths })).release();
        times.push(performance.now() - t);
        if (i === 2)
          console.log(
            `  ~${size} MB image: ${s(times.sort((a, b) => a - b)[1]!)} (runs ${times.map(s).join(', ')}); unpacked root ${mb(cache.sizeBytes)}, on disk ${execFileSync('du', ['-sh', join(dir, `cold-${size}-${i}`)], { encoding: 'utf8' }).split('\t')[0]}`,
          );
        cache.stop();
      }
    }

    const cache = new ImageCache({ dir: join(dir, 'warm'), fetcher: fetcher('warm') });
    const image = `${registry.host}/bench/payload:5mb`;
    const lease = await cache.acquire(image, { auths });
    lease.release();
    const runtime = new BwrapRuntime({ hiddenPaths: [], pathPrefix: [dirname(process.execPath)], launcher });
    const runner = new PipelineRunner({ runtime, images: cache });
    const command = ['/bin/sh', '-c', 'echo "value: $KRATIX_OBJECT_NAME" > /kratix/output/out.yaml'];
    const pipeline = { metadata: { name: 'bench' }, spec: { containers: [{ name: 'step', image, command }] } };
    const object = (i: number): { apiVersion: string; kind: string; metadata: { name: string; namespace: string }; spec: object } => ({
      apiVersion: 'bench.fleetops.dev/v1',
      kind: 'Thing',
      metadata: { name: `t-${i}`, namespace: 'default' },
      spec: {},
    });
    // Warm both paths up once (page cache, helper process).
    await runner.run(pipeline, { action: 'configure', workflowType: 'resource', promiseName: 'bench', plural: 'things', object: object(-1) });
    // Interleaved rounds, so both sides see the same machine (it is shared and noisy).
    const ROUNDS = 5;
    let floorMs = 0;
    let runnerMs = 0;
    for (let round = 0; round < ROUNDS; round++) {
      const n = Math.ceil(RUNS / ROUNDS);
      floorMs += await sandboxFloor({ n, concurrency: CONCURRENCY, hiddenPaths: [], command, root: lease.rootfs, launcher });
      runnerMs += await pool(n, CONCURRENCY, async (i) => {
        const r = await runner.run(pipeline, {
          action: 'configure',
          workflowType: 'resource',
          promiseName: 'bench',
          plural: 'things',
          object: object(round * n + i),
        });
        if (!r.ok) throw new Error(r.failure);
      });
    }
    const total = Math.ceil(RUNS / ROUNDS) * ROUNDS;
    console.log(`warm cache, ${total} runs in ${ROUNDS} interleaved rounds, ${CONCURRENCY} in parallel on ${availableParallelism()} cores:`);
    console.log(`  image step through the pipeline runner: ${s(runnerMs)} (${(runnerMs / total).toFixed(2)} ms/run of wall time)`);
    console.log(`  floor, bare bwrap on the same root (same arguments, same launcher): ${s(floorMs)} (${(floorMs / total).toFixed(2)} ms/run)`);
    console.log(`  overhead per run: ${(((runnerMs - floorMs) / floorMs) * 100).toFixed(1)}% (${((runnerMs - floorMs) / total).toFixed(2)} ms)`);
    console.log(
      `cache on disk: ${execFileSync('du', ['-sh', dir], { encoding: 'utf8' }).split('\t')[0]} for all of the above (${mb(cache.sizeBytes)} in the warm cache)`,
    );
    cache.stop();
  } finally {
    await launcher.stop();
    await registry.cleanup();
    rmSync(dir, { recursive: true, force: true });
  }
}

await main();
