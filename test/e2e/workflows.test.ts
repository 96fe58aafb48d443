/**
 * Resource workflows end to end, driven with the real kubectl: the workshop's flow (install app-as-a-service, request
 * Apps, each gets a Deployment and a Service in its Work and `.status.replicas`), re-runs on a Promise change (the
 * replica-migration step), on a spec change and on manual reconciliation; failures with the log tail and retries
 * with backoff; refused output paths; delete workflows; `fleetops logs`.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { join } from 'node:path';
import { parse } from 'yaml';
import { eventually, startTestFleet, type TestFleet } from '../helpers/fleet.ts';
import { TEST_IMAGE } from '../helpers/images.ts';
import { appReplicas, kubectlFor, type Kubectl } from '../helpers/kubectl.ts';
import { decodeWorkload } from '../../src/lib/workloads.ts';

const root = join(import.meta.dirname, '..', '..');
const APPS = ['todoer', 'shop', 'blog', 'wiki', 'chat'];

interface Obj {
  metadata: { name: string; labels?: Record<string, string>; resourceVersion: string };
  spec: Record<string, unknown>;
  status?: Record<string, unknown> & {
    conditions?: Array<{ type: string; status: string; reason: string; message: string }>;
    kratix?: { workflows?: { attempts?: number } };
  };
}
interface Work {
  metadata: { name: string };
  spec: { workloadGroups: Array<{ workloads: Array<{ filepath: string; content: string }> }> };
}

function appYaml(name: string, replicas = 1): string {
  return `apiVersion: marketplace.kratix.io/v1\nkind: App\nmetadata:\n  name: ${name}\n  namespace: default\nspec:\n  name: ${name}\n  image: registry.example.com/${name}:1.0\n  replicas: ${replicas}\n`;
}

function promiseWith(name: string, containers: object[], extra: object = {}): object {
  return {
    apiVersion: 'platform.kratix.io/v1alpha1',
    kind: 'Promise',
    metadata: { name },
    spec: {
      api: {
        apiVersion: 'apiextensions.k8s.io/v1',
        kind: 'CustomResourceDefinition',
        metadata: { name: `${name}s.test.fleetops.dev` },
        spec: {
          group: 'test.fleetops.dev',
          scope: 'Namespaced',
          names: { kind: name[0]!.toUpperCase() + name.slice(1), plural: `${name}s`, singular: name },
          versions: [
            { name: 'v1', served: true, storage: true, schema: { openAPIV3Schema: { type: 'object', 'x-kubernetes-preserve-unknown-fields': true } } },
          ],
        },
      },
      workflows: {
        resource: { configure: [{ apiVersion: 'platform.kratix.io/v1alpha1', kind: 'Pipeline', metadata: { name: 'main' }, spec: { containers } }], ...extra },
      },
    },
  };
}

describe('resource workflows', () => {
  let fleet: TestFleet;
  let kubectl: Kubectl;
  const app = (name: string): Promise<Obj> => fleet.client.get<Obj>(`/apis/marketplace.kratix.io/v1/namespaces/default/apps/${name}`);
  const deploymentOf = async (name: string): Promise<{ spec: { replicas: number; template: { spec: { containers: Array<{ image: string }> } } } }> => {
    const work = await fleet.client.get<Work>(`/apis/platform.kratix.io/v1alpha1/namespaces/default/works/app-${name}-resource-configure`);
    const file = work.spec.workloadGroups[0]!.workloads.find((w) => w.filepath === 'deployment.yaml')!;
    return parse(decodeWorkload(file.content).toString()) as never;
  };
  const replicasColumn = (): Promise<Map<string, string>> => appReplicas(kubectl);

  before(async () => {
    fleet = await startTestFleet({ retryBaseMs: 300, exampleImage: true });
    kubectl = kubectlFor(fleet.kubeconfigPath);
  });
  after(() => fleet.cleanup());

  it('runs the app-as-a-service flow: each App gets a Deployment and a Service in its Work and replicas in its status', async () => {
    let r = await kubectl(['apply', '-f', join(root, 'examples/app-as-a-service/promise.yaml')]);
    assert.equal(r.code, 0, r.stderr);
    await eventually(
      async () => (await kubectl(['get', 'promise', 'app', '-o', 'jsonpath={.status.status}'])).stdout === 'Available',
      15_000,
      'promise available',
    );
    r = await kubectl(['apply', '-f', '-'], { input: APPS.map((n) => appYaml(n)).join('---\n') });
    assert.equal(r.code, 0, r.stderr);
    await eventually(
      async () => [...(await replicasColumn()).values()].every((v) => v === '1') && (await replicasColumn()).size === APPS.length,
      30_000,
      'replicas 1 in status',
    );
    for (const name of APPS) {
      const a = await app(name);
      assert.equal(a.status?.conditions?.find((c) => c.type === 'ConfigureWorkflowCompleted')?.status, 'True');
      // No Destination exists in this test: the outputs are recorded as Work but placed nowhere, so not Reconciled.
      const reconciled = await eventually(
        async () => (await app(name)).status?.conditions?.find((c) => c.type === 'Reconciled' && c.reason === 'UnscheduledWorks'),
        20_000,
        'not reconciled',
      );
      assert.equal(reconciled.status, 'False');
      assert.equal(a.status?.message, `deployed to http://${name}.local.gd:31338`);
      assert.ok(a.status?.lastSuccessfulConfigureWorkflowTime);
      const d = await deploymentOf(name);
      assert.equal(d.spec.replicas, 1);
      assert.equal(d.spec.template.spec.containers[0]!.image, `registry.example.com/${name}:1.0`);
      const work = await fleet.client.get<Work>(`/apis/platform.kratix.io/v1alpha1/namespaces/default/works/app-${name}-resource-configure`);
      assert.deepEqual(
        work.spec.workloadGroups[0]!.workloads.map((w) => w.filepath),
        ['deployment.yaml', 'ingress.yaml', 'service.yaml'],
      );
    }
    r = await kubectl(['get', 'workflowruns', '-l', 'kratix.io/resource-name=todoer']);
    assert.match(r.stdout, /todoer\s+resource-configure\s+Succeeded/);
  });

  it('re-runs every App when the Promise gains the replica-migration step', async () => {
    const r = await kubectl(['apply', '-f', join(root, 'examples/app-as-a-service/promise-v2.yaml')]);
    assert.equal(r.code, 0, r.stderr);
    await eventually(async () => [...(await replicasColumn()).values()].every((v) => v === '2'), 60_000, 'replicas 2 everywhere');
    for (const name of APPS) assert.equal((await deploymentOf(name)).spec.replicas, 2);
    // fleetops logs shows both steps of the latest run, the migration's output included
    const logs = await new Promise<string>((resolve, reject) =>
      execFile(process.execPath, [join(root, 'src/cli/main.ts'), '--kubeconfig', fleet.kubeconfigPath, 'logs', 'app/todoer'], (err, stdout, stderr) =>
        err ? reject(new Error(stderr)) : resolve(stdout),
      ),
    );
    assert.match(logs, /==> step resource-configure \(image ghcr\.io\/syntasso\/kratix-marketplace\/app-as-a-service-configure-pipeline:v0\.1\.0\) exit 0/);
    // the pull line (the image was already present: built into the cache), then the workshop step's own trace
    assert.match(
      logs,
      /==> step replica-migration .* exit 0, \d+ ms\n {4}image ghcr\.io\/\S+ \(sha256:[0-9a-f]{12}\) already present \(pull policy IfNotPresent\)\n\+ yq \.spec\.replicas \/kratix\/output\/deployment\.yaml\n/,
    );
    assert.match(logs, /\+ yq eval '\.replicas = 2' -i \/kratix\/metadata\/status\.yaml/);
    assert.match(logs, /Succeeded/);
  });

  it('re-runs on a spec change and on manual reconciliation', async () => {
    let r = await kubectl(['patch', 'app', 'shop', '--type=merge', '-p', '{"spec":{"replicas":4}}']);
    assert.equal(r.code, 0, r.stderr);
    await eventually(async () => (await replicasColumn()).get('shop') === '4', 30_000, 'shop at 4');
    assert.equal((await deploymentOf('shop')).spec.replicas, 4);
    assert.equal((await app('shop')).status?.observedGeneration, 2);

    const runs = async (): Promise<number> =>
      (await fleet.client.get<{ items: unknown[] }>('/apis/fleetops.dev/v1alpha1/namespaces/default/workflowruns?labelSelector=kratix.io/resource-name%3Dblog'))
        .items.length;
    const before = await runs();
    r = await kubectl(['label', 'app', 'blog', 'kratix.io/manual-reconciliation=true']);
    assert.equal(r.code, 0, r.stderr);
    await eventually(
      async () => (await runs()) > before && !(await app('blog')).metadata.labels?.['kratix.io/manual-reconciliation'],
      30_000,
      'manual run done and label removed',
    );
  });

  it('reports a failing step with its log tail and retries with backoff', async () => {
    await fleet.client.request('POST', '/apis/platform.kratix.io/v1alpha1/promises', {
      body: promiseWith('flaky', [
        {
          name: 'broken',
          image: TEST_IMAGE,
          command: ['sh', '-c', 'echo connecting to the database; echo "FATAL: password authentication failed" >&2; exit 3'],
        },
      ]),
    });
    await eventually(() => fleet.client.get('/apis/test.fleetops.dev/v1/flakys'), 10_000, 'kind served');
    await fleet.client.request('POST', '/apis/test.fleetops.dev/v1/namespaces/default/flakys', {
      body: { apiVersion: 'test.fleetops.dev/v1', kind: 'Flaky', metadata: { name: 'f1' }, spec: {} },
    });
    const f = await eventually(
      async () => {
        const o = await fleet.client.get<Obj>('/apis/test.fleetops.dev/v1/namespaces/default/flakys/f1');
        return (o.status?.kratix?.workflows?.attempts ?? 0) >= 3 ? o : undefined;
      },
      30_000,
      'three attempts',
    );
    const cond = f.status!.conditions!.find((c) => c.type === 'ConfigureWorkflowCompleted')!;
    assert.equal(cond.status, 'False');
    assert.equal(cond.reason, 'ConfigureWorkflowFailed');
    assert.match(cond.message, /step broken exited with code 3: connecting to the database\nFATAL: password authentication failed/);
    assert.equal(f.status!.conditions!.find((c) => c.type === 'Reconciled')!.status, 'False');
    assert.equal(f.status!.workflowsFailed, 1);
  });

  it('refuses outputs that escape their folder, and runs the delete workflow on deletion', async () => {
    await fleet.client.request('POST', '/apis/platform.kratix.io/v1alpha1/promises', {
      body: promiseWith(
        'escaper',
        [
          {
            name: 'link',
            image: TEST_IMAGE,
            command: [
              'sh',
              '-c',
              'if [ "$(cat /kratix/input/object.yaml | grep -c evil)" = 1 ]; then ln -s ../../etc/passwd /kratix/output/p.yaml; else echo ok > /kratix/output/ok.yaml; fi',
            ],
          },
        ],
        {
          delete: [
            {
              apiVersion: 'platform.kratix.io/v1alpha1',
              kind: 'Pipeline',
              metadata: { name: 'teardown' },
              spec: { containers: [{ name: 'bye', image: TEST_IMAGE, command: ['sh', '-c', 'echo tearing down $KRATIX_OBJECT_NAME'] }] },
            },
          ],
        },
      ),
    });
    await eventually(() => fleet.client.get('/apis/test.fleetops.dev/v1/escapers'), 10_000, 'kind served');
    for (const name of ['evil', 'good'])
      await fleet.client.request('POST', '/apis/test.fleetops.dev/v1/namespaces/default/escapers', {
        body: { apiVersion: 'test.fleetops.dev/v1', kind: 'Escaper', metadata: { name }, spec: {} },
      });
    const evil = await eventually(
      async () =>
        (await fleet.client.get<Obj>('/apis/test.fleetops.dev/v1/namespaces/default/escapers/evil')).status?.conditions?.find(
          (c) => c.type === 'ConfigureWorkflowCompleted' && c.reason === 'ConfigureWorkflowFailed',
        ),
      20_000,
      'refused',
    );
    assert.match(evil.message, /p\.yaml is a symbolic link/);
    await eventually(
      async () =>
        (await fleet.client.get<Obj>('/apis/test.fleetops.dev/v1/namespaces/default/escapers/good')).status?.conditions?.find(
          (c) => c.type === 'ConfigureWorkflowCompleted' && c.status === 'True',
        ),
      20_000,
      'good one done',
    );
    await assert.rejects(fleet.client.get('/apis/platform.kratix.io/v1alpha1/namespaces/default/works/escaper-evil-main'), 'no Work for a refused output');
    await fleet.client.get('/apis/platform.kratix.io/v1alpha1/namespaces/default/works/escaper-good-main');

    const r = await kubectl(['delete', 'escaper', 'good', '--timeout=30s']);
    assert.equal(r.code, 0, r.stderr);
    await assert.rejects(fleet.client.get('/apis/platform.kratix.io/v1alpha1/namespaces/default/works/escaper-good-main'), 'its Work is gone');
    const events = await fleet.client.get<{ items: Array<{ reason: string; involvedObject: { name: string } }> }>('/api/v1/namespaces/default/events');
    assert.ok(events.items.some((e) => e.reason === 'DeleteWorkflowCompleted' && e.involvedObject.name === 'good'));
  });
});
