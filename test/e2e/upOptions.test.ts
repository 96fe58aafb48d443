/**
 * `fleetops up --step-concurrency`: the number of pipeline steps at once, as the operator sets it (said in the log at
 * start), and a clear one-line refusal of a value that is not a whole number of at least 1.
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

const main = join(import.meta.dirname, '..', '..', 'src', 'cli', 'main.ts');

/** Runs `fleetops up` with JSON logs until it says it is up (then stops it); its exit code and output. */
function up(extra: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  const dataDir = mkdtempSync(join(tmpdir(), 'fleetops-up-'));
  return new Promise((resolve) => {
    let started = false;
    let stdout = '';
    const child = execFile(
      process.execPath,
      [main, 'up', '--data-dir', dataDir, '--port', '0', '--log-format', 'json', ...extra],
      { timeout: 60_000 },
      (err, _out, stderr) => {
        rmSync(dataDir, { recursive: true, force: true });
        resolve({ code: started ? 0 : err ? ((err as { code?: number }).code ?? 1) : 0, stdout, stderr });
      },
    );
    child.stdout?.on('data', (d: Buffer) => {
      stdout += String(d);
      if (started || !stdout.includes('FleetOps is up')) return;
      started = true;
      child.kill('SIGTERM');
    });
  });
}

describe('fleetops up --step-concurrency', () => {
  it('sets the number of pipeline steps at once, which FleetOps says at start', async () => {
    const r = await up(['--step-concurrency', '3']);
    assert.equal(r.code, 0, r.stderr);
    const line = r.stdout
      .split('\n')
      .filter((l) => l.startsWith('{'))
      .map((l) => JSON.parse(l) as { stepConcurrency?: number })
      .find((l) => l.stepConcurrency !== undefined);
    assert.equal(line?.stepConcurrency, 3);
  });

  it('refuses a value that is not a whole number of at least 1, with the fix, before starting anything', async () => {
    for (const bad of ['0', 'many', '2.5']) {
      const r = await up(['--step-concurrency', bad]);
      assert.notEqual(r.code, 0);
      assert.doesNotMatch(r.stdout, /FleetOps is up/);
      assert.match(
        r.stderr,
        new RegExp(
          `--step-concurrency <n>' argument '${bad.replace('.', '\\.')}' is invalid\\. it must be a whole number of at least 1 \\(e\\.g\\. --step-concurrency 8\\)`,
        ),
      );
    }
  });
});
