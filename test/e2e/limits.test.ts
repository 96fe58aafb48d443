/**
 * No request body and no pipeline step can stop the API: big YAML is parsed off the event loop (the API answers
 * meanwhile), and what breaks a limit is refused with a Status that says which: duplicate keys 400, too deep, too
 * many nodes or too many aliases 413 (application teams get a tighter node limit than the platform team), a body over
 * 3 MiB 413 even when only its Content-Length says so, a status.yaml over 256 KiB fails the run with the reason.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { request as httpsRequest } from 'node:https';
import { connect as tlsConnect } from 'node:tls';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { eventually, startTestFleet, type TestFleet } from '../helpers/fleet.ts';
import { TEST_IMAGE } from '../helpers/images.ts';
import { testPromise } from '../helpers/promises.ts';

interface Answer {
  status: number;
  body: string;
  at: number;
}

describe('limits on what users send and steps write', () => {
  let fleet: TestFleet;
  let seq = 0;
  /** A raw HTTPS request (no client-side parsing or limits), with the order in which its answer came. */
  const TEAM_TOKEN = 'team-a-token-for-the-limits-test';
  const send = (method: string, path: string, body?: string | Buffer, headers: Record<string, string> = {}, token?: string): Promise<Answer> =>
    new Promise((resolve, reject) => {
      const url = new URL(path, fleet.url);
      const req = httpsRequest(url, { method, ca: fleet.caCert, headers: { authorization: `Bearer ${token ?? fleet.adminToken}`, ...headers } }, (res) => {
        let text = '';
        res.on('data', (d: Buffer) => (text += d.toString()));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, body: text, at: ++seq }));
      });
      req.on('error', reject);
      if (body !== undefined) req.end(body);
      else req.end();
    });
  const yamlMap = (keys: number): string =>
    `apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: big-${keys}\ndata:\n${Array.from({ length: keys }, (_, i) => `  k${i.toString(36)}: v`).join('\n')}\n`;
  const apply = (name: string, yaml: string, namespace = 'default', token?: string): Promise<Answer> =>
    send('PATCH', `/api/v1/namespaces/${namespace}/configmaps/${name}?fieldManager=test`, yaml, { 'content-type': 'application/apply-patch+yaml' }, token);
  let dataDir: string;

  before(async () => {
    dataDir = mkdtempSync(join(tmpdir(), 'fleetops-limits-'));
    writeFileSync(
      join(dataDir, 'tokens.json'),
      JSON.stringify({
        users: [
          { name: 'admin', role: 'admin', namespaces: [], token: 'admin-token-for-the-limits-test' },
          { name: 'team-a', role: 'team', namespaces: ['team-a'], token: TEAM_TOKEN },
        ],
      }),
    );
    fleet = await startTestFleet({ dataDir }); // makes the token file's team namespace, team-a
  });
  after(async () => {
    await fleet.cleanup();
    rmSync(dataDir, { recursive: true, force: true });
  });

  it('answers /healthz while a big YAML body is being parsed, then stores the body', async () => {
    const big = apply('big-49000', yamlMap(49_000));
    // Sent after the big body: without off-thread parsing they would wait for it.
    const checks = await Promise.all(Array.from({ length: 5 }, () => send('GET', '/healthz')));
    const stored = await big;
    assert.equal(stored.status, 201, stored.body);
    for (const c of checks) {
      assert.equal(c.status, 200);
      assert.ok(c.at < stored.at, '/healthz answered before the big body was done');
    }
    const cm = JSON.parse((await send('GET', '/api/v1/namespaces/default/configmaps/big-49000')).body) as { data: Record<string, string> };
    assert.equal(Object.keys(cm.data).length, 49_000);
  });

  it('refuses bodies that break a limit, saying which', async () => {
    const dup = await apply('dup', 'apiVersion: v1\nkind: ConfigMap\nmetadata: {name: dup}\ndata:\n  a: "1"\n  a: "2"\n');
    assert.equal(dup.status, 400);
    assert.match(JSON.parse(dup.body).message, /duplicate key "a"/);
    const deepJson = `{"apiVersion":"v1","kind":"ConfigMap","metadata":{"name":"deep"},"data":{},"x":${'['.repeat(5000)}${']'.repeat(5000)}}`;
    const deep = await send('POST', '/api/v1/namespaces/default/configmaps', deepJson, { 'content-type': 'application/json' });
    assert.equal(deep.status, 413, deep.body);
    assert.equal(JSON.parse(deep.body).kind, 'Status');
    assert.match(JSON.parse(deep.body).message, /nested deeper than 100 levels/);
    const tooMany = await apply('many', yamlMap(60_000));
    assert.equal(tooMany.status, 413, tooMany.body.slice(0, 300));
    assert.match(JSON.parse(tooMany.body).message, /more than 50000 map entries and list items/);
    // An application team's bodies get the tighter limit; within it they are stored.
    const team = await apply('team-many', yamlMap(6_000), 'team-a', TEAM_TOKEN);
    assert.equal(team.status, 413, team.body.slice(0, 300));
    assert.match(JSON.parse(team.body).message, /more than 5000 map entries and list items/);
    const teamOk = await apply('big-4900', yamlMap(4_900), 'team-a', TEAM_TOKEN);
    assert.equal(teamOk.status, 201, teamOk.body.slice(0, 300));
    const bomb = await apply(
      'bomb',
      `apiVersion: v1\nkind: ConfigMap\nmetadata: {name: bomb}\na: &a [x, x, x, x, x, x, x, x, x]\n${Array.from(
        { length: 8 },
        (_, i) =>
          `b${i}: &b${i} [${Array(9)
            .fill(i ? `*b${i - 1}` : '*a')
            .join(', ')}]`,
      ).join('\n')}\n`,
    );
    assert.equal(bomb.status, 413, bomb.body);
    // Over 3 MiB by its Content-Length alone: 413 as a Status, before the body is read.
    const huge = await send('POST', '/api/v1/namespaces/default/configmaps', Buffer.alloc(4 * 1024 * 1024, 32), { 'content-type': 'application/json' });
    assert.equal(huge.status, 413);
    assert.equal(JSON.parse(huge.body).reason, 'RequestEntityTooLarge');
  });

  it('answers what the HTTP parser refuses with a Status too: headers too large, garbage, a 100 MB Content-Length', async () => {
    const raw = (text: string): Promise<string> =>
      new Promise((resolve) => {
        const socket = tlsConnect({ port: fleet.port, host: '127.0.0.1', ca: fleet.caCert, servername: 'localhost' }, () => socket.write(text));
        let out = '';
        socket.on('data', (d: Buffer) => (out += d.toString()));
        socket.on('close', () => resolve(out));
        socket.on('error', () => resolve(out));
      });
    const status = (response: string): { code: number; reason: string } =>
      JSON.parse(response.slice(response.indexOf('\r\n\r\n') + 4)) as { code: number; reason: string };
    const headers = await raw(`GET /healthz HTTP/1.1\r\nHost: x\r\nX-Big: ${'a'.repeat(20_000)}\r\n\r\n`);
    assert.match(headers, /^HTTP\/1\.1 431 /);
    assert.deepEqual(status(headers), { ...status(headers), code: 431, reason: 'RequestEntityTooLarge' });
    const garbage = await raw('GARBAGE\r\n\r\n');
    assert.match(garbage, /^HTTP\/1\.1 400 /);
    assert.equal(status(garbage).reason, 'BadRequest');
    const huge = await raw(
      `POST /api/v1/namespaces/default/configmaps HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer ${fleet.adminToken}\r\nContent-Type: application/json\r\nContent-Length: 104857600\r\n\r\n{"a":`,
    );
    assert.match(huge, /^HTTP\/1\.1 413 /);
    assert.equal(status(huge).reason, 'RequestEntityTooLarge');
  });

  it('fails a run whose status.yaml is too big, and takes the biggest accepted one without stopping the API', async () => {
    const c = fleet.client;
    // ~85 KiB of status in 4,900 keys: accepted. ~480 KiB: refused by its size.
    const writeStatus = (keys: number): string => `i=0; while [ $i -lt ${keys} ]; do echo "k$i: value-$i"; i=$((i+1)); done > /kratix/metadata/status.yaml`;
    const step = {
      name: 's',
      image: TEST_IMAGE,
      command: ['sh', '-c', 'if [ "$KRATIX_OBJECT_NAME" = huge ]; then ' + writeStatus(26_000) + '; else ' + writeStatus(4_900) + '; fi'],
    };
    await c.request('POST', '/apis/platform.kratix.io/v1alpha1/promises', {
      body: testPromise({ kind: 'Chatty', plural: 'chatties', pipeline: { name: 'p', spec: { containers: [step] } } }),
    });
    await eventually(() => c.get('/apis/test.fleetops.dev/v1/chatties'), 10_000, 'kind served');
    for (const name of ['huge', 'large'])
      await c.request('POST', '/apis/test.fleetops.dev/v1/namespaces/default/chatties', {
        body: { apiVersion: 'test.fleetops.dev/v1', kind: 'Chatty', metadata: { name }, spec: {} },
      });
    const get = (name: string): Promise<{ status?: Record<string, unknown> & { conditions?: { type: string; status: string; message: string }[] } }> =>
      c.get(`/apis/test.fleetops.dev/v1/namespaces/default/chatties/${name}`);
    const failed = await eventually(
      async () => (await get('huge')).status?.conditions?.find((x) => x.type === 'ConfigureWorkflowCompleted' && /status\.yaml/.test(x.message)),
      30_000,
      'huge refused',
    );
    assert.match(failed.message, /status\.yaml is \d+ bytes; at most 262144 bytes are accepted/);
    const large = await eventually(async () => ((await get('large')).status?.k4899 ? (await get('large')).status : undefined), 30_000, 'large accepted');
    assert.equal(large.k0, 'value-0');
  });
});
