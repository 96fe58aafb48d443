/**
 * Real Promises from Kratix's public marketplace (github.com/syntasso/kratix-marketplace, Apache-2.0; copies kept
 * unchanged under test/data/kratix-marketplace) install and serve their kinds. Each file is applied as a Kratix
 * user would, through the API; the Promise must become Available and its kind must answer a list. Their images come
 * from a local registry set up as the platform's mirror (ghcr.io rewritten to it, as an air-gapped platform does);
 * it serves a stand-in for the namespace Promise's image under its original name, which then runs end to end.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { parseAllDocuments } from 'yaml';
import { eventually, fleetopsCli, startTestFleet, type TestFleet } from '../helpers/fleet.ts';
import { startRegistry, type TestRegistry } from '../helpers/registry.ts';
import { kubectlFor } from '../helpers/kubectl.ts';

const run = promisify(execFile);
const standIns = join(import.meta.dirname, '..', 'data', 'standin-images');

const dir = join(import.meta.dirname, '..', 'data', 'kratix-marketplace');
const files = readdirSync(dir)
  .filter((f) => f.endsWith('.yaml'))
  .sort();

interface PromiseDoc {
  metadata: { name: string; labels?: Record<string, string> };
  spec: {
    api?: { spec: { group: string; names: { plural: string }; versions: Array<{ name: string; served?: boolean }> } };
    requiredPromises?: Array<{ name: string; version?: string }>;
    workflows?: { promise?: { configure?: Array<{ spec: { containers: Array<{ command?: string[] }> } }> } };
  };
}
interface PromiseStatus {
  status?: { status?: string; message?: string; conditions?: Array<{ type: string; status: string; message: string }> };
}

/**
 * Marketplace Promise workflows are container images with no command. The mirror has no stand-in for them, so these
 * Promises serve their kind but report their configure workflow as failed with the kubelet's pull error.
 */
const needsImages = (p: PromiseDoc): boolean => (p.spec.workflows?.promise?.configure ?? []).some((pl) => pl.spec.containers.some((c) => !c.command?.length));

const promises = files.map((file) => ({ file, doc: parseAllDocuments(readFileSync(join(dir, file), 'utf8'))[0]!.toJS() as PromiseDoc }));
/** A requirement can be met only by a Promise of the set with that name and, when asked, that version label. */
const satisfiable = (p: PromiseDoc): boolean =>
  (p.spec.requiredPromises ?? []).every((r) =>
    promises.some((o) => o.doc.metadata.name === r.name && (!r.version || o.doc.metadata.labels?.['kratix.io/promise-version'] === r.version)),
  );

describe('Kratix marketplace Promises', () => {
  let fleet: TestFleet;
  let registry: TestRegistry;
  before(async () => {
    registry = await startRegistry();
    await registry.push(join(standIns, 'namespace'), 'ghcr.io/syntasso/kratix-marketplace/namespace-configure-pipeline:v0.1.0');
    const mirror = ['ghcr.io', 'syntasso.docker.reo.dev']
      .map((p) => `[[registry]]\nprefix = "${p}"\nlocation = "${registry.host}/${p}"\ninsecure = true\n`)
      .join('\n');
    fleet = await startTestFleet({
      defaultDestinations: true,
      stateStoreBatchMs: 50,
      images: { registriesConf: registry.registriesConf(mirror), authFile: registry.authFile() },
    });
  });
  after(async () => {
    await fleet.cleanup();
    await registry.cleanup();
  });

  const promisePath = (name: string): string => `/apis/platform.kratix.io/v1alpha1/promises/${name}`;
  const status = async (name: string): Promise<PromiseStatus['status']> => (await fleet.client.get<PromiseStatus>(promisePath(name))).status;

  it(`installs all ${files.length} Promises unchanged and serves their kinds`, async () => {
    const failures: string[] = [];
    const installed = new Map<string, string>();
    const imageOnly: string[] = [];
    for (const { file, doc } of promises) {
      try {
        // Two marketplace folders may reuse a Promise name (mongodb/mongodb-full, sql/azure and sql/gcp): replace.
        if (installed.has(doc.metadata.name)) {
          await fleet.client.request('DELETE', promisePath(doc.metadata.name));
          await eventually(
            async () =>
              fleet.client.get(promisePath(doc.metadata.name)).then(
                () => false,
                () => true,
              ),
            10_000,
            `${installed.get(doc.metadata.name)} deleted`,
          );
        }
        await fleet.client.request('POST', '/apis/platform.kratix.io/v1alpha1/promises', { body: doc });
        installed.set(doc.metadata.name, file);
        const api = doc.spec.api?.spec;
        if (api) {
          const version = api.versions.find((v) => v.served !== false)!.name;
          await eventually(() => fleet.client.get<{ items: unknown[] }>(`/apis/${api.group}/${version}/${api.names.plural}`), 10_000, `${file} kind served`);
        }
        if (needsImages(doc)) {
          const cond = await eventually(
            async () => (await status(doc.metadata.name))?.conditions?.find((c) => c.type === 'ConfigureWorkflowCompleted' && c.status === 'False'),
            10_000,
            `${file} workflow reported`,
          );
          assert.match(
            cond.message,
            /(ErrImagePull|ImagePullBackOff): (ghcr\.io|syntasso\.docker\.reo\.dev)\/syntasso\/\S+: .*(manifest unknown|repository not found)/,
          );
          imageOnly.push(file);
        } else if (!doc.spec.requiredPromises)
          await eventually(async () => (await status(doc.metadata.name))?.status === 'Available', 10_000, `${file} available`);
      } catch (err) {
        failures.push(`${file}: ${(err as Error).message.split('\n')[0]}`);
      }
    }
    // Promises with requirements: available once what they require is installed; otherwise they say what is missing.
    for (const { file, doc } of promises.filter((p) => p.doc.spec.requiredPromises && !needsImages(p.doc) && installed.get(p.doc.metadata.name) === p.file)) {
      try {
        if (satisfiable(doc)) await eventually(async () => (await status(doc.metadata.name))?.status === 'Available', 10_000, `${file} available`);
        else {
          const s = await eventually(
            async () => ((await status(doc.metadata.name))?.status === 'Unavailable' ? await status(doc.metadata.name) : undefined),
            10_000,
            `${file} unavailable`,
          );
          assert.match(s.message ?? '', /Requirements not fulfilled: .*not installed/);
        }
      } catch (err) {
        failures.push(`${file}: ${(err as Error).message.split('\n')[0]}`);
      }
    }
    assert.deepEqual(failures, [], `${files.length - failures.length}/${files.length} installed`);
    // Printed for the record: the Promises whose workflow images the test mirror does not serve.
    console.log(
      `marketplace: ${files.length}/${files.length} install and serve their kinds; ${imageOnly.length} have Promise workflows whose images the test mirror lacks: ${imageOnly.join(', ')}`,
    );
  });

  it('runs the namespace Promise from the mirror once the platform allows its Namespaces: its output reaches the Git state store', async () => {
    const c = fleet.client;
    // A resource workflow writing a cluster-scoped object needs the Promise to say so (ADR 0015).
    await c.request('POST', '/apis/marketplace.kratix.io/v1alpha1/namespaces/default/namespaces', {
      body: { apiVersion: 'marketplace.kratix.io/v1alpha1', kind: 'namespace', metadata: { name: 'too-early' }, spec: { namespaceName: 'early' } },
    });
    const refusal = await eventually(
      async () =>
        (
          await c.get<{ status?: { conditions?: { message?: string }[] } }>('/apis/marketplace.kratix.io/v1alpha1/namespaces/default/namespaces/too-early')
        ).status?.conditions
          ?.map((x) => x.message ?? '')
          .find((m) => m.includes('cluster-scoped')),
      30_000,
      'the refusal',
    );
    assert.match(
      refusal,
      /output namespace\.yaml: Namespace "early" is cluster-scoped, and Promise namespace does not let its resource workflows write Namespaces; the platform team may allow it with the annotation fleetops\.dev\/allowed-cluster-scoped-outputs: "Namespace"/,
    );
    const annotated = await kubectlFor(fleet.kubeconfigPath)(['annotate', 'promise', 'namespace', 'fleetops.dev/allowed-cluster-scoped-outputs=Namespace']);
    assert.equal(annotated.code, 0, annotated.stderr);
    await c.request('POST', '/apis/marketplace.kratix.io/v1alpha1/namespaces/default/namespaces', {
      body: { apiVersion: 'marketplace.kratix.io/v1alpha1', kind: 'namespace', metadata: { name: 'team-x' }, spec: { namespaceName: 'team-x-dev' } },
    });
    const status = await eventually(
      async () => {
        const s = (await c.get<{ status?: { message?: string } }>('/apis/marketplace.kratix.io/v1alpha1/namespaces/default/namespaces/team-x')).status;
        return s?.message === 'namespace team-x-dev requested' ? s : undefined;
      },
      30_000,
      'status from the stand-in image',
    );
    assert.ok(status);
    const cloneUrl = fleet.embeddedGit.cloneUrl.replace('https://', `https://fleetops:${fleet.adminToken}@`);
    const found = await eventually(
      async () => {
        const target = join(mkdtempSync(join(tmpdir(), 'fleetops-mirror-')), 'repo');
        await run('git', ['-c', 'http.sslVerify=false', 'clone', '-q', cloneUrl, target]);
        const hits = (await run('grep', ['-rl', 'name: team-x-dev', target, '--include=namespace.yaml'])).stdout.trim().split('\n').filter(Boolean);
        if (!hits.length) rmSync(target, { recursive: true, force: true });
        return hits.length ? hits : undefined;
      },
      30_000,
      'the Namespace in the state store',
    );
    assert.ok(found.every((f) => existsSync(f) && /kind: Namespace/.test(readFileSync(f, 'utf8'))));
    // The run's log says which image ran and how it was had (pulled for the refused request above).
    const logs = await fleetopsCli(fleet.kubeconfigPath)(['logs', 'namespaces.marketplace.kratix.io/team-x']);
    assert.equal(logs.code, 0, logs.stderr);
    assert.match(
      logs.stdout,
      /image ghcr\.io\/syntasso\/kratix-marketplace\/namespace-configure-pipeline:v0\.1\.0 \(sha256:[0-9a-f]{12}\) (pulled in [\d.]+s|already present)/,
    );
    assert.match(logs.stdout, /namespace team-x-dev written/);
  });
});
