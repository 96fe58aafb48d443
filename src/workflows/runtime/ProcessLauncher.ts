/**
 * Starting the sandbox's processes, behind an interface: in this process (LocalLauncher) or through a small
 * long-lived helper process (HelperLauncher), which keeps fork() — whose cost grows with the forking process's
 * memory — off FleetOps' event loop.
 */
export interface LaunchRequest {
  file: string;
  args: string[];
  /** Run as this user and group (when FleetOps runs as root). */
  uid?: number;
  gid?: number;
  timeoutMs: number;
  /** Output bytes kept (stdout and stderr together); beyond it the head is dropped and the tail kept. */
  maxOutputBytes: number;
}

export interface LaunchResult {
  code: number | null;
  signal: string | null;
  /** Combined stdout and stderr, at most maxOutputBytes (the tail). */
  output: string;
  truncated: boolean;
  timedOut: boolean;
  aborted: boolean;
  durationMs: number;
}

/** The process could not be started at all (missing binary, bad user): no exit code to report. */
export class LaunchError extends Error {
  readonly code: string | undefined;
  constructor(message: string, options?: { cause?: unknown; code?: string }) {
    super(message, options?.cause !== undefined ? { cause: options.cause } : undefined);
    this.name = 'LaunchError';
    this.code = options?.code;
  }
}

export interface ProcessLauncher {
  /**
   * Runs a command to completion in a process group of its own; on timeout, abort or at its end the whole group is
   * killed (nothing it started outlives it). `onOutput` receives output as it is produced.
   */
  run(request: LaunchRequest, options?: { signal?: AbortSignal; onOutput?: (chunk: string) => void }): Promise<LaunchResult>;
}
