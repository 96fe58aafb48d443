import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { computeProgress, decide, inScope, summarize, type ResourceView, type RolloutInput } from '../../src/controllers/rollout/progress.ts';
import { RolloutTally } from '../../src/controllers/rollout/RolloutTally.ts';
import { DEFAULT_STRATEGY, parseStrategy, type RolloutStrategy } from '../../src/controllers/rollout/strategy.ts';
import { seededRandom } from '../helpers/random.ts';

/** A whole number below `n`, from a seeded sequence: the same sequence of changes on every run. */
function random(seed: number): (n: number) => number {
  const next = seededRandom(seed);
  return (n) => Math.floor(next() * n);
}

const REVISION = 3;
/** A Wednesday at noon UTC (inside the allow window below), and the night before (outside). */
const NOON = Date.parse('2026-12-02T12:00:00Z');
const NIGHT = Date.parse('2026-12-02T02:00:00Z');

function strategy(yaml: string): RolloutStrategy {
  const { strategy: s, problem } = parseStrategy(yaml);
  assert.equal(problem, undefined);
  return s;
}

const STRATEGIES: [string, RolloutStrategy][] = [
  ['default', DEFAULT_STRATEGY],
  ['all at once', { ...DEFAULT_STRATEGY, maxConcurrent: 0 }],
  [
    'ordered, stepped, paused',
    strategy('maxConcurrent: 5\norder: ["env=dev", "env=staging"]\nsteps: [{count: 10, pause: true}, {percent: 50}, {percent: 100}]\n'),
  ],
  ['selector, namespaces, healthy', strategy('maxConcurrent: 7\nselector: "tier!=db"\nnamespaces: [a, b]\nrequireHealthy: true\nfailureBudget: 20\n')],
  [
    'windows and adoption',
    strategy(
      'maxConcurrent: 6\norder: ["env=staging"]\nwindows: [{kind: allow, schedule: "0 9 * * 1-5", duration: 8h}]\nadoption:\n  - {selector: "env=dev", policy: automatic}\n  - {namespaces: [c], policy: manual}\n',
    ),
  ],
];

function randomView(rnd: (n: number) => number, namespace: string, name: string): ResourceView {
  const labels: Record<string, string> = { env: ['dev', 'staging', 'prod'][rnd(3)]! };
  if (rnd(3) === 0) labels.tier = rnd(2) ? 'db' : 'web';
  const revision = [undefined, REVISION - 1, REVISION][rnd(3)];
  const view: ResourceView = {
    namespace,
    name,
    labels,
    assigned: [undefined, REVISION - 1, REVISION][rnd(3)],
    revision,
    phase: revision === undefined ? undefined : ['Succeeded', 'Failed', 'Running'][rnd(3)],
  };
  if (rnd(8) === 0) view.pinned = true;
  if (view.phase === 'Succeeded') view.succeededAt = 1_000 * rnd(10);
  if (rnd(2)) view.health = { state: ['healthy', 'unhealthy', 'ready', 'unknown'][rnd(4)]!, observedAt: 1_000 * rnd(10) };
  return view;
}

/** The decision both ways: from the tally, and from a walk over the same views. */
function bothWays(tally: RolloutTally, views: Map<string, ResourceView>, s: RolloutStrategy, extra: Partial<RolloutInput>) {
  const input = { revision: REVISION, strategy: s, paused: false, aborted: false, approvedStep: 0, now: NOON, ...extra };
  const shown = (p: ReturnType<typeof decide>) => ({ ...p, assign: p.assign.map((r) => `${r.namespace}/${r.name}`) });
  return {
    tally: shown(decide(tally, input)),
    walk: shown(computeProgress({ ...input, resources: inScope([...views.values()], s) })),
  };
}

describe('rollout tally', () => {
  for (const [what, s] of STRATEGIES) {
    it(`decides as a walk over every view would, change after change (${what})`, async () => {
      const rnd = random(what.length * 7919);
      const views = new Map<string, ResourceView>();
      const namespaces = ['a', 'b', 'c'];
      // Built from views in no particular order (creation order, not rollout order).
      for (let i = 0; i < 150; i++) {
        const ns = namespaces[rnd(3)]!;
        const name = `r${rnd(1000)}`;
        views.set(`${ns}/${name}`, randomView(rnd, ns, name));
      }
      const tally = new RolloutTally({ revision: REVISION, strategy: s, views: views.entries() });
      await tally.ready;
      assert.ok(tally.isFor(REVISION, { ...s }));
      assert.ok(!tally.isFor(REVISION + 1, s));
      for (let step = 0; step < 400; step++) {
        const keys = [...views.keys()];
        const op = rnd(10);
        if (op < 4 && keys.length) {
          // A resource changes (its run goes on, its labels or health change).
          const key = keys[rnd(keys.length)]!;
          const before = views.get(key)!;
          const after = randomView(rnd, before.namespace, before.name);
          views.set(key, after);
          tally.update(key, before, after);
        } else if (op < 5 && keys.length) {
          const key = keys[rnd(keys.length)]!;
          tally.update(key, views.get(key), undefined);
          views.delete(key);
        } else if (op < 6) {
          const ns = namespaces[rnd(3)]!;
          const key = `${ns}/n${step}`;
          const view = randomView(rnd, ns, `n${step}`);
          tally.update(key, views.get(key), view);
          views.set(key, view);
        } else {
          // A decision, checked against the walk; what it hands out is assigned as the controller does.
          const extra = { now: rnd(2) ? NOON : NIGHT, approvedStep: rnd(3), paused: rnd(8) === 0 };
          const { tally: fromTally, walk } = bothWays(tally, views, s, extra);
          assert.deepEqual(fromTally, walk, `step ${step}`);
          for (const r of tally.first(50, true)) assert.equal(views.get(`${r.namespace}/${r.name}`), r, 'the current view');
          for (const name of fromTally.assign) tally.assign(name, views.get(name)!);
        }
      }
      assert.deepEqual(bothWays(tally, views, s, {}).tally, bothWays(tally, views, s, {}).walk);
    });
  }

  it('hands out from many waiting in rollout order, taking later arrivals in their place', async () => {
    const views = new Map<string, ResourceView>();
    const view = (name: string, env: string): ResourceView => ({ namespace: 'a', name, labels: { env }, assigned: undefined, revision: 1, phase: 'Succeeded' });
    for (let i = 0; i < 3000; i++) views.set(`a/x${String(i).padStart(4, '0')}`, view(`x${String(i).padStart(4, '0')}`, i % 2 ? 'prod' : 'dev'));
    const s = { ...DEFAULT_STRATEGY, order: ['env=dev'] };
    const tally = new RolloutTally({ revision: REVISION, strategy: s, views: views.entries() });
    await tally.ready;
    const late = view('a0000', 'dev');
    views.set('a/a0000', late);
    tally.update('a/a0000', undefined, late);
    const first = tally.first(3, true).map((r) => r.name);
    assert.deepEqual(first, ['a0000', 'x0000', 'x0002'], 'dev first, by name; the later arrival in its place');
    for (const r of tally.first(1500, true)) tally.assign(`a/${r.name}`, r);
    assert.equal(tally.counts.inProgress, 1500);
    assert.deepEqual(
      tally.first(2, true).map((r) => r.name),
      ['x2998', 'x0001'],
      'the last dev resource, then the prod ones by name',
    );
    assert.equal(tally.pendingBy.window, 1501);
    // Many later arrivals (merged into the main order once they are over a thousand), some leaving again.
    for (let i = 0; i < 1200; i++) {
      const v = view(`w${String(i).padStart(4, '0')}`, i % 3 ? 'prod' : 'dev');
      views.set(`a/${v.name}`, v);
      tally.update(`a/${v.name}`, undefined, v);
      if (i % 5 === 0) {
        tally.update(`a/${v.name}`, v, undefined);
        views.delete(`a/${v.name}`);
      }
    }
    const walk = summarize([...views.values()], REVISION, s);
    assert.deepEqual(tally.pendingBy, walk.pendingBy);
    assert.deepEqual(
      tally.first(700, true).map((r) => r.name),
      walk.first(700, true).map((r) => r.name),
    );
  });

  it('counts a big fleet a chunk per turn, and the changes told meanwhile after it', async () => {
    const views = new Map<string, ResourceView>();
    const view = (name: string, revision: number): ResourceView => ({ namespace: 'a', name, labels: {}, assigned: undefined, revision, phase: 'Succeeded' });
    for (let i = 0; i < 12_000; i++) views.set(`a/r${i}`, view(`r${i}`, 1));
    let pauses = 0;
    const tally = new RolloutTally({
      revision: REVISION,
      strategy: DEFAULT_STRATEGY,
      views: views.entries(),
      pause: () => {
        pauses++;
        return new Promise((resolve) => setImmediate(resolve));
      },
    });
    // While it counts: one resource updated, one deleted, one created.
    const updated = view('r7', REVISION);
    tally.update('a/r7', views.get('a/r7'), updated);
    views.set('a/r7', updated);
    tally.update('a/r8', views.get('a/r8'), undefined);
    views.delete('a/r8');
    const created = view('new', 1);
    tally.update('a/new', undefined, created);
    views.set('a/new', created);
    await tally.ready;
    assert.equal(pauses, 2, 'two pauses in 12,000 views');
    const walk = summarize([...views.values()], REVISION, DEFAULT_STRATEGY);
    assert.deepEqual(
      { total: tally.total, counts: tally.counts, pendingBy: tally.pendingBy },
      { total: walk.total, counts: walk.counts, pendingBy: walk.pendingBy },
    );
    assert.deepEqual(
      tally.first(10, true).map((r) => r.name),
      walk.first(10, true).map((r) => r.name),
    );
  });
});
