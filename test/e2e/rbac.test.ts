/**
 * Teams with Kubernetes RBAC, through the real kubectl: kubeconfigs made by `fleetops team add` (full, read-only,
 * limited to one Promise), a Role limited to one Promise kind, `kubectl auth can-i --list` and `whoami`, token
 * revocation by `fleetops team remove`, and the audit log of every write (without Secret data).
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { stringify } from 'yaml';
import { eventually, fleetopsCli, startTestFleet, type CliRun, type TestFleet } from '../helpers/fleet.ts';
import { kubectlFor, type Kubectl, type KubectlResult } from '../helpers/kubectl.ts';
import { testPromise } from '../helpers/promises.ts';

const GROUP = 'test.fleetops.dev';

interface AuditEvent {
  apiVersion: string;
  kind: string;
  verb: string;
  user: { username: string };
  objectRef: { resource: string; name?: string; namespace?: string };
  responseStatus: { code: number };
}

function promiseYaml(kind: string, plural: string): string {
  return stringify(testPromise({ kind, plural }));
}

const request = (kind: string, name: string): string => `apiVersion: ${GROUP}/v1\nkind: ${kind}\nmetadata:\n  name: ${name}\nspec:\n  size: small\n`;

function ok(r: KubectlResult | CliRun, what: string): string {
  assert.equal(r.code, 0, `${what}: ${r.stderr}${r.stdout}`);
  return r.stdout;
}

function forbidden(r: KubectlResult, pattern: RegExp): void {
  assert.notEqual(r.code, 0, `expected a refusal, got: ${r.stdout}`);
  assert.match(r.stderr, /Error from server \(Forbidden\)|forbidden/);
  assert.match(r.stderr, pattern);
}

describe('teams with Kubernetes RBAC', () => {
  let fleet: TestFleet;
  let admin: Kubectl;
  let cli: ReturnType<typeof fleetopsCli>;
  const scratch = mkdtempSync(join(tmpdir(), 'fleetops-rbac-'));
  const asTeam = (team: string): Kubectl => kubectlFor(join(scratch, `${team}.kubeconfig`));

  before(async () => {
    fleet = await startTestFleet();
    admin = kubectlFor(fleet.kubeconfigPath);
    cli = fleetopsCli(fleet.kubeconfigPath, scratch);
    ok(await admin(['apply', '-f', '-'], { input: `${promiseYaml('Db', 'dbs')}---\n${promiseYaml('Cache', 'caches')}` }), 'install Promises');
    // Both kinds are served and aggregated into `edit` before teams use them.
    await eventually(
      async () => {
        const edit = await fleet.client.get<{ rules?: { resources?: string[] }[] }>('/apis/rbac.authorization.k8s.io/v1/clusterroles/edit');
        const resources = (edit.rules ?? []).flatMap((r) => r.resources ?? []);
        return resources.includes('dbs') && resources.includes('caches');
      },
      30_000,
      'the Promise kinds in the edit role',
    );
  });
  after(async () => fleet.cleanup());

  it('gives a team made by `fleetops team add` its namespace, and nothing of others or of the platform', async () => {
    const out = ok(await cli(['team', 'add', 'team-a']), 'team add team-a');
    assert.match(out, /team "team-a" ready: namespace team-a/);
    ok(await cli(['team', 'add', 'team-b']), 'team add team-b');
    const a = asTeam('team-a');
    assert.match(ok(await a(['apply', '-f', '-'], { input: request('Db', 'orders') }), 'team-a requests a Db'), /db\.test\.fleetops\.dev\/orders created/);
    assert.match(ok(await a(['get', 'dbs']), 'team-a lists its Dbs'), /orders/);
    ok(await admin(['apply', '-n', 'team-b', '-f', '-'], { input: request('Db', 'secret-project') }), 'a Db of team-b');
    forbidden(
      await a(['get', 'dbs', '-n', 'team-b']),
      /User "system:serviceaccount:team-a:team-a" cannot list resource "dbs" in API group "test.fleetops.dev" in the namespace "team-b"/,
    );
    forbidden(await a(['get', 'db', 'secret-project', '-n', 'team-b']), /dbs\.test\.fleetops\.dev "secret-project" is forbidden/);
    forbidden(await a(['delete', 'promise', 'db']), /cannot delete resource "promises" in API group "platform.kratix.io" at the cluster scope/);
    forbidden(await a(['get', 'secrets', '-n', 'default']), /cannot list resource "secrets"/);
    forbidden(await a(['patch', 'db', 'orders', '--subresource=status', '--type=merge', '-p', '{"status":{"x":1}}']), /cannot patch resource "dbs\/status"/);
    // The catalog is readable by every team.
    assert.match(ok(await a(['get', 'promises']), 'team-a reads the catalog'), /db/);
    const whoami = ok(await a(['auth', 'whoami']), 'whoami');
    assert.match(whoami, /system:serviceaccount:team-a:team-a/);
    assert.match(whoami, /Extra: fleetops\.dev\/namespaces\s+\[team-a\]/, 'the namespaces where the team is bound');
    assert.equal((await a(['auth', 'can-i', 'create', 'dbs'])).stdout.trim(), 'yes');
    assert.equal((await a(['auth', 'can-i', 'create', 'dbs', '-n', 'team-b'])).stdout.trim(), 'no');
    assert.equal((await a(['auth', 'can-i', 'update', 'promises'])).stdout.trim(), 'no');
  });

  it('tells the truth in `kubectl auth can-i --list`', async () => {
    const list = ok(await asTeam('team-a')(['auth', 'can-i', '--list', '-n', 'team-a']), 'can-i --list');
    const line = (resource: string): string => list.split('\n').find((l) => l.startsWith(`${resource} `)) ?? '';
    assert.match(line('dbs.test.fleetops.dev'), /\[get list watch create delete deletecollection patch update\]/);
    assert.match(line('promises.platform.kratix.io'), /\[get list watch\]/);
    assert.match(line('dbs.test.fleetops.dev/status') || line('dbs.test.fleetops.dev/status '), /\[get list watch\]/);
    assert.doesNotMatch(list, /^\*\.\*/m, 'no wildcard for a team');
    // Each answer of the list agrees with a single question.
    assert.equal((await asTeam('team-a')(['auth', 'can-i', 'deletecollection', 'caches'])).stdout.trim(), 'yes');
  });

  it('lets a read-only team see but not write', async () => {
    ok(await cli(['team', 'add', 'viewers', '--read-only']), 'team add --read-only');
    ok(await admin(['apply', '-n', 'viewers', '-f', '-'], { input: request('Db', 'shown') }), 'a Db in viewers');
    const v = asTeam('viewers');
    assert.match(ok(await v(['get', 'dbs']), 'viewers list'), /shown/);
    forbidden(await v(['apply', '-f', '-'], { input: request('Db', 'nope') }), /cannot (create|patch) resource "dbs"/);
    forbidden(await v(['delete', 'db', 'shown']), /cannot delete resource "dbs"/);
    forbidden(await v(['create', 'secret', 'generic', 's', '--from-literal=a=b']), /cannot create resource "secrets"/);
  });

  it('limits a team to the Promises named by --promises, and a Role to one kind', async () => {
    ok(await cli(['team', 'add', 'limited', '--promises', 'db']), 'team add --promises db');
    const l = asTeam('limited');
    ok(await l(['apply', '-f', '-'], { input: request('Db', 'mine') }), 'limited requests a Db');
    forbidden(await l(['apply', '-f', '-'], { input: request('Cache', 'nope') }), /cannot (create|patch) resource "caches"/);
    const caches = await l(['get', 'caches']);
    assert.equal(caches.code, 0, caches.stderr);
    assert.match(caches.stderr, /No resources found in limited namespace/, 'limited may still see caches');

    // A hand-written Role limited to one kind, bound to a service account; its short-lived token from kubectl.
    ok(await admin(['create', 'namespace', 'hand']), 'namespace');
    ok(await admin(['create', 'serviceaccount', 'bob', '-n', 'hand']), 'sa');
    ok(await admin(['create', 'role', 'caches-only', '-n', 'hand', '--verb=create,get,list', `--resource=caches.${GROUP}`]), 'role');
    ok(await admin(['create', 'rolebinding', 'bob-caches', '-n', 'hand', '--role=caches-only', '--serviceaccount=hand:bob']), 'rolebinding');
    const token = ok(await admin(['create', 'token', 'bob', '-n', 'hand', '--duration=15m']), 'create token').trim();
    const bob = (args: string[], input?: string): Promise<KubectlResult> =>
      admin(['--token', token, '-n', 'hand', ...args], input !== undefined ? { input } : {});
    ok(await bob(['apply', '-f', '-'], request('Cache', 'c1')), 'bob creates a Cache');
    forbidden(await bob(['apply', '-f', '-'], request('Db', 'd1')), /User "system:serviceaccount:hand:bob" cannot (get|create|patch) resource "dbs"/);
    forbidden(await bob(['delete', 'cache', 'c1']), /cannot delete resource "caches"/);
    forbidden(await bob(['get', 'caches', '-n', 'team-a']), /in the namespace "team-a"/);
  });

  it('changes access when `team add` runs again, lists teams, and revokes tokens on remove', async () => {
    ok(await cli(['team', 'add', 'team-b', '--read-only']), 'team-b becomes read-only');
    forbidden(await asTeam('team-b')(['apply', '-f', '-'], { input: request('Db', 'late') }), /cannot (create|patch) resource "dbs"/);
    const list = ok(await cli(['team', 'list']), 'team list');
    assert.match(list, /^team-a\s+team-a\s+edit/m);
    assert.match(list, /^team-b\s+team-b\s+view/m);
    assert.match(list, /^limited\s+limited\s+promises: db/m);
    assert.match(ok(await cli(['team', 'remove', 'team-a']), 'team remove'), /tokens no longer work/);
    const after = await asTeam('team-a')(['get', 'dbs']);
    assert.notEqual(after.code, 0);
    assert.match(after.stderr, /Unauthorized|must be logged in/);
    assert.match(ok(await admin(['get', 'dbs', '-n', 'team-a']), 'the namespace and its resources stay'), /orders/);
    const bad = await cli(['team', 'add', 'Bad_Name']);
    assert.equal(bad.code, 1);
    assert.match(bad.stderr, /^error: team name "Bad_Name" .*RFC 1123/);
    const missing = await cli(['team', 'add', 'x', '--promises', 'nosuch']);
    assert.match(missing.stderr, /Promise "nosuch" not found/);
  });

  it('audits every write with who, what and the response code, and never a Secret value', async () => {
    ok(await admin(['create', 'secret', 'generic', 'audited', '-n', 'default', '--from-literal=password=hunter2-audited-value']), 'secret');
    const denied = await asTeam('viewers')(['delete', 'db', 'shown']);
    assert.notEqual(denied.code, 0);
    const text = await eventually(() => {
      const t = readFileSync(join(fleet.dataDir, 'audit', 'audit.log'), 'utf8');
      return t.includes('"audited"') ? t : undefined;
    });
    assert.doesNotMatch(text, /hunter2/);
    assert.doesNotMatch(text, new RegExp(Buffer.from('hunter2-audited-value').toString('base64')));
    const events = text
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l) as AuditEvent);
    for (const e of events) {
      assert.equal(e.apiVersion, 'audit.k8s.io/v1');
      assert.equal(e.kind, 'Event');
      assert.ok(['create', 'update', 'patch', 'delete', 'deletecollection'].includes(e.verb), e.verb);
    }
    const secret = events.find((e) => e.objectRef.resource === 'secrets' && e.objectRef.name === 'audited');
    assert.ok(secret, 'the Secret creation is audited');
    assert.equal(secret.user.username, 'admin');
    assert.equal(secret.responseStatus.code, 201);
    assert.equal(secret.objectRef.namespace, 'default');
    const refused = events.find((e) => e.objectRef.name === 'shown' && e.verb === 'delete');
    assert.ok(refused, 'the refused delete is audited');
    assert.equal(refused.responseStatus.code, 403);
    assert.equal(refused.user.username, 'system:serviceaccount:viewers:viewers');
    assert.ok(events.some((e) => e.objectRef.resource === 'dbs' && e.user.username === 'system:serviceaccount:team-a:team-a' && e.responseStatus.code < 300));
  });
});
