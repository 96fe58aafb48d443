/**
 * Every example under examples/ works as its README line says: its step image is built with `fleetops image build`,
 * its Promise and example request are applied with the real kubectl, and the request reaches its status with the
 * documents the example promises in its Work.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parse } from 'yaml';
import { decodeWorkload } from '../../src/lib/workloads.ts';
import { eventually, fleetopsCli, startTestFleet, type TestFleet } from '../helpers/fleet.ts';
import { kubectlFor, type Kubectl } from '../helpers/kubectl.ts';

const examples = join(import.meta.dirname, '..', '..', 'examples');

interface Case {
  folder: string;
  request: string;
  /** kind/plural of the request, for kubectl and the Work's name. */
  resource: string;
  work: string;
  message: RegExp;
  /** kind of each document expected in the Work. */
  kinds: string[];
}

const cases: Case[] = [
  {
    folder: 'app-as-a-service',
    request: 'todoer.yaml',
    resource: 'app/todoer',
    work: 'app-todoer-resource-configure',
    message: /^deployed to http:\/\/todoer\.local\.gd:31338$/,
    kinds: ['Deployment', 'Ingress', 'Service'],
  },
  {
    folder: 'postgresql',
    request: 'example.yaml',
    resource: 'postgresql/orders',
    work: 'postgresql-orders-instance-configure',
    message: /^database orders on shop-orders$/,
    kinds: ['postgresql'],
  },
  {
    folder: 'team',
    request: 'example.yaml',
    resource: 'team/payments',
    work: 'team-payments-onboard',
    message: /^3 namespaces for group payments-devs \(medium\)$/,
    kinds: ['Namespace', 'Namespace', 'Namespace', 'ResourceQuota', 'ResourceQuota', 'ResourceQuota', 'RoleBinding', 'RoleBinding', 'RoleBinding'],
  },
];

describe('examples', () => {
  let fleet: TestFleet;
  let kubectl: Kubectl;
  before(async () => {
    fleet = await startTestFleet({ defaultDestinations: true });
    kubectl = kubectlFor(fleet.kubeconfigPath);
  });
  after(() => fleet.cleanup());

  it('covers every example folder', () => {
    const folders = readdirSync(examples, { withFileTypes: true })
      .filter((d) => d.isDirectory())
      .map((d) => d.name);
    assert.deepEqual(folders.sort(), cases.map((c) => c.folder).sort());
  });

  for (const c of cases) {
    it(`${c.folder}: image built, Promise and request applied, status and Work as documented`, async () => {
      const cli = fleetopsCli(fleet.kubeconfigPath);
      const built = await cli(['image', 'build', join(examples, c.folder, 'pipeline'), '--data-dir', fleet.dataDir], undefined, 180_000);
      assert.equal(built.code, 0, built.stderr);
      let r = await kubectl(['apply', '-f', join(examples, c.folder, 'promise.yaml')]);
      assert.equal(r.code, 0, r.stderr);
      await eventually(async () => (await kubectl(['get', c.resource.split('/')[0]!])).code === 0, 20_000, `${c.folder} kind served`);
      r = await kubectl(['apply', '-f', join(examples, c.folder, c.request)]);
      assert.equal(r.code, 0, r.stderr);
      const message = await eventually(
        async () => {
          const got = await kubectl(['get', c.resource, '-o', 'jsonpath={.status.message}']);
          return c.message.test(got.stdout) ? got.stdout : undefined;
        },
        60_000,
        `${c.resource} status`,
      );
      assert.match(message, c.message);
      const work = await fleet.client.get<{ spec: { workloadGroups: { workloads: { content: string }[] }[] } }>(
        `/apis/platform.kratix.io/v1alpha1/namespaces/default/works/${c.work}`,
      );
      const files = work.spec.workloadGroups.flatMap((g) => g.workloads.map((w) => decodeWorkload(w.content).toString()));
      // Plain YAML for GitOps tools and people: no anchors or aliases.
      for (const f of files) assert.doesNotMatch(f, /(^|[\s:-])[&*][a-z]+\d*\b/m, f);
      const kinds = files.flatMap((f) => f.split(/^---$/m).map((d) => (parse(d) as { kind: string }).kind));
      assert.deepEqual(kinds.sort(), [...c.kinds].sort());
    });
  }

  it("lets a team request the README's App in its own namespace with the kubeconfig `team add` wrote", async () => {
    const scratch = mkdtempSync(join(tmpdir(), 'fleetops-examples-team-'));
    const added = await fleetopsCli(fleet.kubeconfigPath, scratch)(['team', 'add', 'team-a']);
    assert.equal(added.code, 0, added.stderr);
    const r = await kubectlFor(join(scratch, 'team-a.kubeconfig'))(['apply', '-f', join(examples, 'app-as-a-service', 'todoer.yaml'), '-n', 'team-a']);
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /app\.marketplace\.kratix\.io\/todoer created/);
    rmSync(scratch, { recursive: true, force: true });
  });
});
