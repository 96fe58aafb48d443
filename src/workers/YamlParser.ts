/**
 * Parses untrusted YAML (request bodies, pipeline metadata files) without holding the event loop: small texts inline,
 * big ones in a worker thread, which is replaced when a parse runs past its time (the request fails, the API goes
 * on answering). JSON is parsed inline (JSON.parse is fast) and checked against the same limits.
 */
import { errorMessage, asError } from '../api/errors.ts';
import { Worker } from 'node:worker_threads';
import { checkJsonLimits, DEFAULT_LIMITS, ParseLimitError, parseYamlBounded, parseYamlStreamBounded, type ParseLimits } from '../api/boundedYaml.ts';

export interface YamlParserOptions {
  limits?: ParseLimits;
  /** Texts shorter than this are parsed on the calling thread (default 16 KiB: well under a millisecond). */
  inlineBelow?: number;
  /** A parse in the worker taking longer fails, and the worker is replaced (default 10 s). */
  timeoutMs?: number;
  /** The worker ends after this long without work, giving back the memory big parses took (default 5 s). */
  idleMs?: number;
}

interface Pending {
  resolve(v: unknown): void;
  reject(e: Error): void;
  timer: NodeJS.Timeout;
}

// The same extension as this module: .ts from the sources, .js from the build (dist/).
const WORKER = new URL(`./yamlParserWorker${import.meta.url.slice(import.meta.url.lastIndexOf('.'))}`, import.meta.url);

export class YamlParser {
  private readonly opts: YamlParserOptions;
  private readonly limits: ParseLimits;
  private readonly inlineBelow: number;
  private readonly timeoutMs: number;
  private worker: Worker | undefined;
  private idleTimer: NodeJS.Timeout | undefined;
  private readonly pending = new Map<number, Pending>();
  private nextId = 1;

  constructor(opts: YamlParserOptions = {}) {
    this.opts = opts;
    this.limits = opts.limits ?? DEFAULT_LIMITS;
    this.inlineBelow = opts.inlineBelow ?? 16 * 1024;
    this.timeoutMs = opts.timeoutMs ?? 10_000;
  }

  /** JSON, checked against the limits. */
  json(text: string, limits: ParseLimits = this.limits): unknown {
    let value: unknown;
    try {
      value = JSON.parse(text);
    } catch (err) {
      throw new ParseLimitError('syntax', errorMessage(err));
    }
    checkJsonLimits(value, limits);
    return value;
  }

  /** One YAML document (or JSON written as YAML). */
  yaml(text: string, limits: ParseLimits = this.limits): Promise<unknown> {
    return this.parse(text, false, limits);
  }

  /** A multi-document YAML stream. */
  yamlStream(text: string, limits: ParseLimits = this.limits): Promise<unknown[]> {
    return this.parse(text, true, limits) as Promise<unknown[]>;
  }

  private parse(text: string, stream: boolean, limits: ParseLimits): Promise<unknown> {
    if (text.length < this.inlineBelow) {
      try {
        return Promise.resolve(stream ? parseYamlStreamBounded(text, limits) : parseYamlBounded(text, limits));
      } catch (err) {
        return Promise.reject(asError(err));
      }
    }
    const worker = this.ensureWorker();
    clearTimeout(this.idleTimer);
    const id = this.nextId++;
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        this.pending.delete(id);
        reject(new ParseLimitError('nodes', `parsing took longer than ${this.timeoutMs / 1000}s`));
        this.replaceWorker();
      }, this.timeoutMs);
      this.pending.set(id, { resolve, reject, timer });
      worker.ref();
      worker.postMessage({ id, text, stream, limits });
    });
  }

  private ensureWorker(): Worker {
    if (this.worker) return this.worker;
    const worker = new Worker(WORKER);
    worker.on('message', (m: { id: number; ok: boolean; value?: unknown; kind?: ParseLimitError['kind']; message?: string }) => {
      const p = this.pending.get(m.id);
      if (!p) return;
      this.pending.delete(m.id);
      clearTimeout(p.timer);
      if (!this.pending.size) {
        worker.unref();
        this.idleTimer = setTimeout(() => this.endIdle(worker), this.opts.idleMs ?? 5000);
        this.idleTimer.unref();
      }
      if (m.ok) p.resolve(m.value);
      else p.reject(new ParseLimitError(m.kind ?? 'syntax', m.message ?? 'not valid YAML'));
    });
    worker.on('error', (err) => this.failAll(err));
    worker.on('exit', () => {
      if (this.worker === worker) this.worker = undefined;
      this.failAll(new Error('the YAML parser worker exited'));
    });
    worker.unref();
    this.worker = worker;
    return worker;
  }

  private endIdle(worker: Worker): void {
    if (this.worker !== worker || this.pending.size) return;
    this.worker = undefined;
    void worker.terminate();
  }

  /** A parse ran past its time: the worker is busy with it for good; the others it holds fail and a new one starts. */
  private replaceWorker(): void {
    const old = this.worker;
    this.worker = undefined;
    this.failAll(new ParseLimitError('nodes', `parsing took longer than ${this.timeoutMs / 1000}s`));
    void old?.terminate();
  }

  private failAll(err: Error): void {
    for (const [id, p] of this.pending) {
      clearTimeout(p.timer);
      p.reject(err);
      this.pending.delete(id);
    }
  }

  async stop(): Promise<void> {
    clearTimeout(this.idleTimer);
    const w = this.worker;
    this.worker = undefined;
    this.failAll(new Error('the YAML parser is stopped'));
    if (w) await w.terminate();
  }
}
