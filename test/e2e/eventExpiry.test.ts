/** Events expire after their TTL (the apiserver's --event-ttl, 1 hour by default); recent ones stay. */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { pino } from 'pino';
import { InProcessClient } from '../../src/client/InProcessClient.ts';
import { EventExpiry } from '../../src/controllers/shared/EventExpiry.ts';
import { startTestFleet, type TestFleet } from '../helpers/fleet.ts';

describe('event expiry', () => {
  let fleet: TestFleet;
  before(async () => (fleet = await startTestFleet()));
  after(() => fleet.cleanup());

  it('deletes events last seen before the TTL and keeps the others', async () => {
    const client = new InProcessClient({ objects: fleet.objects });
    const event = (name: string, lastTimestamp: string): Record<string, unknown> => ({
      apiVersion: 'v1',
      kind: 'Event',
      metadata: { name, namespace: 'default' },
      involvedObject: { kind: 'ConfigMap', name: 'x', namespace: 'default' },
      reason: 'Test',
      message: name,
      type: 'Normal',
      count: 1,
      firstTimestamp: lastTimestamp,
      lastTimestamp,
    });
    await client.create(event('old', '2026-01-01T10:00:00Z') as never);
    await client.create(event('recent', '2026-01-01T11:30:00Z') as never);
    const expiry = new EventExpiry({ client, logger: pino({ level: 'silent' }), now: () => new Date('2026-01-01T12:00:00Z') });
    assert.equal(await expiry.sweep(), 1);
    const names = (await client.list('v1', 'Event')).map((e) => e.metadata.name);
    assert.ok(names.includes('recent'));
    assert.ok(!names.includes('old'));
  });
});
