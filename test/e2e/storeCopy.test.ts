/**
 * `fleetops store copy` and `fleetops migrate` (#22): a platform moves from its embedded store to PostgreSQL and back
 * with every object kept as it was (uids, resourceVersions), a running FleetOps refuses to be copied from, and a
 * non-empty target is refused.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fleetopsCli } from '../helpers/fleet.ts';
import { kubectlFor } from '../helpers/kubectl.ts';
import { startPostgres, type TestPostgres } from '../helpers/postgres.ts';
import { spawnFleet, type FleetProcess } from '../helpers/process.ts';

describe('fleetops store copy', () => {
  let db: TestPostgres;
  let fleet: FleetProcess | undefined;
  const dirs: string[] = [];
  const dir = (name: string): string => {
    const d = mkdtempSync(join(tmpdir(), `fo-copy-${name}-`));
    dirs.push(d);
    return d;
  };

  before(async () => {
    db = await startPostgres();
  });
  after(async () => {
    await fleet?.kill('SIGKILL');
    db.cleanup();
    for (const d of dirs) rmSync(d, { recursive: true, force: true });
  });

  it('moves a platform from its data directory to PostgreSQL and back, objects unchanged', async () => {
    const home = dir('home');
    const cli = fleetopsCli(join(home, 'kubeconfig'));
    fleet = await spawnFleet(home);
    const kubectl = kubectlFor(join(home, 'kubeconfig'));
    assert.equal((await kubectl(['create', 'namespace', 'team-a'])).code, 0);
    assert.equal((await kubectl(['create', 'configmap', 'settings', '-n', 'team-a', '--from-literal=colour=blue'])).code, 0);
    const before = JSON.parse((await kubectl(['get', 'configmap', 'settings', '-n', 'team-a', '-o', 'json'])).stdout) as { metadata: Record<string, string> };
    const refused = await cli(['store', 'copy', '--from', home, '--to', db.url]);
    assert.equal(refused.code, 1, 'a running FleetOps is not copied from');
    assert.match(refused.stderr, /^error: another FleetOps \(pid \d+\) is using the data directory .*; stop it first/m);
    await fleet.kill('SIGTERM');

    const copied = await cli(['store', 'copy', '--from', home, '--to', db.url]);
    assert.equal(copied.code, 0, copied.stderr);
    assert.match(copied.stdout, /^copied \d+ objects from .* to postgres:\/\/\*\*\*@127\.0\.0\.1:\d+\/fleetops/);
    assert.doesNotMatch(copied.stdout + copied.stderr, /postgres@/, 'no user or password printed');
    const again = await cli(['store', 'copy', '--from', home, '--to', db.url]);
    assert.equal(again.code, 1);
    assert.match(again.stderr, /already holds objects: copy into an empty/);
    assert.match((await cli(['migrate', '--store', db.url])).stdout, /^schema at version \d+/);

    fleet = await spawnFleet(home, { FLEETOPS_STORE: db.url });
    const onPostgres = JSON.parse((await kubectl(['get', 'configmap', 'settings', '-n', 'team-a', '-o', 'json'])).stdout) as {
      metadata: Record<string, string>;
      data: Record<string, string>;
    };
    assert.equal(onPostgres.metadata.uid, before.metadata.uid);
    assert.equal(onPostgres.metadata.resourceVersion, before.metadata.resourceVersion);
    assert.equal(onPostgres.data.colour, 'blue');
    assert.equal((await kubectl(['patch', 'configmap', 'settings', '-n', 'team-a', '--type=merge', '-p', '{"data":{"colour":"green"}}'])).code, 0);
    await fleet.kill('SIGTERM');

    const back = dir('back');
    const returned = await cli(['store', 'copy', '--from', db.url, '--to', back]);
    assert.equal(returned.code, 0, returned.stderr);
    fleet = await spawnFleet(back);
    const k2 = kubectlFor(join(back, 'kubeconfig'));
    const r = await k2(['get', 'configmap', 'settings', '-n', 'team-a', '-o', 'jsonpath={.metadata.uid} {.data.colour}']);
    assert.equal(r.stdout, `${before.metadata.uid} green`, r.stderr);
    await fleet.kill('SIGTERM');
  });
});
