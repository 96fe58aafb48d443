/**
 * The physical floor of a workflow benchmark, measured in the same run: N sandboxes spawned through the same
 * runtime (bwrap arguments, limits) running the same command, `concurrency` at a time, with nothing of FleetOps
 * around them. Also the bare process spawn underneath (no sandbox) for reference.
 */
import { spawn } from 'node:child_process';
import { rmSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { BwrapRuntime } from '../../src/workflows/runtime/BwrapRuntime.ts';
import { HelperLauncher } from '../../src/workflows/runtime/HelperLauncher.ts';
import { createWorkspace, defaultWorkRoot } from '../../src/workflows/workspace.ts';
import { openCgroups, type Cgroups } from '../../src/workflows/runtime/cgroups.ts';
import type { ProcessLauncher } from '../../src/workflows/runtime/ProcessLauncher.ts';
import { childCpuMs, machineTicks, ticksMs } from './cpuBreakdown.ts';

/** Milliseconds for `n` tasks run `concurrency` at a time. */
export async function pool(n: number, concurrency: number, task: (i: number) => Promise<void>): Promise<number> {
  let next = 0;
  const start = performance.now();
  await Promise.all(
    Array.from({ length: concurrency }, async () => {
      for (let i = next++; i < n; i = next++) await task(i);
    }),
  );
  return performance.now() - start;
}

export interface FloorOptions {
  n: number;
  concurrency: number;
  hiddenPaths: string[];
  command: string[];
  /** An unpacked image root to run in (as FleetOps runs image steps); default the host's root. */
  root?: string;
}

/**
 * Milliseconds for `n` sandboxed runs of `command` (each with fresh output and metadata folders), started from this
 * process or through `launcher` (FleetOps starts them through its helper process).
 */
export async function sandboxFloor(opts: FloorOptions & { launcher?: ProcessLauncher; cgroups?: Cgroups }): Promise<number> {
  const runtime = new BwrapRuntime({
    hiddenPaths: opts.hiddenPaths,
    pathPrefix: [dirname(process.execPath)],
    ...(opts.launcher ? { launcher: opts.launcher } : {}),
    ...(opts.cgroups ? { cgroups: opts.cgroups } : {}),
  });
  // Where FleetOps makes its workspaces, so both pay the same file system.
  const root = join(defaultWorkRoot(), `floor-${process.pid}`);
  try {
    return await pool(opts.n, opts.concurrency, async (i) => {
      // As the pipeline runner prepares them: a workspace owned by the run's own user.
      const user = runtime.acquireUser();
      const ws = createWorkspace(root, user, `kind: Thing\nmetadata: {name: floor-${i}}\n`);
      const inImage = opts.root ? { root: { path: opts.root, uid: 0, gid: 0, workingDir: '/' } } : {};
      const r = await runtime.run(
        {
          name: 'floor',
          image: '',
          command: opts.command,
          args: [],
          env: { KRATIX_OBJECT_NAME: `floor-${i}` },
          dirs: ws.dirs,
          network: false,
          timeoutMs: 30_000,
          maxLogBytes: 1024,
          ...inImage,
          ...(user ? { user } : {}),
        },
        {},
      );
      user?.release();
      if (r.exitCode !== 0) throw new Error(`floor run failed: ${r.log}`);
      // Workspaces are removed after the timing: the floor is the sandbox runs alone.
    });
  } finally {
    rmSync(root, { recursive: true, force: true });
  }
}

/**
 * The floor through a helper process once more, measured after FleetOps' phases: the machine's speed drifts over the
 * minutes of a run (other tenants of a shared host), and a floor measured only before the phases moves every ratio
 * with it.
 */
export async function helperFloorAgain(opts: FloorOptions): Promise<number> {
  const launcher = new HelperLauncher();
  try {
    return await sandboxFloor({ ...opts, launcher });
  } finally {
    await launcher.stop();
  }
}

/**
 * What the floor measured again says: how far the machine's speed moved between the two helper floors, and `phases`'
 * ratios (label → milliseconds) against their mean.
 */
export function describeFloorAgain(f: Floors, againMs: number, phases: Record<string, number>, fmt: (ms: number) => string): string {
  const mean = (f.helperMs + againMs) / 2;
  const drift = ((againMs / f.helperMs - 1) * 100).toFixed(1);
  const ratios = Object.entries(phases).map(([label, ms]) => `${label} ${(ms / mean).toFixed(2)}×`);
  return `floor through the helper measured again after both phases: ${fmt(againMs)} (${Number(drift) >= 0 ? '+' : ''}${drift}% against before); against the mean of the two: ${ratios.join(', ')}`;
}

/** Milliseconds for `n` bare spawns of `true` (no sandbox). */
export function bareSpawns(n: number, concurrency: number): Promise<number> {
  return pool(
    n,
    concurrency,
    () =>
      new Promise<void>((resolve, reject) =>
        spawn('true')
          .on('close', () => resolve())
          .on('error', reject),
      ),
  );
}

export interface Floors {
  /** Sandboxes started from the benchmark process itself. */
  inProcessMs: number;
  /** Sandboxes started through a helper process, as FleetOps starts them. */
  helperMs: number;
  /** The lower of the two: the floor ratios are given against. */
  bestMs: number;
  /** Where the machine's CPU went during the runs through the helper. */
  budget: MachineBudget;
  /**
   * Through the helper, each run in its uid's control groups with the default step limits, as FleetOps runs steps
   * (memory, CPU and process caps; joining them is three cgroup writes per run): what the limits cost. Undefined
   * where FleetOps would run steps without them (not root, no cgroups).
   */
  limited?: { ms: number; busyMs: number };
}

/** CPU time (ms) over a measured stretch: the whole machine's busy time, this process's, its child processes'. */
export interface MachineBudget {
  busyMs: number;
  selfMs: number;
  childrenMs: number;
}

/** The floor both ways: the ratio is against the faster, so the helper's gain is not counted as FleetOps' own. */
export async function sandboxFloors(opts: FloorOptions): Promise<Floors> {
  const inProcessMs = await sandboxFloor(opts);
  const launcher = new HelperLauncher();
  try {
    // Children other than the helper are idle meanwhile (a FleetOps started beside the floor has nothing to run).
    const before = { machine: machineTicks(), self: process.cpuUsage(), children: childCpuMs(['sh']) };
    const helperMs = await sandboxFloor({ ...opts, launcher });
    const self = process.cpuUsage(before.self);
    const budget = {
      busyMs: ticksMs(machineTicks().busy - before.machine.busy),
      selfMs: (self.user + self.system) / 1000,
      childrenMs: childCpuMs(['sh']) - before.children,
    };
    const limited = await limitedFloor(opts, launcher);
    return { inProcessMs, helperMs, bestMs: Math.min(inProcessMs, helperMs), budget, ...(limited ? { limited } : {}) };
  } finally {
    await launcher.stop();
  }
}

/** The runs through `launcher` in step control groups of their own (see Floors.limited), when this machine has them. */
async function limitedFloor(opts: FloorOptions, launcher: ProcessLauncher): Promise<Floors['limited']> {
  const cgroups = openCgroups({ name: `floor-${process.pid}` });
  if (typeof cgroups === 'string') return undefined;
  try {
    const busyBefore = machineTicks().busy;
    const ms = await sandboxFloor({ ...opts, launcher, cgroups });
    return { ms, busyMs: ticksMs(machineTicks().busy - busyBefore) };
  } finally {
    cgroups.close();
  }
}

export function describeFloors(f: Floors, fmt: (ms: number) => string): string {
  return `started from the bench process ${fmt(f.inProcessMs)}; through a helper process (as FleetOps) ${fmt(f.helperMs)}`;
}

/**
 * The floor with the steps' control groups, and the ratio against it: what FleetOps adds beyond the sandbox it gives
 * each step. Undefined without cgroups.
 */
export function describeLimitedFloor(f: Floors, n: number, totalMs: number, fmt: (ms: number) => string): string | undefined {
  if (!f.limited) return undefined;
  const perRun = (busyMs: number): string => `${(busyMs / n).toFixed(2)} ms`;
  return (
    `floor with each run in its step control groups (limits as FleetOps applies them): ${fmt(f.limited.ms)}, machine CPU ${perRun(f.limited.busyMs)} ` +
    `per run against ${perRun(f.budget.busyMs)} without → ratio ${(totalMs / f.limited.ms).toFixed(2)}×`
  );
}
