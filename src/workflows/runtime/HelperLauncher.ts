/**
 * Starts processes through a helper process (launcherHelper.ts) over an IPC channel. Forked on first use and again
 * if it dies (its running requests then fail with a LaunchError); `stop()` ends it and everything it runs.
 */
import { fork as nodeFork, type ChildProcess, type ForkOptions } from 'node:child_process';
import { once } from 'node:events';
import type { Logger } from 'pino';
import { LaunchError, type LaunchRequest, type LaunchResult, type ProcessLauncher } from './ProcessLauncher.ts';
import { ToolMissingError, type ToolRunner } from '../../lib/runTool.ts';

/** A tool run as the helper carries it: stdin and stdout as base64 (the channel is JSON). */
export interface HelperToolRequest {
  file: string;
  args: string[];
  env?: Record<string, string | undefined>;
  cwd?: string;
  timeoutMs: number;
  input?: string;
}

export type HelperRequest =
  { t: 'run'; id: number; req: LaunchRequest; stream: boolean } | { t: 'tool'; id: number; req: HelperToolRequest } | { t: 'abort'; id: number };
export type HelperReply =
  | { t: 'out'; id: number; chunk: string }
  | { t: 'done'; id: number; result: LaunchResult }
  | { t: 'tooldone'; id: number; code: number | null; stdout: string; stderr: string; timedOut: boolean }
  | { t: 'fail'; id: number; message: string; code?: string };

/** The code of a helper's failure when the tool asked for could not be started (toolRunner's ToolMissingError). */
export const TOOL_MISSING = 'FLEETOPS_TOOL_MISSING';

export type ForkFn = (module: string, args: string[], options: ForkOptions) => ChildProcess;

export interface HelperLauncherOptions {
  logger?: Logger;
  fork?: ForkFn;
}

interface Pending {
  resolve(r: Extract<HelperReply, { t: 'done' | 'tooldone' }>): void;
  reject(e: Error): void;
  onOutput: ((chunk: string) => void) | undefined;
}

// The same extension as this module: .ts from the sources, .js from the build (dist/).
const HELPER = new URL(`./launcherHelper${import.meta.url.slice(import.meta.url.lastIndexOf('.'))}`, import.meta.url).pathname;

export class HelperLauncher implements ProcessLauncher {
  private readonly opts: HelperLauncherOptions;
  private child: ChildProcess | undefined;
  private readonly pending = new Map<number, Pending>();
  private nextId = 1;
  private stopped = false;

  constructor(opts: HelperLauncherOptions = {}) {
    this.opts = opts;
  }

  private helper(): ChildProcess {
    if (this.child) return this.child;
    // No inherited flags (profilers, test runner options): the helper is plain Node running one module, with a young
    // generation of 1 MiB. Every process it starts is first a fork of it, which copies its page tables and mappings,
    // and the exec that follows tears the copy down: the default young generation grew its memory from 45 to 100 MiB
    // and its mappings from 200 to 700 over a fleet update, and each run paid for them twice. What it allocates per
    // run (a message, an output) dies young, so scavenges of 1 MiB are cheap and rare enough.
    const child = (this.opts.fork ?? nodeFork)(HELPER, [], {
      stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
      execArgv: ['--max-semi-space-size=1'],
      serialization: 'json',
    });
    child.on('message', (m: HelperReply) => this.onReply(m));
    child.on('error', (err) => this.opts.logger?.error({ err }, 'sandbox helper process error'));
    child.on('exit', (code, signal) => {
      if (this.child === child) this.child = undefined;
      if (!this.stopped)
        this.opts.logger?.warn({ code, signal, running: this.pending.size }, 'sandbox helper process exited; it is started again on the next run');
      for (const p of this.pending.values())
        p.reject(new LaunchError(`the sandbox helper process exited (${signal ?? `code ${String(code)}`}) during the run`));
      this.pending.clear();
    });
    child.unref(); // the helper never keeps FleetOps alive; pending runs do (see refresh)
    this.child = child;
    return child;
  }

  /** The helper's process id while it runs (diagnostics, tests). */
  get pid(): number | undefined {
    return this.child?.pid;
  }

  /** The channel keeps this process alive only while runs are pending. */
  private refresh(): void {
    const channel = this.child?.channel as { ref(): void; unref(): void } | undefined;
    if (this.pending.size) channel?.ref();
    else channel?.unref();
  }

  private onReply(m: HelperReply): void {
    const p = this.pending.get(m.id);
    if (!p) return;
    if (m.t === 'out') {
      p.onOutput?.(m.chunk);
      return;
    }
    this.pending.delete(m.id);
    this.refresh();
    if (m.t === 'fail') p.reject(new LaunchError(m.message, m.code !== undefined ? { code: m.code } : undefined));
    else p.resolve(m);
  }

  async run(req: LaunchRequest, options: { signal?: AbortSignal; onOutput?: (chunk: string) => void } = {}): Promise<LaunchResult> {
    const reply = await this.ask((id) => ({ t: 'run', id, req, stream: !!options.onOutput }), options.signal, options.onOutput);
    if (reply.t !== 'done') throw new LaunchError(`the sandbox helper answered a run with ${reply.t}`);
    return reply.result;
  }

  /**
   * A ToolRunner whose tools the helper starts (git for the state stores): forking costs the helper's few tens of MB
   * of memory rather than FleetOps' hundreds, off FleetOps' event loop. The same answers as toolRunner's.
   */
  readonly runTool: ToolRunner = async (file, args, options) => {
    const req: HelperToolRequest = { file, args, timeoutMs: options.timeoutMs };
    if (options.env) req.env = options.env;
    if (options.cwd) req.cwd = options.cwd;
    if (options.input) req.input = options.input.toString('base64');
    const reply = await this.ask((id) => ({ t: 'tool', id, req }), options.signal, undefined).catch((err: unknown) => {
      throw err instanceof LaunchError && err.code === TOOL_MISSING ? new ToolMissingError(file, new Error(err.message)) : err;
    });
    if (reply.t !== 'tooldone') throw new LaunchError(`the sandbox helper answered a tool run with ${reply.t}`);
    return { code: reply.code, stdout: Buffer.from(reply.stdout, 'base64'), stderr: reply.stderr, timedOut: reply.timedOut };
  };

  /** Sends one request to the helper and waits for its answer; an abort is passed on. */
  private ask(
    request: (id: number) => HelperRequest,
    signal: AbortSignal | undefined,
    onOutput: ((chunk: string) => void) | undefined,
  ): Promise<Extract<HelperReply, { t: 'done' | 'tooldone' }>> {
    if (this.stopped) return Promise.reject(new LaunchError('the sandbox helper is stopped'));
    const child = this.helper();
    const id = this.nextId++;
    return new Promise((resolve, reject) => {
      const onAbort = (): void => {
        if (this.pending.has(id)) child.send({ t: 'abort', id } satisfies HelperRequest);
      };
      const settle = (): void => signal?.removeEventListener('abort', onAbort);
      this.pending.set(id, {
        resolve: (r) => (settle(), resolve(r)),
        reject: (e) => (settle(), reject(e)),
        onOutput,
      });
      this.refresh();
      child.send(request(id));
      signal?.addEventListener('abort', onAbort, { once: true });
      if (signal?.aborted) onAbort();
    });
  }

  /** Ends the helper; processes it still runs are killed and their runs fail. */
  async stop(): Promise<void> {
    this.stopped = true;
    const child = this.child;
    if (!child || child.exitCode !== null || child.signalCode !== null) return;
    const exited = once(child, 'exit');
    child.disconnect();
    const timer = setTimeout(() => child.kill('SIGKILL'), 5_000);
    try {
      await exited;
    } finally {
      clearTimeout(timer);
    }
  }
}
