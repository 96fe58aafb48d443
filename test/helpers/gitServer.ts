/**
 * A real Git server for tests: `git http-backend` behind a small HTTP server with basic auth, serving bare
 * repositories from a temp folder, with push enabled. `setDown(true)` makes it refuse connections, as an outage.
 */
import { execFile } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { serveGit } from '../../src/gitserver/gitHttpBackend.ts';
import type { HttpClient } from '../../src/client/HttpClient.ts';
import { createDestination, createGitStateStore } from './stateStores.ts';

const run = promisify(execFile);

export interface TestGitServer {
  url(repo: string): string;
  createRepo(name: string): Promise<void>;
  /** Clones the branch into a fresh folder and returns its path. */
  clone(repo: string, branch?: string): Promise<string>;
  setDown(down: boolean): void;
  readonly username: string;
  readonly password: string;
  close(): Promise<void>;
}

/** The basic-auth pair the server accepts (a GitHub installation token's is `x-access-token` and the token). */
export async function startGitServer(credentials: { username?: string; password?: string } = {}): Promise<TestGitServer> {
  const root = mkdtempSync(join(tmpdir(), 'fleetops-gitserver-'));
  const username = credentials.username ?? 'gitops';
  const password = credentials.password ?? 's3cret-token';
  let down = false;
  const sockets = new Set<Socket>();
  const server: Server = createServer((req, res) => {
    if (down) {
      req.socket.destroy();
      return;
    }
    const auth = req.headers.authorization ?? '';
    const expected = `Basic ${Buffer.from(`${username}:${password}`).toString('base64')}`;
    if (auth !== expected) {
      res.writeHead(401, { 'WWW-Authenticate': 'Basic realm="git"' }).end('unauthorized\n');
      return;
    }
    void serveGit(req, res, { projectRoot: root, user: username, allowPush: true, pathInfo: new URL(req.url ?? '/', 'http://x').pathname });
  });
  server.on('connection', (s) => {
    if (down) s.destroy();
    sockets.add(s);
    s.on('close', () => sockets.delete(s));
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const port = (server.address() as { port: number }).port;
  return {
    username,
    password,
    url: (repo) => `http://127.0.0.1:${port}/${repo}.git`,
    async createRepo(name) {
      await run('git', ['init', '-q', '--bare', '-b', 'main', join(root, `${name}.git`)]);
    },
    async clone(repo, branch = 'main') {
      const dir = mkdtempSync(join(tmpdir(), 'fleetops-clone-'));
      await run('git', [
        '-c',
        `http.extraHeader=Authorization: Basic ${Buffer.from(`${username}:${password}`).toString('base64')}`,
        'clone',
        '-q',
        '-b',
        branch,
        `http://127.0.0.1:${port}/${repo}.git`,
        join(dir, 'repo'),
      ]);
      return join(dir, 'repo');
    },
    setDown(value) {
      down = value;
      if (value) for (const s of sockets) s.destroy();
    },
    async close() {
      for (const s of sockets) s.destroy();
      await new Promise<void>((r) => server.close(() => r()));
      rmSync(root, { recursive: true, force: true });
    },
  };
}

/**
 * Points a fleet at a repository of the test server, as the workshop's Gitea: a Secret with basic-auth credentials, a
 * GitStateStore `gitea`, and the `worker-1` (environment=worker) and `platform` (environment=platform) Destinations.
 */
export async function connectStateStore(client: HttpClient, git: TestGitServer, repo: string): Promise<void> {
  await client.request('POST', '/api/v1/namespaces/default/secrets', {
    body: { apiVersion: 'v1', kind: 'Secret', metadata: { name: 'git-creds' }, stringData: { username: git.username, password: git.password } },
  });
  await createGitStateStore(client, 'gitea', { url: git.url(repo), branch: 'main', secretRef: { name: 'git-creds', namespace: 'default' } });
  for (const [name, env] of [
    ['worker-1', 'worker'],
    ['platform', 'platform'],
  ] as const) {
    await createDestination(client, name, { labels: { environment: env }, store: 'gitea' });
  }
}
