import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { computeProgress, firstInOrder, inScope, orderResources, type ResourceView } from '../../src/controllers/rollout/progress.ts';
import { DEFAULT_STRATEGY, parseStrategy, type RolloutStrategy } from '../../src/controllers/rollout/strategy.ts';

function fleet(n: number, labels: (i: number) => Record<string, string> = () => ({})): ResourceView[] {
  return Array.from({ length: n }, (_, i) => ({
    namespace: 'default',
    name: `app-${String(i).padStart(3, '0')}`,
    labels: labels(i),
    assigned: undefined,
    revision: 1,
    phase: 'Succeeded',
  }));
}

/** Plays the resource controller: every assigned resource finishes its run (or fails when `fails` says so). */
function runAssigned(views: ResourceView[], revision: number, fails: (r: ResourceView) => boolean = () => false): void {
  for (const r of views) {
    if (r.assigned === revision && r.revision !== revision) {
      r.revision = revision;
      r.phase = fails(r) ? 'Failed' : 'Succeeded';
    }
  }
}

/** A Wednesday at noon UTC. */
const NOON = Date.parse('2026-12-02T12:00:00Z');

function step(views: ResourceView[], strategy: RolloutStrategy, extra: { paused?: boolean; aborted?: boolean; approvedStep?: number; now?: number } = {}) {
  const p = computeProgress({ revision: 2, strategy, paused: false, aborted: false, approvedStep: 0, now: NOON, ...extra, resources: views });
  for (const r of p.assign) r.assigned = 2;
  return p;
}

describe('rollout progress', () => {
  it('by default takes every resource to the revision through a window of 64, with no pause', () => {
    const views = fleet(150);
    let p = step(views, DEFAULT_STRATEGY);
    assert.equal(p.assign.length, 64);
    assert.equal(p.phase, 'Progressing');
    for (let round = 0; round < 3; round++) {
      runAssigned(views, 2);
      p = step(views, DEFAULT_STRATEGY);
    }
    assert.equal(p.phase, 'Complete');
    assert.equal(p.updated, 150);
    assert.equal(p.assign.length, 0);
    assert.equal(step(fleet(10), { ...DEFAULT_STRATEGY, maxConcurrent: 0 }).assign.length, 10, '0: all at once');
  });

  it('keeps at most maxConcurrent in progress', () => {
    const views = fleet(10);
    const strategy = { ...DEFAULT_STRATEGY, maxConcurrent: 3 };
    let p = step(views, strategy);
    assert.equal(p.assign.length, 3);
    p = step(views, strategy);
    assert.equal(p.assign.length, 0, 'three still running');
    assert.equal(p.inProgress, 3);
    runAssigned(views, 2);
    p = step(views, strategy);
    assert.equal(p.assign.length, 3);
    assert.equal(p.updated, 3);
  });

  it('stops after a pausing step until approved, then goes on', () => {
    const views = fleet(20);
    const { strategy } = parseStrategy('steps: [{count: 1, pause: true}, {percent: 50}, {percent: 100}]');
    let p = step(views, strategy);
    assert.deepEqual(
      p.assign.map((r) => r.name),
      ['app-000'],
    );
    runAssigned(views, 2);
    p = step(views, strategy);
    assert.equal(p.phase, 'WaitingForApproval');
    assert.equal(p.assign.length, 0);
    assert.match(p.message, /fleetops rollout resume/);
    p = step(views, strategy, { approvedStep: 1 });
    assert.equal(p.assign.length, 9, 'up to 50%');
    runAssigned(views, 2);
    p = step(views, strategy, { approvedStep: 1 });
    assert.equal(p.assign.length, 10);
    runAssigned(views, 2);
    assert.equal(step(views, strategy, { approvedStep: 1 }).phase, 'Complete');
  });

  it('goes in the order of the label selectors, the rest last', () => {
    const views = fleet(6, (i) => ({ env: ['prod', 'dev', 'staging'][i % 3]! }));
    const ordered = orderResources(views, ['env=dev', 'env=staging']).map((r) => r.labels.env);
    assert.deepEqual(ordered, ['dev', 'dev', 'staging', 'staging', 'prod', 'prod']);
    const { strategy } = parseStrategy('maxConcurrent: 2\norder: ["env=dev"]');
    assert.deepEqual(
      step(views, strategy).assign.map((r) => r.labels.env),
      ['dev', 'dev'],
    );
  });

  it('picks the first resources in order without sorting them all, the same as a full sort', () => {
    const envs = ['prod', 'dev', 'staging', 'qa'];
    // A shuffled fleet across namespaces (deterministic), with ties on rank broken by namespace then name.
    const views = fleet(500, (i) => ({ env: envs[(i * 7) % 4]! })).map((v, i) => ({ ...v, namespace: `ns-${(i * 13) % 5}` }));
    const shuffled = views
      .map((v, i) => ({ v, k: (i * 7919) % 500 }))
      .sort((a, b) => a.k - b.k)
      .map(({ v }) => v);
    const order = ['env=dev', 'env=staging'];
    const full = orderResources(shuffled, order).map((r) => `${r.namespace}/${r.name}`);
    for (const k of [0, 1, 2, 17, 64, 124, 499, 500, 600]) {
      assert.deepEqual(
        firstInOrder(shuffled, order, k).map((r) => `${r.namespace}/${r.name}`),
        full.slice(0, k),
        `first ${k}`,
      );
    }
  });

  it('halts when failures exceed the budget, and counts them', () => {
    const views = fleet(10);
    const { strategy } = parseStrategy('maxConcurrent: 5\nfailureBudget: 1');
    step(views, strategy);
    runAssigned(views, 2, (r) => r.name < 'app-001');
    let p = step(views, strategy);
    assert.equal(p.phase, 'Progressing', 'one failure is within the budget');
    assert.equal(p.failed, 1);
    runAssigned(views, 2, () => true);
    p = step(views, strategy);
    assert.equal(p.phase, 'Halted');
    assert.equal(p.failed, 6);
    assert.equal(p.assign.length, 0);
    assert.match(p.message, /failure budget of 1/);
  });

  it('pauses and aborts on request without handing anything out', () => {
    const views = fleet(5);
    assert.equal(step(views, DEFAULT_STRATEGY, { paused: true }).phase, 'Paused');
    assert.equal(views.filter((r) => r.assigned).length, 0);
    const p = step(views, DEFAULT_STRATEGY, { aborted: true });
    assert.equal(p.phase, 'Aborted');
    assert.equal(p.assign.length, 0);
  });

  it('counts a resource already on the revision (a new request) as updated', () => {
    const views = fleet(3);
    views[0]!.revision = 2;
    const p = step(views, { ...DEFAULT_STRATEGY, maxConcurrent: 1 });
    assert.equal(p.updated, 1);
    assert.equal(p.assign.length, 1);
  });
});

describe('rollout strategy annotation', () => {
  it('parses YAML and JSON, and always ends at 100%', () => {
    assert.deepEqual(parseStrategy('{"maxConcurrent": 4, "steps": [{"count": 2}]}').strategy, {
      maxConcurrent: 4,
      steps: [{ count: 2 }, { percent: 100 }],
      order: [],
    });
    assert.deepEqual(parseStrategy(undefined).strategy, DEFAULT_STRATEGY);
  });

  it('reports what is wrong and falls back to the default', () => {
    for (const [text, problem] of [
      ['maxConcurrent: -1', /maxConcurrent must be an integer ≥ 0/],
      ['steps: [{count: 1, percent: 5}]', /exactly one of count or percent/],
      ['steps: [{percent: 150}]', /at most 100/],
      ['order: ["env in (dev"]', /invalid/],
      ['- 1', /must be a map/],
    ] as const) {
      const r = parseStrategy(text);
      assert.match(r.problem ?? '', problem, text);
      assert.deepEqual(r.strategy, DEFAULT_STRATEGY);
    }
  });

  it('with requireHealthy, counts a resource as updated only on health observed after its run, and unhealthy as failed', () => {
    const strategy: RolloutStrategy = { ...DEFAULT_STRATEGY, maxConcurrent: 0, failureBudget: 0, requireHealthy: true };
    const views = fleet(3);
    step(views, strategy);
    runAssigned(views, 2);
    for (const r of views) r.succeededAt = 10_000;
    let p = step(views, strategy);
    assert.equal(p.updated, 0, 'run but no health yet');
    assert.equal(p.inProgress, 3);
    // Health from before the run (stale), fresh healthy, fresh ready.
    views[0]!.health = { state: 'healthy', observedAt: 9_000 };
    views[1]!.health = { state: 'healthy', observedAt: 11_000 };
    views[2]!.health = { state: 'ready', observedAt: 12_000 };
    p = step(views, strategy);
    assert.deepEqual([p.updated, p.inProgress, p.failed], [2, 1, 0]);
    assert.equal(p.phase, 'Progressing');
    views[0]!.health = { state: 'unhealthy', observedAt: 12_000 };
    p = step(views, strategy);
    assert.equal(p.failed, 1);
    assert.equal(p.phase, 'Halted', 'an unhealthy resource on the new revision spends the failure budget');
    // Without the gate, the same resources are simply updated.
    assert.equal(step(views, { ...strategy, requireHealthy: false, failureBudget: undefined }).phase, 'Complete');
  });

  it('parses requireHealthy and refuses a non-boolean', () => {
    assert.equal(parseStrategy('requireHealthy: true').strategy.requireHealthy, true);
    assert.match(parseStrategy('requireHealthy: yes please').problem ?? '', /requireHealthy must be true or false/);
  });

  it('leaves out pinned resources and, when asked, those not opted in by label or namespace', () => {
    const views = fleet(4, (i): Record<string, string> => (i % 2 ? { updates: 'auto' } : {}));
    views[3]!.pinned = true;
    views[1]!.namespace = 'team-a';
    assert.deepEqual(
      inScope(views, DEFAULT_STRATEGY).map((v) => v.name),
      ['app-000', 'app-001', 'app-002'],
    );
    assert.deepEqual(
      inScope(views, { ...DEFAULT_STRATEGY, selector: 'updates=auto' }).map((v) => v.name),
      ['app-001'],
    );
    assert.deepEqual(
      inScope(views, { ...DEFAULT_STRATEGY, namespaces: ['default'] }).map((v) => v.name),
      ['app-000', 'app-002'],
    );
    assert.match(parseStrategy('selector: "a in ("').problem ?? '', /invalid/);
    assert.deepEqual(parseStrategy('namespaces: [team-a]').strategy.namespaces, ['team-a']);
  });

  it('hands out only inside the strategy’s windows, and says until when it waits', () => {
    const { strategy, problem } = parseStrategy(
      'windows:\n  - {kind: allow, schedule: "0 9 * * 1-5", duration: 8h, timeZone: Europe/Berlin}\n  - {kind: deny, schedule: "0 12 2 12 *", duration: 2h}\n',
    );
    assert.equal(problem, undefined);
    const views = fleet(4);
    // Wednesday 12:00Z: the allow window is open (Berlin 13:00) but the deny window (12:00–14:00Z) too.
    let p = step(views, strategy);
    assert.equal(p.phase, 'WaitingForWindow');
    assert.equal(p.assign.length, 0);
    assert.equal(p.windowOpensAt, Date.parse('2026-12-02T14:00:00Z'));
    assert.match(p.message, /4 wait for a rollout window \(a deny window is open\) until 2026-12-02T14:00:00.000Z/);
    // 14:30Z: allowed (Berlin 15:30, inside 09:00–17:00).
    p = step(views, strategy, { now: Date.parse('2026-12-02T14:30:00Z') });
    assert.equal(p.phase, 'Progressing');
    assert.equal(p.assign.length, 4);
    // Saturday: no allow window until Monday 09:00 in Berlin (08:00Z in winter).
    p = step(fleet(2), strategy, { now: Date.parse('2026-12-05T10:00:00Z') });
    assert.equal(p.phase, 'WaitingForWindow');
    assert.equal(p.windowOpensAt, Date.parse('2026-12-07T08:00:00Z'));
  });

  it('adopts by policy: automatic ignores the windows, manual waits for promotion by hand', () => {
    const { strategy } = parseStrategy(
      'windows: [{kind: deny, schedule: "0 0 * * *", duration: 24h}]\nadoption:\n  - {selector: "env=dev", policy: automatic}\n  - {namespaces: [prod], policy: manual}\n',
    );
    const views = fleet(6, (i) => ({ env: i < 2 ? 'dev' : 'prod' }));
    for (const v of views.slice(4)) v.namespace = 'prod';
    let p = step(views, strategy);
    assert.equal(p.phase, 'Progressing');
    assert.deepEqual(
      p.assign.map((r) => r.name),
      ['app-000', 'app-001'],
    );
    assert.equal(p.outsideWindow, 2);
    assert.equal(p.manual, 2);
    runAssigned(views, 2);
    p = step(views, strategy);
    assert.equal(p.phase, 'WaitingForWindow');
    assert.match(p.message, /2\/6 updated; 2 wait for a rollout window .* 2 for promotion by hand/);
    // With no window in the way, the window resources go and the manual ones wait for promotion.
    const open = { ...strategy, windows: [] };
    p = step(views, open);
    assert.equal(p.assign.length, 2);
    runAssigned(views, 2);
    p = step(views, open);
    assert.equal(p.phase, 'WaitingForPromotion');
    // Promoted by hand (the label a rollout would set), they complete the rollout.
    for (const v of views.slice(4)) v.assigned = 2;
    runAssigned(views, 2);
    assert.equal(step(views, open).phase, 'Complete');
  });

  it('refuses windows and adoption rules it cannot follow, saying which', () => {
    for (const [text, why] of [
      ['windows: [{kind: maybe, schedule: "* * * * *", duration: 1h}]', /windows\[0\]\.kind must be allow or deny/],
      ['windows: [{kind: allow, schedule: "61 * * * *", duration: 1h}]', /minute "61" is not between 0 and 59/],
      ['windows: [{kind: allow, schedule: "* * * *", duration: 1h}]', /must have five fields/],
      ['windows: [{kind: allow, schedule: "* * * * *", duration: 1h, timeZone: Mars/Olympus}]', /not a known IANA time zone/],
      ['windows: [{kind: allow, schedule: "* * * * *", duration: 10s}]', /duration must be at least 1m/],
      ['adoption: [{policy: sometimes}]', /adoption\[0\]\.policy must be automatic, window or manual/],
    ] as const) {
      const { problem } = parseStrategy(text);
      assert.match(String(problem), why, text);
    }
  });
});
