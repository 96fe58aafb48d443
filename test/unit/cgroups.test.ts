import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { openCgroups } from '../../src/workflows/runtime/cgroups.ts';

test('a run group writes its limit files only when a limit changes', { skip: process.getuid?.() === 0 ? false : 'needs root' }, () => {
  // A cgroup v2 tree on a plain directory, FleetOps in its root group (as in a container with its own cgroup
  // namespace): the run groups go below the root, not beside it.
  const root = mkdtempSync(join(tmpdir(), 'fo-cgroup-'));
  writeFileSync(join(root, 'cgroup.controllers'), 'memory pids cpu');
  const group = join(root, 'fleetops-t', 'uid-4242');
  mkdirSync(group, { recursive: true });
  writeFileSync(join(group, 'cgroup.procs'), '');
  writeFileSync(join(group, 'memory.events'), 'low 0\nhigh 0\nmax 0\noom 1\noom_kill 1\n'); // a kill before this FleetOps
  const opened = openCgroups({ name: 't', root, procSelfCgroup: '0::/\n' });
  assert.ok(typeof opened !== 'string', String(opened));
  const run = opened.forUid(4242);
  const memory = (): string => readFileSync(join(group, 'memory.max'), 'utf8');

  run.apply({ memoryBytes: 1000, cpuMillis: 500 });
  assert.equal(memory(), '1000');
  assert.equal(readFileSync(join(group, 'cpu.max'), 'utf8'), '50000 100000');
  writeFileSync(join(group, 'memory.max'), 'untouched');
  run.apply({ memoryBytes: 1000, cpuMillis: 500 });
  assert.equal(memory(), 'untouched', 'the same limits again: nothing written');
  run.apply({ memoryBytes: 2000, cpuMillis: 500 });
  assert.equal(memory(), '2000');
  run.apply({});
  assert.equal(memory(), 'max');
  assert.equal(readFileSync(join(group, 'pids.max'), 'utf8'), 'max');

  // The OOM killer's count, told per step: what came since the last asking.
  assert.equal(run.newOomKills(), 0, 'a kill from before the group was opened is not a step of this run');
  writeFileSync(join(group, 'memory.events'), 'low 0\nhigh 0\nmax 3\noom 3\noom_kill 3\n');
  assert.equal(run.newOomKills(), 2);
  assert.equal(run.newOomKills(), 0, 'the next step starts from there');
  opened.close();
});

test('closing removes the groups a killed FleetOps of the same data directory left', (t) => {
  // This machine's real cgroup hierarchies: a FleetOps killed hard never removes its groups; the next one to stop on
  // the same data directory (or a test's kill helper) removes them with its own.
  const name = `test-${process.pid}-${Date.now()}`;
  const killed = openCgroups({ name });
  if (typeof killed === 'string') return t.skip(killed);
  const left = [killed.forUid(4001), killed.forUid(4002)].flatMap((g) => g.procs.map((p) => join(p, '..')));
  for (const dir of left) assert.ok(existsSync(dir), dir);
  const next = openCgroups({ name });
  assert.ok(typeof next !== 'string', String(next));
  next.forUid(4003);
  next.close();
  for (const dir of left) assert.equal(existsSync(dir), false, `${dir} is removed`);
  for (const dir of left.map((d) => join(d, '..'))) assert.equal(existsSync(dir), false, `${dir} is removed`);
});
