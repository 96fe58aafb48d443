/**
 * The data directory's guards: a second FleetOps on it is refused naming the holder (and may take over once the
 * holder is gone, even by kill -9); modes are forced private whatever the directory had (another uid cannot read the
 * database); a missing or emptied database is not silently replaced by an empty platform.
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { execFile, spawn, spawnSync } from 'node:child_process';
import { chmodSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, readlinkSync, rmSync, statSync, truncateSync, type Dirent } from 'node:fs';
import { createServer, type AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pino } from 'pino';
import { startFleetOps } from '../../src/main.ts';
import { cgroupsNameFor } from '../../src/workflows/runtime/cgroups.ts';
import { spawnFleet } from '../helpers/process.ts';

const main = join(import.meta.dirname, '..', '..', 'src', 'cli', 'main.ts');
/** `fleetops up`: code 0 once it says it is up (then it is stopped), else its exit code. */
const up = (dataDir: string, extra: string[] = [], env: Record<string, string> = {}): Promise<{ code: number; stderr: string }> =>
  new Promise((resolve) => {
    let started = false;
    const options = { timeout: 30_000, env: { ...process.env, ...env } };
    const child = execFile(process.execPath, [main, 'up', '--data-dir', dataDir, '--port', '0', ...extra], options, (err, _stdout, stderr) =>
      resolve({ code: started ? 0 : err ? ((err as { code?: number }).code ?? 1) : 0, stderr }),
    );
    child.stdout?.on('data', (d: Buffer) => {
      if (!String(d).includes('FleetOps is up')) return;
      started = true;
      child.kill('SIGTERM');
    });
  });
const mode = (path: string): string => (statSync(path).mode & 0o7777).toString(8);
const quiet = pino({ level: 'silent' });

describe('the data directory', () => {
  it('refuses a second FleetOps naming the holder, and lets one start after the holder was killed', async () => {
    const dataDir = mkdtempSync(join(tmpdir(), 'fleetops-datadir-'));
    const first = await spawnFleet(dataDir);
    try {
      const kubeconfig = readFileSync(join(dataDir, 'kubeconfig'), 'utf8');
      const second = await up(dataDir);
      assert.equal(second.code, 1);
      assert.match(second.stderr, new RegExp(`another FleetOps \\(pid ${first.child.pid}\\) is using the data directory ${dataDir}`));
      assert.equal(readFileSync(join(dataDir, 'kubeconfig'), 'utf8'), kubeconfig, 'the kubeconfig still points at the first');
    } finally {
      await first.kill('SIGKILL');
    }
    const after = await up(dataDir);
    assert.equal(after.code, 0, after.stderr);
    rmSync(dataDir, { recursive: true, force: true });
  });

  it('forces private modes on a directory that had loose ones; another user cannot read the database', async () => {
    const parent = mkdtempSync(join(tmpdir(), 'fleetops-modes-'));
    const dataDir = join(parent, 'data');
    mkdirSync(dataDir);
    chmodSync(dataDir, 0o1777);
    const fleet = await startFleetOps({ dataDir, port: 0, logger: quiet, defaultDestinations: false });
    try {
      assert.equal(mode(dataDir), '711');
      for (const f of ['fleetops.db', 'fleetops.db-wal', 'tokens.json', 'kubeconfig', 'apiserver.key']) assert.equal(mode(join(dataDir, f)), '600', f);
      for (const d of ['git', 'statestores']) assert.equal(mode(join(dataDir, d)), '700', d);
      if (process.getuid?.() === 0) {
        chmodSync(parent, 0o755);
        for (const f of ['fleetops.db', 'fleetops.db-wal', 'tokens.json']) {
          const r = spawnSync('cat', [join(dataDir, f)], { uid: 65534, gid: 65534 });
          assert.notEqual(r.status, 0, `${f} readable by another user`);
          assert.match(String(r.stderr), /Permission denied/);
        }
      }
    } finally {
      await fleet.stop();
      rmSync(parent, { recursive: true, force: true });
    }
  });

  it('refuses a read cache size that is not a positive number of MiB, naming the setting; starts with one that is', async () => {
    const dataDir = mkdtempSync(join(tmpdir(), 'fleetops-cache-'));
    try {
      for (const bad of ['lots', '0', '-5']) {
        const refused = await up(dataDir, [], { FLEETOPS_READ_CACHE_MIB: bad });
        assert.equal(refused.code, 1, bad);
        assert.match(refused.stderr, new RegExp(`read cache size "${bad}" is not a positive number of MiB: set FLEETOPS_READ_CACHE_MIB`));
        assert.doesNotMatch(refused.stderr, /\n\s+at /, 'one line, no stack');
      }
      assert.equal((await up(dataDir, [], { FLEETOPS_READ_CACHE_MIB: '64' })).code, 0);
    } finally {
      rmSync(dataDir, { recursive: true, force: true });
    }
  });

  it('does not start an empty platform on a used directory whose database is gone, unless told to', async () => {
    const dataDir = mkdtempSync(join(tmpdir(), 'fleetops-emptydb-'));
    const first = await startFleetOps({ dataDir, port: 0, logger: quiet, defaultDestinations: false });
    await first.stop();
    truncateSync(join(dataDir, 'fleetops.db'), 0);
    rmSync(join(dataDir, 'fleetops.db-wal'), { force: true });
    await assert.rejects(
      startFleetOps({ dataDir, port: 0, logger: quiet }),
      /the database .*fleetops\.db is empty but .* held a platform before \(\.initialized is there\).*--fresh/,
    );
    rmSync(join(dataDir, 'fleetops.db'));
    const r = await up(dataDir);
    assert.equal(r.code, 1);
    assert.match(r.stderr, /fleetops\.db is missing .*--fresh/);
    const fresh = await up(dataDir, ['--fresh']);
    assert.equal(fresh.code, 0, fresh.stderr);
    rmSync(dataDir, { recursive: true, force: true });
  });

  it('stops cleanly on a SIGTERM that comes while it starts: up first, then stopped, its step cgroups removed', async () => {
    const dataDir = mkdtempSync(join(tmpdir(), 'fleetops-early-stop-'));
    const child = spawn(process.execPath, [main, 'up', '--data-dir', dataDir, '--port', '0', '--log-format', 'json'], { stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    let signalled = false;
    child.stdout.on('data', (d: Buffer) => {
      out += String(d);
      // A log line of the start itself, before FleetOps says it is up.
      if (!signalled && out.includes('"controllers started"')) {
        signalled = true;
        child.kill('SIGTERM');
      }
    });
    child.stderr.on('data', (d: Buffer) => (out += String(d)));
    const [code, signal] = await new Promise<[number | null, string | null]>((resolve) => child.on('exit', (c, s) => resolve([c, s])));
    assert.ok(signalled, out);
    assert.deepEqual({ code, signal }, { code: 0, signal: null }, out);
    assert.match(out, /FleetOps is up/);
    // Where this machine gives steps cgroups, none of this data directory's is left (v1 hierarchies or v2).
    const name = `fleetops-${cgroupsNameFor(dataDir)}`;
    const left = ['memory', 'cpu', 'pids', 'unified', ''].flatMap((h) => findDirs(join('/sys/fs/cgroup', h), name, 3));
    assert.deepEqual(left, []);
    rmSync(dataDir, { recursive: true, force: true });
  });

  it('refuses a port in use with the fix, and a start that fails leaves nothing behind: no lock, no open file, no step cgroup', async () => {
    const dataDir = mkdtempSync(join(tmpdir(), 'fleetops-busy-port-'));
    const holder = createServer();
    await new Promise<void>((resolve) => holder.listen(0, '127.0.0.1', resolve));
    const { port } = holder.address() as AddressInfo;
    try {
      // The store, the sandbox helper, the cgroups and the controllers are up by the time the port is taken.
      await assert.rejects(
        startFleetOps({ dataDir, port, logger: quiet }),
        new RegExp(`the API port ${port} on 127\\.0\\.0\\.1 is in use \\(another FleetOps\\?\\): .*another --port`),
      );
      assert.equal(existsSync(join(dataDir, 'fleetops.pid')), false, 'the data directory is still locked');
      assert.deepEqual(openFilesUnder(dataDir), [], 'files of the data directory are still open (the database)');
      const name = `fleetops-${cgroupsNameFor(dataDir)}`;
      assert.deepEqual(
        ['memory', 'cpu', 'pids', 'unified', ''].flatMap((h) => findDirs(join('/sys/fs/cgroup', h), name, 3)),
        [],
      );
      // The directory serves the next start as if the failed one had never been.
      const fleet = await startFleetOps({ dataDir, port: 0, logger: quiet });
      await fleet.stop();
      assert.deepEqual(openFilesUnder(dataDir), []);
    } finally {
      holder.close();
      rmSync(dataDir, { recursive: true, force: true });
    }
  });
});

/** Files under `dir` this process holds open (its /proc/self/fd links). */
function openFilesUnder(dir: string): string[] {
  return readdirSync('/proc/self/fd').flatMap((fd) => {
    try {
      const target = readlinkSync(join('/proc/self/fd', fd));
      return target.startsWith(`${dir}/`) ? [target] : [];
    } catch {
      return []; // closed meanwhile (the listing's own descriptor)
    }
  });
}

/** Folders named `name` under `root`, `depth` levels down at most. */
function findDirs(root: string, name: string, depth: number): string[] {
  let entries: Dirent[];
  try {
    entries = readdirSync(root, { withFileTypes: true });
  } catch {
    return [];
  }
  return entries.flatMap((e) =>
    !e.isDirectory() ? [] : e.name === name ? [join(root, e.name)] : depth > 0 ? findDirs(join(root, e.name), name, depth - 1) : [],
  );
}
