/**
 * Runs a step in a bubblewrap sandbox: in its image's root file system (read-only; the step user must be able to reach it
 * by path, see images/cacheDir.ts), or for host-tool pipelines on the host file system
 * read-only with the data directory (tokens, store) hidden under an empty tmpfs. Either way a private /tmp,
 * /kratix/{input,output,metadata} bound in (input read-only), new pid/ipc/uts/user namespaces and no network unless
 * the policy allows it. Run by root, steps
 * run as an unprivileged user (nobody), so RLIMIT_NPROC caps their processes (fork bombs) and files only root may
 * read stay closed. (A pids cgroup per step was tried: attaching a process to a cgroup v1 costs ~15 ms, more than the
 * sandbox itself.) On timeout or abort the whole process group is killed, and with it the sandbox's pid namespace.
 */
import { readdirSync, readlinkSync, statSync } from 'node:fs';
import type { StepOutcome, StepRoot, StepRuntime, StepSpec, StepUser } from '../StepRuntime.ts';
import { LocalLauncher } from './LocalLauncher.ts';
import { LaunchError, type ProcessLauncher } from './ProcessLauncher.ts';
import type { RelayBinaries } from './relayBinaries.ts';
import type { Cgroups, StepLimits } from './cgroups.ts';
import { isStaticExecutable } from '../../lib/staticBusybox.ts';

export interface BwrapRuntimeOptions {
  bwrapPath?: string;
  /** Folders made invisible to steps (the data directory at least). */
  hiddenPaths: string[];
  /** Extra read-only binds, host → sandbox path (e.g. the FleetOps install at /fleetops). */
  binds?: { host: string; sandbox: string }[];
  /** Folders put first on the step's PATH (e.g. the Node 24 that runs FleetOps). */
  pathPrefix?: string[];
  /**
   * Most processes steps may have at once. Run as root, steps share one unprivileged uid, so this caps all running
   * steps together; otherwise it is added to the user's own process count at start.
   */
  maxProcesses?: number;
  /** uid/gid steps run as when no run user is given; default 65534 (nobody) when FleetOps runs as root, else FleetOps' own. */
  stepUser?: { uid: number; gid: number } | null;
  /**
   * Run as root, each run gets a uid of its own from this range (default 2,100,000,000 and up, 4,096 of them): the
   * process limit then counts per run, and one run's files are closed to the others.
   */
  runUids?: { first: number; count: number };
  /** Size of the step's private /tmp (in memory); default 256 MiB. */
  tmpBytes?: number;
  /** Largest file a step may write anywhere (RLIMIT_FSIZE); default 64 MiB. */
  maxFileBytes?: number;
  /** Starts the sandbox processes; default: from this process (FleetOps passes its helper process). */
  launcher?: ProcessLauncher;
  /** Node, loader and libraries for the API relay of steps with `apiRelay` (see relayBinaries.ts). */
  relay?: RelayBinaries;
  /** Control groups for each run's uid (memory, CPU and process limits); without them only the process cap holds. */
  cgroups?: Cgroups;
  /** Limits of a step whose container names none (see DEFAULT_STEP_LIMITS). */
  defaultLimits?: StepLimits;
  /** The shell each step starts in, as a command line before `-c` (default: stepShell()). */
  shell?: string[];
}

/** What a step may use when its container's `resources.limits` say nothing: 2 GiB, no CPU quota, 1,024 processes. */
export const DEFAULT_STEP_LIMITS: Required<Pick<StepLimits, 'memoryBytes' | 'pids'>> = { memoryBytes: 2 * 1024 ** 3, pids: 1024 };

/** Where the relay's pieces appear in a sandbox: its private /tmp, so any image can take the binds. */
const RELAY_DIR = '/tmp/.fleetops-relay';

/** The uids runs get when FleetOps runs as root: far above any real user's. */
const RUN_UIDS = { first: 2_100_000_000, count: 4096 };

/** Who steps run as: nobody when FleetOps runs as root, else FleetOps' own user (null). */
export function defaultStepUser(): { uid: number; gid: number } | null {
  return process.getuid?.() === 0 ? { uid: 65534, gid: 65534 } : null;
}

/**
 * The shell each step starts in (it joins the run's control groups, lowers its limits and execs bwrap): the system's
 * static busybox when it has one that every user may run, else /bin/sh. A static executable maps no loader and no
 * libc: the shell's own CPU per step (perf stat, 1,000 runs of the script before `exec`) is ~0.43 ms for busybox
 * against ~0.55 ms for dash, ~1.5% of a one-step run's machine CPU.
 */
export function stepShell(candidates: readonly string[] = ['/bin/busybox', '/usr/bin/busybox']): string[] {
  for (const busybox of candidates) {
    try {
      if ((statSync(busybox).mode & 0o001) !== 0 && isStaticExecutable(busybox)) return [busybox, 'sh'];
    } catch {
      // not there
    }
  }
  return ['/bin/sh'];
}

const BASE_PATH = '/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin';

export class BwrapRuntime implements StepRuntime {
  readonly name = 'bwrap';
  private readonly bwrap: string;
  private readonly launcher: ProcessLauncher;
  private readonly user: { uid: number; gid: number } | null;
  private readonly processLimit: number;
  private readonly opts: BwrapRuntimeOptions;
  private readonly shell: string[];
  private rootArgs: string[] | undefined;
  private readonly freeUids: number[] = [];
  private nextUid: number;

  constructor(opts: BwrapRuntimeOptions) {
    this.opts = opts;
    this.bwrap = opts.bwrapPath ?? 'bwrap';
    this.launcher = opts.launcher ?? new LocalLauncher();
    this.shell = opts.shell ?? stepShell();
    this.user = opts.stepUser === undefined ? defaultStepUser() : opts.stepUser;
    this.nextUid = (opts.runUids ?? RUN_UIDS).first;
    const max = opts.maxProcesses ?? 1024;
    this.processLimit = this.user ? max : max + countProcessesOf(process.getuid?.() ?? 0);
  }

  acquireUser(): StepUser | undefined {
    if (!this.user) return undefined;
    const range = this.opts.runUids ?? RUN_UIDS;
    let uid = this.freeUids.pop();
    if (uid === undefined) {
      if (this.nextUid >= range.first + range.count) return { ...this.user, release: () => undefined }; // all taken: the shared user
      uid = this.nextUid++;
    }
    let released = false;
    return {
      uid,
      gid: uid,
      release: () => {
        if (released) return;
        released = true;
        this.freeUids.push(uid);
      },
    };
  }

  async check(): Promise<string | undefined> {
    try {
      const r = await this.launcher.run({
        file: this.bwrap,
        args: [...this.baseArgs(false), ...BwrapRuntime.SEAL, 'true'],
        ...(this.user ?? {}),
        timeoutMs: 30_000,
        maxOutputBytes: 4096,
      });
      if (r.code !== 0)
        return `bubblewrap cannot create a sandbox here: ${r.output.trim() || `exit code ${String(r.code)}`}; user namespaces may be disabled (sysctl kernel.unprivileged_userns_clone=1)`;
      return undefined;
    } catch (err) {
      if (err instanceof LaunchError) return `bubblewrap (bwrap) is not installed or not on PATH (${err.message}); install it: apt-get install bubblewrap`;
      throw err;
    }
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
    const args = [...this.hostRootArgs(), '--dev', '/dev', '--proc', '/proc', ...this.tmpArgs()];
    for (const p of this.opts.hiddenPaths) args.push('--tmpfs', p);
    for (const b of this.opts.binds ?? []) args.push('--ro-bind', b.host, b.sandbox);
    // PATH folders the private /tmp would hide (FleetOps installed under /tmp, as in a CI clone): bound back in.
    for (const p of this.opts.pathPrefix ?? []) if (p === '/tmp' || p.startsWith('/tmp/')) args.push('--ro-bind', p, p);
    return [...args, ...this.namespaceArgs(network)];
  }

  /** A private /tmp in memory, capped: a step cannot fill the machine's RAM through it. */
  private tmpArgs(): string[] {
    return ['--size', String(this.opts.tmpBytes ?? 256 * 1024 * 1024), '--tmpfs', '/tmp'];
  }

  private namespaceArgs(network: boolean): string[] {
    const args = ['--unshare-user', '--unshare-pid', '--unshare-ipc', '--unshare-uts', '--unshare-cgroup-try', '--hostname', 'kratix-step'];
    if (!network) args.push('--unshare-net');
    args.push('--die-with-parent', '--new-session', '--cap-drop', 'ALL', '--clearenv');
    return args;
  }

  private static readonly SEAL = ['--remount-ro', '/'];

  private kratixBinds(step: StepSpec): string[] {
    const args = [
      '--ro-bind',
      step.dirs.input,
      '/kratix/input',
      '--bind',
      step.dirs.output,
      '/kratix/output',
      '--bind',
      step.dirs.metadata,
      '/kratix/metadata',
    ];
    for (const m of step.mounts ?? []) args.push(m.readOnly ? '--ro-bind' : '--bind', m.host, m.sandbox);
    return args;
  }

  private argv(step: StepSpec): string[] {
    const args = step.root ? this.imageArgs(step, step.root) : this.hostArgs(step);
    args.push(...this.relayBinds(step), '--', ...this.relayCommand(step), ...step.command, ...step.args);
    return args;
  }

  private relayBinds(step: StepSpec): string[] {
    const relay = this.opts.relay;
    if (!step.apiRelay || !relay) return [];
    const args = [
      '--ro-bind',
      relay.node,
      `${RELAY_DIR}/node`,
      '--ro-bind',
      relay.loader,
      `${RELAY_DIR}/ld.so`,
      '--ro-bind',
      relay.script,
      `${RELAY_DIR}/relay.ts`,
    ];
    relay.libraryDirs.forEach((d, i) => args.push('--ro-bind', d, `${RELAY_DIR}/lib${i}`));
    args.push('--bind', step.apiRelay.socket, `${RELAY_DIR}/api.sock`);
    return args;
  }

  /** The relay in front of the step's command: it listens where the step's in-cluster settings point. */
  private relayCommand(step: StepSpec): string[] {
    const relay = this.opts.relay;
    if (!step.apiRelay) return [];
    if (!relay) throw new Error(`step ${step.name} needs the API relay, and this machine has no loader for it (ldd found none)`);
    const libs = relay.libraryDirs.map((_, i) => `${RELAY_DIR}/lib${i}`).join(':');
    return [
      `${RELAY_DIR}/ld.so`,
      '--library-path',
      libs,
      `${RELAY_DIR}/node`,
      `${RELAY_DIR}/relay.ts`,
      `${RELAY_DIR}/api.sock`,
      String(step.apiRelay.port),
      '--',
    ];
  }

  /** The host's root, read-only: for pipelines that ask for host tools (`fleetops.dev/runtime: host`). */
  private hostArgs(step: StepSpec): string[] {
    const args = this.baseArgs(step.network);
    args.push('--dir', '/kratix', ...this.kratixBinds(step), '--chdir', '/kratix', ...BwrapRuntime.SEAL);
    const env: Record<string, string> = {
      HOME: '/tmp',
      TMPDIR: '/tmp',
      ...step.env,
      PATH: [...(this.opts.pathPrefix ?? []), step.env.PATH ?? BASE_PATH].join(':'),
    };
    for (const [k, v] of Object.entries(env)) args.push('--setenv', k, v);
    return args;
  }

  /**
   * The image's root as `/`, read-only; its mount points were made when it was unpacked. The step runs as the image's
   * user inside its user namespace (root there has no capabilities).
   */
  private imageArgs(step: StepSpec, root: StepRoot): string[] {
    const args = ['--ro-bind', root.path, '/', '--dev', '/dev', '--proc', '/proc', ...this.tmpArgs(), ...this.namespaceArgs(step.network)];
    args.push('--uid', String(root.uid), '--gid', String(root.gid), ...this.kratixBinds(step));
    // Name resolution for steps with network, as a container runtime provides it.
    if (step.network) args.push('--ro-bind-try', '/etc/resolv.conf', '/etc/resolv.conf', '--ro-bind-try', '/etc/hosts', '/etc/hosts');
    args.push('--chdir', root.workingDir || '/');
    const env: Record<string, string> = { HOME: root.uid === 0 ? '/root' : '/', ...step.env, PATH: step.env.PATH ?? BASE_PATH };
    for (const [k, v] of Object.entries(env)) args.push('--setenv', k, v);
    return args;
  }

  async run(step: StepSpec, options: { signal?: AbortSignal; onLog?: (chunk: string) => void } = {}): Promise<StepOutcome> {
    if (!step.command.length)
      throw new Error(`step ${step.name} has no command to run: the image ${step.image || '(none)'} has no entrypoint or cmd; give the container a command`);
    // The shell lowers the process limit before exec'ing bwrap, so nothing the step starts escapes the cap, not even
    // its first instructions (dash calls it -p, bash -u).
    // And no single file bigger than maxFileBytes (in 512-byte blocks): the writer gets SIGXFSZ (exit 153).
    const blocks = Math.ceil((this.opts.maxFileBytes ?? 64 * 1024 * 1024) / 512);
    const limit = `{ ulimit -p ${this.processLimit} 2>/dev/null || ulimit -u ${this.processLimit}; } && ulimit -f ${blocks} || exit 125`;
    const user = step.user ?? this.user;
    // Only a run's own uid gets a group: the shared fallback user's would be shared by every run that has it.
    const group = this.opts.cgroups && step.user && step.user.uid !== this.user?.uid ? this.opts.cgroups.forUid(step.user.uid) : undefined;
    let join = '';
    if (group) {
      group.apply({ ...this.defaultLimits(), ...step.limits });
      // The step's first process joins its run's groups before it starts the sandbox: all it starts is inside.
      join = `${group.procs.map((f) => `echo $$ > '${f}'`).join(' && ')} || { echo "fleetops: cannot join the step's cgroup" >&2; exit 125; }; `;
    }
    const [shell = '/bin/sh', ...shellArgs] = this.shell;
    const argv = [...shellArgs, '-c', `${join}${limit}; exec "$@"`, 'fleetops-step', this.bwrap, ...this.argv(step)];
    const r = await this.launcher.run(
      { file: shell, args: argv, ...(user ?? {}), timeoutMs: step.timeoutMs, maxOutputBytes: step.maxLogBytes },
      { ...(options.signal ? { signal: options.signal } : {}), ...(options.onLog ? { onOutput: options.onLog } : {}) },
    );
    const oomKilled = !!group && group.newOomKills() > 0;
    return {
      exitCode: r.code,
      signal: r.signal,
      timedOut: r.timedOut,
      aborted: r.aborted,
      durationMs: r.durationMs,
      log: r.output,
      logTruncated: r.truncated,
      ...(oomKilled ? { oomKilled } : {}),
    };
  }

  private defaultLimits(): StepLimits {
    return this.opts.defaultLimits ?? { ...DEFAULT_STEP_LIMITS, pids: Math.min(DEFAULT_STEP_LIMITS.pids, this.processLimit) };
  }
}

/** Processes owned by `uid` now (the base a per-user RLIMIT_NPROC counts from). */
function countProcessesOf(uid: number): number {
  let n = 0;
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      if (statSync(`/proc/${entry}`).uid === uid) n++;
    } catch {
      // exited meanwhile
    }
  }
  return n;
}
