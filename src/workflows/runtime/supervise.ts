/**
 * What every launcher does with a process once it has started it: its output kept (the tail past the cap) and passed
 * on, its time limit, an abort, and at its end the whole process group killed (nothing it started outlives it).
 */
import type { LaunchRequest, LaunchResult } from './ProcessLauncher.ts';

/** A process a launcher has started in a process group of its own. */
export interface StartedProcess {
  /** The process group's id (its leader's pid); undefined if it never started. */
  readonly pid: number | undefined;
  /** Registers the listener of its output (stdout and stderr together), called before any output is read. */
  onOutput(listener: (chunk: string) => void): void;
  /** Its exit, once its output is all read; rejects with a LaunchError when it could not start. */
  readonly exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
}

export interface SuperviseOptions {
  signal?: AbortSignal;
  onOutput?: (chunk: string) => void;
  now: () => number;
  /** When the launcher was asked (durationMs counts from it). */
  started: number;
}

/** Kills a process group, if there is one left. */
export function killGroup(pid: number | undefined): void {
  try {
    if (pid) process.kill(-pid, 'SIGKILL');
  } catch {
    // already gone
  }
}

export async function supervise(req: LaunchRequest, proc: StartedProcess, options: SuperviseOptions): Promise<LaunchResult> {
  let output = '';
  let truncated = false;
  proc.onOutput((text) => {
    options.onOutput?.(text);
    output += text;
    if (output.length > req.maxOutputBytes * 2) {
      output = output.slice(-req.maxOutputBytes);
      truncated = true;
    }
  });
  let timedOut = false;
  let aborted = false;
  const timer = setTimeout(() => {
    timedOut = true;
    killGroup(proc.pid);
  }, req.timeoutMs);
  const onAbort = (): void => {
    aborted = true;
    killGroup(proc.pid);
  };
  options.signal?.addEventListener('abort', onAbort, { once: true });
  if (options.signal?.aborted) onAbort();
  try {
    const { code, signal } = await proc.exited;
    if (output.length > req.maxOutputBytes) {
      output = output.slice(-req.maxOutputBytes);
      truncated = true;
    }
    return { code, signal, output, truncated, timedOut, aborted, durationMs: options.now() - options.started };
  } finally {
    clearTimeout(timer);
    options.signal?.removeEventListener('abort', onAbort);
    killGroup(proc.pid); // anything left in the group (a process that daemonised)
  }
}
