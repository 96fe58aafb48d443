/**
 * Server-side apply of an object that does not exist yet is one write: watchers see ADDED, with the applier's
 * managed fields, and no spurious MODIFIED after it.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { eventually, startTestFleet, type TestFleet } from '../helpers/fleet.ts';

describe('server-side apply of a new object', () => {
  let fleet: TestFleet;
  before(async () => (fleet = await startTestFleet()));
  after(() => fleet.cleanup());

  it('writes once: ADDED with its managed fields, no MODIFIED', async () => {
    const base = '/api/v1/namespaces/default/configmaps';
    const list = await fleet.client.get<{ metadata: { resourceVersion: string } }>(base);
    const events: string[] = [];
    const watch = await fleet.store.watch({ type: { group: '', kind: 'ConfigMap' }, fromRv: Number(list.metadata.resourceVersion) }, (e) =>
      events.push(`${e.type} ${e.key.name}`),
    );
    try {
      const applied = await fleet.client.request<{ metadata: { managedFields?: { manager: string; operation: string }[] } }>(
        'PATCH',
        `${base}/first?fieldManager=tester`,
        {
          contentType: 'application/apply-patch+yaml',
          rawBody: 'apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: first\ndata:\n  a: "1"\n',
        },
      );
      assert.deepEqual(
        applied.body.metadata.managedFields?.map((f) => `${f.manager}/${f.operation}`),
        ['tester/Apply'],
      );
      // A second object after it: once its ADDED is seen, everything about the first has been seen too.
      await fleet.client.request('POST', base, { body: { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'marker' } } });
      await eventually(() => events.includes('ADDED marker'), 10_000, 'the marker');
      assert.deepEqual(events, ['ADDED first', 'ADDED marker']);
      const stored = await fleet.client.get<{ metadata: { managedFields?: { manager: string }[] } }>(`${base}/first`);
      assert.deepEqual(
        stored.metadata.managedFields?.map((f) => f.manager),
        ['tester'],
      );
    } finally {
      watch.stop();
    }
  });
});
