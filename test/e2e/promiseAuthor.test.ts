/**
 * A Promise author's loop with the CLI alone, as with Kratix's: scaffold, change the API and the destination
 * selector, set dependencies from a folder, add a step (its image built without Docker and checked with
 * `promise test`), and build one Promise file from a split folder, which a FleetOps then installs.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync, existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parse, stringify } from 'yaml';
import { eventually, fleetopsCli, startTestFleet, type TestFleet } from '../helpers/fleet.ts';

interface PromiseFile {
  spec: {
    api: { spec: { versions: { schema: { openAPIV3Schema: { properties: { spec: { properties: Record<string, { type: string }> } } } } }[] } };
    destinationSelectors?: { matchLabels: Record<string, string> }[];
    dependencies?: { kind: string; metadata: { name: string } }[];
    workflows: { resource: { configure: { metadata: { name: string }; spec: { containers: { name: string; image: string }[] } }[] } };
  };
}

describe('a Promise author’s commands', () => {
  let work: string;
  let home: string;
  let fleet: TestFleet;
  const cli = (args: string[]): ReturnType<ReturnType<typeof fleetopsCli>> => fleetopsCli(fleet.kubeconfigPath, work)(args, undefined, 180_000);
  const promise = (): PromiseFile => parse(readFileSync(join(work, 'lamp', 'promise.yaml'), 'utf8')) as PromiseFile;
  const specFields = (): string[] => Object.keys(promise().spec.api.spec.versions[0]!.schema.openAPIV3Schema.properties.spec.properties).sort();

  before(async () => {
    work = mkdtempSync(join(tmpdir(), 'fleetops-author-'));
    home = join(work, 'home');
    fleet = await startTestFleet();
    const r = await cli(['promise', 'init', 'lamp', '--group', 'light.example.com', '--kind', 'Lamp', '--property', 'watts:integer']);
    assert.equal(r.code, 0, r.stderr);
  });
  after(async () => {
    await fleet?.cleanup();
    rmSync(work, { recursive: true, force: true });
  });

  it('adds, changes and removes API fields', async () => {
    let r = await cli(['promise', 'update', 'api', '--dir', 'lamp', '--property', 'colour:string', 'lumens:integer', '--property', 'watts-']);
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /colour: string, lumens: integer, removed watts/);
    assert.deepEqual(specFields(), ['colour', 'lumens']);
    r = await cli(['promise', 'update', 'api', '--dir', 'lamp', '--property', 'lumens:bogus']);
    assert.equal(r.code, 1);
    assert.match(r.stderr, /the type must be one of string, integer, number, boolean, object, array/);
  });

  it('sets and removes destination selector labels', async () => {
    let r = await cli(['promise', 'update', 'destination-selector', 'env=dev', 'zone=a', '--dir', 'lamp']);
    assert.equal(r.code, 0, r.stderr);
    r = await cli(['promise', 'update', 'destination-selector', 'zone-', '--dir', 'lamp']);
    assert.equal(r.code, 0, r.stderr);
    assert.deepEqual(promise().spec.destinationSelectors, [{ matchLabels: { environment: 'worker', env: 'dev' } }]);
    r = await cli(['promise', 'update', 'destination-selector', 'env', '--dir', 'lamp']);
    assert.equal(r.code, 1);
    assert.match(r.stderr, /"env" must be key=value \(or key- to remove it\)/);
  });

  it('takes dependencies from a folder of YAML files', async () => {
    mkdirSync(join(work, 'deps'));
    writeFileSync(
      join(work, 'deps', 'a.yaml'),
      'apiVersion: v1\nkind: Namespace\nmetadata: {name: lamps}\n---\napiVersion: v1\nkind: ConfigMap\nmetadata: {name: lamp-defaults, namespace: lamps}\ndata: {watts: "40"}\n',
    );
    const r = await cli(['promise', 'update', 'dependencies', 'deps', '--dir', 'lamp']);
    assert.equal(r.code, 0, r.stderr);
    assert.deepEqual(
      promise().spec.dependencies?.map((d) => `${d.kind}/${d.metadata.name}`),
      ['Namespace/lamps', 'ConfigMap/lamp-defaults'],
    );
  });

  it('adds a step with a folder to build its image from, and the Promise’s test sees it run', async () => {
    let r = await cli(['promise', 'add', 'container', 'resource/configure/glow', '--image', 'fleetops.local/lamp/glow:v1', '--dir', 'lamp']);
    assert.equal(r.code, 0, r.stderr);
    const pipelines = promise().spec.workflows.resource.configure;
    assert.deepEqual(
      pipelines.map((p) => [p.metadata.name, p.spec.containers.map((c) => c.name)]),
      [
        ['instance-configure', ['configure']],
        ['glow', ['glow']],
      ],
    );
    const step = join(work, 'lamp', 'workflows', 'resource', 'configure', 'glow', 'glow');
    assert.ok(existsSync(join(step, 'run.sh')) && existsSync(join(step, 'image.yaml')));
    r = await cli(['promise', 'add', 'container', 'resource/configure/glow', '--image', 'fleetops.local/lamp/glow:v1', '--dir', 'lamp']);
    assert.equal(r.code, 1);
    assert.match(r.stderr, /already has a container named glow: give another --name/);
    r = await cli(['promise', 'add', 'container', 'resource/build/glow', '--image', 'x:1', '--dir', 'lamp']);
    assert.equal(r.code, 1);
    assert.match(r.stderr, /must be <resource\|promise>\/<configure\|delete>\/<pipeline-name>/);
    for (const dir of [join(work, 'lamp', 'pipeline'), step]) {
      r = await cli(['image', 'build', dir, '--data-dir', home]);
      assert.equal(r.code, 0, r.stderr);
    }
    r = await cli(['promise', 'test', 'lamp', '--data-dir', home, '--update']);
    assert.equal(r.code, 0, r.stdout + r.stderr);
    assert.match(readFileSync(join(work, 'lamp', 'test', 'example', 'status.yaml'), 'utf8'), /message: glow ran for example-lamp/);
  });

  it('builds one Promise file from a split folder, which FleetOps installs', async () => {
    const split = join(work, 'split');
    mkdirSync(join(split, 'workflows', 'resource', 'configure'), { recursive: true });
    const whole = promise();
    writeFileSync(join(split, 'promise.yaml'), 'apiVersion: platform.kratix.io/v1alpha1\nkind: Promise\nmetadata:\n  name: lamp\n');
    writeFileSync(join(split, 'api.yaml'), stringify(whole.spec.api));
    writeFileSync(join(split, 'dependencies.yaml'), (whole.spec.dependencies ?? []).map((d) => stringify(d)).join('---\n'));
    writeFileSync(join(split, 'workflows', 'resource', 'configure', 'workflow.yaml'), stringify(whole.spec.workflows.resource.configure));
    let r = await cli(['promise', 'build', split, '-o', join(work, 'built.yaml')]);
    assert.equal(r.code, 0, r.stderr);
    const built = parse(readFileSync(join(work, 'built.yaml'), 'utf8')) as PromiseFile & { kind: string };
    assert.equal(built.kind, 'Promise');
    assert.deepEqual(built.spec.workflows.resource.configure, whole.spec.workflows.resource.configure);
    assert.equal(built.spec.dependencies?.length, 2);
    r = await cli(['apply', '-f', join(work, 'built.yaml')]);
    assert.equal(r.code, 0, r.stderr);
    await eventually(
      async () => (await fleet.client.get<{ status?: { status?: string } }>('/apis/platform.kratix.io/v1alpha1/promises/lamp')).status?.status === 'Available',
      30_000,
      'the built Promise available',
    );
  });
});
