/** What the CLI says: a step that never started says why (not "exit null, 0 ms"), and kinds get English plurals. */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { stepHeader, type RunStep } from '../../src/cli/commands/logs.ts';
import { pluralOf } from '../../src/cli/commands/promiseInit.ts';

const step = (over: Partial<RunStep>): RunStep => ({
  name: 'configure',
  image: 'ghcr.io/acme/step:v1',
  exitCode: 0,
  signal: null,
  timedOut: false,
  durationMs: 12,
  log: '',
  logTruncated: false,
  ...over,
});

describe('the CLI wording', () => {
  it('says a step never started, and why, instead of "exit null, 0 ms"', () => {
    const header = stepHeader(step({ exitCode: null, durationMs: 0, log: 'ErrImagePull: ghcr.io/acme/step:v1: manifest unknown\n' }));
    assert.equal(header, '==> step configure (image ghcr.io/acme/step:v1) did not start: ErrImagePull: ghcr.io/acme/step:v1: manifest unknown');
    assert.equal(
      stepHeader(step({ exitCode: 137, reason: 'OOMKilled', durationMs: 300 })),
      '==> step configure (image ghcr.io/acme/step:v1) OOMKilled (killed), 300 ms',
    );
    assert.equal(stepHeader(step({})), '==> step configure (image ghcr.io/acme/step:v1) exit 0, 12 ms');
  });
  it('pluralizes kinds as Kubernetes tools do', () => {
    assert.deepEqual(['Redis', 'Policy', 'App', 'Box', 'Mesh', 'Gateway'].map(pluralOf), ['redises', 'policies', 'apps', 'boxes', 'meshes', 'gateways']);
  });
});
