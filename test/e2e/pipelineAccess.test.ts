/**
 * Pipelines that talk to the platform: a step running the real kubectl (in an image built by the test) with the
 * in-cluster settings of its pipeline's `spec.rbac` may do what its permissions allow, is refused (403) otherwise,
 * and a step of a pipeline without `spec.rbac` reaches nothing (no token, no network).
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { copyFileSync, mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { stringify } from 'yaml';
import { eventually, startTestFleet, type TestFleet } from '../helpers/fleet.ts';
import { kubectlBinary, kubectlFor, type Kubectl } from '../helpers/kubectl.ts';
import { buildInto } from '../helpers/registry.ts';
import { testPromise } from '../helpers/promises.ts';

const IMAGE = 'fleetops.local/test/kubectl:1';

/** The step: what kubectl may and may not do, each answer recorded in the status. */
const SCRIPT = [
  'set -u',
  'k() { kubectl --cache-dir=/tmp/kube "$@" 2>&1; }',
  // One line, without quotes or backslashes, inside YAML double quotes.
  'q() { printf "%s" "$1" | tr -d "\\"\\\\" | tr "\\n" " "; }',
  'created=$(k create configmap made-by-step --from-literal=by=pipeline) || true',
  'listed=$(k get configmaps -o name) || true',
  'secrets=$(k get secrets) || true',
  '{',
  '  echo "created: \\"$(q "$created")\\""',
  '  echo "listed: \\"$(q "$listed")\\""',
  '  echo "secrets: \\"$(q "$secrets")\\""',
  '  echo "host: \\"${KUBERNETES_SERVICE_HOST:-none}\\""',
  // A step that keeps its token for later: it must be worthless once the run has ended.
  '  echo "token: \\"$(cat /var/run/secrets/kubernetes.io/serviceaccount/token 2>/dev/null)\\""',
  '} > /kratix/metadata/status.yaml',
].join('\n');

function promise(kind: string, plural: string, rbac?: object): string {
  const p = testPromise({
    kind,
    plural,
    pipeline: { name: 'talk', spec: { containers: [{ name: 'talk', image: IMAGE, command: ['/bin/sh', '-c', SCRIPT] }], ...(rbac ? { rbac } : {}) } },
  });
  return stringify(p);
}

interface Status {
  created?: string;
  listed?: string;
  secrets?: string;
  host?: string;
  token?: string;
  conditions?: { type: string; status: string; message?: string }[];
}

describe('pipelines that talk to the platform', () => {
  let fleet: TestFleet;
  let kubectl: Kubectl;
  const build = mkdtempSync(join(tmpdir(), 'kubectl-image-'));

  before(async () => {
    fleet = await startTestFleet({ defaultDestinations: true });
    kubectl = kubectlFor(fleet.kubeconfigPath);
    mkdirSync(join(build, 'rootfs', 'usr', 'local', 'bin'), { recursive: true });
    copyFileSync(kubectlBinary(), join(build, 'rootfs', 'usr', 'local', 'bin', 'kubectl'));
    await buildInto(fleet.images, build, IMAGE, { base: 'busybox', workingDir: '/' });
    const r = await kubectl(['apply', '-f', '-'], {
      input: `${promise('Talker', 'talkers', { permissions: [{ apiGroups: [''], resources: ['configmaps'], verbs: ['get', 'list', 'create'] }] })}---\n${promise('Mute', 'mutes')}`,
    });
    assert.equal(r.code, 0, r.stderr);
    await eventually(async () => (await kubectl(['get', 'talkers'])).code === 0 && (await kubectl(['get', 'mutes'])).code === 0, 30_000, 'kinds served');
  });
  after(async () => {
    await fleet.cleanup();
    rmSync(build, { recursive: true, force: true });
  });

  /** Requests one resource and waits for its step's report in the status. */
  async function requestAndReport(kind: string, plural: string, name: string): Promise<Status> {
    const r = await kubectl(['apply', '-f', '-'], {
      input: `apiVersion: test.fleetops.dev/v1\nkind: ${kind}\nmetadata:\n  name: ${name}\n  namespace: default\nspec: {}\n`,
    });
    assert.equal(r.code, 0, r.stderr);
    return eventually(
      async () => {
        const s = (await fleet.client.get<{ status?: Status }>(`/apis/test.fleetops.dev/v1/namespaces/default/${plural}/${name}`)).status;
        return s?.created !== undefined ? s : undefined;
      },
      90_000,
      'the step to report',
    );
  }

  it('lets a step do what its permissions allow, and nothing more', async () => {
    const status = await requestAndReport('Talker', 'talkers', 't1');
    assert.match(status.created ?? '', /configmap\/made-by-step created/);
    assert.match(status.listed ?? '', /configmap\/made-by-step/);
    // (quotes dropped by the step's shell)
    assert.match(status.secrets ?? '', /Forbidden.*User system:serviceaccount:default:talker-resource-configure-talk cannot list resource secrets/);
    assert.equal(status.host, '127.0.0.1');
    const cm = await fleet.client.get<{ data: Record<string, string> }>('/api/v1/namespaces/default/configmaps/made-by-step');
    assert.equal(cm.data.by, 'pipeline');
    // The account and its grants are Kubernetes objects, as under Kratix.
    const role = await fleet.client.get<{ rules: { resources: string[] }[] }>(
      '/apis/rbac.authorization.k8s.io/v1/namespaces/default/roles/talker-resource-configure-talk',
    );
    assert.deepEqual(role.rules[0]?.resources, ['configmaps']);
  });

  it('gives a step without spec.rbac no way to the API', async () => {
    const status = await requestAndReport('Mute', 'mutes', 'm1');
    assert.equal(status.host, 'none');
    assert.doesNotMatch(status.created ?? '', /created$/);
    assert.match(status.listed ?? '', /refused|no configuration|connect|localhost:8080/i);
    // Nor does it reach the API's port directly: its sandbox has no network.
    const names = (await fleet.client.get<{ items: { metadata: { name: string } }[] }>('/api/v1/namespaces/default/configmaps')).items.map(
      (i) => i.metadata.name,
    );
    assert.deepEqual(
      names.filter((n) => n.startsWith('made-by')),
      ['made-by-step'],
    );
  });

  it("refuses a run's token once its run has ended", async () => {
    const status = await requestAndReport('Talker', 'talkers', 't2');
    assert.ok(status.token && status.token.split('.').length === 3, 'the step saw its token');
    const r = await kubectl(['--token', status.token, 'get', 'configmaps', '-n', 'default']);
    assert.notEqual(r.code, 0, r.stdout);
    assert.match(r.stderr, /Unauthorized|must be logged in/);
  });

  it("lends a pipeline's account to nobody: no token request, no token Secret", async () => {
    const sa = 'talker-resource-configure-talk';
    const asked = await kubectl(['create', 'token', sa, '-n', 'default']);
    assert.notEqual(asked.code, 0, asked.stdout);
    assert.match(asked.stderr, /serviceaccounts "talker-resource-configure-talk" is forbidden: FleetOps issues its tokens to its runs only/);
    const secret = `apiVersion: v1\nkind: Secret\nmetadata:\n  name: borrowed\n  namespace: default\n  annotations:\n    kubernetes.io/service-account.name: ${sa}\ntype: kubernetes.io/service-account-token\n`;
    assert.equal((await kubectl(['apply', '-f', '-'], { input: secret })).code, 0);
    const token = await eventually(
      async () => {
        const s = await fleet.client.get<{ data?: { token?: string } }>('/api/v1/namespaces/default/secrets/borrowed').catch(() => undefined);
        return s?.data?.token ? Buffer.from(s.data.token, 'base64').toString('utf8') : undefined;
      },
      20_000,
      'a token in the Secret',
    );
    const used = await kubectl(['--token', token, 'get', 'configmaps', '-n', 'default']);
    assert.notEqual(used.code, 0, used.stdout);
    assert.match(used.stderr, /Unauthorized|must be logged in/);
  });

  it("removes the pipeline's account and grants with its Promise", async () => {
    const r = await kubectl(['delete', 'promise', 'talker', '--timeout=120s']);
    assert.equal(r.code, 0, r.stderr);
    await eventually(
      async () =>
        !(await fleet.client.get('/apis/rbac.authorization.k8s.io/v1/namespaces/default/roles/talker-resource-configure-talk').catch(() => undefined)) &&
        !(await fleet.client.get('/api/v1/namespaces/default/serviceaccounts/talker-resource-configure-talk').catch(() => undefined)),
      60_000,
      'the account and its Role collected',
    );
  });
});
