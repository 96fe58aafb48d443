/**
 * The API under the heaviest accepted input: one client sends the largest YAML bodies the API accepts (just under the
 * node limit: an application team's by default (5,000), the platform team's with --admin (50,000)) while pipeline steps write the largest status.yaml accepted (256 KiB), and meanwhile /healthz
 * and a small GET are timed every 20 ms. Prints their p50, p99 and worst latency, and how long the big requests took.
 * With --tenant the team's load is instead its largest protobuf bodies (ConfigMaps of 4,900 entries, created and
 * deleted) and strategic merge patches back to back (4,900 finalizers merged into a growing list, then
 * `$deleteFromPrimitiveList` of as many), the two bodies the API once spent seconds on.
 * Figures only, no assertions. Usage: node bench/limits.bench.ts [--seconds 30] [--admin | --tenant]
 */
import { request as httpsRequest } from 'node:https';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { pino } from 'pino';
import { startFleetOps } from '../src/main.ts';
import { BENCH_IMAGE, buildBenchImage } from './lib/benchImage.ts';
import { testPromise } from '../test/helpers/promises.ts';
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { arg } from './lib/figures.ts';

const SECONDS = arg('seconds', 30);
/** Whose largest body: an application team's (the default, 10,000 nodes) or the platform team's (50,000). */
const AS_ADMIN = process.argv.includes('--admin');
const KEYS = AS_ADMIN ? 49_900 : 4_900;
const TENANT = process.argv.includes('--tenant');

async function main(): Promise<void> {
  const dir = mkdtempSync(join(tmpdir(), 'fleetops-limitsbench-'));
  mkdirSync(join(dir, 'fleet'));
  const teamToken = 'team-a-token-of-the-limits-bench';
  writeFileSync(
    join(dir, 'fleet', 'tokens.json'),
    JSON.stringify({
      users: [
        { name: 'admin', role: 'admin', namespaces: [], token: 'admin-token-of-the-limits-bench' },
        { name: 'team-a', role: 'team', namespaces: ['default'], token: teamToken },
      ],
    }),
  );
  // Memory is given back after 5 s without requests (10 s by default), so the figure below shows it.
  const fleet = await startFleetOps({
    dataDir: join(dir, 'fleet'),
    port: 0,
    logger: pino({ level: 'silent' }),
    defaultDestinations: false,
    idleMemory: { idleMs: 5000, everyMs: 1000 },
  });
  const send = (method: string, path: string, body?: string | Buffer, type = 'application/json', token = fleet.adminToken): Promise<number> =>
    new Promise((resolve, reject) => {
      const req = httpsRequest(
        new URL(path, fleet.url),
        { method, ca: fleet.caCert, headers: { authorization: `Bearer ${token}`, 'content-type': type } },
        (res) => {
          res.resume();
          res.on('end', () => resolve(res.statusCode ?? 0));
        },
      );
      req.on('error', reject);
      req.end(body);
    });
  try {
    await buildBenchImage(fleet.images);
    const status = 'i=0; while [ $i -lt 4900 ]; do echo "k$i: value-$i"; i=$((i+1)); done > /kratix/metadata/status.yaml';
    const pipeline = { name: 'p', spec: { containers: [{ name: 's', image: BENCH_IMAGE, command: ['sh', '-c', status] }] } };
    await send(
      'POST',
      '/apis/platform.kratix.io/v1alpha1/promises',
      JSON.stringify(testPromise({ kind: 'Chatty', plural: 'chatties', group: 'bench.fleetops.dev', pipeline })),
    );
    while (!fleet.registry.byKind('bench.fleetops.dev', 'Chatty')) await new Promise((r) => setTimeout(r, 20));
    await send(
      'POST',
      '/api/v1/namespaces/default/configmaps',
      JSON.stringify({ apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'small' }, data: { a: 'b' } }),
    );
    const big = `apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: big\ndata:\n${Array.from({ length: KEYS }, (_, i) => `  k${i.toString(36)}: v`).join('\n')}\n`;
    const deadline = performance.now() + SECONDS * 1000;
    const bigTimes: number[] = [];
    let statuses = 0;
    let tenantOps = 0;
    const loads = [
      TENANT
        ? (async () => {
            // In a process of its own, as a team's client is: its work is not the server's.
            const caFile = join(dir, 'ca.crt');
            writeFileSync(caFile, fleet.caCert);
            const child = spawn(process.execPath, [join(import.meta.dirname, 'lib', 'tenantLoad.ts'), fleet.url, teamToken, caFile, String(SECONDS)], {
              stdio: ['ignore', 'pipe', 'inherit'],
            });
            let out = '';
            child.stdout.on('data', (d: Buffer) => (out += d.toString()));
            const [code] = (await once(child, 'exit')) as [number | null];
            if (code !== 0) throw new Error(`the tenant load exited with ${String(code)}`);
            const result = JSON.parse(out) as { requests: number; rounds: number[] };
            tenantOps = result.requests;
            bigTimes.push(...result.rounds);
          })()
        : (async () => {
            while (performance.now() < deadline) {
              const t = performance.now();
              const code = await send(
                'PATCH',
                '/api/v1/namespaces/default/configmaps/big?fieldManager=bench&force=true',
                big,
                'application/apply-patch+yaml',
                AS_ADMIN ? fleet.adminToken : teamToken,
              );
              if (code >= 300) throw new Error(`big apply answered ${code}`);
              bigTimes.push(performance.now() - t);
            }
          })(),
      (async () => {
        for (let i = 0; performance.now() < deadline; i++) {
          await send(
            'POST',
            '/apis/bench.fleetops.dev/v1/namespaces/default/chatties',
            JSON.stringify({ apiVersion: 'bench.fleetops.dev/v1', kind: 'Chatty', metadata: { name: `c-${i}` }, spec: {} }),
          );
          statuses++;
          await new Promise((r) => setTimeout(r, 500));
        }
      })(),
    ];
    const rssBefore = process.memoryUsage().rss;
    let rssPeak = rssBefore;
    const rssTimer = setInterval(() => (rssPeak = Math.max(rssPeak, process.memoryUsage().rss)), 100);
    const health: number[] = [];
    const gets: number[] = [];
    while (performance.now() < deadline) {
      let t = performance.now();
      await send('GET', '/healthz');
      health.push(performance.now() - t);
      t = performance.now();
      await send('GET', '/api/v1/namespaces/default/configmaps/small');
      gets.push(performance.now() - t);
      await new Promise((r) => setTimeout(r, 20));
    }
    await Promise.all(loads);
    clearInterval(rssTimer);
    await new Promise((r) => setTimeout(r, 10_000));
    const mib = (n: number): string => `${Math.round(n / 1024 / 1024)} MiB`;
    const pct = (xs: number[], p: number): string => [...xs].sort((a, b) => a - b)[Math.min(xs.length - 1, Math.floor((xs.length * p) / 100))]!.toFixed(1);
    if (TENANT)
      console.log(
        `${SECONDS} s of load: ${tenantOps} requests by an application team (protobuf ConfigMaps of 4,900 entries created and deleted, strategic merge patches of 4,900 finalizers merged and removed; a round ${pct(bigTimes, 50)} ms median)`,
      );
    else
      console.log(
        `${SECONDS} s of load: ${bigTimes.length} applies by ${AS_ADMIN ? 'the platform team' : 'an application team'} of a ${KEYS}-key YAML ConfigMap (${(big.length / 1024 / 1024).toFixed(2)} MiB; each ${pct(bigTimes, 50)} ms median), ${statuses} requests whose step writes a 4,900-key status.yaml`,
      );
    console.log(`  /healthz:           p50 ${pct(health, 50)} ms, p99 ${pct(health, 99)} ms, worst ${pct(health, 100)} ms (${health.length} requests)`);
    console.log(`  GET of a ConfigMap: p50 ${pct(gets, 50)} ms, p99 ${pct(gets, 99)} ms, worst ${pct(gets, 100)} ms`);
    console.log(`  resident memory: ${mib(rssBefore)} before, ${mib(rssPeak)} at the peak, ${mib(process.memoryUsage().rss)} 10 s after the load`);
  } finally {
    await fleet.stop();
    rmSync(dir, { recursive: true, force: true });
  }
}

await main();
