/** Workspaces a killed FleetOps left behind are removed at start, and only those (others may share the folder). */
import { it } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, rmSync, utimesSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { removeStaleWorkspaces } from '../../src/workflows/workspace.ts';

it('removes workspaces of a process that is gone at once, and others only once older than the limit', () => {
  const root = mkdtempSync(join(tmpdir(), 'fleetops-stale-'));
  // A process that has exited: its pid names a workspace nobody will remove.
  const gone = spawnSync('true').pid as number;
  try {
    for (const d of [`run-${gone}-abc`, `run-${process.pid}-old`, `run-${process.pid}-new`, 'someone-else'])
      mkdirSync(join(root, d, 'output'), { recursive: true });
    const twoDaysAgo = (Date.now() - 48 * 3_600_000) / 1000;
    utimesSync(join(root, `run-${process.pid}-old`), twoDaysAgo, twoDaysAgo);
    utimesSync(join(root, 'someone-else'), twoDaysAgo, twoDaysAgo);
    assert.equal(removeStaleWorkspaces(root), 2);
    assert.equal(existsSync(join(root, `run-${gone}-abc`)), false, 'its FleetOps is gone');
    assert.equal(existsSync(join(root, `run-${process.pid}-old`)), false, 'older than any run');
    assert.equal(existsSync(join(root, `run-${process.pid}-new`)), true, 'a recent one of a live FleetOps stays');
    assert.equal(existsSync(join(root, 'someone-else')), true, 'only FleetOps workspaces');
    assert.equal(removeStaleWorkspaces(join(root, 'missing')), 0);
  } finally {
    rmSync(root, { recursive: true, force: true });
  }
});

it("removes the API relay sockets of processes that are gone, never a live one's however old", () => {
  const root = mkdtempSync(join(tmpdir(), 'fleetops-stale-'));
  const gone = spawnSync('true').pid as number;
  try {
    for (const f of [`api-${gone}.sock`, `api-${process.pid}.sock`, `api-${process.ppid}.sock`]) writeFileSync(join(root, f), '');
    const twoDaysAgo = (Date.now() - 48 * 3_600_000) / 1000;
    utimesSync(join(root, `api-${process.ppid}.sock`), twoDaysAgo, twoDaysAgo);
    assert.equal(removeStaleWorkspaces(root), 1);
    assert.equal(existsSync(join(root, `api-${gone}.sock`)), false);
    assert.equal(existsSync(join(root, `api-${process.pid}.sock`)), true);
    assert.equal(existsSync(join(root, `api-${process.ppid}.sock`)), true, 'its process lives');
  } finally {
    rmSync(root, { recursive: true, force: true });
  }
});
