/**
 * The physical floor of a workflow benchmark, measured in the same run: N sandboxes spawned through the same
 * runtime (bwrap arguments, limits) running the same command, `concurrency` at a time, with nothing of FleetOps
 * around them. Also the bare process spawn underneath (no sandbox) for reference.
 */
import { spawn } from 'node:child_process';
import { chmodSync, mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { BwrapRuntime } from '../../src/workflows/runtime/BwrapRuntime.ts';

async function pool(n: number, concurrency: number, task: (i: number) => Promise<void>): Promise<number> {
  let next = 0;
  const start = performance.now();
  await Promise.all(
    Array.from({ length: concurrency }, async () => {
      for (let i = next++; i < n; i = next++) await task(i);
    }),
  );
  return performance.now() - start;
}

/** Milliseconds for `n` sandboxed runs of `command` (each with fresh output and metadata folders). */
export async function sandboxFloor(opts: { n: number; concurrency: number; hiddenPaths: string[]; command: string[] }): Promise<number> {
  const runtime = new BwrapRuntime({ hiddenPaths: opts.hiddenPaths, pathPrefix: [dirname(process.execPath)] });
  const root = mkdtempSync(join(tmpdir(), 'fleetops-floor-'));
  try {
    return await pool(opts.n, opts.concurrency, async (i) => {
      const ws = join(root, String(i));
      const dirs = { input: join(ws, 'input'), output: join(ws, 'output'), metadata: join(ws, 'metadata') };
      // As the pipeline runner prepares them: steps may run unprivileged, so output and metadata are writable by all.
      for (const d of Object.values(dirs)) mkdirSync(d, { recursive: true });
      chmodSync(root, 0o711);
      chmodSync(ws, 0o711);
      chmodSync(dirs.output, 0o777);
      chmodSync(dirs.metadata, 0o777);
      const r = await runtime.run({ name: 'floor', image: '', command: opts.command, args: [], env: { KRATIX_OBJECT_NAME: `floor-${i}` }, dirs, network: false, timeoutMs: 30_000, maxLogBytes: 1024 }, {});
      if (r.exitCode !== 0) throw new Error(`floor run failed: ${r.log}`);
      // Workspaces are removed after the timing: the floor is the sandbox runs alone.
    });
  } finally {
    rmSync(root, { recursive: true, force: true });
  }
}

/** Milliseconds for `n` bare spawns of `true` (no sandbox). */
export function bareSpawns(n: number, concurrency: number): Promise<number> {
  return pool(n, concurrency, () => new Promise<void>((resolve, reject) => spawn('true').on('close', () => resolve()).on('error', reject)));
}
