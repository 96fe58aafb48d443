/**
 * A small HTTPS client for the FleetOps API: JSON requests with bearer auth, Status bodies turned into ApiError,
 * and watches streamed as JSON lines. Keeps one keep-alive agent per client.
 */
import { Agent, request } from 'node:https';
import type { IncomingMessage } from 'node:http';
import { ApiError, fromStatus } from '../api/errors.ts';
import { isPlainObject } from '../api/types.ts';
import type { ClientConfig } from './kubeconfig.ts';

export interface RequestOptions {
  query?: Record<string, string | number | boolean | undefined>;
  body?: unknown;
  /** Raw body text (sent as is) instead of JSON. */
  rawBody?: string;
  contentType?: string;
  accept?: string;
  /** Further headers (e.g. a W3C `traceparent` continuing the caller's trace). */
  headers?: Record<string, string>;
}

export interface HttpResponse<T> {
  status: number;
  body: T;
  warnings: string[];
}

export class ConnectionError extends Error {
  constructor(message: string, options?: ErrorOptions) {
    super(message, options);
    this.name = 'ConnectionError';
  }
}

/** One line of a watch stream; anything but an object reads as an ERROR event. */
function watchEventOf(value: unknown): { type: string; object: unknown } {
  return isPlainObject(value) ? { type: String(value.type), object: value.object } : { type: 'ERROR', object: value };
}

export class HttpClient {
  readonly config: ClientConfig;
  private readonly agent: Agent;
  /** Watches hold their connection for minutes: they get their own unbounded pool so they never queue behind each other or starve requests. */
  private readonly watchAgent: Agent;

  constructor(config: ClientConfig) {
    this.config = config;
    const tls = { ...(config.caCert ? { ca: config.caCert } : {}), rejectUnauthorized: !config.insecure };
    this.agent = new Agent({ keepAlive: true, maxSockets: 64, ...tls });
    this.watchAgent = new Agent({ keepAlive: false, ...tls });
  }

  private url(path: string, query?: RequestOptions['query']): URL {
    const url = new URL(path, this.config.server);
    for (const [k, v] of Object.entries(query ?? {})) if (v !== undefined) url.searchParams.set(k, String(v));
    return url;
  }

  private open(method: string, path: string, opts: RequestOptions, stream?: { signal?: AbortSignal }): Promise<IncomingMessage> {
    const url = this.url(path, opts.query);
    const payload = opts.rawBody ?? (opts.body === undefined ? undefined : JSON.stringify(opts.body));
    return new Promise((resolve, reject) => {
      const req = request(
        url,
        {
          method,
          agent: stream ? this.watchAgent : this.agent,
          ...(stream?.signal ? { signal: stream.signal } : {}),
          headers: {
            ...opts.headers,
            Accept: opts.accept ?? 'application/json',
            ...(this.config.token ? { Authorization: `Bearer ${this.config.token}` } : {}),
            ...(payload !== undefined ? { 'Content-Type': opts.contentType ?? 'application/json', 'Content-Length': Buffer.byteLength(payload) } : {}),
          },
        },
        resolve,
      );
      req.on('error', (err) =>
        reject(new ConnectionError(`cannot reach the FleetOps API at ${this.config.server}: ${err.message}; is "fleetops up" running?`, { cause: err })),
      );
      if (payload !== undefined) req.write(payload);
      req.end();
    });
  }

  /** Sends a request and parses the JSON answer; throws ApiError for non-2xx answers. */
  async request<T = unknown>(method: string, path: string, opts: RequestOptions = {}): Promise<HttpResponse<T>> {
    const res = await this.open(method, path, opts);
    const chunks: Buffer[] = [];
    for await (const chunk of res) chunks.push(chunk);
    const text = Buffer.concat(chunks).toString('utf8');
    const status = res.statusCode ?? 0;
    let body: unknown = text;
    if ((res.headers['content-type'] ?? '').includes('json') && text) body = JSON.parse(text);
    if (status >= 400) {
      if (isPlainObject(body) && body.kind === 'Status') throw fromStatus(body, status);
      throw new ApiError(status, 'InternalError', `HTTP ${status}: ${text.slice(0, 200)}`);
    }
    const header = res.headers.warning ?? [];
    const warnings = (Array.isArray(header) ? header : [header]).map((w) =>
      w
        .replace(/^299 - /, '')
        .replace(/^"(.*)"$/, '$1')
        .replace(/\\"/g, '"'),
    );
    // The caller names the type it expects of this endpoint's answer (the API's own shapes).
    return { status, body: body as T, warnings };
  }

  async get<T = unknown>(path: string, opts: RequestOptions = {}): Promise<T> {
    return (await this.request<T>('GET', path, opts)).body;
  }

  /**
   * Streams a watch: calls `onEvent` for each JSON line until the server closes the stream or `signal` aborts.
   * Resolves when the stream ends.
   */
  async watch(
    path: string,
    query: RequestOptions['query'],
    onEvent: (event: { type: string; object: unknown }) => void,
    signal?: AbortSignal,
    accept?: string,
  ): Promise<void> {
    if (signal?.aborted) return;
    let res: IncomingMessage;
    try {
      res = await this.open('GET', path, { query: { ...query, watch: 'true' }, ...(accept ? { accept } : {}) }, { ...(signal ? { signal } : {}) });
    } catch (err) {
      if (signal?.aborted) return;
      throw err;
    }
    if ((res.statusCode ?? 0) >= 400) {
      const chunks: Buffer[] = [];
      for await (const chunk of res) chunks.push(chunk);
      throw fromStatus(JSON.parse(Buffer.concat(chunks).toString() || '{}'), res.statusCode ?? 500);
    }
    const onAbort = (): void => {
      res.destroy();
    };
    signal?.addEventListener('abort', onAbort, { once: true });
    if (signal?.aborted) onAbort();
    let buffer = '';
    try {
      for await (const chunk of res) {
        buffer += String(chunk);
        let nl: number;
        while ((nl = buffer.indexOf('\n')) >= 0) {
          const line = buffer.slice(0, nl).trim();
          buffer = buffer.slice(nl + 1);
          if (line) onEvent(watchEventOf(JSON.parse(line)));
        }
      }
    } catch (err) {
      if (!signal?.aborted) throw err;
    } finally {
      signal?.removeEventListener('abort', onAbort);
    }
  }

  close(): void {
    this.agent.destroy();
    this.watchAgent.destroy();
  }
}
