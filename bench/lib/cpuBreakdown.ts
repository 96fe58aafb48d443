/**
 * Where FleetOps' CPU goes, by component, from a V8 CPU profile of its main thread: each sample is charged to the
 * component of the nearest FleetOps frame on its stack. Shared helpers (src/api, src/lib, src/workers) are charged
 * to whoever called them, so a JSON clone made for the scheduler counts as the scheduler's; samples with no FleetOps
 * frame are Node.js' own (I/O callbacks, timers, module code) or V8's (garbage collection, compiled code entry).
 */
import { readdirSync, readFileSync } from 'node:fs';

/** A /proc `stat` line's fields after the command name: utime and stime at 11 and 12, cutime and cstime at 13 and 14. */
function statFields(stat: string): string[] {
  return stat.slice(stat.lastIndexOf(')') + 2).split(' ');
}

/** Two adjacent clock-tick fields of a `stat` line together, in milliseconds. */
function ticksAt(fields: string[], first: number): number {
  return ticksMs(Number(fields[first]) + Number(fields[first + 1]));
}

/** CPU time (ms) a process or thread has used, from its /proc `stat` line (utime and stime, in clock ticks). */
export function statCpuMs(stat: string): number {
  return ticksAt(statFields(stat), 11);
}

/** CPU time (ms) a process has used and its children it has reaped had used, from its `stat` fields. */
function withReapedMs(fields: string[]): number {
  return ticksAt(fields, 11) + ticksAt(fields, 13);
}

/**
 * CPU time (ms) the process's threads have used so far, by thread name, threads of the same name together; the
 * main thread (the task whose id is the process's) under `main`.
 */
export function threadCpuMs(): Map<string, number> {
  const byName = new Map<string, number>();
  for (const tid of readdirSync('/proc/self/task')) {
    try {
      const name = tid === String(process.pid) ? 'main' : readFileSync(`/proc/self/task/${tid}/comm`, 'utf8').trim();
      byName.set(name, (byName.get(name) ?? 0) + statCpuMs(readFileSync(`/proc/self/task/${tid}/stat`, 'utf8')));
    } catch {
      // The thread ended between the listing and the read.
    }
  }
  return byName;
}

/** What each thread name used between two readings of threadCpuMs (threads gone since are not counted). */
export function threadCpuSince(before: Map<string, number>, after: Map<string, number> = threadCpuMs()): Map<string, number> {
  return new Map([...after].map(([name, ms]) => [name, Math.max(0, ms - (before.get(name) ?? 0))]));
}

/**
 * CPU time (ms) this process's child processes have used so far, less those named in `except`: the children that
 * ended and were waited for (summed by the kernel into this process's `stat`), and each running child with its own
 * ended children. FleetOps' sandbox helper runs throughout, so every sandbox and git process it started and waited for
 * counts under it.
 */
export function childCpuMs(except: string[] = []): number {
  let ms = ticksAt(statFields(readFileSync('/proc/self/stat', 'utf8')), 13);
  for (const tid of readdirSync('/proc/self/task')) {
    let children: string[] = [];
    try {
      children = readFileSync(`/proc/self/task/${tid}/children`, 'utf8').split(' ').filter(Boolean);
    } catch {
      // The thread ended between the listing and the read.
    }
    for (const pid of children) {
      try {
        if (except.includes(readFileSync(`/proc/${pid}/comm`, 'utf8').trim())) continue;
        ms += withReapedMs(statFields(readFileSync(`/proc/${pid}/stat`, 'utf8')));
      } catch {
        // The child ended between the listing and the read: its time counts as ended from now on.
      }
    }
  }
  return ms;
}

/** Busy and total CPU ticks of the whole machine (/proc/stat): how much of the cores the update kept busy. */
export function machineTicks(): { busy: number; total: number } {
  const [, ...fields] = (readFileSync('/proc/stat', 'utf8').split('\n')[0] ?? '').trim().split(/\s+/);
  const n = fields.map(Number);
  const idle = (n[3] ?? 0) + (n[4] ?? 0);
  const total = n.reduce((a, b) => a + b, 0);
  return { busy: total - idle, total };
}

/** Clock ticks of /proc/stat (USER_HZ, 100 on Linux) in milliseconds. */
export function ticksMs(ticks: number): number {
  return ticks * 10;
}

/** The parts of a `Profiler.stop` answer this reads. */
export interface CpuProfile {
  nodes: { id: number; callFrame: { functionName: string; url: string }; children?: number[] }[];
  samples: number[];
  startTime: number;
  endTime: number;
}

export interface BreakdownLine {
  component: string;
  /** Share of the main thread's busy samples. */
  share: number;
}

/** src/ folders (and main.ts's wiring) whose code works for a caller: their samples go to the nearest frame outside them. */
const HELPERS = new Set(['api', 'lib', 'workers', 'main']);

const NAMES: Record<string, string> = {
  store: 'store (transactions, reads, watch fan-out)',
  registry: 'object service (admission, schemas, managed fields)',
  apiserver: 'HTTPS API server',
  client: 'in-process client',
  controller: 'controller runtime (queues, leases)',
  workflows: 'pipeline runs (workspaces, outputs, sandbox launch)',
  statestores: 'state store writers (Git, S3)',
  telemetry: 'metrics and tracing',
};

/** The component a source URL belongs to; undefined outside FleetOps' sources or in a shared helper. */
export function componentOf(url: string): string | undefined {
  const at = url.lastIndexOf('/src/');
  if (at < 0 || url.includes('/node_modules/')) return undefined;
  const parts = url
    .slice(at + 5)
    .replace(/\.[jt]s$/, '')
    .split('/');
  const [top = '', sub = ''] = parts;
  if (HELPERS.has(top)) return undefined;
  // The controllers' shared folder holds several big parts (the workflow executor, the informers): each its own line.
  if (top === 'controllers') return sub === 'shared' ? `controllers: shared ${parts[parts.length - 1] ?? ''}` : `controllers: ${sub}`;
  return NAMES[top] ?? top;
}

/** The busy samples' shares by component, largest first, and the share of samples the thread was idle. */
export function cpuBreakdown(profile: CpuProfile): { lines: BreakdownLine[]; idleShare: number } {
  const byId = new Map(profile.nodes.map((n) => [n.id, n]));
  const parent = new Map<number, number>();
  for (const n of profile.nodes) for (const child of n.children ?? []) parent.set(child, n.id);
  const perNode = new Map<number, number>();
  for (const s of profile.samples) perNode.set(s, (perNode.get(s) ?? 0) + 1);
  const counts = new Map<string, number>();
  let idle = 0;
  let busy = 0;
  for (const [id, n] of perNode) {
    const leaf = byId.get(id)?.callFrame;
    if (!leaf || leaf.functionName === '(idle)') {
      idle += n;
      continue;
    }
    busy += n;
    let component: string | undefined;
    let inFleetOps = false;
    for (let at: number | undefined = id; at !== undefined && component === undefined; at = parent.get(at)) {
      const url = byId.get(at)?.callFrame.url ?? '';
      inFleetOps ||= url.includes('/src/') && !url.includes('/node_modules/');
      component = componentOf(url);
    }
    component ??=
      leaf.functionName === '(garbage collector)'
        ? 'garbage collection (main thread)'
        : inFleetOps
          ? 'shared helpers (JSON, YAML, validation)'
          : leaf.functionName === '(program)'
            ? 'V8 (compiled code entry, compilation)'
            : 'Node.js (I/O callbacks, timers, child processes)';
    counts.set(component, (counts.get(component) ?? 0) + n);
  }
  const lines = [...counts].map(([component, n]) => ({ component, share: busy ? n / busy : 0 })).sort((a, b) => b.share - a.share);
  const total = idle + busy;
  return { lines, idleShare: total ? idle / total : 0 };
}

/** The CPU (ms) used so far by each process named postgres (the throw-away cluster is the machine's only one), and by those they reaped. */
export interface PostgresCpu {
  own: Map<string, number>;
  reaped: number;
}

export function postgresCpu(): PostgresCpu {
  const own = new Map<string, number>();
  let reaped = 0;
  for (const pid of readdirSync('/proc')) {
    if (!/^\d+$/.test(pid)) continue;
    try {
      const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
      if (!stat.includes('(postgres)')) continue;
      const fields = statFields(stat);
      own.set(pid, ticksAt(fields, 11));
      reaped += ticksAt(fields, 13);
    } catch {
      // The process ended between the listing and the read.
    }
  }
  return { own, reaped };
}

/**
 * CPU seconds the postgres processes used between two snapshots: a process alive at both its difference, one started
 * since all of its own, and one that ended since (a pool closed an idle connection) what it used after `start` — its
 * whole life is in its postmaster's reaped time, less what it had used at `start`. Counting reaped time whole charged
 * a backend's earlier work (a fleet's set-up, seconds of it) to the phase measured; leaving it out took the figure
 * below zero.
 */
export function postgresCpuSince(start: PostgresCpu, now: PostgresCpu = postgresCpu()): number {
  let ms = now.reaped - start.reaped;
  for (const [pid, used] of now.own) ms += used - (start.own.get(pid) ?? 0);
  for (const [pid, used] of start.own) if (!now.own.has(pid)) ms -= used;
  return ms / 1000;
}
