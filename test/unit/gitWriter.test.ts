/** The Git writer's reports, with git answered by a stand-in: what a state store's status says when git is stopped. */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { GitWriter } from '../../src/statestores/GitWriter.ts';
import type { ToolRunner } from '../../src/lib/runTool.ts';

describe('Git writer reports', () => {
  it('says a git stopped at the time limit timed out, with the limit; local work gets 10 minutes at least', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'fo-gitwriter-'));
    const calls: { args: string[]; timeoutMs: number }[] = [];
    // Every git runs past the limit and is stopped: no output, no exit code.
    const run: ToolRunner = async (_file, args, options) => {
      calls.push({ args, timeoutMs: options.timeoutMs });
      return { code: null, stdout: Buffer.alloc(0), stderr: '', timedOut: true };
    };
    try {
      const writer = new GitWriter({
        url: `file://${join(dir, 'repo.git')}`,
        branch: 'main',
        workDir: join(dir, 'work'),
        author: { name: 'FleetOps', email: 'fleetops@example.com' },
        auth: { kind: 'none' },
        timeoutMs: 1500,
        run,
      });
      const files = new Map([['worker/a.yaml', Buffer.from('a: 1\n')]]);
      await assert.rejects(writer.sync({ roots: ['worker'], files, message: 'm' }), (err: Error) => /: timed out after 600 s \(stopped\)$/.test(err.message));
      assert.equal(calls.length, 1);
      assert.equal(calls[0]?.args[0], 'init', 'a local command…');
      assert.equal(calls[0]?.timeoutMs, 600_000, '…given 10 minutes, not the 1.5 s of the network commands');
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
