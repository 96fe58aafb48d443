/**
 * Per-run control groups for steps: a memory limit (the kernel's OOM killer stops a step past it, and the count of
 * its kills says so), a CPU quota and a process cap, for each run's uid. Cgroup v2 where it is mounted with its
 * controllers, v1's `memory`, `cpu` and `pids` hierarchies otherwise. The groups live under one parent per FleetOps
 * data directory, beneath FleetOps' own group. A run's group lets only that run's uid add processes (its
 * `cgroup.procs` is the uid's); the limits stay root's, so a step cannot raise them.
 */
import { createHash } from 'node:crypto';
import { chownSync, closeSync, existsSync, mkdirSync, openSync, readdirSync, readFileSync, readSync, rmdirSync, writeFileSync } from 'node:fs';
import { join, relative } from 'node:path';

export interface StepLimits {
  memoryBytes?: number;
  cpuMillis?: number;
  pids?: number;
}

/** One run's groups: the files its first process joins through, its limits, and how often the OOM killer struck. */
export interface RunCgroup {
  readonly procs: string[];
  apply(limits: StepLimits): void;
  /**
   * The OOM killer's kills in the group since the last call (at the first, since the group was made). A group is one
   * uid's, and a uid runs one step at a time: asked after each step, this is that step's count, at one read per step.
   */
  newOomKills(): number;
}

export interface Cgroups {
  readonly version: 1 | 2;
  forUid(uid: number): RunCgroup;
  /**
   * Removes the groups (when FleetOps stops; a group still holding a process stays), with any a FleetOps killed on the
   * same data directory left.
   */
  close(): void;
}

/** Removes empty group folders, children first; a busy one is left. */
function removeGroups(dirs: string[]): void {
  for (const d of dirs) {
    try {
      rmdirSync(d);
    } catch {
      // still holds a process, or gone already
    }
  }
}

/**
 * Removes a parent group with every run group in it: those made now and those a FleetOps of the same data directory
 * left when it was killed (it could not remove them; the next one to stop does).
 */
function removeParent(parent: string): void {
  let runs: string[] = [];
  try {
    runs = readdirSync(parent, { withFileTypes: true }).flatMap((e) => (e.isDirectory() && e.name.startsWith('uid-') ? [join(parent, e.name)] : []));
  } catch {
    // gone already
  }
  removeGroups([...runs, parent]);
}

/** The name of a data directory's step groups (`fleetops-<name>`): the same for every FleetOps started on it. */
export function cgroupsNameFor(dataDir: string): string {
  return createHash('sha256').update(dataDir).digest('hex').slice(0, 12);
}

const CPU_PERIOD_US = 100_000;

function write(path: string, value: string): void {
  writeFileSync(path, value);
}

/**
 * Writes a group's limit files, skipping those that already hold the value: every step run applies its limits, and
 * most steps have the same ones (four cgroup writes per run were 3% of FleetOps' CPU in a fleet update). Only
 * FleetOps (root) can write them, so what it wrote last is what they hold.
 */
function limitWriter(): (path: string, value: string) => void {
  const written = new Map<string, string>();
  return (path, value) => {
    if (written.get(path) === value) return;
    write(path, value);
    written.set(path, value);
  };
}

/** The path of this process's group in a v1 hierarchy (`memory`) or v2 (`''`), from /proc/self/cgroup. */
function ownGroup(controller: string, procSelfCgroup: string): string | undefined {
  for (const line of procSelfCgroup.split('\n')) {
    const [, controllers, path] = line.split(':');
    if (controllers === undefined || path === undefined) continue;
    if (controller === '' ? line.startsWith('0::') : controllers.split(',').includes(controller)) return path;
  }
  return undefined;
}

const OOM_KILL = /^oom_kill (\d+)$/m;

/**
 * `oom_kill` of a group's counters file, as the kills since the last call (see RunCgroup). The file stays open and is
 * read again from its start after each step: one system call instead of an open, a stat, a read and a close (the
 * read after every run was 2% of FleetOps' CPU in a fleet update). One descriptor per run uid ever used: uids are
 * reused (see BwrapRuntime.acquireUser), so as many as runs were ever under way at once.
 */
class OomKills {
  private readonly fd: number;
  private readonly buffer = Buffer.alloc(4096);
  private seen: number;

  constructor(file: string) {
    this.fd = openSync(file, 'r');
    this.seen = this.read();
  }

  private read(): number {
    const n = readSync(this.fd, this.buffer, 0, this.buffer.length, 0);
    return Number(OOM_KILL.exec(this.buffer.toString('latin1', 0, n))?.[1] ?? 0);
  }

  since(): number {
    const now = this.read();
    const added = now - this.seen;
    this.seen = now;
    return added;
  }

  close(): void {
    closeSync(this.fd);
  }
}

/** A run's group as made, with its open counters file (closed with the groups). */
interface MadeGroup {
  group: RunCgroup;
  kills: OomKills;
}

class V1Cgroups implements Cgroups {
  readonly version = 1;
  private readonly dirs: { memory: string; cpu: string; pids: string };
  private readonly made = new Map<number, MadeGroup>();

  constructor(dirs: { memory: string; cpu: string; pids: string }) {
    this.dirs = dirs;
  }

  forUid(uid: number): RunCgroup {
    const known = this.made.get(uid);
    if (known) return known.group;
    const at = (d: string): string => join(d, `uid-${uid}`);
    const memory = at(this.dirs.memory);
    const cpu = at(this.dirs.cpu);
    const pids = at(this.dirs.pids);
    for (const d of [memory, cpu, pids]) {
      mkdirSync(d, { recursive: true });
      for (const f of ['cgroup.procs', 'tasks']) if (existsSync(join(d, f))) chownSync(join(d, f), uid, uid);
    }
    const set = limitWriter();
    const kills = new OomKills(join(memory, 'memory.oom_control'));
    const group: RunCgroup = {
      procs: [memory, cpu, pids].map((d) => join(d, 'cgroup.procs')),
      apply(limits) {
        set(join(memory, 'memory.limit_in_bytes'), limits.memoryBytes ? String(limits.memoryBytes) : '-1');
        set(join(pids, 'pids.max'), limits.pids ? String(limits.pids) : 'max');
        set(join(cpu, 'cpu.cfs_period_us'), String(CPU_PERIOD_US));
        set(join(cpu, 'cpu.cfs_quota_us'), limits.cpuMillis ? String(Math.max(1000, (limits.cpuMillis * CPU_PERIOD_US) / 1000)) : '-1');
      },
      newOomKills: () => kills.since(),
    };
    this.made.set(uid, { group, kills });
    return group;
  }

  close(): void {
    for (const { kills } of this.made.values()) kills.close();
    for (const parent of Object.values(this.dirs)) removeParent(parent);
    this.made.clear();
  }
}

class V2Cgroups implements Cgroups {
  readonly version = 2;
  private readonly parent: string;
  private readonly made = new Map<number, MadeGroup>();

  constructor(parent: string) {
    this.parent = parent;
  }

  forUid(uid: number): RunCgroup {
    const known = this.made.get(uid);
    if (known) return known.group;
    const dir = join(this.parent, `uid-${uid}`);
    mkdirSync(dir, { recursive: true });
    chownSync(join(dir, 'cgroup.procs'), uid, uid);
    const set = limitWriter();
    const kills = new OomKills(join(dir, 'memory.events'));
    const group: RunCgroup = {
      procs: [join(dir, 'cgroup.procs')],
      apply(limits) {
        set(join(dir, 'memory.max'), limits.memoryBytes ? String(limits.memoryBytes) : 'max');
        set(join(dir, 'pids.max'), limits.pids ? String(limits.pids) : 'max');
        set(join(dir, 'cpu.max'), limits.cpuMillis ? `${Math.max(1000, (limits.cpuMillis * CPU_PERIOD_US) / 1000)} ${CPU_PERIOD_US}` : `max ${CPU_PERIOD_US}`);
      },
      newOomKills: () => kills.since(),
    };
    this.made.set(uid, { group, kills });
    return group;
  }

  close(): void {
    for (const { kills } of this.made.values()) kills.close();
    removeParent(this.parent);
    this.made.clear();
  }
}

export interface CgroupsOptions {
  /** Names the parent group: one per FleetOps data directory (`fleetops-<name>`). */
  name: string;
  /** Default /sys/fs/cgroup. */
  root?: string;
  /** This process's /proc/self/cgroup (tests give their own). */
  procSelfCgroup?: string;
}

/**
 * The step cgroups this machine offers to this process, or why not (a sentence for the log): FleetOps must run as root
 * and the hierarchies must be writable.
 */
export function openCgroups(options: CgroupsOptions): Cgroups | string {
  const root = options.root ?? '/sys/fs/cgroup';
  if (process.getuid?.() !== 0) return 'FleetOps does not run as root: steps get no cgroup limits (only the process cap)';
  const self = options.procSelfCgroup ?? readFileSync('/proc/self/cgroup', 'utf8');
  const parentName = `fleetops-${options.name}`;
  try {
    if (existsSync(join(root, 'cgroup.controllers'))) {
      // v2: the groups go beside FleetOps' own (a group with processes cannot also delegate controllers below it).
      const own = join(root, ownGroup('', self) ?? '/');
      // (In the root group, /proc/self/cgroup says `0::/`: `own` is the root with a trailing slash.)
      const base = relative(root, own) === '' ? root : join(own, '..');
      const parent = join(base, parentName);
      mkdirSync(parent, { recursive: true });
      write(join(parent, 'cgroup.subtree_control'), '+memory +pids +cpu');
      return new V2Cgroups(parent);
    }
    const dirs = { memory: '', cpu: '', pids: '' };
    for (const c of ['memory', 'cpu', 'pids'] as const) {
      const mount = join(root, c);
      if (!existsSync(join(mount, 'cgroup.procs'))) return `the cgroup v1 hierarchy ${c} is not mounted at ${mount}: steps get no ${c} limit`;
      dirs[c] = join(mount, ownGroup(c, self) ?? '/', parentName);
      mkdirSync(dirs[c], { recursive: true });
    }
    return new V1Cgroups(dirs);
  } catch (err) {
    return `cannot make step cgroups under ${root}: ${err instanceof Error ? err.message : String(err)}`;
  }
}
