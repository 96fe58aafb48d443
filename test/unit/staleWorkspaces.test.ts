/** Workspaces a killed FleetOps left behind are removed at start, and only those (others may share the folder). */
import { it } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdirSync, mkdtempSync, rmSync, utimesSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { removeStaleWorkspaces } from '../../src/workflows/PipelineRunner.ts';

it('removes only run workspaces older than the limit', () => {
  const root = mkdtempSync(join(tmpdir(), 'fleetops-stale-'));
  try {
    for (const d of ['fleetops-run-old', 'fleetops-run-new', 'someone-else']) mkdirSync(join(root, d, 'output'), { recursive: true });
    const twoDaysAgo = (Date.now() - 48 * 3_600_000) / 1000;
    utimesSync(join(root, 'fleetops-run-old'), twoDaysAgo, twoDaysAgo);
    utimesSync(join(root, 'someone-else'), twoDaysAgo, twoDaysAgo);
    assert.equal(removeStaleWorkspaces(root), 1);
    assert.equal(existsSync(join(root, 'fleetops-run-old')), false);
    assert.equal(existsSync(join(root, 'fleetops-run-new')), true, 'a recent one may belong to a running FleetOps');
    assert.equal(existsSync(join(root, 'someone-else')), true, 'only FleetOps workspaces');
    assert.equal(removeStaleWorkspaces(join(root, 'missing')), 0);
  } finally {
    rmSync(root, { recursive: true, force: true });
  }
});
