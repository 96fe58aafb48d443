/**
 * Tenant isolation, driven as a team that wants more than it was given would drive it: the real kubectl with the
 * kubeconfigs `fleetops team add` writes (team-b also bound to the built-in `admin` role in its namespace, as a
 * namespace owner is on Kubernetes). Escalation through Roles and bindings is refused with Kubernetes' messages,
 * impersonation needs `impersonate`, what only FleetOps writes (status, Works) stays FleetOps', a Work written by
 * hand never reaches a state store, teams do not read Rollouts, and a protobuf body is held to the same limits as
 * JSON (415 for a custom kind, as on Kubernetes). A write whose client hangs up is still audited. A request whose
 * pipeline renders what the team hands it cannot write into another team's namespace, however the YAML hides it.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { request as httpsRequest } from 'node:https';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { stringify } from 'yaml';
import { eventually, fleetopsCli, startTestFleet, type TestFleet } from '../helpers/fleet.ts';
import { kubectlFor, type Kubectl, type KubectlResult } from '../helpers/kubectl.ts';
import { testPromise } from '../helpers/promises.ts';
import { TEST_IMAGE } from '../helpers/images.ts';
import { loadKubeconfig } from '../../src/client/kubeconfig.ts';

function ok(r: KubectlResult, what: string): string {
  assert.equal(r.code, 0, `${what}: ${r.stderr}${r.stdout}`);
  return r.stdout;
}

function refused(r: KubectlResult, pattern: RegExp, what: string): void {
  assert.notEqual(r.code, 0, `${what}: expected a refusal, got: ${r.stdout}`);
  assert.match(r.stderr, pattern, what);
}

const yaml = (o: object): string => stringify(o);

describe('tenant isolation', () => {
  let fleet: TestFleet;
  let admin: Kubectl;
  let teamA: Kubectl;
  let teamB: Kubectl;
  const scratch = mkdtempSync(join(tmpdir(), 'fleetops-tenants-'));

  before(async () => {
    fleet = await startTestFleet({ defaultDestinations: true, stateStoreBatchMs: 50 });
    admin = kubectlFor(fleet.kubeconfigPath);
    const cli = fleetopsCli(fleet.kubeconfigPath, scratch);
    for (const t of ['team-a', 'team-b']) assert.equal((await cli(['team', 'add', t])).code, 0, `team add ${t}`);
    teamA = kubectlFor(join(scratch, 'team-a.kubeconfig'));
    teamB = kubectlFor(join(scratch, 'team-b.kubeconfig'));
    ok(await admin(['create', 'rolebinding', 'owner', '-n', 'team-b', '--clusterrole=admin', '--serviceaccount=team-b:team-b']), 'team-b owns its namespace');
    ok(await admin(['apply', '-f', '-'], { input: yaml(testPromise({ kind: 'Db', plural: 'dbs' })) }), 'a Promise');
    await eventually(async () => (await teamB(['auth', 'can-i', 'create', 'dbs'])).stdout.trim() === 'yes', 30_000, 'the Db kind in the team roles');
  });
  after(async () => {
    await fleet.cleanup();
    rmSync(scratch, { recursive: true, force: true });
  });

  it('refuses a namespace admin a binding to cluster-admin, or a Role granting what it does not hold', async () => {
    refused(
      await teamB(['create', 'rolebinding', 'take-over', '--clusterrole=cluster-admin', '--serviceaccount=team-b:team-b']),
      /rolebindings\.rbac\.authorization\.k8s\.io "take-over" is forbidden: user "system:serviceaccount:team-b:team-b" \(groups=\[.*\]\) is attempting to grant RBAC permissions not currently held:\n\{APIGroups:\["\*"\], Resources:\["\*"\], Verbs:\["\*"\]\}/,
      'binding to cluster-admin',
    );
    refused(
      await teamB(['create', 'role', 'everything', '--verb=*', '--resource=*.*']),
      /roles\.rbac\.authorization\.k8s\.io "everything" is forbidden: .*attempting to grant RBAC permissions not currently held/,
      'a Role with *',
    );
    refused(
      await teamB(['create', 'role', 'works', '--verb=create,update', '--resource=works.platform.kratix.io,dbs.test.fleetops.dev/status']),
      /not currently held:\n\{APIGroups:\["platform\.kratix\.io"\], Resources:\["works"\], Verbs:\["create"\]\}/,
      'a Role over works',
    );
    refused(
      await teamB(['apply', '-f', '-'], {
        input: yaml({
          apiVersion: 'rbac.authorization.k8s.io/v1',
          kind: 'Role',
          metadata: { name: 'sneaky', namespace: 'team-b' },
          rules: [{ apiGroups: ['test.fleetops.dev'], resources: ['dbs/status'], verbs: ['patch'] }],
        }),
      }),
      /"sneaky" is forbidden: [\s\S]*\{APIGroups:\["test\.fleetops\.dev"\], Resources:\["dbs\/status"\], Verbs:\["patch"\]\}/,
      'a Role over its resources status (by apply)',
    );
    // What it holds, it may grant; the same Role is refused in another team's namespace.
    ok(await teamB(['create', 'role', 'readers', '--verb=get,list', '--resource=configmaps']), 'a Role within its rights');
    ok(await teamB(['create', 'rolebinding', 'readers', '--role=readers', '--serviceaccount=team-b:default']), 'a binding within its rights');
    ok(await teamB(['create', 'rolebinding', 'editors', '--clusterrole=edit', '--serviceaccount=team-b:default']), 'a binding to edit, which admin holds');
    refused(await teamB(['create', 'role', 'readers', '-n', 'team-a', '--verb=get', '--resource=configmaps']), /forbidden/, 'in another namespace');
    // Nor can it widen a Role it made afterwards.
    refused(
      await teamB([
        'patch',
        'role',
        'readers',
        '--type=json',
        '-p',
        '[{"op":"add","path":"/rules/-","value":{"apiGroups":[""],"resources":["nodes"],"verbs":["*"]}}]',
      ]),
      /"readers" is forbidden: .*attempting to grant RBAC permissions not currently held/,
      'a Role widened by a patch',
    );
    // The platform's admins may grant anything.
    ok(await admin(['create', 'rolebinding', 'ops', '-n', 'team-b', '--clusterrole=cluster-admin', '--user=ops']), 'an admin binds cluster-admin');
  });

  it('needs the impersonate verb to act as someone else', async () => {
    // (kubectl's discovery meets the refusal first and prints it as "Forbidden: unknown"; --raw shows the server's words.)
    refused(await teamA(['get', 'secrets', '-n', 'team-b', '--as=admin']), /Forbidden/, '--as');
    refused(
      await teamA(['get', '--raw', '/api/v1/namespaces/team-b/secrets', '--as=admin']),
      /users "admin" is forbidden: User "system:serviceaccount:team-a:team-a" cannot impersonate resource "users" in API group "" at the cluster scope/,
      '--as, raw',
    );
    refused(
      await teamA(['get', '--raw', '/api/v1/namespaces/team-b/secrets', '--as=system:serviceaccount:team-b:team-b']),
      /serviceaccounts "team-b" is forbidden: .* cannot impersonate resource "serviceaccounts" in API group "" in the namespace "team-b"/,
      '--as a service account',
    );
    refused(await teamA(['get', '--raw', '/api/v1/pods', '--as=x', '--as-group=system:masters']), /cannot impersonate/, '--as-group system:masters');
    // An admin's impersonation runs as the impersonated identity.
    assert.equal(
      ok(await admin(['auth', 'whoami', '--as=system:serviceaccount:team-a:team-a', '-o', 'jsonpath={.status.userInfo.username}']), 'whoami --as'),
      'system:serviceaccount:team-a:team-a',
    );
    refused(
      await admin(['get', 'secrets', '-n', 'team-b', '--as=system:serviceaccount:team-a:team-a']),
      /cannot list resource "secrets" .* in the namespace "team-b"/,
      'as team-a',
    );
  });

  it("keeps what only FleetOps writes FleetOps': status, Works and Rollouts", async () => {
    ok(
      await teamB(['apply', '-f', '-'], { input: 'apiVersion: test.fleetops.dev/v1\nkind: Db\nmetadata:\n  name: orders\nspec: {}\n' }),
      'team-b requests a Db',
    );
    refused(
      await teamB(['patch', 'db', 'orders', '--subresource=status', '--type=merge', '-p', '{"status":{"message":"mine"}}']),
      /cannot patch resource "dbs\/status"/,
      'status',
    );
    const work = {
      apiVersion: 'platform.kratix.io/v1alpha1',
      kind: 'Work',
      metadata: { name: 'hand-made', namespace: 'team-b' },
      spec: {
        promiseName: 'db',
        resourceName: 'orders',
        workloadGroups: [
          {
            id: 'x',
            directory: '.',
            workloads: [{ filepath: 'crb.yaml', content: 'kind: ClusterRoleBinding\nmetadata:\n  name: everyone-admin\n' }],
            destinationSelectors: [{ matchLabels: { environment: 'dev' } }],
          },
        ],
      },
    };
    refused(await teamB(['apply', '-f', '-'], { input: yaml(work) }), /cannot (get|patch|create) resource "works"/, 'a Work');
    refused(await teamB(['get', 'rollouts.fleetops.dev']), /cannot list resource "rollouts" in API group "fleetops.dev"/, 'Rollouts');
    // Even a Work an admin writes by hand is not scheduled: no Promise workflow produced it.
    ok(await admin(['apply', '-f', '-'], { input: yaml(work) }), 'an admin writes a Work');
    const reason = await eventually(
      async () => {
        const r = await admin(['get', 'work', 'hand-made', '-n', 'team-b', '-o', 'jsonpath={.status.conditions[?(@.type=="ScheduleSucceeded")].reason}']);
        return r.stdout.trim() || undefined;
      },
      20_000,
      'the Work refused',
    );
    assert.equal(reason, 'NotProducedByWorkflow');
    assert.equal(ok(await admin(['get', 'workplacements', '-n', 'team-b', '-o', 'name']), 'placements'), '');
    const events = ok(await admin(['get', 'events', '-n', 'team-b', '--field-selector', 'involvedObject.name=hand-made']), 'events');
    assert.match(events, /NotProducedByWorkflow/);
    assert.match(events, /work\/hand-made/, 'the event names its object by kind and name, as kubectl does');
  });

  it("keeps a pipeline's account from the team of its namespace", async () => {
    // A token the team made for an account of its own before a pipeline's account took its name: refused once taken.
    ok(await teamA(['create', 'serviceaccount', 'db-resource-configure-p']), 'the team makes the account first');
    const early = ok(await teamA(['create', 'token', 'db-resource-configure-p']), 'a token for it').trim();
    ok(await admin(['label', 'sa', 'db-resource-configure-p', '-n', 'team-a', 'fleetops.dev/pipeline-access=db-resource-configure-p']), 'FleetOps takes it');
    refused(await admin(['--token', early, 'get', 'configmaps', '-n', 'team-a']), /Unauthorized|must be logged in/, 'the early token');
    refused(await teamA(['create', 'token', 'db-resource-configure-p']), /FleetOps issues its tokens to its runs only/, 'a token request');
    refused(
      await teamA(['label', 'sa', 'db-resource-configure-p', 'fleetops.dev/pipeline-access-']),
      /"db-resource-configure-p" is forbidden: it is the account of a pipeline/,
      'relabelling',
    );
    refused(await teamA(['delete', 'sa', 'db-resource-configure-p']), /"db-resource-configure-p" is forbidden: it is the account of a pipeline/, 'deleting');
    refused(
      await teamA(['delete', '--raw', '/api/v1/namespaces/team-a/serviceaccounts?labelSelector=fleetops.dev%2Fpipeline-access']),
      /"db-resource-configure-p" is forbidden: it is the account of a pipeline/,
      'deleting them as a collection',
    );
    ok(await admin(['get', 'sa', 'db-resource-configure-p', '-n', 'team-a']), 'the account is still there');
    refused(
      await teamA(['create', '-f', '-'], {
        input: 'apiVersion: v1\nkind: ServiceAccount\nmetadata:\n  name: fake\n  labels:\n    fleetops.dev/pipeline-access: fake\n',
      }),
      /"fake" is forbidden: it is the account of a pipeline/,
      'a labelled account made by a team',
    );
  });

  it("keeps a team's request from writing into another team's namespace through its pipeline's outputs", async () => {
    // A Promise that renders what the team hands it (a "bring your own manifests" service): only FleetOps' check of the
    // outputs stands between the team's spec and other teams' namespaces, read as the GitOps agents will read them.
    const render = "sed -n 's/^  manifests: //p' /kratix/input/object.yaml | base64 -d > /kratix/output/bundle.yaml";
    const bundle = testPromise({
      kind: 'Bundle',
      plural: 'bundles',
      specProperties: { manifests: { type: 'string' } },
      pipeline: { name: 'render', spec: { containers: [{ name: 'render', image: TEST_IMAGE, command: ['sh', '-c', render] }] } },
    });
    ok(await admin(['apply', '-f', '-'], { input: yaml(bundle) }), 'the Bundle Promise');
    await eventually(async () => (await teamA(['auth', 'can-i', 'create', 'bundles'])).stdout.trim() === 'yes', 30_000, 'the Bundle kind in the team roles');
    const manifests: Record<string, string> = {
      merged: 'kind: ConfigMap\nmetadata:\n  name: merged\n  <<: {namespace: team-b}\n',
      listed: 'kind: ConfigMapList\nitems:\n  - kind: ConfigMap\n    metadata: {name: listed, namespace: team-b}\n',
      own: 'kind: ConfigMap\nmetadata:\n  name: own\n',
    };
    for (const [name, text] of Object.entries(manifests)) {
      const request = { apiVersion: 'test.fleetops.dev/v1', kind: 'Bundle', metadata: { name }, spec: { manifests: Buffer.from(text).toString('base64') } };
      ok(await teamA(['apply', '-f', '-'], { input: yaml(request) }), `the ${name} bundle`);
    }
    const outcome = (name: string): Promise<{ status: string; message?: string }> =>
      eventually(
        async () => {
          const status = JSON.parse(ok(await teamA(['get', 'bundle', name, '-o', 'json']), name)) as {
            status?: { conditions?: { type: string; status: string; reason?: string; message?: string }[] };
          };
          const done = status.status?.conditions?.find((c) => c.type === 'ConfigureWorkflowCompleted');
          return done && (done.status === 'True' || done.reason === 'ConfigureWorkflowFailed') ? done : undefined;
        },
        30_000,
        `the ${name} bundle's run`,
      );
    for (const name of ['merged', 'listed']) {
      assert.match((await outcome(name)).message ?? '', /ConfigMap "\w+" is in namespace "team-b", not the request's \("team-a"\)/, name);
      refused(await admin(['get', 'work', `bundle-${name}-render`, '-n', 'team-a']), /NotFound|not found/, `no Work for the ${name} bundle`);
    }
    assert.equal((await outcome('own')).status, 'True');
    ok(await admin(['get', 'work', 'bundle-own-render', '-n', 'team-a']), 'the own bundle has its Work');
  });

  it('holds protobuf bodies to the limits of JSON, and answers 415 for a custom kind', async () => {
    const entries = join(scratch, 'big.env');
    writeFileSync(entries, Array.from({ length: 6000 }, (_, i) => `k${i}=v`).join('\n'));
    refused(await teamA(['create', 'configmap', 'big', `--from-env-file=${entries}`]), /too complex: more than 5000 map entries/, 'a big protobuf ConfigMap');
    assert.equal((await admin(['get', 'configmap', 'big', '-n', 'team-a'])).code, 1, 'not stored');
    const config = loadKubeconfig(join(scratch, 'team-a.kubeconfig'));
    const r = await send(
      config,
      'POST',
      '/apis/test.fleetops.dev/v1/namespaces/team-a/dbs',
      Buffer.from('k8s\0garbage'),
      'application/vnd.kubernetes.protobuf',
    );
    assert.equal(r.status, 415, r.body);
    assert.match(r.body, /UnsupportedMediaType/);
  });

  it('audits a write whose client hung up before the answer', async () => {
    const config = loadKubeconfig(join(scratch, 'team-a.kubeconfig'));
    const body = JSON.stringify({ apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'hung-up' }, data: { a: 'b' } });
    await send(config, 'POST', '/api/v1/namespaces/team-a/configmaps', Buffer.from(body), 'application/json', { hangUp: true });
    await eventually(async () => (await admin(['get', 'configmap', 'hung-up', '-n', 'team-a'])).code === 0, 10_000, 'the write stored');
    const audited = await eventually(
      () =>
        readFileSync(join(fleet.dataDir, 'audit', 'audit.log'), 'utf8')
          .split('\n')
          .filter(Boolean)
          .map((l) => JSON.parse(l) as { verb: string; objectRef: { name?: string }; responseStatus: { code: number } })
          .find((e) => e.verb === 'create' && e.objectRef.name === 'hung-up'),
      10_000,
      'the audit record',
    );
    assert.equal(audited.responseStatus.code, 201);
  });

  it('lets no other site frame the portal', async () => {
    const config = loadKubeconfig(fleet.kubeconfigPath);
    const r = await send(config, 'GET', '/portal/', undefined, undefined);
    assert.match(r.headers['content-security-policy'] ?? '', /frame-ancestors 'none'/);
    assert.equal(r.headers['x-frame-options'], 'DENY');
  });
});

interface Sent {
  status: number;
  body: string;
  headers: Record<string, string | undefined>;
}

/** One raw HTTPS request with the kubeconfig's token; `hangUp` closes the connection as soon as the body is sent. */
function send(
  config: ReturnType<typeof loadKubeconfig>,
  method: string,
  path: string,
  body: Buffer | undefined,
  contentType: string | undefined,
  opts: { hangUp?: boolean } = {},
): Promise<Sent> {
  const url = new URL(path, config.server);
  return new Promise((resolve, reject) => {
    const req = httpsRequest(
      url,
      {
        method,
        ca: config.caCert,
        headers: { authorization: `Bearer ${config.token}`, ...(contentType ? { 'content-type': contentType } : {}), accept: 'application/json' },
      },
      (res) => {
        let text = '';
        res.on('data', (d: Buffer) => (text += d.toString()));
        res.on('end', () =>
          resolve({ status: res.statusCode ?? 0, body: text, headers: Object.fromEntries(Object.entries(res.headers).map(([k, v]) => [k, String(v)])) }),
        );
      },
    );
    req.on('error', (err) => (opts.hangUp ? resolve({ status: 0, body: '', headers: {} }) : reject(err)));
    req.end(body ?? undefined, () => {
      if (opts.hangUp) {
        req.destroy();
        resolve({ status: 0, body: '', headers: {} });
      }
    });
  });
}
