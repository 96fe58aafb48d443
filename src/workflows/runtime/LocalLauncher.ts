/** Starts processes from this process (node's spawn): the launcher used inside the helper, and in tests. */
import { spawn as nodeSpawn, type ChildProcess, type SpawnOptions } from 'node:child_process';
import { LaunchError, type LaunchRequest, type LaunchResult, type ProcessLauncher } from './ProcessLauncher.ts';
import { supervise } from './supervise.ts';

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
    const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve, reject) => {
      child.on('error', (err: NodeJS.ErrnoException) =>
        reject(new LaunchError(`cannot start ${req.file}: ${err.message}`, { cause: err, ...(err.code ? { code: err.code } : {}) })),
      );
      child.on('close', (code, signal) => resolve({ code, signal }));
    });
    const proc = {
      pid: child.pid,
      onOutput(listener: (chunk: string) => void): void {
        const onData = (d: Buffer): void => listener(d.toString('utf8'));
        child.stdout?.on('data', onData);
        child.stderr?.on('data', onData);
      },
      exited,
    };
    return supervise(req, proc, { ...options, now: this.now, started });
  }
}
