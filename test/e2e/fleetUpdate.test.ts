/**
 * The Kratix workshop's fleet update end to end, with the real kubectl and a real Git server: install app-as-a-service, request 20
 * Apps with 1 replica, preview the replica-migration change with `fleetops rollout plan`, apply it with a canary
 * strategy (one App, pause for approval, then the rest five at a time), watch every App reach 2 replicas in its
 * status and in the Git state store, read the history, then undo and watch them all return to 1.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parse, stringify } from 'yaml';
import { eventually, fleetopsCli, startTestFleet, type TestFleet } from '../helpers/fleet.ts';
import { connectStateStore, startGitServer, type TestGitServer } from '../helpers/gitServer.ts';
import { appReplicas, kubectlFor, type Kubectl } from '../helpers/kubectl.ts';

const root = join(import.meta.dirname, '..', '..');
const APPS = Array.from({ length: 20 }, (_, i) => `app-${String(i + 1).padStart(2, '0')}`);

function appsYaml(): string {
  return APPS.map(
    (n) =>
      `apiVersion: marketplace.kratix.io/v1\nkind: App\nmetadata:\n  name: ${n}\n  namespace: default\nspec:\n  name: ${n}\n  image: registry.example.com/${n}:1.0\n  replicas: 1\n`,
  ).join('---\n');
}

/** The v2 Promise (replica-migration added) with a canary strategy in the FleetOps annotation. */
function promiseV2(): string {
  const p = parse(readFileSync(join(root, 'examples/app-as-a-service/promise-v2.yaml'), 'utf8')) as { metadata: { annotations?: Record<string, string> } };
  p.metadata.annotations = {
    ...(p.metadata.annotations ?? {}),
    'fleetops.dev/rollout-strategy': 'maxConcurrent: 5\nsteps:\n  - {count: 1, pause: true}\n  - {percent: 100}\n',
  };
  return stringify(p);
}

describe('a fleet update of app-as-a-service (the workshop scenario)', () => {
  let fleet: TestFleet;
  let git: TestGitServer;
  let kubectl: Kubectl;
  let fleetops: ReturnType<typeof fleetopsCli>;

  const replicasColumn = (): Promise<Map<string, string>> => appReplicas(kubectl);
  const allReplicas = async (want: string): Promise<boolean> => {
    const col = await replicasColumn();
    return col.size === APPS.length && [...col.values()].every((v) => v === want);
  };
  /** Replicas of every App's Deployment in a fresh clone of the state store (worker-1's path). */
  const replicasInGit = async (): Promise<number[]> => {
    const dir = await git.clone('platform');
    return APPS.map((n) => {
      const file = join(dir, 'worker-1/resources/default/app', n, 'resource-configure/5058f/deployment.yaml');
      return existsSync(file) ? (parse(readFileSync(file, 'utf8')) as { spec: { replicas: number } }).spec.replicas : -1;
    });
  };

  before(async () => {
    git = await startGitServer();
    await git.createRepo('platform');
    fleet = await startTestFleet({ stateStoreBatchMs: 50, exampleImage: true });
    await connectStateStore(fleet.client, git, 'platform');
    kubectl = kubectlFor(fleet.kubeconfigPath);
    fleetops = fleetopsCli(fleet.kubeconfigPath);
  });
  after(async () => {
    await fleet.cleanup();
    await git.close();
  });

  it('installs the Promise and serves 20 Apps with 1 replica, in status and in Git', async () => {
    let r = await kubectl(['apply', '-f', join(root, 'examples/app-as-a-service/promise.yaml')]);
    assert.equal(r.code, 0, r.stderr);
    await eventually(
      async () => (await kubectl(['get', 'promise', 'app', '-o', 'jsonpath={.status.status}'])).stdout === 'Available',
      20_000,
      'promise available',
    );
    r = await kubectl(['apply', '-f', '-'], { input: appsYaml() });
    assert.equal(r.code, 0, r.stderr);
    await eventually(() => allReplicas('1'), 60_000, '20 Apps with 1 replica in status');
    await eventually(async () => (await replicasInGit()).every((n) => n === 1), 30_000, '20 Deployments with 1 replica in Git');
    r = await fleetops(['rollout', 'status', 'app']);
    assert.notEqual(r.code, 0);
    assert.match(r.stderr, /no rollout yet: it is at revision 1/);
  });

  it('previews the change with rollout plan, touching nothing', async () => {
    const r = await fleetops(['rollout', 'plan', '-f', '-'], promiseV2(), 120_000);
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /~ default\/app-01:\n {4}spec\.replicas 1→2 in deployment\.yaml/);
    assert.match(r.stdout, /Summary: 20 apps: 20 would change, 0 unchanged, 0 failed/);
    assert.match(r.stdout, /20 apps: spec\.replicas 1→2 in deployment\.yaml/);
    assert.match(r.stdout, /20 apps: status\.replicas 1→2/);
    assert.ok(await allReplicas('1'), 'a plan changes no status');
    assert.ok(
      (await replicasInGit()).every((n) => n === 1),
      'a plan writes nothing to Git',
    );
    const plans = await kubectl(['get', 'rolloutplans', '-o', 'name']);
    assert.equal(plans.stdout.trim(), '', 'the plan object is removed afterwards');
  });

  it('rolls the replica-migration step out: one canary, approval, then the rest; status and Git reach 2', async () => {
    let r = await kubectl(['apply', '-f', '-'], { input: promiseV2() });
    assert.equal(r.code, 0, r.stderr);
    // The canary: one App updated, then the rollout waits for approval.
    await eventually(
      async () => (await fleetops(['rollout', 'status', 'app'])).stdout.includes('WaitingForApproval'),
      60_000,
      'waiting for approval after the canary',
    );
    const col = await replicasColumn();
    assert.deepEqual(
      [...col.entries()].filter(([, v]) => v === '2').map(([n]) => n),
      ['app-01'],
      'only the canary is updated',
    );
    r = await fleetops(['rollout', 'status', 'app']);
    assert.match(r.stdout, /\[█+░+\] 1\/20 updated/);
    assert.match(r.stdout, /step 1\/2: 1 resource, then pause\s+1\/1\s+done/);

    r = await fleetops(['rollout', 'resume', 'app']);
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /resumed: step 2 approved/);
    r = await fleetops(['rollout', 'status', 'app', '-w', '--timeout', '120'], undefined, 130_000);
    assert.equal(r.code, 0, r.stdout + r.stderr);
    assert.match(r.stdout, /rollout of revision 2 complete: 20 resources updated/);
    assert.ok(await allReplicas('2'), 'every App reports 2 replicas');
    await eventually(async () => (await replicasInGit()).every((n) => n === 2), 30_000, 'every Deployment at 2 replicas in Git');
    // Each App ran the new revision exactly once.
    const labels = await kubectl(['get', 'apps', '-l', 'fleetops.dev/revision=2', '-o', 'name']);
    assert.equal(labels.stdout.trim().split('\n').length, 20);
  });

  it('keeps the history and undoes the change across the fleet', async () => {
    let r = await fleetops(['rollout', 'history', 'app']);
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /^1\s+v1\.0\.0\s+\S+\s+installed\s+initial$/m);
    assert.match(r.stdout, /^2\s+v1\.1\.0\s+\S+\s+Complete 20\/20\s+workflows changed$/m);

    r = await fleetops(['rollout', 'undo', 'app']);
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /rolled back to the spec of revision 1 \(as revision 3\)/);
    // The strategy annotation still applies: approve past the canary.
    await eventually(async () => (await fleetops(['rollout', 'status', 'app'])).stdout.includes('WaitingForApproval'), 60_000, 'undo canary');
    r = await fleetops(['rollout', 'resume', 'app']);
    assert.equal(r.code, 0, r.stderr);
    r = await fleetops(['rollout', 'status', 'app', '-w', '--timeout', '120'], undefined, 130_000);
    assert.equal(r.code, 0, r.stdout + r.stderr);
    assert.ok(await allReplicas('1'), 'every App is back to 1 replica');
    await eventually(async () => (await replicasInGit()).every((n) => n === 1), 30_000, 'every Deployment back to 1 replica in Git');
    r = await fleetops(['rollout', 'history', 'app']);
    assert.match(r.stdout, /^3\s+v1\.0\.0\s+\S+\s+Complete 20\/20\s+rollback to revision 1$/m);
  });
});
