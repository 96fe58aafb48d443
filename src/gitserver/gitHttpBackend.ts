/**
 * Serves Git repositories over smart HTTP by running the real `git http-backend` (CGI) for each request. Used by the
 * API server to publish the embedded state store to GitOps agents (read-only) and by tests as a real Git server
 * (with push). Authentication is the caller's job: it passes the authenticated user, or none.
 */
import { spawn } from 'node:child_process';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { GIT_MALLOC_ENV } from '../lib/gitEnv.ts';

export interface GitBackendOptions {
  /** Folder holding the bare repositories (`<root>/<name>.git`). */
  projectRoot: string;
  /** Authenticated user; pushes need one. */
  user?: string;
  /** Allow `git push` (receive-pack). */
  allowPush: boolean;
  /** Path of the request below the mount point, e.g. `/state.git/info/refs`. */
  pathInfo: string;
  /** The request body when a framework has already read it; otherwise the request stream is piped. */
  body?: Buffer;
  gitPath?: string;
}

export function serveGit(req: IncomingMessage, res: ServerResponse, opts: GitBackendOptions): Promise<void> {
  const url = new URL(req.url ?? '/', 'http://x');
  // One service, and only it, reaches git: with `service` repeated git reads the last, a check of the first would pass.
  const services = url.searchParams.getAll('service');
  if (services.length > 1 || [...url.searchParams.keys()].some((k) => k !== 'service')) {
    res.writeHead(400, { 'Content-Type': 'text/plain' }).end('only one "service" query parameter is accepted\n');
    return Promise.resolve();
  }
  const service = services[0] ?? '';
  const pushing = service === 'git-receive-pack' || opts.pathInfo.endsWith('/git-receive-pack');
  if (pushing && (!opts.allowPush || !opts.user)) {
    res.writeHead(403, { 'Content-Type': 'text/plain' }).end('pushing to this repository is not allowed\n');
    return Promise.resolve();
  }
  if (opts.pathInfo.includes('..')) {
    res.writeHead(400, { 'Content-Type': 'text/plain' }).end('bad path\n');
    return Promise.resolve();
  }
  return new Promise((resolve) => {
    const child = spawn(opts.gitPath ?? 'git', ['http-backend'], {
      env: {
        PATH: process.env.PATH ?? '/usr/bin:/bin',
        ...GIT_MALLOC_ENV,
        GIT_PROJECT_ROOT: opts.projectRoot,
        GIT_HTTP_EXPORT_ALL: '1',
        PATH_INFO: opts.pathInfo,
        QUERY_STRING: service ? `service=${encodeURIComponent(service)}` : '',
        REQUEST_METHOD: req.method ?? 'GET',
        CONTENT_TYPE: req.headers['content-type'] ?? '',
        ...(req.headers['content-encoding'] ? { HTTP_CONTENT_ENCODING: req.headers['content-encoding'] } : {}),
        ...(req.headers['git-protocol'] ? { GIT_PROTOCOL: String(req.headers['git-protocol']) } : {}),
        ...(opts.user ? { REMOTE_USER: opts.user, GIT_COMMITTER_NAME: opts.user, GIT_COMMITTER_EMAIL: `${opts.user}@fleetops` } : {}),
        ...(opts.allowPush ? { GIT_CONFIG_COUNT: '1', GIT_CONFIG_KEY_0: 'http.receivepack', GIT_CONFIG_VALUE_0: 'true' } : {}),
      },
      stdio: ['pipe', 'pipe', 'pipe'],
    });
    if (opts.body) child.stdin.end(opts.body);
    else req.pipe(child.stdin);
    let head = Buffer.alloc(0);
    let headersDone = false;
    let stderr = '';
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    child.stdout.on('data', (chunk: Buffer) => {
      if (headersDone) {
        res.write(chunk);
        return;
      }
      head = Buffer.concat([head, chunk]);
      const end = head.indexOf('\r\n\r\n');
      if (end < 0) return;
      headersDone = true;
      let status = 200;
      const headers: Record<string, string> = {};
      for (const line of head.subarray(0, end).toString('latin1').split('\r\n')) {
        const i = line.indexOf(':');
        if (i < 0) continue;
        const k = line.slice(0, i).trim();
        const v = line.slice(i + 1).trim();
        if (k.toLowerCase() === 'status') status = Number(v.split(' ')[0]) || 200;
        else headers[k] = v;
      }
      res.writeHead(status, headers);
      res.write(head.subarray(end + 4));
    });
    child.on('close', (code) => {
      if (!headersDone) {
        res.writeHead(code === 0 ? 200 : 500, { 'Content-Type': 'text/plain' }).end(code === 0 ? '' : `git http-backend failed: ${stderr.slice(0, 500)}\n`);
      } else res.end();
      resolve();
    });
    child.on('error', () => {
      if (!res.headersSent) res.writeHead(500, { 'Content-Type': 'text/plain' });
      res.end('git is not installed on the server\n');
      resolve();
    });
  });
}
