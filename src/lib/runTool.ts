/**
 * Runs a command-line tool (git, skopeo, umoci, tar) to completion without a shell: stdin from a buffer if given,
 * stdout kept as bytes, the tail of stderr as text (where tools say what went wrong), killed at its timeout or on abort.
 */
import { spawn as nodeSpawn, type ChildProcess, type SpawnOptions } from 'node:child_process';
import { existsSync } from 'node:fs';

export interface ToolResult {
  code: number | null;
  stdout: Buffer;
  stderr: string;
  timedOut: boolean;
}

export interface ToolOptions {
  env?: Record<string, string | undefined>;
  cwd?: string;
  timeoutMs: number;
  signal?: AbortSignal;
  /** Written to the tool's stdin (else stdin is empty). */
  input?: Buffer;
}

export type ToolRunner = (file: string, args: string[], options: ToolOptions) => Promise<ToolResult>;

export type SpawnFn = (command: string, args: string[], options: SpawnOptions) => ChildProcess;

/** The tool is missing or could not start (no exit code). */
export class ToolMissingError extends Error {
  constructor(file: string, cause: Error) {
    super(`cannot run ${file} (${cause.message})`, { cause });
    this.name = 'ToolMissingError';
  }
}

/**
 * Where util-linux's setpriv is, a tool is started through it with a parent-death signal: if FleetOps dies (even by
 * kill -9) the kernel kills the tool too, so no skopeo or umoci keeps working for nobody.
 */
const SETPRIV = ['/usr/bin/setpriv', '/bin/setpriv'].find((p) => existsSync(p));

export function toolRunner(spawn: SpawnFn = nodeSpawn): ToolRunner {
  return (file, args, options) =>
    new Promise((resolve, reject) => {
      const [command, argv] = SETPRIV && spawn === nodeSpawn ? [SETPRIV, ['--pdeathsig', 'KILL', '--', file, ...args]] : [file, args];
      const child = spawn(command, argv, {
        stdio: ['pipe', 'pipe', 'pipe'],
        ...(options.env ? { env: options.env } : {}),
        ...(options.cwd ? { cwd: options.cwd } : {}),
      });
      const out: Buffer[] = [];
      let stderr = '';
      let timedOut = false;
      child.stdout?.on('data', (d: Buffer) => out.push(d));
      child.stderr?.on('data', (d: Buffer) => {
        stderr += d.toString('utf8');
        if (stderr.length > 128 * 1024) stderr = stderr.slice(-64 * 1024);
      });
      const kill = (): void => {
        child.kill('SIGKILL');
      };
      const timer = setTimeout(() => {
        timedOut = true;
        kill();
      }, options.timeoutMs);
      options.signal?.addEventListener('abort', kill, { once: true });
      const done = (): void => {
        clearTimeout(timer);
        options.signal?.removeEventListener('abort', kill);
      };
      child.on('error', (err) => {
        done();
        reject(new ToolMissingError(file, err));
      });
      child.on('close', (code) => {
        done();
        // setpriv could not start the tool: as if it had not started at all.
        const failedExec = command === SETPRIV && code === 127 && /^setpriv: failed to execute/m.exec(stderr);
        if (failedExec) reject(new ToolMissingError(file, new Error(stderr.trim())));
        else resolve({ code, stdout: Buffer.concat(out), stderr, timedOut });
      });
      child.stdin?.on('error', () => undefined); // a tool that exits without reading its input
      child.stdin?.end(options.input);
    });
}
