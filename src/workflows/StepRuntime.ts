/**
 * What the pipeline runner needs from a runtime: run one step with the Kratix folders bound in, and say whether it
 * can run at all on this machine. The default runtime runs the step's command as a host process in a bubblewrap
 * sandbox; a runtime for container images (OCI) can implement the same interface later.
 */
import type { StepLimits } from './runtime/cgroups.ts';

export interface StepSpec {
  /** Step (container) name, for logs. */
  name: string;
  /** Image the Promise names; recorded and shown. */
  image: string;
  /** The program and its arguments (the image's entrypoint and cmd already applied). */
  command: string[];
  args: string[];
  /** The image's root file system as `/`; without it the host's root (read-only) is the step's. */
  root?: StepRoot;
  /** The user the step runs as (from acquireUser); default the runtime's own choice. */
  user?: { uid: number; gid: number };
  /** Volumes: host folders or files bound at sandbox paths (which exist in the root). */
  mounts?: { host: string; sandbox: string; readOnly: boolean }[];
  env: Record<string, string>;
  /** Host folders bound at /kratix/input (read-only), /kratix/output and /kratix/metadata. */
  dirs: { input: string; output: string; metadata: string };
  network: boolean;
  /**
   * The platform API reachable at 127.0.0.1:<port> inside the sandbox, relayed to this Unix socket on the host
   * (pipelines with `spec.rbac`); nothing else of the network is.
   */
  apiRelay?: { socket: string; port: number };
  timeoutMs: number;
  /** The container's `resources.limits` (the runtime's defaults fill what it leaves out). */
  limits?: StepLimits;
  /** Log bytes kept; beyond it the head is dropped and the tail kept. */
  maxLogBytes: number;
}

export interface StepRoot {
  /** The unpacked root file system on the host. */
  path: string;
  /** User and group the step runs as inside the sandbox (the image's User). */
  uid: number;
  gid: number;
  workingDir: string;
}

export interface StepOutcome {
  exitCode: number | null;
  /** Signal that ended the step, if any. */
  signal: string | null;
  timedOut: boolean;
  aborted: boolean;
  durationMs: number;
  /** Combined stdout and stderr, at most maxLogBytes (the tail). */
  log: string;
  logTruncated: boolean;
  /** Stopped by the kernel for using more memory than its limit. */
  oomKilled?: boolean;
}

export interface StepUser {
  uid: number;
  gid: number;
  release(): void;
}

export interface StepRuntime {
  readonly name: string;
  /**
   * The user a run's steps run as, for the whole run: its workspace is made theirs. A runtime that gives each run a
   * user of its own (so one run's processes and files cannot touch another's) hands one out here; undefined means
   * steps run as this process's user.
   */
  acquireUser?(): StepUser | undefined;
  /** Undefined when the runtime can run steps here; otherwise what is missing and how to fix it. */
  check(): Promise<string | undefined>;
  /** `onLog` receives output as it is produced (for following logs). */
  run(step: StepSpec, options: { signal?: AbortSignal; onLog?: (chunk: string) => void }): Promise<StepOutcome>;
}
