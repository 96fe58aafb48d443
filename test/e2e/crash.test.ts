/**
 * kill -9 during a stream of writes: after restart every acknowledged write is there, the store passes its
 * integrity check, and a watch resumes from the last resourceVersion it saw.
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { KubeObject } from '../../src/api/types.ts';
import { SqliteStore } from '../../src/store/SqliteStore.ts';
import { spawnFleet } from '../helpers/process.ts';

const CM = '/api/v1/namespaces/default/configmaps';

describe('crash safety of the embedded store', () => {
  it('keeps every acknowledged write across kill -9 and lets watches resume', async () => {
    const dataDir = mkdtempSync(join(tmpdir(), 'fleetops-crash-'));
    const first = await spawnFleet(dataDir);
    const acknowledged = new Set<string>();
    let lastSeenRv = '0';
    const watchAbort = new AbortController();
    const watching = first.client
      .watch(
        CM,
        { resourceVersion: '0' },
        (e) => {
          const rv = (e.object as KubeObject).metadata?.resourceVersion;
          if (rv) lastSeenRv = rv;
        },
        watchAbort.signal,
      )
      .catch(() => undefined); // the stream breaks when the server dies
    // Four writers in parallel; kill the server while they run.
    let stop = false;
    const writers = Array.from({ length: 4 }, async (_, w) => {
      for (let i = 0; !stop; i++) {
        const name = `cm-${w}-${i}`;
        try {
          await first.client.request('POST', CM, { body: { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name }, data: { i: String(i) } } });
          acknowledged.add(name);
        } catch {
          return; // connection refused/reset once the server is gone
        }
      }
    });
    while (acknowledged.size < 300) await new Promise((r) => setTimeout(r, 5));
    await first.kill('SIGKILL');
    stop = true;
    await Promise.all(writers);
    watchAbort.abort();
    await watching;
    assert.ok(acknowledged.size >= 300);

    const second = await spawnFleet(dataDir);
    try {
      const list = await second.client.get<{ items: KubeObject[] }>(CM);
      const stored = new Set(list.items.map((o) => o.metadata.name as string));
      const lost = [...acknowledged].filter((n) => !stored.has(n));
      assert.deepEqual(lost, [], `${lost.length} acknowledged writes lost`);
      // Resume from the last event the watcher saw before the crash: everything after it arrives, no 410.
      const resumed: string[] = [];
      const abort = new AbortController();
      const done = second.client.watch(
        CM,
        { resourceVersion: lastSeenRv, timeoutSeconds: 2 },
        (e) => {
          assert.notEqual(e.type, 'ERROR', JSON.stringify(e.object));
          resumed.push((e.object as KubeObject).metadata.name as string);
        },
        abort.signal,
      );
      await done;
      const expectedAfter = list.items.filter((o) => Number(o.metadata.resourceVersion) > Number(lastSeenRv)).map((o) => o.metadata.name as string);
      assert.deepEqual(resumed.sort(), expectedAfter.sort());
      // And it keeps serving writes.
      const r = await second.client.request('POST', CM, { body: { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'after-restart' } } });
      assert.equal(r.status, 201);
    } finally {
      await second.kill('SIGTERM');
    }
    const store = new SqliteStore({ path: join(dataDir, 'fleetops.db') });
    try {
      assert.deepEqual(await store.checkIntegrity(), []);
    } finally {
      await store.close();
    }
  });
});
