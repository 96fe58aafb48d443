import { test } from 'node:test';
import assert from 'node:assert/strict';
import { componentOf, cpuBreakdown, postgresCpuSince, threadCpuMs, threadCpuSince, type CpuProfile } from '../../bench/lib/cpuBreakdown.ts';

const src = (path: string): string => `file:///opt/fleetops/src/${path}`;

test('a source file belongs to its component; shared helpers and other code to none', () => {
  assert.equal(componentOf(src('store/SqliteStore.ts')), 'store (transactions, reads, watch fan-out)');
  assert.equal(componentOf(src('controllers/scheduler/WorkScheduler.ts')), 'controllers: scheduler');
  assert.equal(componentOf(src('controllers/shared/WorkflowExecutor.ts')), 'controllers: shared WorkflowExecutor');
  assert.equal(componentOf(src('registry/schema/structural.ts')), 'object service (admission, schemas, managed fields)');
  assert.equal(componentOf(src('api/types.ts')), undefined);
  assert.equal(componentOf(src('main.ts')), undefined);
  assert.equal(componentOf('file:///opt/fleetops/node_modules/yaml/src/parse.js'), undefined);
  assert.equal(componentOf('node:internal/fs/utils'), undefined);
});

test('each busy sample goes to the nearest component on its stack; idle samples to none', () => {
  const frame = (id: number, functionName: string, url: string, children: number[] = []): CpuProfile['nodes'][number] => ({
    id,
    callFrame: { functionName, url },
    children,
  });
  const profile: CpuProfile = {
    nodes: [
      frame(1, '(root)', '', [2, 3, 7, 8, 9]),
      frame(2, 'reconcile', src('controllers/scheduler/WorkScheduler.ts'), [4]),
      frame(3, 'flush', src('store/SqliteStore.ts')),
      frame(4, 'cloneJson', src('api/types.ts'), [5]),
      frame(5, 'parse', ''),
      frame(7, '(idle)', ''),
      frame(8, '(garbage collector)', ''),
      frame(9, 'processImmediate', 'node:internal/timers'),
    ],
    // scheduler (via a helper) ×3, store ×2, idle ×4, GC ×1, Node ×2
    samples: [5, 5, 4, 3, 3, 7, 7, 7, 7, 8, 9, 9],
    startTime: 0,
    endTime: 12_000,
  };
  const { lines, idleShare } = cpuBreakdown(profile);
  assert.equal(idleShare, 4 / 12);
  assert.deepEqual(
    lines.map((l) => [l.component, l.share]),
    [
      ['controllers: scheduler', 3 / 8],
      ['store (transactions, reads, watch fan-out)', 2 / 8],
      ['Node.js (I/O callbacks, timers, child processes)', 2 / 8],
      ['garbage collection (main thread)', 1 / 8],
    ],
  );
});

test("the process's threads' CPU time is read by name, the main thread's under main", () => {
  const before = threadCpuMs();
  const until = Date.now() + 60;
  while (Date.now() < until); // burn a little CPU on the main thread
  const used = threadCpuSince(before);
  assert.ok(used.has('main'));
  assert.ok([...used.values()].every((ms) => ms >= 0));
});

test("PostgreSQL's CPU between two snapshots counts what each process used in between, ended ones too, and nothing before", () => {
  // 10: alive throughout (100 → 150 ms); 11: a pool connection that used 400 ms during set-up and 30 ms more before it
  // closed (its 430 ms land in the postmaster's reaped time); 12: started since (20 ms).
  const start = {
    own: new Map([
      ['1', 5],
      ['10', 100],
      ['11', 400],
    ]),
    reaped: 1000,
  };
  const now = {
    own: new Map([
      ['1', 5],
      ['10', 150],
      ['12', 20],
    ]),
    reaped: 1430,
  };
  assert.equal(postgresCpuSince(start, now), (50 + 30 + 20) / 1000);
});
