/**
 * Concurrent creates through the HTTPS API, run in a process of its own (as clients on other machines would be, so
 * their TLS and JSON work is not counted against the server's event loop). Prints one JSON line: the seconds taken.
 * Usage: node bench/lib/writeLoad.ts <kubeconfig> <writes> <concurrency> <name prefix>
 */
import { performance } from 'node:perf_hooks';
import { HttpClient } from '../../src/client/HttpClient.ts';
import { loadKubeconfig } from '../../src/client/kubeconfig.ts';

const [kubeconfig = '', writes = '1000', concurrency = '16', prefix = 'w'] = process.argv.slice(2);
const client = new HttpClient(loadKubeconfig(kubeconfig));
const total = Number(writes);
let next = 0;
const start = performance.now();
await Promise.all(
  Array.from({ length: Number(concurrency) }, async () => {
    for (let i = next++; i < total; i = next++)
      await client.request('POST', '/api/v1/namespaces/default/configmaps', {
        body: { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: `${prefix}${i}`, labels: { bench: 'yes' } }, data: { payload: 'x'.repeat(200) } },
      });
  }),
);
console.log(JSON.stringify({ seconds: (performance.now() - start) / 1000 }));
client.close();
