/**
 * Backstage reads the platform from Git: with a Destination labelled `environment: backstage` (aggregated YAML on
 * the embedded Git store), every Promise's API and Template and every request's Component appear in the store, follow
 * the request's status, and go when the request or the Promise goes.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { join } from 'node:path';
import { parseAllDocuments } from 'yaml';
import { eventually, startTestFleet, type TestFleet } from '../helpers/fleet.ts';
import { testPromise } from '../helpers/promises.ts';
import { createDestination, createGitStateStore } from '../helpers/stateStores.ts';

interface Entity {
  kind: string;
  metadata: { name: string; annotations?: Record<string, string>; links?: { url: string }[] };
  spec: { owner?: string };
}

describe('the Backstage catalog in the state store', () => {
  let fleet: TestFleet;
  const catalog = (): Entity[] => {
    try {
      const repo = join(fleet.dataDir, 'git', 'state.git');
      const text = execFileSync('git', ['--git-dir', repo, 'show', 'main:backstage/aggregated.yaml'], {
        encoding: 'utf8',
        stdio: ['ignore', 'pipe', 'ignore'],
      });
      return parseAllDocuments(text)
        .map((d) => d.toJS() as Entity | null)
        .filter((e): e is Entity => !!e && typeof e.kind === 'string' && ['API', 'Template', 'Component'].includes(e.kind));
    } catch {
      return [];
    }
  };
  const names = (): string[] =>
    catalog()
      .map((e) => `${e.kind}/${e.metadata.name}`)
      .sort();

  before(async () => {
    fleet = await startTestFleet({ stateStoreBatchMs: 50 });
    // The embedded repository as the state store Backstage reads (as `fleetops up` sets it up by default).
    await createGitStateStore(fleet.client, 'default', { url: `file://${join(fleet.dataDir, 'git', 'state.git')}`, branch: 'main' });
    await createDestination(fleet.client, 'backstage', {
      labels: { environment: 'backstage' },
      store: 'default',
      spec: { filepath: { mode: 'aggregatedYAML' } },
    });
  });
  after(() => fleet.cleanup());

  it('writes, updates and removes the entities as Promises and requests come and go', async () => {
    await fleet.client.request('POST', '/apis/platform.kratix.io/v1alpha1/promises', { body: testPromise({ kind: 'Widget', plural: 'widgets' }) });
    await eventually(() => fleet.client.get('/apis/test.fleetops.dev/v1/widgets'), 15_000, 'kind served');
    await fleet.client.request('POST', '/apis/test.fleetops.dev/v1/namespaces/default/widgets', {
      body: { apiVersion: 'test.fleetops.dev/v1', kind: 'Widget', metadata: { name: 'w1' }, spec: { size: 1 } },
    });
    await eventually(() => names().includes('Component/default-widgets-w1'), 30_000, 'the Component of the request in Git');
    assert.deepEqual(names(), ['API/widget', 'Component/default-widgets-w1', 'Template/widget-request']);
    const component = catalog().find((e) => e.kind === 'Component')!;
    assert.equal(component.spec.owner, 'group:default/default');
    assert.match(component.metadata.links?.[0]?.url ?? '', /\/portal\/#\/resources\/widget\/default\/w1$/);
    assert.ok(component.metadata.annotations?.['fleetops.dev/status'], 'the status is said');

    await fleet.client.request('DELETE', '/apis/test.fleetops.dev/v1/namespaces/default/widgets/w1');
    await eventually(() => !names().some((n) => n.startsWith('Component/')), 30_000, 'the Component removed with its request');
    assert.deepEqual(names(), ['API/widget', 'Template/widget-request']);

    await fleet.client.request('DELETE', '/apis/platform.kratix.io/v1alpha1/promises/widget');
    await eventually(() => names().length === 0, 30_000, 'the Promise entities removed with it');
  });
});
