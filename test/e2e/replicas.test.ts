/**
 * Several FleetOps replicas on one PostgreSQL (#22), each a separate process with its own data directory, driven with
 * the real kubectl: a watch on one replica sees writes made through another, in order; one replica holds the
 * controllers' Lease (`kubectl get leases`), hands it over on a graceful stop, and another takes it after a kill -9;
 * the API keeps working through the survivors, and a replica is not ready while the database is down.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { spawnFleet, type FleetProcess } from '../helpers/process.ts';
import { kubectlFor, type Kubectl } from '../helpers/kubectl.ts';
import { startPostgres, type TestPostgres } from '../helpers/postgres.ts';
import { eventually, fleetopsCli } from '../helpers/fleet.ts';

interface Replica {
  name: string;
  fleet: FleetProcess;
  kubectl: Kubectl;
}

const alive = (r: Replica): boolean => r.fleet.child.exitCode === null && r.fleet.child.signalCode === null;

const LEASE = ['get', 'lease', 'fleetops-controllers', '-n', 'fleetops-system', '-o', 'jsonpath={.spec.holderIdentity}'];

describe('FleetOps replicas on one PostgreSQL', () => {
  let db: TestPostgres;
  const dirs: string[] = [];
  const replicas: Replica[] = [];

  async function startReplica(name: string): Promise<Replica> {
    const dir = mkdtempSync(join(tmpdir(), `fo-replica-${name}-`));
    dirs.push(dir);
    const fleet = await spawnFleet(dir, { FLEETOPS_STORE: db.url });
    const replica = { name, fleet, kubectl: kubectlFor(join(dir, 'kubeconfig')) };
    replicas.push(replica);
    return replica;
  }

  /** The replica whose process holds the Lease (its identity names its pid). */
  async function leader(via: Replica): Promise<Replica> {
    return eventually(
      async () => {
        const holder = (await via.kubectl(LEASE)).stdout.trim();
        return replicas.find((r) => alive(r) && holder.includes(`-${r.fleet.child.pid}-`));
      },
      40_000,
      'a live replica holds the controllers lease',
    );
  }

  before(async () => {
    db = await startPostgres();
    for (const name of ['a', 'b', 'c']) await startReplica(name);
  });

  after(async () => {
    for (const r of replicas) await r.fleet.kill('SIGKILL');
    db.cleanup();
    for (const d of dirs) rmSync(d, { recursive: true, force: true });
  });

  it('shows a watch on replica A the writes made through replica C, in order', async () => {
    const [a, , c] = replicas as [Replica, Replica, Replica];
    const watch = a.kubectl.spawn([
      'get',
      'configmaps',
      '-n',
      'default',
      '--watch-only',
      '--output-watch-events',
      '-o',
      'jsonpath={.type} {.object.metadata.name}{"\\n"}',
    ]);
    try {
      // The watch is established once a first write shows up.
      await eventually(
        async () => {
          await c.kubectl(['create', 'configmap', `probe-${Date.now()}`, '-n', 'default']);
          return /ADDED probe-/.test(watch.output());
        },
        20_000,
        'the watch on A is live',
      );
      const expected: string[] = [];
      for (let i = 0; i < 10; i++) {
        const r = await c.kubectl(['create', 'configmap', `cm-${i}`, '-n', 'default', `--from-literal=i=${i}`]);
        assert.equal(r.code, 0, r.stderr);
        expected.push(`ADDED cm-${i}`);
      }
      const patched = await c.kubectl(['patch', 'configmap', 'cm-3', '-n', 'default', '--type=merge', '-p', '{"data":{"i":"three"}}']);
      assert.equal(patched.code, 0, patched.stderr);
      expected.push('MODIFIED cm-3');
      const deleted = await c.kubectl(['delete', 'configmap', 'cm-5', '-n', 'default']);
      assert.equal(deleted.code, 0, deleted.stderr);
      expected.push('DELETED cm-5');
      const seen = (): string[] =>
        watch
          .output()
          .split('\n')
          .filter((l) => / cm-\d$/.test(l));
      await eventually(async () => seen().length >= expected.length, 20_000, 'every change seen on A');
      assert.deepEqual(seen(), expected, 'in the order they were made, none lost or repeated');
      // And each replica reads what another wrote.
      assert.equal((await replicas[1]!.kubectl(['get', 'configmap', 'cm-3', '-n', 'default', '-o', 'jsonpath={.data.i}'])).stdout, 'three');
    } finally {
      watch.stop();
    }
  });

  it('gives every replica one identity: a kubeconfig made by one works against another', async () => {
    const [a, , c] = replicas as [Replica, Replica, Replica];
    const server = /server: (\S+)/.exec(readFileSync(join(dirs[2]!, 'kubeconfig'), 'utf8'))?.[1];
    assert.ok(server, "replica C's address");
    const r = await a.kubectl(['--server', server, 'get', 'namespaces', '-o', 'name']);
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /namespace\/fleetops-system/);
    // A ServiceAccount token minted through A is accepted by C.
    assert.equal((await a.kubectl(['create', 'serviceaccount', 'robot', '-n', 'default'])).code, 0);
    const token = (await a.kubectl(['create', 'token', 'robot', '-n', 'default'])).stdout.trim();
    const whoami = await c.kubectl(['--token', token, 'auth', 'whoami', '-o', 'jsonpath={.status.userInfo.username}']);
    assert.equal(whoami.stdout, 'system:serviceaccount:default:robot', whoami.stderr);
  });

  it('runs the controllers on the Lease holder only, hands the Lease over on a graceful stop, and takes it over after kill -9', async () => {
    const [a] = replicas as [Replica];
    const listed = await a.kubectl(['get', 'leases', '-n', 'fleetops-system']);
    assert.equal(listed.code, 0, listed.stderr);
    assert.match(listed.stdout, /fleetops-controllers/);
    const first = await leader(a);
    const status = async (via: Replica): Promise<string> => {
      const r = await fleetopsCli(join(dirs[replicas.indexOf(via)]!, 'kubeconfig'))(['status']);
      assert.equal(r.code, 0, r.stderr);
      return r.stdout;
    };
    const shown = await status(a);
    assert.match(shown, /^REPLICA\s+STORE\s+ROLE\s+CONTROLLERS\s+RENEWED\s+URL/);
    assert.match(shown, new RegExp(`-${first.fleet.child.pid}-\\S*\\s+postgres\\s+all\\s+leader`));
    assert.match(shown, /3 of 3 replicas live; controllers running/);
    // A graceful stop hands the Lease to another replica.
    await first.fleet.kill('SIGTERM');
    const survivor = replicas.find((r) => r !== first)!;
    const second = await leader(survivor);
    assert.notEqual(second, first);
    assert.doesNotMatch(await status(second), new RegExp(`-${first.fleet.child.pid}-`), 'a replica stopped gracefully is gone from the list');
    // kill -9 of the new leader: the last replica takes over once the Lease has expired.
    await second.fleet.kill('SIGKILL');
    const last = replicas.find((r) => r !== first && r !== second)!;
    const third = await leader(last);
    assert.equal(third, last);
    assert.match(
      await eventually(
        async () => {
          const s = await status(last);
          return /gone \(renewed/.test(s) ? s : undefined;
        },
        40_000,
        'the killed replica shown as gone',
      ),
      new RegExp(`-${second.fleet.child.pid}-\\S*\\s+postgres\\s+all\\s+-\\s+gone`),
    );
    // The controllers run there: a namespace deleted through it is finalized and goes.
    const created = await last.kubectl(['create', 'namespace', 'scratch']);
    assert.equal(created.code, 0, created.stderr);
    const removed = await last.kubectl(['delete', 'namespace', 'scratch', '--wait=false']);
    assert.equal(removed.code, 0, removed.stderr);
    await eventually(async () => (await last.kubectl(['get', 'namespace', 'scratch'])).code !== 0, 30_000, 'the namespace controller (leader only) removed it');
  });

  it('is not ready while the database is down, and serves again after it is back', async () => {
    const live = replicas.find(alive)!;
    const ready = async (): Promise<string> => (await live.kubectl(['get', '--raw', '/readyz'])).stdout.trim();
    assert.equal(await ready(), 'ok');
    // Writes go on while the database stops (the leader's controllers write too): none may crash the replica.
    const writing = Promise.all(Array.from({ length: 20 }, (_, i) => live.kubectl(['create', 'configmap', `during-${i}`, '-n', 'default'])));
    db.stop('fast');
    await eventually(async () => (await ready()) !== 'ok', 20_000, 'not ready while PostgreSQL is down');
    await writing;
    assert.ok(alive(live), 'alive while the database is down');
    db.start();
    await eventually(async () => (await ready()) === 'ok', 30_000, 'ready again');
    assert.ok(alive(live), 'the replica lived through the outage');
    await eventually(async () => (await live.kubectl(['create', 'configmap', 'after-restart', '-n', 'default'])).code === 0, 30_000, 'writes work again');
    // Every write acknowledged before the outage is there (the first test's).
    assert.equal((await live.kubectl(['get', 'configmap', 'cm-9', '-n', 'default', '-o', 'name'])).stdout.trim(), 'configmap/cm-9');
  });
});
