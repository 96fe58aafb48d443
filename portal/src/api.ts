/**
 * The portal speaks FleetOps' Kubernetes API with the signed-in user's token, as kubectl does: every permission is
 * the server's to decide (a team's token sees its namespaces only). Errors come back as Kubernetes Status.
 */

export interface Obj {
  apiVersion: string;
  kind: string;
  metadata: {
    name: string;
    namespace?: string;
    uid?: string;
    resourceVersion?: string;
    creationTimestamp?: string;
    generation?: number;
    labels?: Record<string, string>;
    annotations?: Record<string, string>;
  };
  spec?: Record<string, unknown>;
  status?: Record<string, unknown>;
  [field: string]: unknown;
}

export interface Condition {
  type: string;
  status: string;
  reason?: string;
  message?: string;
  lastTransitionTime?: string;
}

export interface StatusCause {
  field?: string;
  message?: string;
  reason?: string;
}

export class ApiError extends Error {
  readonly code: number;
  readonly reason: string;
  readonly causes: StatusCause[];
  constructor(code: number, reason: string, message: string, causes: StatusCause[] = []) {
    super(message);
    this.code = code;
    this.reason = reason;
    this.causes = causes;
  }
}

export interface TableColumn {
  name: string;
  type: string;
  priority?: number;
}
export interface TableRow {
  cells: unknown[];
  object?: { metadata?: { name?: string; namespace?: string; uid?: string } };
}
export interface Table {
  columnDefinitions: TableColumn[];
  rows: TableRow[];
  metadata: { resourceVersion?: string; continue?: string };
}

const TOKEN_KEY = 'fleetops.token';
export const TABLE_ACCEPT = 'application/json;as=Table;v=v1;g=meta.k8s.io,application/json';

export function token(): string | null {
  return sessionStorage.getItem(TOKEN_KEY);
}
export function signIn(value: string): void {
  sessionStorage.setItem(TOKEN_KEY, value.trim());
}
export function signOut(): void {
  sessionStorage.removeItem(TOKEN_KEY);
}

function headers(extra: Record<string, string> = {}): Record<string, string> {
  const t = token();
  return { ...(t ? { Authorization: `Bearer ${t}` } : {}), ...extra };
}

async function failure(res: Response): Promise<ApiError> {
  const text = await res.text();
  try {
    const s = JSON.parse(text) as { message?: string; reason?: string; details?: { causes?: StatusCause[] } };
    return new ApiError(res.status, s.reason ?? 'Error', s.message ?? text, s.details?.causes ?? []);
  } catch {
    return new ApiError(res.status, 'Error', text || res.statusText);
  }
}

export async function request<T>(method: string, path: string, body?: unknown, contentType = 'application/json', accept = 'application/json'): Promise<T> {
  const res = await fetch(path, {
    method,
    headers: headers({ Accept: accept, ...(body !== undefined ? { 'Content-Type': contentType } : {}) }),
    ...(body !== undefined ? { body: JSON.stringify(body) } : {}),
  });
  if (!res.ok) throw await failure(res);
  return (await res.json()) as T;
}

export const get = <T>(path: string, accept?: string): Promise<T> => request<T>('GET', path, undefined, undefined, accept);

/** Server-side apply as the portal's field manager (taking over fields it sets, as an edit should). */
export function apply(path: string, object: Obj): Promise<Obj> {
  return request<Obj>('PATCH', `${path}?fieldManager=fleetops-portal&force=true`, object, 'application/apply-patch+yaml');
}

export function mergePatch(path: string, patch: unknown, subresource = ''): Promise<Obj> {
  return request<Obj>('PATCH', `${path}${subresource}`, patch, 'application/merge-patch+json');
}

export interface WatchEvent<T> {
  type: 'ADDED' | 'MODIFIED' | 'DELETED' | 'BOOKMARK' | 'ERROR';
  object: T;
}

/**
 * Follows a watch (JSON lines) until `signal` aborts; reconnects from the last resourceVersion when the stream ends.
 * Returns when aborted.
 */
export async function watch<T extends { metadata?: { resourceVersion?: string } }>(
  path: string,
  resourceVersion: string | undefined,
  onEvent: (e: WatchEvent<T>) => void,
  signal: AbortSignal,
  accept = 'application/json',
): Promise<void> {
  let rv = resourceVersion;
  while (!signal.aborted) {
    const sep = path.includes('?') ? '&' : '?';
    try {
      const res = await fetch(`${path}${sep}watch=true&allowWatchBookmarks=true${rv ? `&resourceVersion=${rv}` : ''}`, {
        headers: headers({ Accept: accept }),
        signal,
      });
      if (!res.ok || !res.body) throw await failure(res);
      const reader = res.body.pipeThrough(new TextDecoderStream()).getReader();
      let buffer = '';
      for (;;) {
        const { value, done } = await reader.read();
        if (done) break;
        buffer += value;
        let nl = buffer.indexOf('\n');
        while (nl >= 0) {
          const line = buffer.slice(0, nl).trim();
          buffer = buffer.slice(nl + 1);
          if (line) {
            const e = JSON.parse(line) as WatchEvent<T>;
            const next = e.object?.metadata?.resourceVersion;
            if (next) rv = next;
            onEvent(e);
          }
          nl = buffer.indexOf('\n');
        }
      }
    } catch (err) {
      if (signal.aborted) return;
      if (err instanceof ApiError && err.code === 410) rv = undefined;
      await new Promise((r) => setTimeout(r, 1000));
    }
  }
}

/** The API path of a kind's collection (or of one object). */
export function pathOf(group: string, version: string, plural: string, namespace?: string, name?: string): string {
  const base = group ? `/apis/${group}/${version}` : `/api/${version}`;
  return `${base}${namespace ? `/namespaces/${encodeURIComponent(namespace)}` : ''}/${plural}${name ? `/${encodeURIComponent(name)}` : ''}`;
}

export function conditionsOf(obj: Obj | undefined): Condition[] {
  const c = obj?.status?.conditions;
  return Array.isArray(c) ? (c as Condition[]) : [];
}
