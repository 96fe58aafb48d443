/**
 * Drives FleetOps with the real kubectl 1.32: Promise install, apply (create, update), every get format,
 * watch, describe, label, edit, server-side apply, explain, api-resources, delete, and errors.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { writeFileSync, mkdtempSync, chmodSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parse, stringify } from 'yaml';
import { eventually, startTestFleet, type TestFleet } from '../helpers/fleet.ts';
import { kubectlFor, type Kubectl } from '../helpers/kubectl.ts';

/**
 * The app-as-a-service Promise without its workflows: this file checks API behaviour (formats, patches, watches) with
 * statuses the test writes itself; workflows.test.ts covers the workflows writing them.
 */
const PROMISE = join(mkdtempSync(join(tmpdir(), 'kubectl-promise-')), 'promise.yaml');
{
  const promise = parse(readFileSync('examples/app-as-a-service/promise.yaml', 'utf8')) as { spec: { workflows?: unknown } };
  delete promise.spec.workflows;
  writeFileSync(PROMISE, stringify(promise));
}

function app(name: string, extra = ''): string {
  return `apiVersion: marketplace.kratix.io/v1\nkind: App\nmetadata:\n  name: ${name}\nspec:\n  name: ${name}\n  image: nginx:1.27\n${extra}`;
}

describe('kubectl 1.32 against FleetOps', () => {
  let fleet: TestFleet;
  let kubectl: Kubectl;
  const scratch = mkdtempSync(join(tmpdir(), 'kubectl-e2e-'));

  before(async () => {
    fleet = await startTestFleet();
    kubectl = kubectlFor(fleet.kubeconfigPath);
  });
  after(async () => fleet.cleanup());

  it('installs a Promise with kubectl apply and serves its kind', async () => {
    const r = await kubectl(['apply', '-f', PROMISE]);
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /promise.platform.kratix.io\/app created/);
    await eventually(
      async () => (await kubectl(['get', 'promise', 'app', '-o', 'jsonpath={.status.status}'])).stdout === 'Available',
      20_000,
      'promise available',
    );
    const res = await kubectl(['api-resources']);
    assert.equal(res.code, 0, res.stderr);
    assert.match(res.stdout, /^apps\s+ap\s+marketplace.kratix.io\/v1\s+true\s+App$/m);
    assert.match(res.stdout, /^promises\s+platform.kratix.io\/v1alpha1\s+false\s+Promise$/m);
  });

  it('creates and updates Apps with apply, defaulting fields from the schema', async () => {
    const file = join(scratch, 'web.yaml');
    writeFileSync(file, app('web'));
    let r = await kubectl(['apply', '-f', file]);
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /app.marketplace.kratix.io\/web created/);
    r = await kubectl(['get', 'app', 'web', '-o', 'json']);
    const created = JSON.parse(r.stdout);
    assert.equal(created.spec.replicas, 1, 'default applied');
    assert.deepEqual(created.spec.service, { port: 8080 });
    assert.equal(created.metadata.generation, 1);
    writeFileSync(file, app('web', '  replicas: 3\n'));
    r = await kubectl(['apply', '-f', file]);
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /configured/);
    r = await kubectl(['get', 'app', 'web', '-o', 'json']);
    assert.equal(JSON.parse(r.stdout).spec.replicas, 3);
    assert.equal(JSON.parse(r.stdout).metadata.generation, 2);
    r = await kubectl(['apply', '-f', file]);
    assert.match(r.stdout, /unchanged/);
  });

  it('prints every output format', async () => {
    await fleet.client.request('PATCH', '/apis/marketplace.kratix.io/v1/namespaces/default/apps/web/status', {
      contentType: 'application/merge-patch+json',
      body: { status: { replicas: 3, message: 'deployed' } },
    });
    // STATUS is the Reconciled condition, written by the resource controller after the last apply: waited for.
    let r = await eventually(
      async () => {
        const got = await kubectl(['get', 'apps']);
        return /^web\s+nginx:1.27\s+3\s+Reconciled\s*$/m.test(got.stdout) ? got : undefined;
      },
      20_000,
      'the Reconciled column',
    );
    assert.match(r.stdout, /^NAME\s+IMAGE\s+REPLICAS\s+STATUS$/m);
    r = await kubectl(['get', 'apps', '-o', 'wide']);
    assert.match(r.stdout, /^NAME\s+IMAGE\s+REPLICAS\s+STATUS\s+MESSAGE$/m);
    assert.match(r.stdout, /deployed/);
    r = await kubectl(['get', 'apps', '-o', 'custom-columns=NAME:.metadata.name,REPLICAS:.status.replicas']);
    assert.match(r.stdout, /^NAME\s+REPLICAS\nweb\s+3\n$/);
    r = await kubectl(['get', 'apps', '-o', 'yaml']);
    const list = parse(r.stdout);
    assert.equal(list.kind, 'List');
    assert.equal(list.items[0].spec.image, 'nginx:1.27');
    r = await kubectl(['get', 'apps', '-o', 'name']);
    assert.equal(r.stdout.trim(), 'app.marketplace.kratix.io/web');
    r = await kubectl(['get', 'ap', 'web', '-o', 'jsonpath={.spec.name}']);
    assert.equal(r.stdout, 'web');
    r = await kubectl(['get', 'apps', '-A']);
    assert.match(r.stdout, /^NAMESPACE\s+NAME/m);
    assert.match(r.stdout, /^default\s+web/m);
    r = await kubectl(['get', 'apps', '--sort-by=.metadata.name']);
    assert.equal(r.code, 0, r.stderr);
    r = await kubectl(['get', 'all']);
    assert.match(r.stdout, /^web\s+nginx:1.27/m, 'the App kind is in category "all"');
  });

  it('sees changes with get --watch', async () => {
    const w = kubectl.spawn(['get', 'apps', '--watch']);
    try {
      await eventually(() => /^web\s/m.test(w.output()), 15_000, 'initial row');
      await fleet.client.request('PATCH', '/apis/marketplace.kratix.io/v1/namespaces/default/apps/web/status', {
        contentType: 'application/merge-patch+json',
        body: { status: { replicas: 4 } },
      });
      await eventually(() => /^web\s+nginx:1.27\s+4/m.test(w.output()), 15_000, 'watched change');
      assert.equal((w.output().match(/^NAME/gm) ?? []).length, 1, 'one header only');
    } finally {
      w.stop();
    }
  });

  it('labels, describes and edits', async () => {
    let r = await kubectl(['label', 'app', 'web', 'tier=frontend']);
    assert.equal(r.code, 0, r.stderr);
    r = await kubectl(['get', 'apps', '-l', 'tier in (frontend,backend)', '-o', 'name']);
    assert.equal(r.stdout.trim(), 'app.marketplace.kratix.io/web');
    r = await kubectl(['get', 'apps', '-l', '!tier', '-o', 'name']);
    assert.equal(r.stdout.trim(), '');
    r = await kubectl(['describe', 'app', 'web']);
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /Name:\s+web/);
    assert.match(r.stdout, /tier=frontend/);
    assert.match(r.stdout, /Image:\s+nginx:1.27/);
    const editor = join(scratch, 'editor.sh');
    writeFileSync(editor, `#!/bin/sh\nsed -i 's/image: nginx:1.27/image: nginx:1.28/' "$1"\n`);
    chmodSync(editor, 0o755);
    r = await kubectl(['edit', 'app', 'web'], { env: { KUBE_EDITOR: editor } });
    assert.equal(r.code, 0, r.stderr + r.stdout);
    assert.match(r.stdout, /edited/);
    r = await kubectl(['get', 'app', 'web', '-o', 'jsonpath={.spec.image}']);
    assert.equal(r.stdout, 'nginx:1.28');
  });

  it('explains the Promise API from OpenAPI', async () => {
    const r = await kubectl(['explain', 'app.spec']);
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /replicas\s+<integer>/);
    assert.match(r.stdout, /Number of pods/);
  });

  it('applies server-side, reporting conflicts between managers', async () => {
    const file = join(scratch, 'ssa.yaml');
    writeFileSync(file, app('ssa', '  replicas: 2\n'));
    let r = await kubectl(['apply', '--server-side', '-f', file]);
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /serverside-applied/);
    writeFileSync(join(scratch, 'ssa2.yaml'), app('ssa', '  replicas: 5\n'));
    r = await kubectl(['apply', '--server-side', '--field-manager', 'other', '-f', join(scratch, 'ssa2.yaml')]);
    assert.notEqual(r.code, 0);
    assert.match(r.stderr, /conflict/i);
    assert.match(r.stderr, /spec\.replicas/);
    r = await kubectl(['apply', '--server-side', '--force-conflicts', '--field-manager', 'other', '-f', join(scratch, 'ssa2.yaml')]);
    assert.equal(r.code, 0, r.stderr);
    r = await kubectl(['get', 'app', 'ssa', '-o', 'jsonpath={.spec.replicas}']);
    assert.equal(r.stdout, '5');
  });

  it('applies a map the schema marks atomic whole: one field, conflicting as one and replaced as one', async () => {
    const promise = join(scratch, 'gadget-promise.yaml');
    const stringMap = '{type: object, additionalProperties: {type: string}}';
    writeFileSync(
      promise,
      [
        'apiVersion: platform.kratix.io/v1alpha1',
        'kind: Promise',
        'metadata: {name: gadget}',
        'spec:',
        '  api:',
        '    apiVersion: apiextensions.k8s.io/v1',
        '    kind: CustomResourceDefinition',
        '    metadata: {name: gadgets.example.fleetops.dev}',
        '    spec:',
        '      group: example.fleetops.dev',
        '      names: {kind: Gadget, plural: gadgets, singular: gadget}',
        '      scope: Namespaced',
        '      versions:',
        '        - name: v1',
        '          served: true',
        '          storage: true',
        '          schema:',
        '            openAPIV3Schema:',
        '              type: object',
        '              properties:',
        '                spec:',
        '                  type: object',
        '                  properties:',
        `                    selector: {type: object, additionalProperties: {type: string}, x-kubernetes-map-type: atomic}`,
        `                    labels: ${stringMap}`,
        '',
      ].join('\n'),
    );
    let r = await kubectl(['apply', '-f', promise]);
    assert.equal(r.code, 0, r.stderr);
    await eventually(
      async () => (await kubectl(['get', 'promise', 'gadget', '-o', 'jsonpath={.status.status}'])).stdout === 'Available',
      20_000,
      'gadget promise available',
    );
    const gadget = (selector: string, labels: string): string =>
      `apiVersion: example.fleetops.dev/v1\nkind: Gadget\nmetadata:\n  name: g1\nspec:\n  selector: ${selector}\n  labels: ${labels}\n`;
    writeFileSync(join(scratch, 'g-a.yaml'), gadget('{app: web}', '{team: a}'));
    writeFileSync(join(scratch, 'g-b.yaml'), gadget('{tier: front}', '{owner: b}'));
    r = await kubectl(['apply', '--server-side', '--field-manager', 'a', '-f', join(scratch, 'g-a.yaml')]);
    assert.equal(r.code, 0, r.stderr);
    // Other members of both maps: the granular map's are separate fields, the atomic map is one field with another value.
    r = await kubectl(['apply', '--server-side', '--field-manager', 'b', '-f', join(scratch, 'g-b.yaml')]);
    assert.notEqual(r.code, 0, 'a conflict on the atomic map');
    assert.match(r.stderr, /conflict with "a"/);
    assert.match(r.stderr, /\.spec\.selector/);
    assert.doesNotMatch(r.stderr, /\.spec\.labels/);
    r = await kubectl(['apply', '--server-side', '--force-conflicts', '--field-manager', 'b', '-f', join(scratch, 'g-b.yaml')]);
    assert.equal(r.code, 0, r.stderr);
    r = await kubectl(['get', 'gadget', 'g1', '-o', 'json', '--show-managed-fields']);
    assert.equal(r.code, 0, r.stderr);
    const got = JSON.parse(r.stdout) as { spec: unknown; metadata: { managedFields: { manager: string; fieldsV1: unknown }[] } };
    assert.deepEqual(got.spec, { selector: { tier: 'front' }, labels: { team: 'a', owner: 'b' } }, 'the selector replaced whole, the labels merged');
    assert.deepEqual(
      got.metadata.managedFields.filter((f) => f.manager === 'a' || f.manager === 'b').map((f) => [f.manager, f.fieldsV1]),
      [
        ['a', { 'f:spec': { 'f:labels': { 'f:team': {} } } }],
        ['b', { 'f:spec': { 'f:selector': {}, 'f:labels': { 'f:owner': {} } } }],
      ],
    );
  });

  it('refuses an invalid App and names the field', async () => {
    const file = join(scratch, 'bad.yaml');
    writeFileSync(file, `apiVersion: marketplace.kratix.io/v1\nkind: App\nmetadata:\n  name: bad\nspec:\n  name: Bad_Name\n  replicas: many\n`);
    const r = await kubectl(['apply', '-f', file]);
    assert.notEqual(r.code, 0);
    assert.match(r.stderr, /spec\.image: Required value/);
    assert.match(r.stderr, /spec\.replicas/);
    assert.match(r.stderr, /spec\.name/);
    const unknown = join(scratch, 'unknown.yaml');
    writeFileSync(unknown, app('unk', '  colour: blue\n'));
    const u = await kubectl(['apply', '-f', unknown]);
    assert.notEqual(u.code, 0);
    assert.match(u.stderr, /unknown field "spec.colour"/);
  });

  it('reports missing objects and strategic merge patches like a real server', async () => {
    let r = await kubectl(['get', 'app', 'nope']);
    assert.match(r.stderr, /NotFound.*apps.marketplace.kratix.io "nope" not found/);
    r = await kubectl(['patch', 'app', 'web', '-p', '{"spec":{"replicas":2}}']);
    assert.notEqual(r.code, 0);
    assert.match(r.stderr, /strategic-merge-patch\+json is not supported/);
    r = await kubectl(['patch', 'app', 'web', '--type', 'merge', '-p', '{"spec":{"replicas":2}}']);
    assert.equal(r.code, 0, r.stderr);
    r = await kubectl(['patch', 'app', 'web', '--type', 'json', '-p', '[{"op":"replace","path":"/spec/replicas","value":6}]']);
    assert.equal(r.code, 0, r.stderr);
    r = await kubectl(['get', 'app', 'web', '-o', 'jsonpath={.spec.replicas}']);
    assert.equal(r.stdout, '6');
  });

  it('deletes, waiting for finalizers', async () => {
    await fleet.client.request('PATCH', '/apis/marketplace.kratix.io/v1/namespaces/default/apps/web', {
      contentType: 'application/merge-patch+json',
      body: { metadata: { finalizers: ['example.com/hold'] } },
    });
    const del = kubectl(['delete', 'app', 'web', '--timeout=20s']);
    await eventually(
      async () => {
        const obj = await fleet.client.get<{ metadata: { deletionTimestamp?: string } }>('/apis/marketplace.kratix.io/v1/namespaces/default/apps/web');
        return obj.metadata.deletionTimestamp;
      },
      10_000,
      'deletionTimestamp',
    );
    await fleet.client.request('PATCH', '/apis/marketplace.kratix.io/v1/namespaces/default/apps/web', {
      contentType: 'application/merge-patch+json',
      body: { metadata: { finalizers: null } },
    });
    const r = await del;
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /deleted/);
    const gone = await kubectl(['get', 'app', 'web']);
    assert.match(gone.stderr, /not found/);
  });

  it('refuses requests without a valid token', async () => {
    const r = await kubectl(['get', 'apps', '--token', 'wrong-token']);
    assert.notEqual(r.code, 0);
    assert.match(r.stderr, /Unauthorized|must be logged in/);
  });
});

describe('kubectl wait against FleetOps', () => {
  let fleet: TestFleet;
  let kubectl: Kubectl;
  before(async () => {
    // Heartbeats far apart: a watch that sent its headers only with the first event or heartbeat would hold kubectl.
    fleet = await startTestFleet({ heartbeatMs: 60_000 });
    kubectl = kubectlFor(fleet.kubeconfigPath);
  });
  after(() => fleet.cleanup());

  it('returns at once for a condition that already holds', async () => {
    // kubectl wait reads the watch's headers before anything else: they must come at once. A 5 s limit fails the old
    // behaviour (headers with the first heartbeat, 60 s here) by far and the right one (well under a second) never.
    let r = await kubectl(['create', 'configmap', 'waited', '--from-literal=a=b', '--dry-run=client', '-o', 'yaml']);
    r = await kubectl(['apply', '-f', '-'], { input: r.stdout });
    assert.equal(r.code, 0, r.stderr);
    for (const condition of ['--for=jsonpath={.data.a}=b', '--for=create']) {
      r = await kubectl(['wait', condition, 'configmap/waited', '--timeout=5s']);
      assert.equal(r.code, 0, `${condition}: ${r.stderr}`);
      assert.match(r.stdout, /configmap\/waited condition met/);
    }
  });
});
