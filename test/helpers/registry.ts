/**
 * A real container registry for tests: Debian's `docker-registry` (the CNCF distribution server) on 127.0.0.1 with
 * htpasswd basic auth, plus image building and pushing through FleetOps' own builder and skopeo. It can be stopped
 * and started again on the same port and storage (an outage).
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { ensureSelfSignedCert } from '../../src/apiserver/tls.ts';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { freePort } from './ports.ts';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import bcrypt from 'bcryptjs';
import { buildImage, buildIntoCache, type ImageSpec } from '../../src/workflows/images/imageBuild.ts';
import { parseImageReference } from '../../src/workflows/images/imageReference.ts';
import { SkopeoFetcher } from '../../src/workflows/images/SkopeoFetcher.ts';
import { toolRunner } from '../../src/lib/runTool.ts';
import type { ImageCache } from '../../src/workflows/images/ImageCache.ts';

export const INSTALL_DIR = join(import.meta.dirname, '..', '..');

export interface TestRegistry {
  /** host:port */
  host: string;
  user: string;
  password: string;
  /** The registry's self-signed certificate (a CA bundle for clients), when started with tls. */
  caCert: string | undefined;
  /** A registries.conf for this registry (plain HTTP allowed unless TLS), with extra lines appended. */
  registriesConf(extra?: string): string;
  /** A kubernetes.io/dockerconfigjson `.dockerconfigjson` value for this registry. */
  dockerConfigJson(user?: string, password?: string): string;
  /** Builds `dir` (a step folder) into an image and pushes it as `ref` (a reference on this registry or a rewritten one). */
  push(dir: string, repoAndTag: string, spec?: ImageSpec): Promise<string>;
  /** Access log lines (method and path) since start, when started with accessLog. */
  requests(): string[];
  /** Writes an auth file (`{"auths": …}`) for this registry and returns its path. */
  authFile(): string;
  stop(): Promise<void>;
  start(): Promise<void>;
  cleanup(): Promise<void>;
}

async function waitUp(host: string, timeoutMs = 20_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    try {
      await fetch(`http://${host}/v2/`);
      return;
    } catch (err) {
      // A TLS registry answers plain HTTP with garbage, not a refused connection: it is up.
      if (!/ECONNREFUSED/.test(String((err as { cause?: unknown }).cause ?? err))) return;
      await new Promise((r) => setTimeout(r, 50));
    }
  }
  throw new Error(`the registry at ${host} did not start`);
}

export async function startRegistry(options: { user?: string; password?: string; accessLog?: boolean; tls?: boolean } = {}): Promise<TestRegistry> {
  const dir = mkdtempSync(join(tmpdir(), 'fleetops-registry-'));
  const user = options.user ?? 'ci';
  const password = options.password ?? 'registry-secret';
  const port = await freePort();
  const host = `127.0.0.1:${port}`;
  writeFileSync(join(dir, 'htpasswd'), `${user}:${bcrypt.hashSync(password, 5)}\n`);
  mkdirSync(join(dir, 'storage'));
  let tls = '';
  if (options.tls) {
    // A self-signed certificate for 127.0.0.1, made as FleetOps makes its own: clients trust it only through a CA bundle.
    ensureSelfSignedCert(join(dir, 'tls'));
    tls = `, tls: { certificate: ${join(dir, 'tls', 'apiserver.crt')}, key: ${join(dir, 'tls', 'apiserver.key')} }`;
  }
  const config = [
    'version: 0.1',
    `log: { level: error, formatter: json, accesslog: { disabled: ${options.accessLog ? 'false' : 'true'} } }`,
    `storage: { filesystem: { rootdirectory: ${join(dir, 'storage')} }, delete: { enabled: true } }`,
    `http: { addr: "${host}", secret: test-secret${tls} }`,
    `auth: { htpasswd: { realm: fleetops-test, path: ${join(dir, 'htpasswd')} } }`,
  ].join('\n');
  writeFileSync(join(dir, 'config.yml'), `${config}\n`);
  const pushAuth = join(dir, 'push-auth.json');
  let child: ChildProcess | undefined;
  const requests: string[] = [];
  const registry: TestRegistry = {
    host,
    user,
    password,
    caCert: options.tls ? join(dir, 'tls', 'apiserver.crt') : undefined,
    registriesConf(extra = '') {
      const file = join(dir, `registries-${Math.random().toString(36).slice(2)}.conf`);
      writeFileSync(file, `unqualified-search-registries = []\n\n[[registry]]\nlocation = "${host}"\ninsecure = ${options.tls ? 'false' : 'true'}\n${extra}\n`);
      return file;
    },
    dockerConfigJson(u = user, p = password) {
      return JSON.stringify({ auths: { [host]: { username: u, password: p, auth: Buffer.from(`${u}:${p}`).toString('base64') } } });
    },
    requests: () => requests,
    authFile() {
      const file = join(dir, 'registry-auth.json');
      writeFileSync(file, registry.dockerConfigJson(), { mode: 0o600 });
      return file;
    },
    async push(stepDir, repoAndTag, spec = {}) {
      const work = mkdtempSync(join(tmpdir(), 'fleetops-build-'));
      try {
        const built = await buildImage({ ...spec, dir: stepDir, workDir: work, run: toolRunner(), installDir: INSTALL_DIR });
        writeFileSync(pushAuth, registry.dockerConfigJson(), { mode: 0o600 });
        const fetcher = new SkopeoFetcher({
          workDir: join(work, 'fetch'),
          registriesConf: registry.registriesConf(),
          ...(registry.caCert ? { caBundle: registry.caCert } : {}),
        });
        await fetcher.push(built.layoutDir, built.layoutTag, parseImageReference(`${host}/${repoAndTag}`), { authFile: pushAuth });
        return built.digest;
      } finally {
        rmSync(work, { recursive: true, force: true });
      }
    },
    async start() {
      const proc = spawn('docker-registry', ['serve', join(dir, 'config.yml')], { stdio: ['ignore', 'pipe', 'pipe'] });
      child = proc;
      let stderr = '';
      let partial = '';
      const onData = (d: Buffer): void => {
        const text = partial + d.toString();
        const lines = text.split('\n');
        partial = lines.pop() ?? '';
        for (const line of lines) {
          const m = /"(GET|HEAD|PUT|POST|PATCH|DELETE) (\/v2\/[^ ]*) HTTP/.exec(line);
          if (m) requests.push(`${m[1]} ${m[2]}`);
          else if (stderr.length < 8192) stderr += `${line}\n`;
        }
      };
      proc.stdout?.on('data', onData);
      proc.stderr?.on('data', onData);
      const failed = new Promise<never>((_, reject) => {
        proc.on('error', (err) => reject(new Error(`cannot start docker-registry (apt-get install docker-registry): ${err.message}`)));
        proc.on('exit', (code) => reject(new Error(`docker-registry exited (${String(code)}): ${stderr}`)));
      });
      failed.catch(() => undefined);
      await Promise.race([waitUp(host), failed]);
    },
    async stop() {
      const proc = child;
      child = undefined;
      if (!proc || proc.exitCode !== null) return;
      const exited = new Promise((r) => proc.once('exit', r));
      proc.kill('SIGKILL');
      await exited;
    },
    async cleanup() {
      await registry.stop();
      rmSync(dir, { recursive: true, force: true });
    },
  };
  await registry.start();
  return registry;
}

/** Builds a step folder straight into a cache under `ref` (what `fleetops image build` does without --push). */
export async function buildInto(cache: ImageCache, stepDir: string, ref: string, spec: ImageSpec = {}): Promise<string> {
  return (await buildIntoCache(cache, { ...spec, dir: stepDir, run: toolRunner(), installDir: INSTALL_DIR }, [ref])).digest;
}
