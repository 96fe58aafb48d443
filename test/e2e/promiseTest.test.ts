/**
 * `fleetops promise test`, as a Promise author and CI use it: the three examples' cases pass against their images
 * (built without Docker into a throw-away image cache; no FleetOps server runs), with a JUnit report; when a step
 * changes, the case fails with a readable diff and exit code 1, and `--update` accepts the new output. A Promise of
 * Kratix's marketplace, unchanged, is tested the same way with a stand-in for its image built by the test.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { cpSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fleetopsCli } from '../helpers/fleet.ts';

const root = join(import.meta.dirname, '..', '..');
const EXAMPLES = ['app-as-a-service', 'postgresql', 'team'];

describe('fleetops promise test', () => {
  let home: string;
  // No server: the CLI runs with a kubeconfig that points nowhere; promise test never calls the API.
  const cli = (args: string[]): ReturnType<ReturnType<typeof fleetopsCli>> =>
    fleetopsCli('/nonexistent/kubeconfig')([...args, '--data-dir', home], undefined, 180_000);

  before(async () => {
    home = mkdtempSync(join(tmpdir(), 'fleetops-promise-test-'));
    for (const e of EXAMPLES) {
      const r = await cli(['image', 'build', join(root, 'examples', e, 'pipeline')]);
      assert.equal(r.code, 0, r.stderr);
    }
  });
  after(() => rmSync(home, { recursive: true, force: true }));

  for (const example of EXAMPLES) {
    it(`passes the ${example} example's cases and writes a JUnit report`, async () => {
      const junit = join(home, `${example}.xml`);
      const r = await cli(['promise', 'test', join(root, 'examples', example), '--junit', junit]);
      assert.equal(r.code, 0, r.stdout + r.stderr);
      assert.match(r.stdout, /^PASS /m);
      assert.match(r.stdout, /[1-9]\d* passed, 0 failed/);
      const report = readFileSync(junit, 'utf8');
      assert.match(report, /<testsuite name="promise [^"]+" tests="[1-9]\d*" failures="0"/);
      assert.doesNotMatch(report, /<failure/);
    });
  }

  it('fails with a diff when a step changes, and accepts the change with --update', async () => {
    const copy = join(home, 'team-copy');
    cpSync(join(root, 'examples', 'team'), copy, { recursive: true });
    // The step changes: the environments it renders get another label; its image is rebuilt under the same tag.
    const step = join(copy, 'pipeline', 'configure.ts');
    const source = readFileSync(step, 'utf8');
    const changed = source.replace('const labels = {', "const labels = { 'cost-center': 'shared',");
    assert.notEqual(changed, source, 'the step has a labels map to change');
    writeFileSync(step, changed);
    let r = await cli(['image', 'build', join(copy, 'pipeline')]);
    assert.equal(r.code, 0, r.stderr);
    const junit = join(home, 'changed.xml');
    r = await cli(['promise', 'test', copy, '--junit', junit]);
    assert.equal(r.code, 1, r.stdout + r.stderr);
    assert.match(r.stdout, /^FAIL {2}team\/payments$/m);
    assert.match(r.stdout, /~ output\/payments-dev\.yaml:/);
    assert.match(r.stdout, /^\s+\+ .*cost-center: shared/m);
    assert.match(r.stdout, /run with --update to accept/);
    assert.match(readFileSync(junit, 'utf8'), /failures="1"[\s\S]*<failure message="~ output\//);
    r = await cli(['promise', 'test', copy, '--update']);
    assert.equal(r.code, 0, r.stdout + r.stderr);
    r = await cli(['promise', 'test', copy]);
    assert.equal(r.code, 0, r.stdout + r.stderr);
    // and the original image is back for the other tests (same tag)
    r = await cli(['image', 'build', join(root, 'examples', 'team', 'pipeline')]);
    assert.equal(r.code, 0, r.stderr);
  });

  it("tests a Kratix marketplace Promise, unchanged, against a stand-in for its step's image", async () => {
    const promise = join(home, 'marketplace-namespace');
    mkdirSync(join(promise, 'test', 'team-a', 'output'), { recursive: true });
    cpSync(join(root, 'test', 'data', 'kratix-marketplace', 'namespace.yaml'), join(promise, 'promise.yaml'));
    let r = await cli([
      'image',
      'build',
      join(root, 'test', 'data', 'standin-images', 'namespace'),
      '--tag',
      'ghcr.io/syntasso/kratix-marketplace/namespace-configure-pipeline:v0.1.0',
    ]);
    assert.equal(r.code, 0, r.stderr);
    const kase = join(promise, 'test', 'team-a');
    writeFileSync(
      join(kase, 'input.yaml'),
      'apiVersion: marketplace.kratix.io/v1alpha1\nkind: namespace\nmetadata:\n  name: team-a\n  namespace: default\nspec:\n  namespaceName: team-a-dev\n',
    );
    writeFileSync(join(kase, 'output', 'namespace.yaml'), 'apiVersion: v1\nkind: Namespace\nmetadata:\n  name: team-a-dev\n');
    writeFileSync(join(kase, 'status.yaml'), 'message: namespace team-a-dev requested\n');
    r = await cli(['promise', 'test', promise]);
    assert.equal(r.code, 0, r.stdout + r.stderr);
    assert.match(r.stdout, /^PASS +namespace\/team-a$/m);
    // An expectation that the step does not meet fails, naming the file.
    writeFileSync(join(kase, 'output', 'namespace.yaml'), 'apiVersion: v1\nkind: Namespace\nmetadata:\n  name: team-a-prod\n');
    r = await cli(['promise', 'test', promise]);
    assert.equal(r.code, 1, r.stdout + r.stderr);
    assert.match(r.stdout, /~ output\/namespace\.yaml:/);
    assert.match(r.stdout, /^\s+- .*team-a-prod/m);
    assert.match(r.stdout, /^\s+\+ .*team-a-dev/m);
  });
});
