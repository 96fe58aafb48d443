/**
 * A step image rebuilt under the same tag with `fleetops image build` (another process) is what the next run of a
 * running FleetOps uses, and `fleetops logs` names the digest that ran.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { stringify } from 'yaml';
import { eventually, fleetopsCli, startTestFleet, type TestFleet } from '../helpers/fleet.ts';
import { kubectlFor, type Kubectl } from '../helpers/kubectl.ts';
import { testPromise } from '../helpers/promises.ts';

const IMAGE = 'fleetops.local/test/rebuilt:1';

describe('a step image rebuilt under the same tag', () => {
  let fleet: TestFleet;
  let kubectl: Kubectl;
  let cli: ReturnType<typeof fleetopsCli>;
  const step = mkdtempSync(join(tmpdir(), 'fleetops-rebuild-'));

  /** Builds the step with `version` in its status message; returns the digest the build printed. */
  async function build(version: string): Promise<string> {
    mkdirSync(step, { recursive: true });
    writeFileSync(join(step, 'image.yaml'), 'base: busybox\nentrypoint: [/bin/sh, /pipeline/run.sh]\n');
    writeFileSync(join(step, 'run.sh'), `echo "message: built ${version}" > /kratix/metadata/status.yaml\n`);
    const r = await cli(['image', 'build', step, '-t', IMAGE, '--data-dir', fleet.dataDir], undefined, 120_000);
    assert.equal(r.code, 0, r.stderr);
    const digest = /\((sha256:[0-9a-f]{64}),/.exec(r.stdout)?.[1];
    assert.ok(digest, r.stdout);
    return digest;
  }

  async function request(name: string): Promise<string> {
    const r = await kubectl(['apply', '-f', '-'], { input: `apiVersion: test.fleetops.dev/v1\nkind: Rebuilt\nmetadata:\n  name: ${name}\nspec: {}\n` });
    assert.equal(r.code, 0, r.stderr);
    // The message says Pending while the workflow runs (as Kratix's does), then what the step wrote.
    return eventually(
      async () => {
        const message = (await kubectl(['get', 'rebuilt', name, '-o', 'jsonpath={.status.message}'])).stdout;
        return message && message !== 'Pending' ? message : undefined;
      },
      60_000,
      `${name} status`,
    );
  }

  before(async () => {
    fleet = await startTestFleet();
    kubectl = kubectlFor(fleet.kubeconfigPath);
    cli = fleetopsCli(fleet.kubeconfigPath);
  });
  after(async () => {
    await fleet.cleanup();
    rmSync(step, { recursive: true, force: true });
  });

  it('runs the newest build, and the logs say which digest ran', async () => {
    const first = await build('one');
    const p = testPromise({ kind: 'Rebuilt', plural: 'rebuilts', pipeline: { name: 'p', spec: { containers: [{ name: 'run', image: IMAGE }] } } });
    assert.equal((await kubectl(['apply', '-f', '-'], { input: stringify(p) })).code, 0);
    await eventually(async () => (await kubectl(['get', 'rebuilts'])).code === 0, 20_000, 'kind served');
    assert.equal(await request('r1'), 'built one');
    const second = await build('two');
    assert.notEqual(second, first);
    assert.equal(await request('r2'), 'built two');
    const logs = await cli(['logs', 'rebuilts.test.fleetops.dev/r2']);
    assert.equal(logs.code, 0, logs.stderr);
    assert.match(logs.stdout, new RegExp(`${IMAGE.replace(/[./]/g, '\\$&')} \\(${second.slice(0, 19)}\\)`));
  });
});
