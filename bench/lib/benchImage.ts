/** The image of the benchmarks' shell steps: a static busybox built into the fleet's cache (no registry, no network). */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import type { ImageCache } from '../../src/workflows/images/ImageCache.ts';
import { buildIntoCache } from '../../src/workflows/images/imageBuild.ts';
import { toolRunner } from '../../src/lib/runTool.ts';

export const BENCH_IMAGE = 'fleetops.local/bench/busybox:1';

/** Builds the image and returns its unpacked root (for floors measured on the same root). */
export async function buildBenchImage(cache: ImageCache): Promise<string> {
  const empty = mkdtempSync(join(tmpdir(), 'fleetops-bench-step-'));
  try {
    await buildIntoCache(cache, { dir: empty, base: 'busybox', workingDir: '/', run: toolRunner(), installDir: resolve(import.meta.dirname, '..', '..') }, [
      BENCH_IMAGE,
    ]);
  } finally {
    rmSync(empty, { recursive: true, force: true });
  }
  const lease = await cache.acquire(BENCH_IMAGE);
  lease.release();
  return lease.rootfs;
}
