/** A resource's status after its run: a failure says when the next retry is (a time, never a stale "in 10s"). */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { recordOutcome } from '../../src/controllers/resource/runStatus.ts';
import type { ResourceRequestStatus } from '../../src/controllers/shared/resourceRequest.ts';

describe('recordOutcome', () => {
  it('names the time of the next retry of a failed run, and Reconciled is False', () => {
    const s: ResourceRequestStatus = { message: 'Pending' };
    recordOutcome(s, {
      state: {},
      hash: 'h',
      pipelines: ['configure'],
      outcome: { ok: false, failure: 'step s exited with code 1', failedPipeline: 'configure', status: {}, control: {}, succeeded: 0, runs: ['r1'] },
      runs: ['r1'],
      worksFor: [],
      attempts: 2,
      retryAt: '2026-12-04T19:45:10Z',
      resumeAt: undefined,
      now: '2026-12-04T19:45:00Z',
      generation: 1,
    });
    assert.equal(s.message, 'Configure workflow failed (attempt 2, next retry at 2026-12-04T19:45:10Z): step s exited with code 1');
    assert.equal(s.conditions?.find((c) => c.type === 'Reconciled')?.status, 'False');
  });
});
