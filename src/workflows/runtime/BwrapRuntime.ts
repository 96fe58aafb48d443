/**
 * Runs a step's command as a host process in a bubblewrap sandbox: the host file system read-only, the data
 * directory (tokens, store) hidden under an empty tmpfs, a private /tmp, /kratix/{input,output,metadata} bound in
 * (input read-only), new pid/ipc/uts/user namespaces and no network unless the policy allows it. A pids cgroup caps
 * the process count (fork bombs) when this process may create cgroups; otherwise RLIMIT_NPROC does. On timeout or
 * abort the whole process group is killed, and with it the sandbox's pid namespace.
 */
import { spawn as nodeSpawn, type ChildProcess, type SpawnOptions } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { accessSync, constants, mkdirSync, readdirSync, readlinkSync, rmdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { StepOutcome, StepRuntime, StepSpec } from '../StepRuntime.ts';

export type SpawnFn = (command: string, args: string[], options: SpawnOptions) => ChildProcess;

export interface BwrapRuntimeOptions {
  bwrapPath?: string;
  /** Folders made invisible to steps (the data directory at least). */
  hiddenPaths: string[];
  /** Extra read-only binds, host → sandbox path (e.g. the FleetOps install at /fleetops). */
  binds?: { host: string; sandbox: string }[];
  /** Folders put first on the step's PATH (e.g. the Node 24 that runs FleetOps). */
  pathPrefix?: string[];
  /** Most processes a step may have at once. */
  maxProcesses?: number;
  /** Parent of per-step pids cgroups; undefined to detect (/sys/fs/cgroup/pids on cgroup v1). */
  cgroupRoot?: string | null;
  spawn?: SpawnFn;
  now?: () => number;
}

const BASE_PATH = '/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin';

export class BwrapRuntime implements StepRuntime {
  readonly name = 'bwrap';
  private readonly bwrap: string;
  private readonly spawn: SpawnFn;
  private readonly now: () => number;
  private readonly cgroupRoot: string | null;
  private readonly opts: BwrapRuntimeOptions;
  private rootArgs: string[] | undefined;

  constructor(opts: BwrapRuntimeOptions) {
    this.opts = opts;
    this.bwrap = opts.bwrapPath ?? 'bwrap';
    this.spawn = opts.spawn ?? nodeSpawn;
    this.now = opts.now ?? (() => performance.now());
    this.cgroupRoot = opts.cgroupRoot === undefined ? detectCgroupRoot() : opts.cgroupRoot;
  }

  async check(): Promise<string | undefined> {
    const outcome = await new Promise<{ code: number | null; err?: Error; stderr: string }>((resolve) => {
      let stderr = '';
      const child = this.spawn(this.bwrap, [...this.baseArgs(false), ...BwrapRuntime.SEAL, 'true'], { stdio: ['ignore', 'ignore', 'pipe'] });
      child.stderr?.on('data', (d: Buffer) => (stderr += d.toString()));
      child.on('error', (err) => resolve({ code: null, err, stderr }));
      child.on('close', (code) => resolve({ code, stderr }));
    });
    if (outcome.err) return `bubblewrap (bwrap) is not installed or not on PATH (${outcome.err.message}); install it: apt-get install bubblewrap`;
    if (outcome.code !== 0) return `bubblewrap cannot create a sandbox here: ${outcome.stderr.trim() || `exit code ${outcome.code}`}; user namespaces may be disabled (sysctl kernel.unprivileged_userns_clone=1)`;
    return undefined;
  }

  /**
   * The host's top-level folders bound read-only onto the sandbox's own root (a tmpfs made read-only at the end),
   * rather than the host root itself: the sandbox can then have folders the host lacks (/kratix, /fleetops).
   */
  private hostRootArgs(): string[] {
    if (this.rootArgs) return this.rootArgs;
    const args: string[] = [];
    for (const entry of readdirSync('/', { withFileTypes: true })) {
      if (['proc', 'dev', 'tmp', 'kratix', 'fleetops'].includes(entry.name)) continue;
      const path = `/${entry.name}`;
      if (entry.isSymbolicLink()) args.push('--symlink', readlinkSync(path), path);
      else if (entry.isDirectory()) args.push('--ro-bind', path, path);
    }
    this.rootArgs = args;
    return args;
  }

  private baseArgs(network: boolean): string[] {
    const args = [...this.hostRootArgs(), '--dev', '/dev', '--proc', '/proc', '--tmpfs', '/tmp'];
    for (const p of this.opts.hiddenPaths) args.push('--tmpfs', p);
    for (const b of this.opts.binds ?? []) args.push('--ro-bind', b.host, b.sandbox);
    args.push('--unshare-user', '--unshare-pid', '--unshare-ipc', '--unshare-uts', '--unshare-cgroup-try', '--hostname', 'kratix-step');
    if (!network) args.push('--unshare-net');
    args.push('--die-with-parent', '--new-session', '--cap-drop', 'ALL', '--clearenv');
    return args;
  }

  private static readonly SEAL = ['--remount-ro', '/'];

  private argv(step: StepSpec): string[] {
    const args = this.baseArgs(step.network);
    args.push('--dir', '/kratix', '--ro-bind', step.dirs.input, '/kratix/input', '--bind', step.dirs.output, '/kratix/output', '--bind', step.dirs.metadata, '/kratix/metadata', '--chdir', '/kratix', ...BwrapRuntime.SEAL);
    const env: Record<string, string> = { HOME: '/tmp', TMPDIR: '/tmp', ...step.env, PATH: [...(this.opts.pathPrefix ?? []), step.env.PATH ?? BASE_PATH].join(':') };
    for (const [k, v] of Object.entries(env)) args.push('--setenv', k, v);
    args.push('--', ...step.command, ...step.args);
    return args;
  }

  async run(step: StepSpec, options: { signal?: AbortSignal; onLog?: (chunk: string) => void } = {}): Promise<StepOutcome> {
    if (!step.command.length) {
      throw new Error(`step ${step.name} has no command: the bwrap runtime runs host commands and cannot run image ${step.image || '(none)'} itself; give the step a command (e.g. ["node", "step.ts"])`);
    }
    const max = this.opts.maxProcesses ?? 256;
    const cgroup = this.makeCgroup(max);
    // The shell puts itself in the cgroup (or lowers its process limit) before exec'ing bwrap, so nothing the
    // step starts escapes the cap, not even during the first instructions.
    const limit = cgroup ? `echo $$ > "$1/cgroup.procs" || exit 125` : `ulimit -u ${max} || exit 125`;
    const argv = ['-c', `${limit}; shift; exec "$@"`, 'fleetops-step', cgroup ?? '-', this.bwrap, ...this.argv(step)];
    const started = this.now();
    const child = this.spawn('/bin/sh', argv, { stdio: ['ignore', 'pipe', 'pipe'], detached: true });
    let log = '';
    let truncated = false;
    const onData = (d: Buffer): void => {
      const text = d.toString('utf8');
      options.onLog?.(text);
      log += text;
      if (log.length > step.maxLogBytes * 2) {
        log = log.slice(-step.maxLogBytes);
        truncated = true;
      }
    };
    child.stdout?.on('data', onData);
    child.stderr?.on('data', onData);
    let timedOut = false;
    let aborted = false;
    const kill = (): void => {
      try {
        if (child.pid) process.kill(-child.pid, 'SIGKILL');
      } catch {
        // already gone
      }
    };
    const timer = setTimeout(() => {
      timedOut = true;
      kill();
    }, step.timeoutMs);
    const onAbort = (): void => {
      aborted = true;
      kill();
    };
    options.signal?.addEventListener('abort', onAbort, { once: true });
    if (options.signal?.aborted) onAbort();
    try {
      const { code, signal } = await new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve, reject) => {
        child.on('error', reject);
        child.on('close', (c, s) => resolve({ code: c, signal: s }));
      });
      if (log.length > step.maxLogBytes) {
        log = log.slice(-step.maxLogBytes);
        truncated = true;
      }
      return { exitCode: code, signal, timedOut, aborted, durationMs: this.now() - started, log, logTruncated: truncated };
    } finally {
      clearTimeout(timer);
      options.signal?.removeEventListener('abort', onAbort);
      kill(); // anything left in the group (a step that daemonised)
      if (cgroup) await removeCgroup(cgroup);
    }
  }

  private makeCgroup(max: number): string | undefined {
    if (!this.cgroupRoot) return undefined;
    const dir = join(this.cgroupRoot, `step-${randomBytes(6).toString('hex')}`);
    try {
      mkdirSync(dir);
      writeFileSync(join(dir, 'pids.max'), String(max));
      return dir;
    } catch {
      return undefined;
    }
  }
}

async function removeCgroup(dir: string): Promise<void> {
  // The pid namespace dies with its init, but the kernel reaps asynchronously: rmdir fails while tasks remain.
  for (let i = 0; i < 100; i++) {
    try {
      rmdirSync(dir);
      return;
    } catch {
      await new Promise((r) => setTimeout(r, 5));
    }
  }
}

/** A writable pids cgroup parent for FleetOps steps, or null (then RLIMIT_NPROC is used). */
function detectCgroupRoot(): string | null {
  const candidates = ['/sys/fs/cgroup/pids'];
  for (const base of candidates) {
    try {
      accessSync(join(base, 'cgroup.procs'), constants.W_OK);
      const root = join(base, 'fleetops');
      mkdirSync(root, { recursive: true });
      return root;
    } catch {
      // not available
    }
  }
  return null;
}
