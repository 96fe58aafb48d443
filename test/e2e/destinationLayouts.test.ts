/**
 * Kratix's Destination layouts in a real Git repository (smart HTTP): `filepath.mode` nestedByMetadata (the default),
 * none and aggregatedYAML (with its filename), the canary documents and `initWorkloads.enabled: false`, and the
 * GitStateStore's `gitAuthor` on FleetOps' commits — what a GitOps agent reading a Kratix state store expects. A
 * deleted Destination's folder stays with `cleanup: none` (the default) and is emptied first with `cleanup: all`.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { execFile, execFileSync } from 'node:child_process';
import { promisify } from 'node:util';
import { existsSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import { eventually, installPromise, startTestFleet, type TestFleet } from '../helpers/fleet.ts';
import { startGitServer, type TestGitServer } from '../helpers/gitServer.ts';
import { testPromise } from '../helpers/promises.ts';
import { TEST_IMAGE } from '../helpers/images.ts';
import { ApiError } from '../../src/api/errors.ts';
import { createDestination, createGitStateStore } from '../helpers/stateStores.ts';

const kratix = '/apis/platform.kratix.io/v1alpha1';
const run = promisify(execFile);

function filesIn(dir: string): string[] {
  return readdirSync(dir, { recursive: true, withFileTypes: true })
    .filter((e) => e.isFile())
    .map((e) => relative(dir, join(e.parentPath, e.name)))
    .filter((p) => !p.startsWith('.git/'))
    .sort();
}

describe('Destination layouts in a Git state store', () => {
  let git: TestGitServer;
  let fleet: TestFleet;
  let clone = '';

  before(async () => {
    git = await startGitServer();
    await git.createRepo('layouts');
    fleet = await startTestFleet({ stateStoreBatchMs: 50 });
    await fleet.client.request('POST', '/api/v1/namespaces/default/secrets', {
      body: { apiVersion: 'v1', kind: 'Secret', metadata: { name: 'git-creds' }, stringData: { username: git.username, password: git.password } },
    });
    await createGitStateStore(fleet.client, 'layouts', {
      url: git.url('layouts'),
      branch: 'main',
      secretRef: { name: 'git-creds', namespace: 'default' },
      gitAuthor: { name: 'Platform Bot', email: 'bot@example.com' },
    });
    const destinations: [string, Record<string, unknown>][] = [
      ['nested', {}],
      ['flat', { filepath: { mode: 'none' }, initWorkloads: { enabled: false } }],
      ['agg', { filepath: { mode: 'aggregatedYAML', filename: 'all.yaml' } }],
    ];
    for (const [name, spec] of destinations) {
      await createDestination(fleet.client, name, { labels: { layouts: 'test', layout: name }, store: 'layouts', spec });
    }
    await installPromise(
      fleet,
      testPromise({
        kind: 'Shelf',
        plural: 'shelves',
        destinationSelectors: { layouts: 'test' },
        pipeline: {
          name: 'stock',
          spec: {
            containers: [
              {
                name: 'stock',
                image: TEST_IMAGE,
                // Each resource goes to the Destination named like it (a workload group goes to one Destination).
                command: [
                  'sh',
                  '-c',
                  'printf "apiVersion: v1\\nkind: ConfigMap\\nmetadata: {name: $KRATIX_OBJECT_NAME}\\n" > /kratix/output/cm.yaml; ' +
                    'printf -- "- matchLabels: {layout: $KRATIX_OBJECT_NAME}\\n" > /kratix/metadata/destination-selectors.yaml',
                ],
              },
            ],
          },
        },
      }),
    );
    for (const name of ['nested', 'flat', 'agg'])
      await fleet.client.request('POST', '/apis/test.fleetops.dev/v1/namespaces/default/shelves', {
        body: { apiVersion: 'test.fleetops.dev/v1', kind: 'Shelf', metadata: { name }, spec: {} },
      });
    clone = await eventually(
      async () => {
        const dir = await git.clone('layouts');
        return existsSync(join(dir, 'agg', 'all.yaml')) &&
          existsSync(join(dir, 'flat', 'cm.yaml')) &&
          filesIn(join(dir, 'nested')).some((f) => f.endsWith('cm.yaml'))
          ? dir
          : undefined;
      },
      60_000,
      'the resource written to all three destinations',
    ).catch(async (err: unknown) => {
      const store = await fleet.client.get(`${kratix}/gitstatestores/layouts`);
      const shelf = await fleet.client.get('/apis/test.fleetops.dev/v1/namespaces/default/shelves/agg');
      const dir = await git.clone('layouts');
      throw new Error(`${String(err)}\nfiles: ${filesIn(dir).join(', ')}\nstore: ${JSON.stringify(store)}\nshelf: ${JSON.stringify(shelf)}`);
    });
  });
  after(async () => {
    await fleet?.cleanup();
    await git?.close();
  });

  it('nests by metadata by default, with the canary documents', () => {
    const files = filesIn(join(clone, 'nested'));
    assert.ok(files.includes('dependencies/kratix-canary-namespace.yaml'), files.join('\n'));
    assert.ok(files.includes('resources/kratix-canary-configmap.yaml'), files.join('\n'));
    assert.ok(
      files.some((f) => /^resources\/default\/shelf\/nested\/stock\/[0-9a-f]{5}\/cm\.yaml$/.test(f)),
      files.join('\n'),
    );
  });

  it('writes files flat with mode none, and no canary when initWorkloads is disabled', () => {
    assert.deepEqual(filesIn(join(clone, 'flat')), ['cm.yaml']);
    assert.match(readFileSync(join(clone, 'flat', 'cm.yaml'), 'utf8'), /name: flat/);
  });

  it('aggregates every document into one file with aggregatedYAML', () => {
    const files = filesIn(join(clone, 'agg'));
    assert.deepEqual(files, ['all.yaml', 'kratix-canary-configmap.yaml', 'kratix-canary-namespace.yaml']);
    assert.match(readFileSync(join(clone, 'agg', 'all.yaml'), 'utf8'), /kind: ConfigMap\nmetadata: \{name: agg\}/);
  });

  it('commits as the GitStateStore’s gitAuthor', () => {
    const author = execFileSync('git', ['-C', clone, 'log', '-1', '--format=%an <%ae>'], { encoding: 'utf8' }).trim();
    assert.equal(author, 'Platform Bot <bot@example.com>');
  });

  it('keeps a deleted Destination’s files with cleanup none, and empties them before it goes with cleanup all', async () => {
    for (const [name, cleanup] of [
      ['keep', 'none'],
      ['wipe', 'all'],
    ] as const) {
      await createDestination(fleet.client, name, {
        labels: { layouts: 'test', layout: name },
        store: 'layouts',
        spec: { cleanup, filepath: { mode: 'none' } },
      });
      await fleet.client.request('POST', '/apis/test.fleetops.dev/v1/namespaces/default/shelves', {
        body: { apiVersion: 'test.fleetops.dev/v1', kind: 'Shelf', metadata: { name }, spec: {} },
      });
    }
    await eventually(
      async () => {
        const dir = await git.clone('layouts');
        return existsSync(join(dir, 'keep', 'cm.yaml')) && existsSync(join(dir, 'wipe', 'cm.yaml'));
      },
      60_000,
      'both written',
    );
    const finalizers = async (name: string): Promise<string[]> =>
      (await fleet.client.get<{ metadata: { finalizers?: string[] } }>(`${kratix}/destinations/${name}`)).metadata.finalizers ?? [];
    await eventually(async () => (await finalizers('wipe')).includes('kratix.io/destination-cleanup'), 20_000, 'the cleanup finalizer on wipe');
    assert.deepEqual(await finalizers('keep'), []);

    await fleet.client.request('DELETE', `${kratix}/destinations/keep`);
    await fleet.client.request('DELETE', `${kratix}/destinations/wipe`);
    await eventually(
      () =>
        fleet.client.get(`${kratix}/destinations/wipe`).then(
          () => false,
          (err: unknown) => err instanceof ApiError && err.code === 404,
        ),
      60_000,
      'wipe gone once its folder is emptied',
    );
    const dir = await git.clone('layouts');
    assert.ok(!existsSync(join(dir, 'wipe')), filesIn(dir).join('\n'));
    assert.ok(existsSync(join(dir, 'keep', 'cm.yaml')), filesIn(dir).join('\n'));
    // Later writes leave the released folder alone too.
    await fleet.client.request('DELETE', '/apis/test.fleetops.dev/v1/namespaces/default/shelves/flat');
    await eventually(async () => !existsSync(join(await git.clone('layouts'), 'flat', 'cm.yaml')), 60_000, 'flat emptied by a later write');
    assert.ok(existsSync(join(await git.clone('layouts'), 'keep', 'cm.yaml')));
    const store = await fleet.client.get<{ status: { managedPaths: string[]; destinationPaths: Record<string, string> } }>(`${kratix}/gitstatestores/layouts`);
    assert.ok(!store.status.managedPaths.includes('keep'), store.status.managedPaths.join(','));
    assert.equal(store.status.destinationPaths.keep, undefined);
  });

  it('corrects drift in the store (a file edited, one added by hand) at its next write', async () => {
    const dir = await git.clone('layouts');
    const header = `http.extraHeader=Authorization: Basic ${Buffer.from(`${git.username}:${git.password}`).toString('base64')}`;
    // Asynchronously: the Git server answers from this process.
    const gitIn = (...args: string[]): Promise<unknown> => run('git', ['-C', dir, '-c', header, ...args]);
    writeFileSync(join(dir, 'agg', 'all.yaml'), 'edited: by hand\n');
    writeFileSync(join(dir, 'agg', 'stray.yaml'), 'kind: ConfigMap\n');
    await gitIn('add', '-A');
    await gitIn('-c', 'user.name=someone', '-c', 'user.email=someone@example.com', 'commit', '-qm', 'drift');
    await gitIn('push', '-q', 'origin', 'main');
    // The next change written to the store (here: the flat Destination's resource, deleted above, back) re-derives
    // its whole tree.
    await fleet.client.request('POST', '/apis/test.fleetops.dev/v1/namespaces/default/shelves', {
      body: { apiVersion: 'test.fleetops.dev/v1', kind: 'Shelf', metadata: { name: 'flat' }, spec: {} },
    });
    const fixed = await eventually(
      async () => {
        const d = await git.clone('layouts');
        return !existsSync(join(d, 'agg', 'stray.yaml')) && /kind: ConfigMap\nmetadata: \{name: agg\}/.test(readFileSync(join(d, 'agg', 'all.yaml'), 'utf8'))
          ? d
          : undefined;
      },
      60_000,
      'the drift corrected',
    );
    assert.ok(filesIn(join(fixed, 'agg')).includes('all.yaml'));
  });
});
