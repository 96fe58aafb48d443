/**
 * What an application team's token may see: the Promise catalog yes; other teams' namespaces and the platform's
 * dry runs of Promise changes (RolloutPlans name and diff every team's resources) no, with Kubernetes' 403 Status.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { HttpClient } from '../../src/client/HttpClient.ts';
import type { ApiError } from '../../src/api/errors.ts';
import { startTestFleet, type TestFleet } from '../helpers/fleet.ts';

describe("an application team's access", () => {
  let fleet: TestFleet;
  let team: HttpClient;
  let dataDir: string;
  before(async () => {
    dataDir = mkdtempSync(join(tmpdir(), 'fleetops-team-'));
    writeFileSync(
      join(dataDir, 'tokens.json'),
      JSON.stringify({
        users: [
          { name: 'admin', role: 'admin', namespaces: [], token: 'admin-token-of-the-team-test' },
          { name: 'team-a', role: 'team', namespaces: ['team-a'], token: 'team-a-token-of-the-team-test' },
        ],
      }),
    );
    fleet = await startTestFleet({ dataDir });
    team = new HttpClient({ ...fleet.client.config, token: 'team-a-token-of-the-team-test' });
    await fleet.client.request('POST', '/apis/fleetops.dev/v1alpha1/rolloutplans', {
      body: {
        apiVersion: 'fleetops.dev/v1alpha1',
        kind: 'RolloutPlan',
        metadata: { name: 'secret-plan' },
        spec: { promise: { metadata: { name: 'nothing' } } },
      },
    });
  });
  after(async () => {
    team.close();
    await fleet.cleanup();
    rmSync(dataDir, { recursive: true, force: true });
  });

  it("reads the Promise catalog but not the platform's rollout plans or other namespaces", async () => {
    assert.ok(Array.isArray((await team.get<{ items: unknown[] }>('/apis/platform.kratix.io/v1alpha1/promises')).items));
    for (const path of [
      '/apis/fleetops.dev/v1alpha1/rolloutplans',
      '/apis/fleetops.dev/v1alpha1/rolloutplans/secret-plan',
      '/api/v1/namespaces/default/secrets',
    ]) {
      const err = await team.get(path).then(
        () => assert.fail(`${path} readable by a team`),
        (e: unknown) => e as ApiError,
      );
      assert.equal(err.code, 403, path);
      assert.equal(err.reason, 'Forbidden');
      assert.match(err.message, /User "team-a" cannot (get|list) resource/);
    }
  });
});
