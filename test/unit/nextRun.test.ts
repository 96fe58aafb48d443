/** When a resource's configure workflow runs, from its recorded state alone. */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { nextRun, type RunInputs } from '../../src/controllers/resource/nextRun.ts';

const NOW = Date.parse('2030-01-01T12:00:00Z');
const inputs = (over: Partial<RunInputs> = {}): RunInputs => ({ hash: 'h', manual: false, revision: undefined, intervalMs: 3_600_000, now: NOW, ...over });
const at = (ms: number): string => new Date(NOW + ms).toISOString();

describe('nextRun', () => {
  it('runs at once for new inputs or a manual reconciliation, and after a crash mid-run', () => {
    assert.deepEqual(nextRun({}, inputs()), { kind: 'run' });
    assert.deepEqual(nextRun({ hash: 'old', phase: 'Succeeded' }, inputs()), { kind: 'run' });
    assert.deepEqual(nextRun({ hash: 'h', phase: 'Succeeded', lastSuccessfulConfigureWorkflowTime: at(0) }, inputs({ manual: true })), { kind: 'run' });
    assert.deepEqual(nextRun({ hash: 'h', phase: 'Running' }, inputs()), { kind: 'run' });
  });

  it('waits out a failure backoff measured on the injected clock', () => {
    assert.deepEqual(nextRun({ hash: 'h', phase: 'Failed', nextRetryAt: at(5_000) }, inputs()), { kind: 'wait', ms: 5_000 });
    assert.deepEqual(nextRun({ hash: 'h', phase: 'Failed', nextRetryAt: at(-1) }, inputs()), { kind: 'run' });
  });

  it('re-runs a success after the reconciliation interval', () => {
    const ran = { hash: 'h', phase: 'Succeeded' as const, lastSuccessfulConfigureWorkflowTime: at(-1_000_000) };
    assert.deepEqual(nextRun(ran, inputs()), { kind: 'wait', ms: 2_600_000 });
    assert.deepEqual(nextRun(ran, inputs({ intervalMs: 999_999 })), { kind: 'run' });
  });

  it('leaves a suspended workflow alone unless it asked to be retried, then retries when due', () => {
    assert.deepEqual(nextRun({ hash: 'h', phase: 'Suspended' }, inputs()), { kind: 'wait', ms: undefined });
    assert.deepEqual(nextRun({ hash: 'h', phase: 'Suspended', nextRetryAt: at(2_000) }, inputs()), { kind: 'wait', ms: 2_000 });
    assert.deepEqual(nextRun({ hash: 'h', phase: 'Suspended', nextRetryAt: at(-2_000) }, inputs()), { kind: 'run' });
  });

  it('adopts a new revision with the same inputs without a run', () => {
    const ran = { hash: 'h', phase: 'Succeeded' as const, revision: 1, lastSuccessfulConfigureWorkflowTime: at(0) };
    assert.deepEqual(nextRun(ran, inputs({ revision: 2 })), { kind: 'adopt' });
    assert.deepEqual(nextRun({ ...ran, hash: 'other' }, inputs({ revision: 2 })), { kind: 'run' });
  });
});
