/**
 * The `fleetops` CLI as a user runs it (a child process with a kubeconfig): apply/get/describe/delete of Promises and
 * of the kinds they serve, `promise init` scaffolding a Promise that installs, and one-line errors for bad input.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { spawn } from 'node:child_process';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { eventually, fleetopsCli, startTestFleet, type TestFleet } from '../helpers/fleet.ts';

const root = join(import.meta.dirname, '..', '..');
describe('fleetops CLI', () => {
  let fleet: TestFleet;
  let work: string;
  let fleetops: ReturnType<typeof fleetopsCli>;
  before(async () => {
    fleet = await startTestFleet();
    work = mkdtempSync(join(tmpdir(), 'fleetops-cli-'));
    fleetops = fleetopsCli(fleet.kubeconfigPath, work);
  });
  after(() => fleet.cleanup());

  it('applies, lists, describes and deletes a Promise and its resources', async () => {
    let r = await fleetops(['apply', '-f', join(root, 'examples/team/promise.yaml')]);
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /promise.platform.kratix.io\/team created/);
    await eventually(async () => /team\s+.*Available/.test((await fleetops(['get', 'promises'])).stdout), 15_000, 'team promise available');

    r = await fleetops(
      ['apply', '-f', '-'],
      'apiVersion: platform.fleetops.dev/v1\nkind: Team\nmetadata:\n  name: payments\nspec:\n  group: payments-devs\n---\napiVersion: platform.fleetops.dev/v1\nkind: Team\nmetadata:\n  name: search\nspec:\n  group: search-devs\n  tier: large\n',
    );
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /team.platform.fleetops.dev\/payments created\n.*team.platform.fleetops.dev\/search created/);

    r = await fleetops(['get', 'teams']);
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /^NAME\s+GROUP\s+TIER/m);
    assert.match(r.stdout, /^payments\s+payments-devs\s+small/m, 'defaults applied from the schema');
    assert.match(r.stdout, /^search\s+search-devs\s+large/m);
    r = await fleetops(['get', 'team/search', '-o', 'json']);
    assert.deepEqual(JSON.parse(r.stdout).spec.environments, ['dev', 'prod']);

    r = await fleetops(['describe', 'team', 'payments']);
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /^Name:\s+payments/m);
    assert.match(r.stdout, /^Namespace:\s+default/m);

    r = await fleetops(['delete', 'team', 'payments']);
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /team.platform.fleetops.dev "payments" deleted/);
    r = await fleetops(['get', 'teams', '-o', 'name']);
    assert.equal(r.stdout.trim(), 'team.platform.fleetops.dev/search');
  });

  it('scaffolds a Promise with promise init that installs and serves its kind', async () => {
    let r = await fleetops([
      'promise',
      'init',
      'cache',
      '--group',
      'cache.example.com',
      '--kind',
      'Cache',
      '--property',
      'sizeMb:integer:required',
      '--property',
      'engine:string',
    ]);
    assert.equal(r.code, 0, r.stderr);
    r = await fleetops(['apply', '-f', join(work, 'cache/promise.yaml')]);
    assert.equal(r.code, 0, r.stderr);
    await eventually(async () => (await fleetops(['get', 'caches'])).code === 0, 15_000, 'kind served');
    // its step image, built without Docker into the fleet's cache; the example request then runs its TypeScript step
    r = await fleetops(['image', 'build', join(work, 'cache/pipeline'), '--data-dir', fleet.dataDir], undefined, 120_000);
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /^built fleetops\.local\/cache\/configure:v0\.1\.0 \(sha256:[0-9a-f]{64}, [\d.]+ MB\) into the image cache/);
    // its scaffolded test case: recorded with --update, then checked, with no server involved
    r = await fleetops(['promise', 'test', join(work, 'cache'), '--data-dir', fleet.dataDir, '--update'], undefined, 60_000);
    assert.equal(r.code, 0, r.stderr);
    assert.match(readFileSync(join(work, 'cache/test/example/status.yaml'), 'utf8'), /message: Cache example-cache configured/);
    r = await fleetops(['promise', 'test', join(work, 'cache'), '--data-dir', fleet.dataDir], undefined, 60_000);
    assert.equal(r.code, 0, r.stderr + r.stdout);
    assert.match(r.stdout, /PASS {2}cache\/example\n1 passed, 0 failed/);
    r = await fleetops(['apply', '-f', join(work, 'cache/example-resource.yaml')]);
    assert.equal(r.code, 0, r.stderr);
    assert.match((await fleetops(['get', 'caches', '-o', 'name'])).stdout, /cache.cache.example.com\/example-cache/);
    const message = async (): Promise<string | undefined> =>
      (JSON.parse((await fleetops(['get', 'cache', 'example-cache', '-o', 'json'])).stdout) as { status?: { message?: string } }).status?.message;
    await eventually(async () => (await message()) === 'Cache example-cache configured', 30_000, 'the step ran in its image');
    r = await fleetops(['image', 'list', '--data-dir', fleet.dataDir]);
    assert.match(r.stdout, /fleetops\.local\/cache\/configure:v0\.1\.0\s+sha256:[0-9a-f]{12}\s+[\d.]+ MB/);
    // the required field is enforced
    r = await fleetops(['apply', '-f', '-'], 'apiVersion: cache.example.com/v1alpha1\nkind: Cache\nmetadata: {name: bad}\nspec: {engine: redis}\n');
    assert.equal(r.code, 1);
    assert.match(r.stderr, /spec.sizeMb: Required value/);
    // its README's commands run from the Promise's folder, anywhere: the CLI by its path, never a bare "npx fleetops"
    const readme = readFileSync(join(work, 'cache/README.md'), 'utf8');
    assert.doesNotMatch(readme, /^(\$ )?npx fleetops/m);
    const cliLine = /^FLEETOPS="(.+)"$/m.exec(readme)?.[1];
    assert.ok(cliLine, readme);
    const [node, script] = cliLine.split(' ');
    const version = await new Promise<{ code: number | null; out: string }>((resolve) => {
      const child = spawn(node!, [script!, '--help'], { cwd: tmpdir() });
      let out = '';
      child.stdout.on('data', (d: Buffer) => (out += d.toString()));
      child.on('close', (code) => resolve({ code, out }));
    });
    assert.equal(version.code, 0, version.out);
    assert.match(readme, /about\s+130 MB/);
    // scaffolding never overwrites
    r = await fleetops(['promise', 'init', 'cache', '--group', 'cache.example.com', '--kind', 'Cache']);
    assert.equal(r.code, 1);
    assert.match(r.stderr, /already exists/);
  });

  it('answers bad input with one line that says what to fix', async () => {
    const bad = join(work, 'bad.yaml');
    writeFileSync(bad, 'apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: [unclosed\n');
    const cases: Array<[string[], RegExp, string?]> = [
      [['apply', '-f', bad], /bad\.yaml.*(YAML|yaml)/],
      [['apply', '-f', join(work, 'missing.yaml')], /missing\.yaml/],
      [['get', 'frobnicators'], /frobnicators/],
      [['apply', '-f', '-'], /kind/, 'apiVersion: v1\nmetadata:\n  name: x\n'],
      [['apply', '-f', '-'], /Invalid value.*Bad_Name|Bad_Name.*invalid/i, 'apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: Bad_Name\n'],
      [['promise', 'init', 'Bad Name', '--group', 'a.b', '--kind', 'X'], /promise name/],
      [['delete', 'team', 'nobody'], /NotFound.*nobody/],
    ];
    for (const [args, pattern, input] of cases) {
      const r = await fleetops(args, input);
      assert.equal(r.code, 1, `${args.join(' ')} should fail`);
      const lines = r.stderr.trim().split('\n');
      assert.equal(lines.length, 1, `one line for ${args.join(' ')}: ${r.stderr}`);
      assert.match(lines[0]!, pattern);
      assert.doesNotMatch(r.stderr, /at .*\.ts:\d+/, 'no stack trace');
    }
  });
});
