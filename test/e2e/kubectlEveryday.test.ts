/**
 * The everyday kubectl commands platform and application teams use, with the real kubectl 1.32, each working as on
 * Kubernetes or answered as Kubernetes answers (the table in docs/api.md): typed `create` commands (sent as
 * protobuf), strategic merge patches of built-in kinds, label/annotate, get with sorting/selectors/categories,
 * apply --prune, delete by label/--all/--cascade, wait for delete and jsonpath, diff, events, version, contexts.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parse, stringify } from 'yaml';
import { ProtobufCodec } from '../../src/apiserver/protobuf/ProtobufCodec.ts';
import { eventually, startTestFleet, type TestFleet } from '../helpers/fleet.ts';
import { kubectlFor, type Kubectl, type KubectlResult } from '../helpers/kubectl.ts';
import { testPromise } from '../helpers/promises.ts';

function ok(r: KubectlResult, what: string): string {
  assert.equal(r.code, 0, `${what}: ${r.stderr}${r.stdout}`);
  return r.stdout;
}

const PROTOBUF = 'application/vnd.kubernetes.protobuf';

describe('everyday kubectl against FleetOps', () => {
  let fleet: TestFleet;
  let kubectl: Kubectl;
  const codec = new ProtobufCodec();
  const scratch = mkdtempSync(join(tmpdir(), 'kubectl-everyday-'));

  before(async () => {
    fleet = await startTestFleet();
    kubectl = kubectlFor(fleet.kubeconfigPath);
    const promise = testPromise({ kind: 'Widget', plural: 'widgets' });
    ok(await kubectl(['apply', '-f', '-'], { input: stringify(promise) }), 'install the Widget Promise');
    await eventually(async () => (await kubectl(['get', 'widgets'])).code === 0, 20_000, 'widgets served');
  });
  after(async () => fleet.cleanup());

  it('creates namespaces, secrets, configmaps and service accounts with the typed create commands', async () => {
    assert.match(ok(await kubectl(['create', 'namespace', 'team-a']), 'namespace'), /namespace\/team-a created/);
    ok(
      await kubectl(['create', 'secret', 'generic', 'git-creds', '-n', 'team-a', '--from-literal=username=gitops', '--from-literal=password=s3cret']),
      'secret',
    );
    ok(
      await kubectl([
        'create',
        'secret',
        'docker-registry',
        'pull',
        '-n',
        'team-a',
        '--docker-server=registry.example',
        '--docker-username=u',
        '--docker-password=p',
      ]),
      'docker-registry secret',
    );
    ok(await kubectl(['create', 'configmap', 'settings', '-n', 'team-a', '--from-literal=colour=blue']), 'configmap');
    ok(await kubectl(['create', 'serviceaccount', 'ci', '-n', 'team-a']), 'serviceaccount');
    const secret = await fleet.client.get<{ type: string; data: Record<string, string> }>('/api/v1/namespaces/team-a/secrets/git-creds');
    assert.equal(secret.type, 'Opaque');
    assert.equal(Buffer.from(secret.data.password as string, 'base64').toString(), 's3cret');
    const pull = await fleet.client.get<{ type: string; data: Record<string, string> }>('/api/v1/namespaces/team-a/secrets/pull');
    assert.equal(pull.type, 'kubernetes.io/dockerconfigjson');
    assert.match(Buffer.from(pull.data['.dockerconfigjson'] as string, 'base64').toString(), /registry\.example/);
    assert.equal(ok(await kubectl(['get', 'cm', 'settings', '-n', 'team-a', '-o', 'jsonpath={.data.colour}']), 'get cm'), 'blue');
    const again = await kubectl(['create', 'namespace', 'team-a']);
    assert.match(again.stderr, /AlreadyExists.*namespaces "team-a" already exists/);
  });

  it('round-trips protobuf: objects created as JSON read as protobuf, and the reverse', async () => {
    const raw = await fetchRaw('/api/v1/namespaces/team-a/secrets/git-creds', { accept: `${PROTOBUF}, application/json` });
    assert.equal(raw.contentType, PROTOBUF);
    const decoded = codec.decode(raw.body);
    const json = await fleet.client.get<Record<string, unknown>>('/api/v1/namespaces/team-a/secrets/git-creds');
    assert.deepEqual(decoded, json);
    const body = codec.encode({ apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'from-proto', labels: { via: 'protobuf' } }, data: { k: 'v' } });
    const created = await fetchRaw('/api/v1/namespaces/team-a/configmaps', { method: 'POST', body, contentType: PROTOBUF, accept: 'application/json' });
    assert.equal(created.status, 201, created.body.toString());
    const cm = await fleet.client.get<{ data: Record<string, string>; metadata: { labels: Record<string, string> } }>(
      '/api/v1/namespaces/team-a/configmaps/from-proto',
    );
    assert.deepEqual(cm.data, { k: 'v' });
    assert.equal(cm.metadata.labels.via, 'protobuf');
    const list = codec.decode((await fetchRaw('/api/v1/namespaces/team-a/configmaps', { accept: PROTOBUF })).body) as { kind: string; items: unknown[] };
    assert.equal(list.kind, 'ConfigMapList');
    assert.equal(list.items.length, 2);
    const garbage = await fetchRaw('/api/v1/namespaces/team-a/configmaps', { method: 'POST', body: Buffer.from('not protobuf'), contentType: PROTOBUF });
    assert.equal(garbage.status, 400);
    assert.match(garbage.body.toString(), /not Kubernetes protobuf/);
  });

  it('patches built-in kinds with every patch type, and labels and annotates', async () => {
    ok(await kubectl(['patch', 'ns', 'team-a', '-p', '{"metadata":{"labels":{"tier":"gold"}}}']), 'strategic merge patch');
    ok(await kubectl(['patch', 'cm', 'settings', '-n', 'team-a', '--type=merge', '-p', '{"data":{"size":"L"}}']), 'merge patch');
    ok(await kubectl(['patch', 'cm', 'settings', '-n', 'team-a', '--type=json', '-p', '[{"op":"remove","path":"/data/colour"}]']), 'json patch');
    assert.deepEqual(JSON.parse(ok(await kubectl(['get', 'cm', 'settings', '-n', 'team-a', '-o', 'jsonpath={.data}']), 'data')), { size: 'L' });
    ok(await kubectl(['patch', 'sa', 'ci', '-n', 'team-a', '-p', '{"secrets":[{"name":"one"}]}']), 'sa patch');
    ok(await kubectl(['patch', 'sa', 'ci', '-n', 'team-a', '-p', '{"secrets":[{"name":"two"}]}']), 'sa patch by merge key');
    assert.equal(ok(await kubectl(['get', 'sa', 'ci', '-n', 'team-a', '-o', 'jsonpath={.secrets[*].name}']), 'merged'), 'one two');
    ok(await kubectl(['label', 'ns', 'team-a', 'tier=silver', '--overwrite']), 'label --overwrite');
    const clash = await kubectl(['label', 'ns', 'team-a', 'tier=bronze']);
    assert.match(clash.stderr, /already has a value \(silver\), and --overwrite is false/);
    ok(await kubectl(['annotate', 'ns', 'team-a', 'owner=platform']), 'annotate');
    ok(await kubectl(['annotate', 'ns', 'team-a', 'owner-']), 'annotation removed');
    ok(await kubectl(['label', 'ns', 'team-a', 'tier-']), 'label removed');
    const ns = JSON.parse(ok(await kubectl(['get', 'ns', 'team-a', '-o', 'json']), 'get ns')) as {
      metadata: { labels: Record<string, string>; annotations?: Record<string, string> };
    };
    assert.deepEqual(ns.metadata.labels, { 'kubernetes.io/metadata.name': 'team-a' });
    assert.equal(ns.metadata.annotations?.owner, undefined);
  });

  it('gets with -A, --show-labels, -L, --sort-by, --field-selector, and the all and kratix categories', async () => {
    for (const [name, size] of [
      ['b-widget', 'small'],
      ['a-widget', 'large'],
      ['c-widget', 'medium'],
    ] as const) {
      ok(
        await kubectl(['apply', '-n', 'team-a', '-f', '-'], {
          input: `apiVersion: test.fleetops.dev/v1\nkind: Widget\nmetadata:\n  name: ${name}\n  labels:\n    size: ${size}\n    app: shop\nspec: {}\n`,
        }),
        name,
      );
    }
    const sorted = ok(await kubectl(['get', 'widgets', '-A', '--sort-by=.metadata.name', '-L', 'size']), 'sorted');
    const lines = sorted.trim().split('\n');
    assert.match(lines[0] as string, /^NAMESPACE\s+NAME\s+.*SIZE$/);
    assert.deepEqual(
      lines.slice(1).map((l) => l.split(/\s+/)[1]),
      ['a-widget', 'b-widget', 'c-widget'],
    );
    assert.match(lines[1] as string, /large$/);
    assert.match(ok(await kubectl(['get', 'widgets', '-n', 'team-a', '--show-labels']), 'labels'), /app=shop,.*size=small/);
    const selected = ok(await kubectl(['get', 'widgets', '-n', 'team-a', '--field-selector', 'metadata.name=c-widget', '-o', 'name']), 'field selector');
    assert.equal(selected.trim(), 'widget.test.fleetops.dev/c-widget');
    // Read by name, not scanned: combined with a label and across namespaces, and with != (a scan, filtered).
    assert.equal(
      ok(await kubectl(['get', 'widgets', '-A', '-l', 'size=medium', '--field-selector', 'metadata.name=c-widget', '-o', 'name']), 'by name -A').trim(),
      'widget.test.fleetops.dev/c-widget',
    );
    assert.equal(
      ok(await kubectl(['get', 'widgets', '-A', '-l', 'size=small', '--field-selector', 'metadata.name=c-widget', '-o', 'name']), 'none').trim(),
      '',
    );
    // A namespace selected across namespaces reads that namespace only.
    assert.equal(
      ok(await kubectl(['get', 'widgets', '-A', '--field-selector', 'metadata.namespace=team-a,metadata.name=b-widget', '-o', 'name']), 'by namespace').trim(),
      'widget.test.fleetops.dev/b-widget',
    );
    assert.equal(ok(await kubectl(['get', 'widgets', '-A', '--field-selector', 'metadata.namespace=team-z', '-o', 'name']), 'other namespace').trim(), '');
    assert.equal(
      ok(await kubectl(['get', 'widgets', '-n', 'team-a', '--field-selector', 'metadata.name!=c-widget', '-o', 'name']), 'not by name').trim(),
      'widget.test.fleetops.dev/a-widget\nwidget.test.fleetops.dev/b-widget',
    );
    assert.equal(
      ok(await kubectl(['get', 'widgets', '-n', 'team-a', '-o', 'go-template={{range .items}}{{.metadata.name}} {{end}}']), 'go-template'),
      'a-widget b-widget c-widget ',
    );
    const badField = await kubectl(['get', 'widgets', '--field-selector', 'spec.colour=red']);
    assert.match(badField.stderr, /field label not supported: spec.colour/);
    assert.match(ok(await kubectl(['get', 'all', '-n', 'team-a']), 'get all'), /^a-widget\s/m);
    assert.match(ok(await kubectl(['get', 'kratix']), 'get kratix'), /promise\.platform\.kratix\.io\/widget/);
  });

  it('applies with --prune by selector, and diffs', async () => {
    const set = (names: string[]): string =>
      names
        .map((n) => `apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: ${n}\n  namespace: team-a\n  labels:\n    set: pruned\ndata:\n  value: "${n}"\n`)
        .join('---\n');
    // kubectl's default prune list names kinds FleetOps does not serve (Pods, Services…): the allowlist says which.
    const prune = ['apply', '-f', '-', '-l', 'set=pruned', '--prune', '--prune-allowlist=core/v1/ConfigMap'];
    ok(await kubectl(prune, { input: set(['p1', 'p2']) }), 'first apply');
    const second = ok(await kubectl(prune, { input: set(['p1']) }), 'prune');
    assert.match(second, /configmap\/p2 pruned/);
    assert.match((await kubectl(['get', 'cm', 'p2', '-n', 'team-a'])).stderr, /not found/);
    const diff = await kubectl(['diff', '-f', '-'], { input: set(['p1']).replace('value: "p1"', 'value: "changed"') });
    assert.equal(diff.code, 1, `diff exits 1 when something differs: ${diff.stderr}`);
    assert.match(diff.stdout, /^-\s+value: p1$/m);
    assert.match(diff.stdout, /^\+\s+value: changed$/m);
    assert.equal((await kubectl(['diff', '-f', '-'], { input: set(['p1']) })).code, 0, 'no difference, exit 0');
  });

  it('deletes by label, --all and with --cascade, and waits for deletion and jsonpath', async () => {
    // A finalizer holds the Widget while kubectl starts waiting (seen by its watch request in the -v=6 log).
    const widget = '/apis/test.fleetops.dev/v1/namespaces/team-a/widgets/b-widget';
    const hold = (finalizers: string[] | null): Promise<unknown> =>
      fleet.client.request('PATCH', widget, { contentType: 'application/merge-patch+json', body: { metadata: { finalizers } } });
    await hold(['example.com/hold']);
    assert.match(ok(await kubectl(['delete', 'widgets', '-n', 'team-a', '-l', 'size=small', '--wait=false']), 'by label'), /b-widget" deleted/);
    const wait = kubectl.spawn(['wait', '--for=delete', 'widget/b-widget', '-n', 'team-a', '--timeout=60s', '-v=6']);
    try {
      await eventually(() => /watch=true/.test(wait.output()), 30_000, 'kubectl watching');
      await hold(null);
      await eventually(() => /widget\.test\.fleetops\.dev\/b-widget condition met/.test(wait.output()), 30_000, 'wait --for=delete done');
    } finally {
      wait.stop();
    }
    ok(await kubectl(['patch', 'widget', 'a-widget', '-n', 'team-a', '--type=merge', '-p', '{"spec":{"colour":"red"}}']), 'patch');
    assert.match(
      ok(await kubectl(['wait', '--for=jsonpath={.spec.colour}=red', 'widget/a-widget', '-n', 'team-a', '--timeout=10s']), 'jsonpath'),
      /condition met/,
    );
    assert.match(ok(await kubectl(['delete', 'widget', 'c-widget', '-n', 'team-a', '--cascade=foreground']), 'foreground'), /deleted/);
    assert.match(ok(await kubectl(['delete', 'widgets', '--all', '-n', 'team-a', '--wait']), '--all'), /a-widget" deleted/);
    assert.match((await kubectl(['get', 'widgets', '-n', 'team-a'])).stderr, /No resources found/);
  });

  it('shows events, versions, resources, and works across kubeconfig contexts', async () => {
    await fleet.client.request('POST', '/api/v1/namespaces/team-a/events', {
      body: {
        apiVersion: 'v1',
        kind: 'Event',
        metadata: { name: 'hello' },
        involvedObject: { kind: 'Namespace', name: 'team-a', apiVersion: 'v1' },
        reason: 'Tested',
        message: 'an event for kubectl events',
        type: 'Normal',
        lastTimestamp: new Date().toISOString().replace(/\.\d+Z$/, 'Z'),
        count: 1,
      },
    });
    assert.match(ok(await kubectl(['events', '-n', 'team-a']), 'events'), /Tested.*an event for kubectl events/);
    assert.match(ok(await kubectl(['events', '-A']), 'events -A'), /team-a/);
    const versions = ok(await kubectl(['api-versions']), 'api-versions');
    for (const gv of ['v1', 'rbac.authorization.k8s.io/v1', 'platform.kratix.io/v1alpha1', 'test.fleetops.dev/v1'])
      assert.match(versions, new RegExp(`^${gv}$`, 'm'));
    assert.match(ok(await kubectl(['version']), 'version'), /Server Version: v1\.32/);
    assert.match(
      ok(await kubectl(['api-resources', '--namespaced=false']), 'api-resources'),
      /clusterroles\s+rbac\.authorization\.k8s\.io\/v1\s+false\s+ClusterRole/,
    );
    // Two contexts in one kubeconfig: the default namespace follows the context.
    const config = parse(readFileSync(fleet.kubeconfigPath, 'utf8')) as { contexts: { name: string; context: Record<string, string> }[] };
    config.contexts.push({ name: 'team-a', context: { ...(config.contexts[0]?.context ?? {}), namespace: 'team-a' } });
    const two = join(scratch, 'two-contexts');
    writeFileSync(two, stringify(config));
    const multi = kubectlFor(two);
    assert.match(ok(await multi(['config', 'get-contexts', '-o', 'name']), 'contexts'), /platform\nteam-a/);
    assert.equal(ok(await multi(['--context', 'team-a', 'get', 'cm', 'p1', '-o', 'name']), 'context namespace'), 'configmap/p1\n');
    assert.match((await multi(['get', 'cm', 'p1'])).stderr, /not found/, 'the default context uses the default namespace');
  });

  /** A request with raw bytes (the client speaks JSON only). */
  function fetchRaw(
    path: string,
    opts: { method?: string; body?: Buffer; contentType?: string; accept?: string },
  ): Promise<{ status: number; contentType: string; body: Buffer }> {
    return import('node:https').then(
      ({ request }) =>
        new Promise((resolve, reject) => {
          const url = new URL(path, fleet.url);
          const req = request(
            url,
            {
              method: opts.method ?? 'GET',
              ca: fleet.caCert,
              headers: {
                authorization: `Bearer ${fleet.adminToken}`,
                ...(opts.accept ? { accept: opts.accept } : {}),
                ...(opts.contentType ? { 'content-type': opts.contentType } : {}),
              },
            },
            (res) => {
              const chunks: Buffer[] = [];
              res.on('data', (c: Buffer) => chunks.push(c));
              res.on('end', () =>
                resolve({ status: res.statusCode ?? 0, contentType: String(res.headers['content-type'] ?? ''), body: Buffer.concat(chunks) }),
              );
            },
          );
          req.on('error', reject);
          req.end(opts.body);
        }),
    );
  }
});
