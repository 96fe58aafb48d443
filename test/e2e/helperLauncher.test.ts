/**
 * The helper process that starts sandboxes (ADR 0007): it reports exit codes, output, timeouts and aborts like an
 * in-process spawn; a run whose helper dies fails (its sandbox dies with it) and the next run gets a new helper;
 * when the process that owns the helper is killed with -9, the helper kills its steps and exits.
 */
import { after, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { chmodSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { BwrapRuntime } from '../../src/workflows/runtime/BwrapRuntime.ts';
import { HelperLauncher } from '../../src/workflows/runtime/HelperLauncher.ts';
import { LaunchError } from '../../src/workflows/runtime/ProcessLauncher.ts';
import { ToolMissingError } from '../../src/lib/runTool.ts';
import { eventually } from '../helpers/fleet.ts';

/** Waits until `check` stops throwing. */
const until = (check: () => void): Promise<true> => eventually(() => (check(), true as const));

const root = mkdtempSync(join(tmpdir(), 'fleetops-helper-'));
chmodSync(root, 0o711);

function workspace(name: string): { input: string; output: string; metadata: string } {
  const ws = join(root, name);
  const dirs = { input: join(ws, 'input'), output: join(ws, 'output'), metadata: join(ws, 'metadata') };
  for (const d of Object.values(dirs)) mkdirSync(d, { recursive: true });
  chmodSync(ws, 0o711);
  chmodSync(dirs.output, 0o777);
  chmodSync(dirs.metadata, 0o777);
  return dirs;
}

/** Pids of `sleep <marker>` processes (the sandboxed steps, not the processes that have the marker as an argument). */
function processesWith(marker: string): number[] {
  const pids: number[] = [];
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      if (readFileSync(`/proc/${entry}/cmdline`, 'utf8') === `sleep\0${marker}\0`) pids.push(Number(entry));
    } catch {
      // gone meanwhile
    }
  }
  return pids;
}

const alive = (pid: number): boolean => {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
};

describe('sandbox helper process', () => {
  const launcher = new HelperLauncher();
  after(async () => {
    await launcher.stop();
    rmSync(root, { recursive: true, force: true });
  });

  it('reports exit codes, output (tail-capped), timeouts and aborts', async () => {
    const ok = await launcher.run({ file: '/bin/sh', args: ['-c', 'echo out; echo err >&2; exit 3'], timeoutMs: 10_000, maxOutputBytes: 1024 });
    assert.equal(ok.code, 3);
    assert.match(ok.output, /out/);
    assert.match(ok.output, /err/);
    const long = await launcher.run({
      file: '/bin/sh',
      args: ['-c', 'i=0; while [ $i -lt 2000 ]; do echo line-$i; i=$((i+1)); done'],
      timeoutMs: 10_000,
      maxOutputBytes: 100,
    });
    assert.equal(long.truncated, true);
    assert.ok(long.output.length <= 100 && long.output.includes('line-1999'), 'the tail is kept');
    const slow = await launcher.run({ file: 'sleep', args: ['5'], timeoutMs: 200, maxOutputBytes: 100 });
    assert.equal(slow.timedOut, true);
    assert.equal(slow.signal, 'SIGKILL');
    const controller = new AbortController();
    const aborted = launcher.run({ file: 'sleep', args: ['5'], timeoutMs: 10_000, maxOutputBytes: 100 }, { signal: controller.signal });
    setTimeout(() => controller.abort(), 100);
    assert.equal((await aborted).aborted, true);
    const chunks: string[] = [];
    await launcher.run({ file: '/bin/sh', args: ['-c', 'echo streamed'], timeoutMs: 10_000, maxOutputBytes: 100 }, { onOutput: (c) => chunks.push(c) });
    assert.match(chunks.join(''), /streamed/);
    await assert.rejects(
      launcher.run({ file: '/nonexistent/binary', args: [], timeoutMs: 1000, maxOutputBytes: 100 }),
      (err: Error) => err instanceof LaunchError && /ENOENT/.test(err.message),
    );
  });

  it('runs tools (git for the state stores) with stdin, stdout as bytes, stderr, environment, folder, timeouts and aborts', async () => {
    const bytes = Buffer.from([0, 1, 2, 255, 10, 0x80, 0x41]);
    const cat = await launcher.runTool('cat', [], { timeoutMs: 10_000, input: bytes });
    assert.equal(cat.code, 0);
    assert.deepEqual(cat.stdout, bytes, 'binary stdin and stdout unchanged');
    const sh = await launcher.runTool('/bin/sh', ['-c', 'echo "$GREETING $(pwd)"; echo warned >&2; exit 4'], {
      timeoutMs: 10_000,
      env: { GREETING: 'hello', PATH: '/usr/bin:/bin' },
      cwd: root,
    });
    assert.equal(sh.code, 4);
    assert.equal(sh.stdout.toString(), `hello ${root}\n`);
    assert.match(sh.stderr, /warned/);
    const git = await launcher.runTool('git', ['--version'], { timeoutMs: 10_000 });
    assert.match(git.stdout.toString(), /^git version/);
    const slow = await launcher.runTool('sleep', ['5'], { timeoutMs: 200 });
    assert.equal(slow.timedOut, true);
    const controller = new AbortController();
    const aborted = launcher.runTool('sleep', ['5'], { timeoutMs: 10_000, signal: controller.signal });
    setTimeout(() => controller.abort(), 100);
    const killed = await aborted;
    assert.equal(killed.code, null, 'an aborted tool is killed (no exit code of its own)');
    assert.equal(killed.timedOut, false);
    await assert.rejects(launcher.runTool('/nonexistent/tool', [], { timeoutMs: 1000 }), (err: Error) => {
      assert.ok(err instanceof ToolMissingError, `a missing tool is a ToolMissingError (${err.name})`);
      assert.match(err.message, /cannot run \/nonexistent\/tool/);
      return true;
    });
  });

  it('fails the runs of a helper that dies, with their sandboxes, and starts a new helper for the next run', async () => {
    const runtime = new BwrapRuntime({ hiddenPaths: [], pathPrefix: [dirname(process.execPath)], launcher });
    const marker = '41.5';
    const running = runtime.run(
      { name: 's', image: '', command: ['sleep', marker], args: [], env: {}, dirs: workspace('dies'), network: false, timeoutMs: 60_000, maxLogBytes: 1024 },
      {},
    );
    await until(() => assert.ok(processesWith(marker).length > 0, 'the step runs'));
    const first = launcher.pid as number;
    process.kill(first, 'SIGKILL');
    await assert.rejects(running, (err: Error) => err instanceof LaunchError && /helper process exited/.test(err.message));
    await until(() => assert.deepEqual(processesWith(marker), [], 'the sandbox died with its helper'));
    const next = await runtime.run(
      {
        name: 's',
        image: '',
        command: ['sh', '-c', 'echo again'],
        args: [],
        env: {},
        dirs: workspace('next'),
        network: false,
        timeoutMs: 10_000,
        maxLogBytes: 1024,
      },
      {},
    );
    assert.equal(next.exitCode, 0);
    assert.match(next.log, /again/);
    assert.notEqual(launcher.pid, first);
  });

  it('kills its steps and exits when its owner is killed with -9', async () => {
    const marker = '42.5';
    const dirs = workspace('owner');
    const owner = spawn(process.execPath, [join(import.meta.dirname, '..', 'helpers', 'launcherChild.ts'), dirname(dirs.input), marker], {
      stdio: ['ignore', 'pipe', 'inherit'],
    });
    let out = '';
    owner.stdout?.on('data', (d: Buffer) => (out += d.toString()));
    await until(() => assert.match(out, /helper \d+/));
    const helper = Number(/helper (\d+)/.exec(out)?.[1]);
    await until(() => assert.ok(processesWith(marker).length > 0, 'the step runs'));
    owner.kill('SIGKILL');
    await until(() => assert.equal(alive(helper), false, 'the helper exits'));
    await until(() => assert.deepEqual(processesWith(marker), [], 'and its step is gone'));
  });
});
