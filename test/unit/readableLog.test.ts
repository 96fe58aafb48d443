/** FleetOps' JSON log lines as a person reads them on a terminal (`fleetops up` there, or `--log-format text`). */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { readableLine } from '../../src/lib/readableLog.ts';

describe('readable log lines', () => {
  it('show time, level, component, message and the fields', () => {
    const line = JSON.stringify({
      level: 30,
      time: Date.UTC(2026, 11, 4, 18, 44, 8),
      pid: 1,
      hostname: 'h',
      component: 'controllers',
      msg: 'pipeline finished',
      pipeline: 'configure',
      ok: true,
      note: 'two words',
    });
    assert.equal(readableLine(line), '18:44:08 INFO  controllers  pipeline finished  pipeline=configure ok=true note="two words"');
  });
  it('show an error by its message, and pass other lines through', () => {
    assert.equal(
      readableLine(JSON.stringify({ level: 50, time: 0, msg: 'failed', err: { message: 'boom', stack: 'x' } })),
      '00:00:00 ERROR failed  err="boom"',
    );
    assert.equal(readableLine('FleetOps is up.'), 'FleetOps is up.');
  });
});
