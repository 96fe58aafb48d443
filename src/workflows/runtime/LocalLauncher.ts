/** Starts processes from this process (node's spawn): the launcher used inside the helper, and in tests. */
import { spawn as nodeSpawn, type ChildProcess, type SpawnOptions } from 'node:child_process';
import { LaunchError, type LaunchRequest, type LaunchResult, type ProcessLauncher } from './ProcessLauncher.ts';

export type SpawnFn = (command: string, args: string[], options: SpawnOptions) => ChildProcess;

export interface LocalLauncherOptions {
  spawn?: SpawnFn;
  now?: () => number;
}

export class LocalLauncher implements ProcessLauncher {
  private readonly spawn: SpawnFn;
  private readonly now: () => number;

  constructor(opts: LocalLauncherOptions = {}) {
    this.spawn = opts.spawn ?? nodeSpawn;
    this.now = opts.now ?? (() => performance.now());
  }

  async run(req: LaunchRequest, options: { signal?: AbortSignal; onOutput?: (chunk: string) => void } = {}): Promise<LaunchResult> {
    const started = this.now();
    const user = req.uid !== undefined ? { uid: req.uid, gid: req.gid ?? req.uid } : {};
    const child = this.spawn(req.file, req.args, { stdio: ['ignore', 'pipe', 'pipe'], detached: true, ...user });
    let output = '';
    let truncated = false;
    const onData = (d: Buffer): void => {
      const text = d.toString('utf8');
      options.onOutput?.(text);
      output += text;
      if (output.length > req.maxOutputBytes * 2) {
        output = output.slice(-req.maxOutputBytes);
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
    }, req.timeoutMs);
    const onAbort = (): void => {
      aborted = true;
      kill();
    };
    options.signal?.addEventListener('abort', onAbort, { once: true });
    if (options.signal?.aborted) onAbort();
    try {
      const { code, signal } = await new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve, reject) => {
        child.on('error', (err: NodeJS.ErrnoException) =>
          reject(new LaunchError(`cannot start ${req.file}: ${err.message}`, { cause: err, ...(err.code ? { code: err.code } : {}) })),
        );
        child.on('close', (c, s) => resolve({ code: c, signal: s }));
      });
      if (output.length > req.maxOutputBytes) {
        output = output.slice(-req.maxOutputBytes);
        truncated = true;
      }
      return { code, signal, output, truncated, timedOut, aborted, durationMs: this.now() - started };
    } finally {
      clearTimeout(timer);
      options.signal?.removeEventListener('abort', onAbort);
      kill(); // anything left in the group (a process that daemonised)
    }
  }
}
