/**
 * A BucketStateStore against a real S3-protocol server (s3rver, from the npm registry) through the AWS SDK:
 * requested Apps appear under the worker destination's path in Kratix's layout, a deleted App's objects go, and
 * wrong credentials are reported on the store's status; with `authMethod: IAM` the AWS SDK's own credential chain
 * (here the environment's AWS_ACCESS_KEY_ID, as an instance profile or IRSA would provide) signs the writes.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { GetObjectCommand, ListObjectsV2Command, S3Client } from '@aws-sdk/client-s3';
import S3rver from 's3rver';
import { parse } from 'yaml';
import { eventually, startTestFleet, type TestFleet } from '../helpers/fleet.ts';

const root = join(import.meta.dirname, '..', '..');
const KRATIX = '/apis/platform.kratix.io/v1alpha1';
const APPS = '/apis/marketplace.kratix.io/v1/namespaces/default/apps';
// s3rver's built-in account.
const KEY = { accessKeyId: 'S3RVER', secretAccessKey: 'S3RVER' };

describe('Bucket state store', () => {
  let fleet: TestFleet;
  let server: S3rver;
  let s3: S3Client;
  let dir: string;
  let endpoint: string;
  const keys = async (prefix: string): Promise<string[]> =>
    ((await s3.send(new ListObjectsV2Command({ Bucket: 'kratix', Prefix: prefix }))).Contents ?? []).map((o) => o.Key as string).sort();

  before(async () => {
    dir = mkdtempSync(join(tmpdir(), 'fleetops-s3-'));
    server = new S3rver({ port: 0, address: '127.0.0.1', silent: true, directory: dir, configureBuckets: [{ name: 'kratix' }] });
    const { port } = await server.run();
    endpoint = `127.0.0.1:${port}`;
    s3 = new S3Client({ endpoint: `http://${endpoint}`, region: 'us-east-1', forcePathStyle: true, credentials: KEY });
    fleet = await startTestFleet({ stateStoreBatchMs: 50, exampleImage: true });
    const c = fleet.client;
    await c.request('POST', '/api/v1/namespaces/default/secrets', {
      body: {
        apiVersion: 'v1',
        kind: 'Secret',
        metadata: { name: 's3-creds' },
        stringData: { accessKeyID: KEY.accessKeyId, secretAccessKey: KEY.secretAccessKey },
      },
    });
    await c.request('POST', `${KRATIX}/bucketstatestores`, {
      body: {
        apiVersion: 'platform.kratix.io/v1alpha1',
        kind: 'BucketStateStore',
        metadata: { name: 'minio' },
        spec: { endpoint, insecure: true, bucketName: 'kratix', secretRef: { name: 's3-creds', namespace: 'default' } },
      },
    });
    await c.request('POST', `${KRATIX}/destinations`, {
      body: {
        apiVersion: 'platform.kratix.io/v1alpha1',
        kind: 'Destination',
        metadata: { name: 'worker-1', labels: { environment: 'worker' } },
        spec: { path: 'worker-1', stateStoreRef: { kind: 'BucketStateStore', name: 'minio' } },
      },
    });
  });
  after(async () => {
    await fleet.cleanup();
    s3.destroy();
    await server.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('writes requested Apps under the destination path, and removes a deleted one', async () => {
    const c = fleet.client;
    await c.request('POST', `${KRATIX}/promises`, { body: parse(readFileSync(join(root, 'examples/app-as-a-service/promise.yaml'), 'utf8')) });
    await eventually(() => c.get(APPS), 15_000, 'kind served');
    for (const name of ['todo', 'shop'])
      await c.request('POST', APPS, {
        body: { apiVersion: 'marketplace.kratix.io/v1', kind: 'App', metadata: { name }, spec: { name, image: `example/${name}:1`, replicas: 1 } },
      });
    const base = (name: string): string => `worker-1/resources/default/app/${name}/resource-configure/5058f/`;
    await eventually(async () => (await keys(base('todo'))).length === 3 && (await keys(base('shop'))).length === 3, 30_000, 'apps in the bucket');
    assert.deepEqual(
      await keys(base('shop')),
      ['deployment.yaml', 'ingress.yaml', 'service.yaml'].map((f) => base('shop') + f),
    );
    const body = await (await s3.send(new GetObjectCommand({ Bucket: 'kratix', Key: `${base('shop')}deployment.yaml` }))).Body!.transformToString();
    assert.equal(
      (parse(body) as { spec: { template: { spec: { containers: { image: string }[] } } } }).spec.template.spec.containers[0]!.image,
      'example/shop:1',
    );
    assert.ok((await keys('worker-1/dependencies/')).length > 0, 'the destination canary is written');
    const store = await eventually(
      async () => {
        const s = await c.get<{ status?: { status?: string } }>(`${KRATIX}/bucketstatestores/minio`);
        return s.status?.status === 'Ready' ? s : undefined;
      },
      10_000,
      'store ready',
    );
    assert.equal(store.status?.status, 'Ready');

    await c.request('DELETE', `${APPS}/shop`);
    await eventually(async () => (await keys(base('shop'))).length === 0, 30_000, 'shop removed from the bucket');
    assert.equal((await keys(base('todo'))).length, 3, 'the others stay');
  });

  it('reports wrong credentials on the store', async () => {
    const c = fleet.client;
    await c.request('POST', '/api/v1/namespaces/default/secrets', {
      body: { apiVersion: 'v1', kind: 'Secret', metadata: { name: 's3-wrong' }, stringData: { accessKeyID: 'NOT-A-KEY', secretAccessKey: 'not-the-key' } },
    });
    await c.request('POST', `${KRATIX}/bucketstatestores`, {
      body: {
        apiVersion: 'platform.kratix.io/v1alpha1',
        kind: 'BucketStateStore',
        metadata: { name: 'wrong' },
        spec: { endpoint, insecure: true, bucketName: 'kratix', secretRef: { name: 's3-wrong', namespace: 'default' } },
      },
    });
    await c.request('POST', `${KRATIX}/destinations`, {
      body: {
        apiVersion: 'platform.kratix.io/v1alpha1',
        kind: 'Destination',
        metadata: { name: 'edge', labels: { environment: 'edge' } },
        spec: { path: 'edge', stateStoreRef: { kind: 'BucketStateStore', name: 'wrong' } },
      },
    });
    const failing = await eventually(
      async () => {
        const s = await c.get<{ status?: { status?: string; conditions?: { type: string; status: string; message: string }[] } }>(
          `${KRATIX}/bucketstatestores/wrong`,
        );
        return s.status?.conditions?.find((x) => x.status === 'False');
      },
      30_000,
      'store not ready',
    );
    assert.match(failing.message, /bucket kratix at http:\/\/127\.0\.0\.1:\d+: access denied: check the accessKeyID and secretAccessKey/);
  });

  it("writes with the AWS SDK's credential chain when authMethod is IAM, ignoring a secretRef", async () => {
    const c = fleet.client;
    // The chain reads the environment when a client first needs credentials (FleetOps runs in this process).
    process.env.AWS_ACCESS_KEY_ID = KEY.accessKeyId;
    process.env.AWS_SECRET_ACCESS_KEY = KEY.secretAccessKey;
    await c.request('POST', `${KRATIX}/bucketstatestores`, {
      body: {
        apiVersion: 'platform.kratix.io/v1alpha1',
        kind: 'BucketStateStore',
        metadata: { name: 'iam' },
        // A Secret named but absent: IAM does not read it.
        spec: { endpoint, insecure: true, bucketName: 'kratix', authMethod: 'IAM', secretRef: { name: 'no-such-secret', namespace: 'default' } },
      },
    });
    await c.request('POST', `${KRATIX}/destinations`, {
      body: {
        apiVersion: 'platform.kratix.io/v1alpha1',
        kind: 'Destination',
        metadata: { name: 'iam-worker', labels: { environment: 'iam' } },
        spec: { path: 'iam-worker', stateStoreRef: { kind: 'BucketStateStore', name: 'iam' } },
      },
    });
    await eventually(async () => (await keys('iam-worker/dependencies/')).length > 0, 30_000, 'the canary written with IAM credentials').catch(
      async (err: unknown) => {
        throw new Error(`${String(err)}: ${JSON.stringify((await c.get<{ status?: unknown }>(`${KRATIX}/bucketstatestores/iam`)).status)}`);
      },
    );
  });
});
