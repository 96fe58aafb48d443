/**
 * A resource request gets its Kratix metadata from the API as it is created — the `kratix.io/promise-name` label and
 * the cleanup finalizers (the delete workflow's too when its Promise has one) — with the real kubectl: the answer to
 * the create already carries them, the controller writes no metadata afterwards, a request deleted at once still runs
 * its delete workflow, and a server-side apply that leaves them out does not remove them.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { isApiError } from '../../src/api/errors.ts';
import { eventually, startTestFleet, type TestFleet } from '../helpers/fleet.ts';
import { TEST_IMAGE } from '../helpers/images.ts';
import { kubectlFor, type Kubectl } from '../helpers/kubectl.ts';
import { testPromise } from '../helpers/promises.ts';

const THINGS = '/apis/test.fleetops.dev/v1/namespaces/default/things';
const GADGETS = '/apis/test.fleetops.dev/v1/namespaces/default/gadgets';
const CLEANUP = ['kratix.io/work-cleanup', 'kratix.io/workflows-cleanup'];

interface Request {
  metadata: {
    name: string;
    resourceVersion: string;
    labels?: Record<string, string>;
    finalizers?: string[];
    managedFields?: { manager: string; fieldsV1?: { 'f:metadata'?: Record<string, unknown> } }[];
  };
  status?: { message?: string };
}

function promiseOf(kind: string, plural: string, withDelete: boolean): object {
  return testPromise({
    kind,
    plural,
    destinationSelectors: { environment: 'worker' },
    pipeline: { name: 'render', spec: { containers: [{ name: 'render', image: TEST_IMAGE, command: ['sh', '-c', 'echo "a: b" > /kratix/output/a.yaml'] }] } },
    ...(withDelete
      ? { deletePipeline: { name: 'teardown', spec: { containers: [{ name: 'bye', image: TEST_IMAGE, command: ['sh', '-c', 'echo tearing down'] }] } } }
      : {}),
  });
}

const manifest = (kind: string, name: string): string =>
  `apiVersion: test.fleetops.dev/v1\nkind: ${kind}\nmetadata:\n  name: ${name}\n  namespace: default\nspec: {}\n`;

describe('resource request metadata', () => {
  let fleet: TestFleet;
  let kubectl: Kubectl;

  before(async () => {
    fleet = await startTestFleet({ defaultDestinations: true });
    kubectl = kubectlFor(fleet.kubeconfigPath);
    for (const p of [promiseOf('Thing', 'things', false), promiseOf('Gadget', 'gadgets', true)])
      await fleet.client.request('POST', '/apis/platform.kratix.io/v1alpha1/promises', { body: p });
    await eventually(async () => (await kubectl(['get', 'things'])).code === 0 && (await kubectl(['get', 'gadgets'])).code === 0, 30_000, 'kinds served');
  });
  after(async () => fleet.cleanup());

  it('creates a request with its label and finalizers, and the controller writes no metadata after', async () => {
    const from = (await fleet.client.get<{ metadata: { resourceVersion: string } }>(THINGS)).metadata.resourceVersion;
    const seen: Request[] = [];
    const stop = new AbortController();
    const watching = fleet.client.watch(THINGS, { resourceVersion: from }, (e) => seen.push(e.object as Request), stop.signal).catch(() => undefined);
    try {
      const r = await kubectl(['create', '-f', '-', '-o', 'json'], { input: manifest('Thing', 'one') });
      assert.equal(r.code, 0, r.stderr);
      const created = JSON.parse(r.stdout) as Request;
      assert.deepEqual(created.metadata.finalizers, CLEANUP);
      assert.equal(created.metadata.labels?.['kratix.io/promise-name'], 'thing');
      await eventually(() => seen.find((o) => o.metadata.name === 'one' && o.status?.message === 'Resource requested'), 60_000, 'the request fulfilled');
      const versions = seen.filter((o) => o.metadata.name === 'one');
      assert.ok(versions.length >= 2, 'created, then its status written');
      for (const v of versions) {
        assert.deepEqual(v.metadata.finalizers, CLEANUP, `finalizers unchanged at version ${v.metadata.resourceVersion}`);
        assert.deepEqual(v.metadata.labels, created.metadata.labels, `labels unchanged at version ${v.metadata.resourceVersion}`);
      }
      // Not the creator's fields: kubectl's entry in managedFields names neither.
      const own = created.metadata.managedFields?.find((m) => m.manager.startsWith('kubectl'))?.fieldsV1?.['f:metadata'] ?? {};
      assert.ok(!('f:finalizers' in own) && !('f:labels' in own), JSON.stringify(own));
    } finally {
      stop.abort();
      await watching;
    }
  });

  it('gives a request of a Promise with a delete workflow its finalizer too, so one deleted at once runs it', async () => {
    const r = await kubectl(['create', '-f', '-', '-o', 'json'], { input: manifest('Gadget', 'brief') });
    assert.equal(r.code, 0, r.stderr);
    assert.deepEqual((JSON.parse(r.stdout) as Request).metadata.finalizers, [...CLEANUP, 'kratix.io/delete-workflows']);
    const d = await kubectl(['delete', 'gadget', 'brief', '--wait=false']);
    assert.equal(d.code, 0, d.stderr);
    await eventually(
      () =>
        fleet.client.get(`${GADGETS}/brief`).then(
          () => false,
          (err: unknown) => isApiError(err, 'NotFound'),
        ),
      60_000,
      'the request gone',
    );
    const events = await fleet.client.get<{ items: { reason: string; involvedObject: { name: string; kind: string } }[] }>('/api/v1/namespaces/default/events');
    assert.ok(
      events.items.some((e) => e.reason === 'DeleteWorkflowCompleted' && e.involvedObject.kind === 'Gadget' && e.involvedObject.name === 'brief'),
      'its delete workflow ran',
    );
  });

  it('keeps them when a server-side apply leaves them out', async () => {
    for (let i = 0; i < 2; i++) {
      const r = await kubectl(['apply', '--server-side', '-f', '-'], { input: manifest('Thing', 'applied') });
      assert.equal(r.code, 0, r.stderr);
    }
    const got = await fleet.client.get<Request>(`${THINGS}/applied`);
    assert.deepEqual(got.metadata.finalizers, CLEANUP);
    assert.equal(got.metadata.labels?.['kratix.io/promise-name'], 'thing');
  });
});
