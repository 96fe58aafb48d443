/**
 * EventRecorder over a real SQLite store through the in-process client: a repeat of an event counts up instead of
 * adding one, whether the caller believed it new (`likelyNew`: created without a read, AlreadyExists → counted) or not.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { pino } from 'pino';
import type { InProcessClient } from '../../src/client/InProcessClient.ts';
import { EventRecorder } from '../../src/controllers/shared/EventRecorder.ts';
import type { SqliteStore } from '../../src/store/SqliteStore.ts';
import { kratixObjectStore } from '../helpers/objectStore.ts';

describe('EventRecorder', () => {
  let store: SqliteStore;
  let client: InProcessClient;
  let recorder: EventRecorder;
  const subject = (name: string) => ({ apiVersion: 'v1', kind: 'ConfigMap', metadata: { name, namespace: 'default', uid: `uid-${name}` } });
  const counts = async (name: string): Promise<number[]> =>
    (await client.list('v1', 'Event', { namespace: 'default' }))
      .filter((e) => (e.involvedObject as { name?: string } | undefined)?.name === name)
      .map((e) => Number(e.count));

  before(async () => {
    ({ store, client } = await kratixObjectStore());
    recorder = new EventRecorder({ client, component: 'test', logger: pino({ level: 'silent' }) });
  });
  after(() => store.close());

  it('counts a repeat of an event believed new, and of one not', async () => {
    await recorder.record(subject('a'), 'Normal', 'PipelineStarted', 'started: p', { likelyNew: true });
    assert.deepEqual(await counts('a'), [1]);
    await recorder.record(subject('a'), 'Normal', 'PipelineStarted', 'started: p', { likelyNew: true });
    await recorder.record(subject('a'), 'Normal', 'PipelineStarted', 'started: p');
    assert.deepEqual(await counts('a'), [3], 'one event, counted three times');
    await recorder.record(subject('b'), 'Warning', 'Failed', 'boom');
    assert.deepEqual(await counts('b'), [1]);
  });
});
