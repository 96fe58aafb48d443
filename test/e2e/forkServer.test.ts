/**
 * The fork server that starts sandboxes for the helper (a real Perl): exit codes, signals, output, the uid and gid
 * asked for, a process that cannot start, timeouts and aborts that kill the whole group, runs at once kept apart; its
 * processes killed when it is stopped, runs failed when it dies and a new server for the next; and Node's spawn where
 * Perl cannot run.
 */
import { after, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { ForkServer } from '../../src/workflows/runtime/ForkServer.ts';
import { LocalLauncher } from '../../src/workflows/runtime/LocalLauncher.ts';
import { LaunchError, type LaunchRequest } from '../../src/workflows/runtime/ProcessLauncher.ts';
import { eventually } from '../helpers/fleet.ts';
import { sleepersWith } from '../helpers/sleepers.ts';

const sh = (script: string, extra: Partial<LaunchRequest> = {}): LaunchRequest => ({
  file: '/bin/sh',
  args: ['-c', script],
  timeoutMs: 20_000,
  maxOutputBytes: 4096,
  ...extra,
});

describe('the fork server', () => {
  const server = new ForkServer({ fallback: new LocalLauncher() });
  after(() => server.stop());

  it('reports exit codes, signals and output, and refuses what cannot start with its errno', async () => {
    const r = await server.run(sh('echo out; echo err >&2; exit 3'));
    assert.deepEqual([r.code, r.signal, r.output, r.timedOut, r.aborted], [3, null, 'out\nerr\n', false, false]);
    const killed = await server.run(sh('kill -TERM $$'));
    assert.deepEqual([killed.code, killed.signal], [null, 'SIGTERM']);
    await assert.rejects(server.run({ file: '/nonexistent/binary', args: [], timeoutMs: 1000, maxOutputBytes: 100 }), (err: Error) => {
      assert.ok(err instanceof LaunchError);
      assert.equal(err.code, 'ENOENT');
      assert.match(err.message, /cannot start \/nonexistent\/binary: .*\(ENOENT\)/);
      return true;
    });
    const args = await server.run({
      file: '/usr/bin/printf',
      args: ['%s|', 'a b', "it's", 'tab\there', 'line\nbreak', 'ünï'],
      timeoutMs: 5000,
      maxOutputBytes: 100,
    });
    assert.equal(args.output, "a b|it's|tab\there|line\nbreak|ünï|", 'arguments arrive byte for byte');
  });

  it('runs as the uid and gid asked for, with no other group', { skip: process.getuid?.() !== 0 && 'needs root' }, async () => {
    const r = await server.run(sh('id -u; id -g; id -G', { uid: 65534, gid: 65533 }));
    assert.equal(r.output, '65534\n65533\n65533\n');
  });

  it('keeps the tail of a long output, streams it, and keeps runs at once apart', async () => {
    const chunks: string[] = [];
    const long = await server.run(sh('i=0; while [ $i -lt 3000 ]; do echo line-$i; i=$((i+1)); done', { maxOutputBytes: 100 }), {
      onOutput: (c) => chunks.push(c),
    });
    assert.equal(long.truncated, true);
    assert.match(long.output, /line-2999\n$/);
    assert.ok(long.output.length <= 100);
    assert.match(chunks.join(''), /^line-0\n/);
    assert.equal(chunks.join('').split('\n').length, 3001, 'every line streamed');
    const many = await Promise.all(Array.from({ length: 24 }, (_, i) => server.run(sh(`echo run-${i}; sleep 0.0${i % 5}; echo end-${i}; exit ${i % 4}`))));
    many.forEach((r, i) => assert.deepEqual([r.output, r.code], [`run-${i}\nend-${i}\n`, i % 4]));
  });

  it('kills the whole group at the timeout and on an abort', async () => {
    const marker = '313.5';
    const timed = await server.run(sh(`sleep ${marker} & sleep ${marker}`, { timeoutMs: 300 }));
    assert.deepEqual([timed.timedOut, timed.signal], [true, 'SIGKILL']);
    await eventually(() => sleepersWith(marker).length === 0, 5000, 'both sleeps gone');
    const abort = new AbortController();
    const running = server.run(sh(`sleep ${marker} & sleep ${marker}`), { signal: abort.signal });
    await eventually(() => sleepersWith(marker).length === 2, 5000, 'both sleeps started');
    abort.abort();
    const aborted = await running;
    assert.equal(aborted.aborted, true);
    await eventually(() => sleepersWith(marker).length === 0, 5000, 'both sleeps gone');
  });

  it('kills what it started when stopped, fails the runs of a server that dies, and starts a new one', async () => {
    const own = new ForkServer({ fallback: new LocalLauncher() });
    const marker = '314.5';
    const first = own.run(sh(`sleep ${marker}`));
    await eventually(() => sleepersWith(marker).length === 1, 5000, 'the sleep started');
    const pid = own.pid;
    assert.ok(pid);
    process.kill(pid, 'SIGKILL');
    await assert.rejects(first, (err: Error) => err instanceof LaunchError && /fork server exited/.test(err.message));
    const again = await own.run(sh('echo again'));
    assert.equal(again.output, 'again\n');
    assert.notEqual(own.pid, pid, 'a new server');
    const left = own.run(sh(`sleep ${marker}`)).catch((err: unknown) => err);
    await eventually(() => sleepersWith(marker).length >= 1, 5000, 'another sleep started');
    own.stop();
    await eventually(() => sleepersWith(marker).length === 0, 5000, 'every sleep killed with the server');
    assert.ok((await left) instanceof LaunchError);
  });

  it("uses Node's spawn where Perl cannot run", async () => {
    const without = new ForkServer({ fallback: new LocalLauncher(), perl: '/nonexistent/perl' });
    const r = await without.run(sh('echo fallback; exit 2'));
    assert.deepEqual([r.output, r.code], ['fallback\n', 2]);
    assert.equal(without.pid, undefined);
  });
});
