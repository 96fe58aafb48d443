/**
 * Runs a command-line tool (skopeo, umoci, tar) to completion without a shell: stdout kept as bytes, stderr as text,
 * killed at its timeout or on abort.
 */
import { spawn as nodeSpawn, type ChildProcess, type SpawnOptions } from 'node:child_process';

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

export function toolRunner(spawn: SpawnFn = nodeSpawn): ToolRunner {
  return (file, args, options) =>
    new Promise((resolve, reject) => {
      const child = spawn(file, args, {
        stdio: ['ignore', 'pipe', 'pipe'],
        ...(options.env ? { env: options.env } : {}),
        ...(options.cwd ? { cwd: options.cwd } : {}),
      });
      const out: Buffer[] = [];
      let stderr = '';
      let timedOut = false;
      child.stdout?.on('data', (d: Buffer) => out.push(d));
      child.stderr?.on('data', (d: Buffer) => {
        if (stderr.length < 64 * 1024) stderr += d.toString('utf8');
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
        resolve({ code, stdout: Buffer.concat(out), stderr, timedOut });
      });
    });
}
