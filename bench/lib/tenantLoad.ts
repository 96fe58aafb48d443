/**
 * The load of `bench/limits.bench.ts --tenant`, run in a process of its own (as a team's client would be, so its own
 * work is not counted against the server's event loop): the team's largest protobuf ConfigMap created and deleted,
 * and its largest strategic merge patches on a growing finalizer list, back to back until the deadline. Prints one
 * JSON line: how many requests, and each round's duration.
 * Usage: node bench/lib/tenantLoad.ts <api url> <token> <ca file> <seconds>
 */
import { readFileSync } from 'node:fs';
import { Agent, request as httpsRequest } from 'node:https';
import { performance } from 'node:perf_hooks';
import { ProtobufCodec } from '../../src/apiserver/protobuf/ProtobufCodec.ts';

const [url = '', token = '', caFile = '', seconds = '10'] = process.argv.slice(2);
const ca = readFileSync(caFile, 'utf8');
// A connection per request: on one kept-alive connection the server reset a PATCH after some 240 requests of this
// mix (not yet understood; see the notes), which would end the load early.
const agent = new Agent({ keepAlive: false });

const send = (method: string, path: string, body?: string | Buffer, type = 'application/json'): Promise<number> =>
  new Promise((resolve, reject) => {
    const req = httpsRequest(new URL(path, url), { method, ca, agent, headers: { authorization: `Bearer ${token}`, 'content-type': type } }, (res) => {
      res.resume();
      res.on('end', () => resolve(res.statusCode ?? 0));
    });
    req.on('error', (err) => reject(new Error(`${method} ${path}: ${err.message}`, { cause: err })));
    req.end(body);
  });

const data = Object.fromEntries(Array.from({ length: 4_900 }, (_, i) => [`k${i}`, 'v']));
const pb = new ProtobufCodec().encode({ apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'pb', namespace: 'default' }, data });
const smp = 'application/strategic-merge-patch+json';
await send('POST', '/api/v1/namespaces/default/configmaps', JSON.stringify({ apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'grow' } }));
const deadline = performance.now() + Number(seconds) * 1000;
const rounds: number[] = [];
let requests = 0;
for (let round = 0; performance.now() < deadline; round++) {
  const t = performance.now();
  const created = await send('POST', '/api/v1/namespaces/default/configmaps', pb, 'application/vnd.kubernetes.protobuf');
  if (created !== 201) throw new Error(`protobuf create answered ${created}`);
  await send('DELETE', '/api/v1/namespaces/default/configmaps/pb');
  const names = Array.from({ length: 4_900 }, (_, i) => `example.com/r${round}-${i}`);
  const grown = await send('PATCH', '/api/v1/namespaces/default/configmaps/grow', JSON.stringify({ metadata: { finalizers: names } }), smp);
  // Past the stored-object limit the list stops growing (413); the deletions go on regardless.
  if (grown !== 200 && grown !== 413) throw new Error(`strategic merge patch answered ${grown}`);
  const half = names.filter((_, i) => i % 2 === 0);
  await send('PATCH', '/api/v1/namespaces/default/configmaps/grow', JSON.stringify({ metadata: { '$deleteFromPrimitiveList/finalizers': half } }), smp);
  rounds.push(performance.now() - t);
  requests += 4;
}
process.stdout.write(`${JSON.stringify({ requests, rounds })}\n`);
agent.destroy();
