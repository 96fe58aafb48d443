/**
 * Steps in their container images, against a real registry (Debian's docker-registry, the CNCF distribution server,
 * with basic auth) serving images the test builds from busybox-static: Kubernetes' container semantics (entrypoint,
 * cmd, args, env, workingDir, user, volumes), pull secrets, pull policies, the kubelet's errors and back-off, a
 * registry that goes down mid-pull, the bounded cache, and 200 resources sharing one pull.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { chmodSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { BwrapRuntime } from '../../src/workflows/runtime/BwrapRuntime.ts';
import { PipelineRunner, type Container, type Pipeline, type PipelineContext } from '../../src/workflows/PipelineRunner.ts';
import type { ImagePullError } from '../../src/workflows/images/ImageCache.ts';
import { ImageCache } from '../../src/workflows/images/ImageCache.ts';
import { SkopeoFetcher } from '../../src/workflows/images/SkopeoFetcher.ts';
import { eventually, startTestFleet, type TestFleet } from '../helpers/fleet.ts';
import { buildInto, startRegistry, type TestRegistry } from '../helpers/registry.ts';
import { testPromise } from '../helpers/promises.ts';

const work = mkdtempSync(join(tmpdir(), 'fleetops-images-test-'));
chmodSync(work, 0o711);
const step = (name: string, files: Record<string, string>): string => {
  const dir = join(work, 'steps', name);
  mkdirSync(dir, { recursive: true });
  for (const [f, text] of Object.entries(files)) writeFileSync(join(dir, f), text);
  return dir;
};

const SHOW = step('show', {
  'show.sh':
    'echo "args=$*"; echo "pwd=$(pwd)"; echo "uid=$(id -u):$(id -g)"; echo "GREETING=$GREETING"; echo "FROM_CM=${FROM_CM:-}"; echo "TOKEN=${TOKEN:-}"\n',
});
const ctx = (secrets: Record<string, Record<string, string>> = {}, configMaps: Record<string, Record<string, string>> = {}): PipelineContext => ({
  action: 'configure',
  workflowType: 'resource',
  promiseName: 'app',
  plural: 'apps',
  object: { apiVersion: 'marketplace.kratix.io/v1', kind: 'App', metadata: { name: 'web', namespace: 'default' }, spec: {} },
  readConfig: (kind, name) => Promise.resolve((kind === 'Secret' ? secrets : configMaps)[name]),
});

describe('steps in container images, from a real registry', () => {
  let registry: TestRegistry;
  let images: ImageCache;
  let runner: PipelineRunner;
  let regcred: Record<string, Record<string, string>>;
  let show: string;
  const pipeline = (containers: Container[], extra: Partial<Pipeline['spec']> = {}): Pipeline => ({
    metadata: { name: 'p' },
    spec: { containers, imagePullSecrets: [{ name: 'regcred' }], ...extra },
  });

  before(async () => {
    registry = await startRegistry({ accessLog: true });
    await registry.push(SHOW, 'team/show:v1', {
      entrypoint: ['/bin/sh', '/work/show.sh'],
      cmd: ['from-cmd'],
      env: { GREETING: 'from-image' },
      workingDir: '/work',
      user: 'nobody',
    });
    show = `${registry.host}/team/show:v1`;
    images = new ImageCache({
      dir: join(work, 'images'),
      fetcher: new SkopeoFetcher({ workDir: join(work, 'fetch'), registriesConf: registry.registriesConf() }),
      backoffBaseMs: 300,
      maxBackoffMs: 1000,
    });
    runner = new PipelineRunner({ runtime: new BwrapRuntime({ hiddenPaths: [work], pathPrefix: [dirname(process.execPath)] }), images, stepTimeoutMs: 30_000 });
    regcred = { regcred: { '.dockerconfigjson': registry.dockerConfigJson() } };
  });
  after(async () => {
    images.stop();
    await registry.cleanup();
    rmSync(work, { recursive: true, force: true });
  });

  it('runs the image as Kubernetes would: entrypoint and cmd, args, command, env, workingDir, user', async () => {
    const cases: [Container, RegExp[]][] = [
      [{ name: 'defaults', image: show }, [/^args=from-cmd$/m, /^pwd=\/work$/m, /^uid=65534:65534$/m, /^GREETING=from-image$/m]],
      [{ name: 'args', image: show, args: ['from-args', '$(GREETING)', '$$(GREETING)'] }, [/^args=from-args from-image \$\(GREETING\)$/m]],
      [{ name: 'command', image: show, command: ['/bin/sh', '/work/show.sh'] }, [/^args=$/m]],
      [
        {
          name: 'env',
          image: show,
          env: [{ name: 'GREETING', value: 'from-container' }],
          workingDir: '/tmp',
          securityContext: { runAsUser: 1234, runAsGroup: 99 },
        },
        [/^GREETING=from-container$/m, /^pwd=\/tmp$/m, /^uid=1234:99$/m],
      ],
    ];
    for (const [container, expected] of cases) {
      const r = await runner.run(pipeline([container]), ctx(regcred));
      assert.equal(r.ok, true, `${container.name}: ${r.failure}`);
      for (const e of expected) assert.match(r.steps[0]!.log, e, container.name);
    }
  });

  it('honours env from ConfigMaps and Secrets and mounts emptyDir, configMap and secret volumes', async () => {
    const r = await runner.run(
      pipeline(
        [
          {
            name: 'write',
            image: show,
            command: ['/bin/sh', '-c', 'echo shared > /scratch/note; cat /etc/app/settings.yaml; echo; cat /etc/creds/token; echo; /bin/sh /work/show.sh'],
            envFrom: [{ configMapRef: { name: 'app-config' }, prefix: 'FROM_' }],
            env: [{ name: 'TOKEN', valueFrom: { secretKeyRef: { name: 'api', key: 'token' } } }],
            volumeMounts: [
              { name: 'scratch', mountPath: '/scratch' },
              { name: 'settings', mountPath: '/etc/app' },
              { name: 'creds', mountPath: '/etc/creds' },
            ],
          },
          {
            name: 'read',
            image: show,
            command: ['/bin/sh', '-c', 'cat /scratch/note; echo nope > /etc/app/x || echo read-only'],
            volumeMounts: [
              { name: 'scratch', mountPath: '/scratch' },
              { name: 'settings', mountPath: '/etc/app' },
            ],
          },
        ],
        {
          volumes: [
            { name: 'scratch', emptyDir: {} },
            { name: 'settings', configMap: { name: 'app-config' } },
            { name: 'creds', secret: { secretName: 'api' } },
          ],
        },
      ),
      ctx({ ...regcred, api: { token: 's3cr3t' } }, { 'app-config': { 'settings.yaml': 'level: high', CM: 'cm-value' } }),
    );
    assert.equal(r.ok, true, r.failure);
    assert.match(r.steps[0]!.log, /^level: high\ns3cr3t$/m);
    assert.match(r.steps[0]!.log, /^FROM_CM=cm-value$/m);
    assert.match(r.steps[0]!.log, /^TOKEN=s3cr3t$/m);
    assert.match(r.steps[1]!.log, /^shared\n/);
    assert.match(r.steps[1]!.log, /read-only/);
  });

  it("needs the pull secret: wrong or missing credentials fail with the registry's answer, then back off (those credentials only)", async () => {
    const fresh = new ImageCache({
      dir: join(work, 'images-auth'),
      fetcher: new SkopeoFetcher({ workDir: join(work, 'fetch-auth'), registriesConf: registry.registriesConf() }),
      backoffBaseMs: 60_000,
    });
    try {
      const wrong = { auths: JSON.parse(registry.dockerConfigJson(registry.user, 'wrong')).auths as never };
      await assert.rejects(
        fresh.acquire(show, wrong),
        (err: ImagePullError) =>
          err.reason === 'ErrImagePull' && /^ErrImagePull: 127\.0\.0\.1:\d+\/team\/show:v1: unauthorized: authentication required/.test(err.message),
      );
      await assert.rejects(
        fresh.acquire(show, wrong),
        (err: ImagePullError) => err.reason === 'ImagePullBackOff' && /back-off pulling the image .* last error: unauthorized/.test(err.message),
      );
      // Another team's correct secret is not held back by that back-off.
      const lease = await fresh.acquire(show, { auths: JSON.parse(registry.dockerConfigJson()).auths as never });
      lease.release();
      await assert.rejects(fresh.acquire(show, wrong), (err: ImagePullError) => err.reason === 'ImagePullBackOff');
    } finally {
      fresh.stop();
    }
    const r = await runner.run(
      { metadata: { name: 'p' }, spec: { containers: [{ name: 's', image: `${registry.host}/team/show:v1`, imagePullPolicy: 'Always' }] } },
      ctx(),
    );
    assert.equal(r.ok, false);
    assert.match(r.failure!, /^step s: ErrImagePull: 127\.0\.0\.1:\d+\/team\/show:v1: unauthorized/);
  });

  it("lends a private image to another team only after the registry accepts that team's own credentials", async () => {
    const shared = new ImageCache({
      dir: join(work, 'images-tenants'),
      fetcher: new SkopeoFetcher({ workDir: join(work, 'fetch-tenants'), registriesConf: registry.registriesConf() }),
      backoffBaseMs: 60_000,
    });
    try {
      const teamA = { auths: JSON.parse(registry.dockerConfigJson()).auths as never };
      (await shared.acquire(show, teamA)).release();
      // Team B, no secret: the root is in the cache, yet the registry is asked, and refuses.
      await assert.rejects(
        shared.acquire(show, { policy: 'IfNotPresent' }),
        (err: ImagePullError) => err.reason === 'ErrImagePull' && /unauthorized: authentication required/.test(err.message),
      );
      await assert.rejects(
        shared.acquire(show, { policy: 'Never' }),
        (err: ImagePullError) => err.reason === 'ErrImageNeverPull' && /pulled with other credentials/.test(err.message),
      );
      // Team C with a valid secret of its own (another account of the registry would do the same) gets it from the cache.
      const lease = await shared.acquire(show, { policy: 'IfNotPresent', auths: JSON.parse(registry.dockerConfigJson()).auths as never });
      assert.equal(lease.pull.cached, true);
      lease.release();
      // Nothing under the cache tells another uid which digests it holds.
      const refs = join(work, 'images-tenants', 'refs');
      assert.equal(statSync(refs).mode & 0o777, 0o700);
      for (const f of readdirSync(refs)) assert.equal(statSync(join(refs, f)).mode & 0o077, 0, f);
    } finally {
      shared.stop();
    }
  });

  it('reads registries.conf at each pull: a mirror added while running is used by the next pull', async () => {
    const conf = join(work, 'later-registries.conf');
    const later = new ImageCache({
      dir: join(work, 'images-later'),
      fetcher: new SkopeoFetcher({ workDir: join(work, 'fetch-later'), registriesConf: conf }),
      backoffBaseMs: 1,
      maxBackoffMs: 1,
    });
    const mirrored = 'ghcr.io/team/show:v1';
    const auths = { auths: JSON.parse(registry.dockerConfigJson()).auths as never };
    try {
      await assert.rejects(later.acquire(mirrored, auths), (err: ImagePullError) => err.reason === 'ErrImagePull');
      writeFileSync(conf, readFileSync(registry.registriesConf(`[[registry]]\nprefix = "ghcr.io"\nlocation = "${registry.host}"\ninsecure = true\n`), 'utf8'));
      await new Promise((r) => setTimeout(r, 5)); // past the back-off
      // The mirror's credentials are looked up under the mirror's host, as containers tools do.
      const lease = await later.acquire(mirrored, auths);
      assert.equal(lease.pull.cached, false);
      lease.release();
    } finally {
      later.stop();
    }
  });

  it('refuses an image with more files than the bound, saying so, and keeps nothing of it', async () => {
    const small = new ImageCache({
      dir: join(work, 'images-bounded'),
      fetcher: new SkopeoFetcher({ workDir: join(work, 'fetch-bounded'), registriesConf: registry.registriesConf() }),
      maxRootEntries: 20,
    });
    try {
      await assert.rejects(
        small.acquire(show, { auths: JSON.parse(registry.dockerConfigJson()).auths as never }),
        (err: ImagePullError) =>
          err.reason === 'ErrImagePull' && /the image has more than 20 files and folders; FleetOps runs images of at most 20/.test(err.message),
      );
      assert.deepEqual(readdirSync(join(work, 'images-bounded', 'roots')), []);
    } finally {
      small.stop();
    }
  });

  it('fails clearly for a missing tag, Never with a missing image, an image without a shell; nothing is left half-written', async () => {
    const missing = await runner.run(pipeline([{ name: 's', image: `${registry.host}/team/show:v404` }]), ctx(regcred));
    assert.match(missing.failure!, /^step s: ErrImagePull: 127\.0\.0\.1:\d+\/team\/show:v404: manifest unknown$/);
    const again = await runner.run(pipeline([{ name: 's', image: `${registry.host}/team/show:v404` }]), ctx(regcred));
    assert.match(again.failure!, /ImagePullBackOff: .*show:v404: back-off pulling the image/);
    const never = await runner.run(pipeline([{ name: 's', image: `${registry.host}/team/other:v1`, imagePullPolicy: 'Never' }]), ctx(regcred));
    assert.match(never.failure!, /ErrImageNeverPull: 127\.0\.0\.1:\d+\/team\/other:v1: the image is not present and the pull policy is Never/);
    // Never with the image present runs it.
    await runner.run(pipeline([{ name: 's', image: show }]), ctx(regcred));
    const present = await runner.run(pipeline([{ name: 's', image: show, imagePullPolicy: 'Never' }]), ctx(regcred));
    assert.equal(present.ok, true, present.failure);
    assert.equal(present.steps[0]!.pull?.cached, true);
    // An image with no shell (only a data file) asked to run /bin/sh says so.
    await buildInto(images, step('noshell', { 'data.txt': 'x' }), 'fleetops.local/test/noshell:1', { base: 'scratch' });
    const noShell = await runner.run(pipeline([{ name: 's', image: 'fleetops.local/test/noshell:1', command: ['/bin/sh', '-c', 'echo hi'] }]), ctx());
    assert.match(noShell.failure!, /image fleetops\.local\/test\/noshell:1 has no shell \(\/bin\/sh\)/);
    const bad = await runner.run(pipeline([{ name: 's', image: 'Team/Show:v1' }]), ctx());
    assert.match(bad.failure!, /InvalidImageName: Team\/Show:v1: repository name must be lowercase/);
    assert.deepEqual(
      readdirSync(join(work, 'images', 'roots')).filter((d) => !readdirSync(join(work, 'images', 'roots', d)).includes('image.json')),
      [],
      'only complete roots',
    );
  });

  it('survives a registry that goes down mid-pull and comes back', async () => {
    // A big image (Node) so the pull is still running when the registry goes.
    await registry.push(step('big', { 'step.ts': 'console.log("big")\n' }), 'team/big:v1', { base: 'node' });
    const cache = new ImageCache({
      dir: join(work, 'images-outage'),
      fetcher: new SkopeoFetcher({ workDir: join(work, 'fetch-outage'), registriesConf: registry.registriesConf() }),
      backoffBaseMs: 200,
    });
    try {
      const auths = JSON.parse(registry.dockerConfigJson()).auths as never;
      const seen = registry.requests().length;
      const pulling = cache.acquire(`${registry.host}/team/big:v1`, { auths });
      await eventually(
        () =>
          registry
            .requests()
            .slice(seen)
            .some((r) => r.startsWith('GET /v2/team/big/blobs/')),
        20_000,
        'the pull reached the layers',
      );
      await registry.stop();
      await assert.rejects(pulling, (err: ImagePullError) => err.reason === 'ErrImagePull');
      assert.deepEqual(readdirSync(join(work, 'images-outage', 'roots')), [], 'no half-unpacked root');
      await registry.start();
      const lease = await eventually(() => cache.acquire(`${registry.host}/team/big:v1`, { auths }), 20_000, 'pull after the outage');
      assert.equal(lease.pull.cached, false);
      assert.ok(cache.sizeBytes > 50 * 1024 * 1024, `the big root is there (${cache.sizeBytes} bytes)`);
      lease.release();
    } finally {
      cache.stop();
    }
  });

  it("trusts a registry's private CA only when given the CA bundle", async () => {
    const secure = await startRegistry({ tls: true });
    try {
      await secure.push(SHOW, 'team/show:tls', { entrypoint: ['/bin/sh', '/work/show.sh'], workingDir: '/work' });
      const auths = JSON.parse(secure.dockerConfigJson()).auths as never;
      const open = (name: string, caBundle?: string): ImageCache =>
        new ImageCache({
          dir: join(work, `images-${name}`),
          fetcher: new SkopeoFetcher({ workDir: join(work, `fetch-${name}`), registriesConf: secure.registriesConf(), ...(caBundle ? { caBundle } : {}) }),
        });
      const untrusting = open('no-ca');
      await assert.rejects(untrusting.acquire(`${secure.host}/team/show:tls`, { auths }), /ErrImagePull: .*show:tls: .*(x509|certificate)/);
      untrusting.stop();
      const trusting = open('ca', secure.caCert);
      const lease = await trusting.acquire(`${secure.host}/team/show:tls`, { auths });
      assert.equal(lease.pull.cached, false);
      lease.release();
      trusting.stop();
    } finally {
      await secure.cleanup();
    }
  });

  it('keeps the cache within its bound, least recently used first, never a root in use, across restarts', async () => {
    const dir = join(work, 'images-bounded');
    const open = (maxBytes: number): ImageCache => new ImageCache({ dir, fetcher: new SkopeoFetcher({ workDir: join(work, 'fetch-bounded') }), maxBytes });
    let cache = open(1024 ** 4);
    const digests: string[] = [];
    for (const n of [1, 2, 3])
      digests.push(await buildInto(cache, step(`lru-${n}`, { [`file-${n}.txt`]: String(n).repeat(1000) }), `fleetops.local/test/lru:${n}`));
    const oldest = await cache.acquire('fleetops.local/test/lru:1'); // in use, and least recently used of the three
    await new Promise((r) => setTimeout(r, 5));
    (await cache.acquire('fleetops.local/test/lru:3')).release();
    const one = cache.list().find((r) => r.digest === digests[1])!.sizeBytes;
    const removed = await cache.evict(cache.sizeBytes - one);
    assert.deepEqual(removed, [digests[1]], 'the least recently used root not in use goes');
    oldest.release();
    cache.stop();
    cache = open(1024 ** 4);
    cache.start();
    assert.deepEqual(new Set(cache.list().map((r) => r.digest)), new Set([digests[0], digests[2]]), 'the cache survives a restart');
    await assert.rejects(
      cache.acquire('fleetops.local/test/lru:2'),
      /ErrImagePull: fleetops\.local\/test\/lru:2: .* not in the local image cache; build it with "npx fleetops image build"/,
    );
    cache.stop();
  });
});

describe('200 resources sharing one pull', () => {
  let registry: TestRegistry;
  let fleet: TestFleet;
  before(async () => {
    registry = await startRegistry({ accessLog: true });
    await registry.push(
      step('render', { 'render.sh': 'echo "value: $KRATIX_OBJECT_NAME" > /kratix/output/out.yaml; echo "rendered: true" > /kratix/metadata/status.yaml\n' }),
      'team/render:v1',
      { entrypoint: ['/bin/sh', '/pipeline/render.sh'] },
    );
    fleet = await startTestFleet({ images: { registriesConf: registry.registriesConf() } });
  });
  after(async () => {
    await fleet.cleanup();
    await registry.cleanup();
  });

  it('pulls and unpacks the image once for all of them, with the pull secret of a kubernetes.io/dockerconfigjson Secret', async () => {
    const c = fleet.client;
    await c.request('POST', '/api/v1/namespaces/default/secrets', {
      body: {
        apiVersion: 'v1',
        kind: 'Secret',
        metadata: { name: 'regcred' },
        type: 'kubernetes.io/dockerconfigjson',
        stringData: { '.dockerconfigjson': registry.dockerConfigJson() },
      },
    });
    const render = {
      name: 'render',
      spec: { imagePullSecrets: [{ name: 'regcred' }], containers: [{ name: 'render', image: `${registry.host}/team/render:v1` }] },
    };
    await c.request('POST', '/apis/platform.kratix.io/v1alpha1/promises', { body: testPromise({ kind: 'Thing', plural: 'things', pipeline: render }) });
    await eventually(() => c.get('/apis/test.fleetops.dev/v1/things'), 10_000, 'kind served');
    const seen = registry.requests().length;
    await Promise.all(
      Array.from({ length: 200 }, (_, i) =>
        c.request('POST', '/apis/test.fleetops.dev/v1/namespaces/default/things', {
          body: { apiVersion: 'test.fleetops.dev/v1', kind: 'Thing', metadata: { name: `t-${i}` }, spec: {} },
        }),
      ),
    );
    await eventually(
      async () =>
        (await c.get<{ items: { status?: { rendered?: boolean } }[] }>('/apis/test.fleetops.dev/v1/things')).items.filter((t) => t.status?.rendered).length ===
        200,
      120_000,
      'all 200 rendered',
    );
    const blobGets = registry
      .requests()
      .slice(seen)
      .filter((r) => r.startsWith('GET /v2/team/render/blobs/'));
    // One configuration blob and one layer, once.
    assert.equal(blobGets.length, 2, blobGets.join('\n'));
    assert.equal(fleet.images.list().length, 2, 'the test busybox and this image');
  });
});
