/**
 * The bubblewrap sandbox, for real: what a pipeline step can and cannot do, in an image root and on the host root
 * (host-tool pipelines). Writes outside /kratix fail and leave nothing on the host; the input is read-only; the
 * network is off unless the pipeline asks; a fork bomb is capped and killed; a timeout kills the whole process tree;
 * output links are refused; Kratix's environment is there.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync, spawnSync } from 'node:child_process';
import { chmodSync, existsSync, mkdtempSync, readdirSync, rmSync, statSync } from 'node:fs';
import { createServer, type Server } from 'node:net';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { BwrapRuntime } from '../../src/workflows/runtime/BwrapRuntime.ts';
import { openCgroups } from '../../src/workflows/runtime/cgroups.ts';
import { claimUidRange } from '../../src/workflows/runtime/uidRange.ts';
import { PipelineRunner, type PipelineContext } from '../../src/workflows/PipelineRunner.ts';
import { ImageCache } from '../../src/workflows/images/ImageCache.ts';
import { SkopeoFetcher } from '../../src/workflows/images/SkopeoFetcher.ts';
import { buildTestImage, TEST_IMAGE } from '../helpers/images.ts';
import { eventually } from '../helpers/fleet.ts';

const secretDir = mkdtempSync(join(tmpdir(), 'fleetops-hidden-'));
const cacheDir = mkdtempSync(join(tmpdir(), 'fleetops-sandbox-images-'));
chmodSync(cacheDir, 0o711);
const images = new ImageCache({ dir: join(cacheDir, 'images'), fetcher: new SkopeoFetcher({ workDir: join(cacheDir, 'fetch') }) });
const runtime = new BwrapRuntime({ hiddenPaths: [secretDir, cacheDir], pathPrefix: [dirname(process.execPath)], maxProcesses: 64 });
const runner = new PipelineRunner({ runtime, images, stepTimeoutMs: 20_000 });
const ctx: PipelineContext = {
  action: 'configure',
  workflowType: 'resource',
  promiseName: 'app',
  plural: 'apps',
  object: { apiVersion: 'marketplace.kratix.io/v1', kind: 'App', metadata: { name: 'web', namespace: 'team-a' }, spec: { image: 'nginx' } },
};
type Mode = 'image' | 'host';
const pipelineIn =
  (mode: Mode) =>
  (script: string, annotations: Record<string, string> = {}): Parameters<PipelineRunner['run']>[0] => ({
    metadata: { name: 'p', annotations: mode === 'host' ? { ...annotations, 'fleetops.dev/runtime': 'host' } : annotations },
    spec: { containers: [{ name: 'step', image: TEST_IMAGE, command: ['/bin/sh', '-c', script] }] },
  });
const processesMatching = (marker: string): number =>
  execFileSync('ps', ['-eo', 'args'], { encoding: 'utf8' })
    .split('\n')
    .filter((l) => l.includes(marker) && !l.includes('ps -eo')).length;

let server: Server;
let port = 0;
before(async () => {
  assert.equal(await runtime.check(), undefined, 'bwrap must work here (scripts/setup-test-deps.sh installs it)');
  await buildTestImage(images);
  server = createServer((s) => s.end('hello\n'));
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  port = (server.address() as { port: number }).port;
});
after(() => {
  server.close();
  images.stop();
  rmSync(secretDir, { recursive: true, force: true });
  rmSync(cacheDir, { recursive: true, force: true });
});

for (const mode of ['image', 'host'] as const)
  describe(`bubblewrap sandbox (${mode === 'image' ? 'in the step image' : 'host-tool pipeline'})`, () => {
    const sh = pipelineIn(mode);

    it('gives steps the Kratix contract: object.yaml, environment, writable output and metadata', async () => {
      const r = await runner.run(
        sh(
          'cat /kratix/input/object.yaml > /kratix/output/copy.yaml && env | grep ^KRATIX_ | sort > /kratix/output/env.txt && echo "replicas: 3" > /kratix/metadata/status.yaml',
        ),
        ctx,
      );
      assert.equal(r.ok, true, r.failure);
      const env = r.outputs.find((o) => o.path === 'env.txt')!.content.toString();
      assert.match(env, /KRATIX_OBJECT_NAME=web\n/);
      assert.match(env, /KRATIX_OBJECT_NAMESPACE=team-a\n/);
      assert.match(env, /KRATIX_WORKFLOW_TYPE=resource\n/);
      assert.match(r.outputs.find((o) => o.path === 'copy.yaml')!.content.toString(), /image: nginx/);
      assert.deepEqual(r.status, { replicas: 3 });
    });

    it('cannot write outside /kratix/output and /kratix/metadata; the input is read-only', async () => {
      const hostFile = join(tmpdir(), `fleetops-escape-${process.pid}`);
      const targets = [hostFile, '/etc/fleetops-escape', join(process.cwd(), 'fleetops-escape'), '/kratix/input/object.yaml', '/kratix/new-file'];
      const r = await runner.run(sh(targets.map((t) => `if echo pwned > ${t} 2>/dev/null; then echo "WROTE ${t}"; fi`).join('; ') + '; exit 0'), ctx);
      assert.equal(r.ok, true, r.failure);
      // /tmp inside the sandbox is private: writing there succeeds but never reaches the host's /tmp. (The working
      // folder may itself lie under /tmp, as in a CI clone: then it is private too.)
      const underTmp = (t: string): boolean => t.startsWith(`${tmpdir()}/`);
      const wrote = r.steps[0]!.log.split('\n')
        .filter((l) => l.startsWith('WROTE '))
        .map((l) => l.slice('WROTE '.length));
      assert.ok(wrote.includes(hostFile), 'the private /tmp is writable');
      assert.deepEqual(
        wrote.filter((t) => !underTmp(t)),
        [],
        'nothing outside the private /tmp and /kratix is writable',
      );
      // dash says "cannot create", busybox "can't create"; a folder the image lacks is "nonexistent".
      for (const t of targets.filter((x) => !underTmp(x)))
        assert.match(r.steps[0]!.log, new RegExp(`(cannot|can't) create ${t}: (Read-only file system|nonexistent directory)`), t);
      for (const t of targets.slice(0, 3)) assert.equal(existsSync(t), false, `${t} must not exist on the host`);
    });

    it('cannot read hidden folders (the data directory)', async () => {
      execFileSync('sh', ['-c', `echo s3cr3t > ${secretDir}/tokens.json`]);
      const r = await runner.run(sh(`cat ${secretDir}/tokens.json; ls -A ${secretDir} | wc -l`), ctx);
      assert.doesNotMatch(r.steps[0]!.log, /s3cr3t/);
      assert.match(r.steps[0]!.log, /No such file/);
    });

    it('has no network unless the pipeline asks for it', async () => {
      const probe =
        mode === 'image'
          ? `nc 127.0.0.1 ${port} </dev/null | grep hello || exit 3`
          : `node -e "require('net').connect(${port}, '127.0.0.1').on('data', (d) => { process.stdout.write(String(d)); process.exit(0) }).on('error', (e) => { console.log(e.code); process.exit(3) })"`;
      const off = await runner.run(sh(probe), ctx);
      assert.equal(off.ok, false);
      assert.match(off.steps[0]!.log, mode === 'image' ? /Connection refused|Network is unreachable/ : /ECONNREFUSED|ENETUNREACH/);
      const on = await runner.run(sh(probe, { 'fleetops.dev/network': 'true' }), ctx);
      assert.equal(on.ok, true, on.failure);
      assert.match(on.steps[0]!.log, /hello/);
    });

    it('contains a fork bomb: capped, killed at the timeout, nothing left behind, the host still spawns', async () => {
      const marker = `fleetops-bomb-${process.pid}`;
      const running = runner.run(sh(`bomb() { bomb | bomb & }; bomb; sleep 30 # ${marker}`, { 'fleetops.dev/timeout': '4s' }), ctx);
      await new Promise((r) => setTimeout(r, 1500));
      assert.ok(processesMatching(marker) <= 64 + 2, 'the process cap holds');
      assert.equal(execFileSync('echo', ['host is fine'], { encoding: 'utf8' }).trim(), 'host is fine');
      // Other runs meanwhile have their own process cap (their own uid): the bomb does not starve them.
      const others = await Promise.all(Array.from({ length: 4 }, () => runner.run(sh('for i in 1 2 3 4 5; do (true) & done; wait; echo fine'), ctx)));
      for (const o of others) assert.equal(o.ok, true, o.failure);
      const r = await running;
      assert.equal(r.ok, false);
      await new Promise((r2) => setTimeout(r2, 300));
      assert.equal(processesMatching(marker), 0, 'no bomb process survives the step');
    });

    it(
      "keeps the workspace private: 0700, owned by the run's own user, in a folder others cannot list",
      { skip: process.getuid?.() !== 0 && 'needs root (steps run as their own users only then)' },
      async () => {
        const running = runner.run(sh('echo secret > /kratix/output/o.yaml; sleep 2; id -u'), ctx);
        const root = '/dev/shm/fleetops-runs';
        const mine = (): string[] => {
          try {
            return readdirSync(root).filter((e) => e.startsWith(`run-${process.pid}-`));
          } catch {
            return [];
          }
        };
        const [ws] = await eventually(() => (mine().length ? mine() : undefined), 10_000, 'the workspace');
        const path = join(root, ws!);
        const st = statSync(path);
        assert.equal((st.mode & 0o777).toString(8), '700');
        assert.ok(st.uid >= 2_100_000_000, `owned by the run's own uid, not a shared one (${st.uid})`);
        assert.equal((statSync(root).mode & 0o777).toString(8), '711', 'the folder of workspaces is not listable');
        // Another local user (nobody) can neither list it, nor read the output, nor slip a file in.
        for (const [cmd, args] of [
          ['ls', [path]],
          ['cat', [join(path, 'output', 'o.yaml')]],
          ['sh', ['-c', `echo injected > ${join(path, 'output', 'x.yaml')}`]],
          ['ls', [root]],
        ] as const) {
          const r = spawnSync(cmd, [...args], { uid: 65534, gid: 65534 });
          assert.notEqual(r.status, 0, `${cmd} ${args.join(' ')} as another user`);
        }
        const r = await running;
        assert.equal(r.ok, true, r.failure);
        assert.deepEqual(
          r.outputs.map((o) => o.path),
          ['o.yaml'],
        );
        assert.match(r.steps[0]!.log, mode === 'image' ? /^0$/m : /^\d+$/m, "the step sees itself as the image's user");
      },
    );

    it('stops a step that writes too much while it runs: outputs, one big file, /tmp', async () => {
      // 1 MiB files, one every 20 ms, up to 400 MiB: stopped soon after passing the 17 MiB allowed, not at the end.
      const flood = await runner.run(
        sh(
          'i=0; while [ $i -lt 400 ]; do dd if=/dev/zero of=/kratix/output/f$i.yaml bs=1048576 count=1 2>/dev/null; echo "wrote $i"; i=$((i+1)); sleep 0.02; done',
          { 'fleetops.dev/timeout': '60s' },
        ),
        ctx,
      );
      assert.equal(flood.ok, false, flood.steps[0]?.log.slice(-500));
      assert.match(
        flood.failure!,
        /step step was stopped: it wrote \d+ bytes to \/kratix\/output, \/kratix\/metadata and its volumes, more than the 17825792 allowed/,
      );
      const last = Math.max(...[...flood.steps[0]!.log.matchAll(/wrote (\d+)/g)].map((m) => Number(m[1])));
      assert.ok(last < 200, `stopped while it ran (last file ${last} of 400)`);
      const bigFile = await runner.run(sh('dd if=/dev/zero of=/tmp/big bs=1048576 count=100 2>&1 || exit $?'), ctx);
      assert.equal(bigFile.ok, false);
      assert.match(bigFile.failure!, /was stopped: it wrote a file bigger than the limit per file \(SIGXFSZ\)/);
      const tmp = await runner.run(sh('i=0; while [ $i -lt 6 ]; do dd if=/dev/zero of=/tmp/f$i bs=1048576 count=60 2>&1 || exit 9; i=$((i+1)); done'), ctx);
      assert.equal(tmp.ok, false);
      assert.match(tmp.steps[0]!.log, /No space left on device/);
    });

    it('kills the whole process tree on timeout and says so', async () => {
      const marker = `fleetops-sleeper-${process.pid}`;
      const r = await runner.run(sh(`(sleep 1000; echo ${marker}) & echo started; sleep 1000`, { 'fleetops.dev/timeout': '500ms' }), ctx);
      assert.equal(r.ok, false);
      assert.equal(r.steps[0]!.timedOut, true);
      assert.match(r.failure!, /step step timed out after 500 ms: started/);
      await new Promise((res) => setTimeout(res, 200));
      assert.equal(processesMatching(marker), 0);
    });

    it('refuses outputs that link outside the output folder, with a clear failure', async () => {
      const r = await runner.run(sh('ln -s /etc/passwd /kratix/output/passwd.yaml'), ctx);
      assert.equal(r.ok, false);
      assert.match(r.failure!, /passwd\.yaml is a symbolic link/);
    });

    it('reports a failing step with its exit code and the tail of its log', async () => {
      const r = await runner.run(sh('echo line one; echo "image not found" >&2; exit 7'), ctx);
      assert.equal(r.ok, false);
      assert.equal(r.steps[0]!.exitCode, 7);
      assert.match(r.failure!, /step step exited with code 7: line one\nimage not found/);
    });
  });

describe('step limits', () => {
  const dirs = [mkdtempSync(join(tmpdir(), 'fleetops-a-')), mkdtempSync(join(tmpdir(), 'fleetops-b-'))];
  const claims = mkdtempSync(join(tmpdir(), 'fleetops-uid-claims-'));
  const opened = openCgroups({ name: `sandbox-test-${process.pid}` });
  const cgroups = typeof opened === 'string' ? undefined : opened;
  const runnerFor = (dataDir: string): PipelineRunner =>
    new PipelineRunner({
      runtime: new BwrapRuntime({
        hiddenPaths: [secretDir, cacheDir],
        pathPrefix: [dirname(process.execPath)],
        maxProcesses: 64,
        runUids: claimUidRange(dataDir, { dir: claims }),
        ...(cgroups ? { cgroups } : {}),
      }),
      images,
      stepTimeoutMs: 20_000,
    });
  after(() => {
    cgroups?.close();
    for (const d of [...dirs, claims]) rmSync(d, { recursive: true, force: true });
  });

  it('stops a step past its memory limit (OOMKilled) while other runs go on', { skip: cgroups ? false : String(opened) }, async () => {
    const runner = runnerFor(dirs[0]!);
    const hog: Parameters<PipelineRunner['run']>[0] = {
      metadata: { name: 'p' },
      spec: {
        containers: [
          {
            name: 'hog',
            image: TEST_IMAGE,
            command: ['/bin/sh', '-c', `awk 'BEGIN { s = "x"; while (1) s = s s }'`],
            resources: { limits: { memory: '64Mi', cpu: '500m' } },
          },
        ],
      },
    };
    const [hogged, fine] = await Promise.all([runner.run(hog, ctx), runner.run(pipelineIn('image')('echo fine'), ctx)]);
    assert.equal(hogged.ok, false);
    assert.equal(hogged.steps[0]?.reason, 'OOMKilled');
    assert.match(hogged.failure ?? '', /step hog was OOMKilled: it used more than its memory limit \(67108864 bytes; set resources\.limits\.memory\)/);
    assert.equal(fine.ok, true, fine.failure);
  });

  it('refuses a limit that is not a quantity, saying which', async () => {
    const r = await runnerFor(dirs[0]!).run(
      { metadata: { name: 'p' }, spec: { containers: [{ name: 'c', image: TEST_IMAGE, command: ['true'], resources: { limits: { memory: 'lots' } } }] } },
      ctx,
    );
    assert.equal(r.ok, false);
    assert.match(r.failure ?? '', /step c: resources\.limits: "lots" is not a quantity: use e\.g\. "512Mi"/);
  });

  it("keeps two FleetOps on one host apart: one's fork bomb does not starve the other's runs", async () => {
    const [a, b] = dirs.map((d) => claimUidRange(d, { dir: claims }));
    assert.notEqual(a!.first, b!.first, 'each data directory has a range of its own');
    assert.deepEqual(claimUidRange(dirs[0]!, { dir: claims }), a, 'and keeps it');
    const marker = `fleetops-bomb2-${process.pid}`;
    const bombing = runnerFor(dirs[0]!).run(pipelineIn('image')(`bomb() { bomb | bomb & }; bomb; sleep 30 # ${marker}`, { 'fleetops.dev/timeout': '4s' }), ctx);
    await new Promise((r) => setTimeout(r, 1500));
    const other = runnerFor(dirs[1]!);
    const runs = await Promise.all(
      Array.from({ length: 3 }, () => other.run(pipelineIn('image')('for i in 1 2 3 4 5; do (true) & done; wait; echo fine'), ctx)),
    );
    for (const r of runs) assert.equal(r.ok, true, r.failure);
    assert.equal((await bombing).ok, false);
  });
});
