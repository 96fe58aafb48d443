/**
 * What observability costs the fleet update: the rollout benchmark (bench/rollout.bench.ts) run in fresh processes
 * with metrics off (FLEETOPS_METRICS=off, the floor), with metrics on (the default), and with metrics on and tracing
 * exporting every span over OTLP/HTTP to a sink in this process. Each variant runs `--rounds` times, interleaved
 * (off, on, traced, off, …) so the machine's drift spreads evenly; the best round of each is compared. Also the CLI's
 * start-up, which must not load any of it. Figures only, no assertions.
 *
 * Usage: node bench/telemetry.bench.ts [--resources 2000] [--rounds 2]
 */
import { execFile } from 'node:child_process';
import { createServer } from 'node:http';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { promisify } from 'node:util';
import { arg } from './lib/figures.ts';

const run = promisify(execFile);
const N = arg('resources', 2000);
const ROUNDS = arg('rounds', 2);
const ROLLOUT = join(import.meta.dirname, 'rollout.bench.ts');
const CLI = join(import.meta.dirname, '..', 'src', 'cli', 'main.ts');

/** An OTLP/HTTP endpoint that accepts and counts what it is sent (the collector's cost is not FleetOps'). */
async function otlpSink(): Promise<{ url: string; bytes(): number; close(): Promise<void> }> {
  let bytes = 0;
  const server = createServer((req, res) => {
    req.on('data', (c: Buffer) => (bytes += c.length));
    req.on('end', () => res.writeHead(200, { 'content-type': 'application/x-protobuf' }).end());
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const { port } = server.address() as { port: number };
  return { url: `http://127.0.0.1:${port}`, bytes: () => bytes, close: () => new Promise((r) => server.close(() => r())) };
}

interface Figures {
  cpuMsPerResource: number;
  updateSeconds: number;
}

async function rollout(env: Record<string, string>): Promise<Figures> {
  const { stdout } = await run(process.execPath, [ROLLOUT, '--resources', String(N), '--no-floor'], {
    env: { ...process.env, ...env },
    maxBuffer: 64 * 1024 * 1024,
  });
  const cpu = /CPU during the update: ([\d.]+) ms per resource/.exec(stdout);
  const took = /every output committed to Git: +([\d.]+) s/.exec(stdout);
  if (!cpu || !took) throw new Error(`unexpected output of the rollout benchmark:\n${stdout}`);
  return { cpuMsPerResource: Number(cpu[1]), updateSeconds: Number(took[1]) };
}

async function cliStart(runs: number): Promise<number> {
  const times: number[] = [];
  for (let i = 0; i < runs; i++) {
    const t = performance.now();
    await run(process.execPath, [CLI, '--help']);
    times.push(performance.now() - t);
  }
  return times.sort((a, b) => a - b)[Math.floor(runs / 2)] ?? 0;
}

async function main(): Promise<void> {
  const sink = await otlpSink();
  const variants = {
    'metrics off': { FLEETOPS_METRICS: 'off' },
    'metrics on, tracing off': {},
    'metrics on, tracing on': { OTEL_EXPORTER_OTLP_ENDPOINT: sink.url },
  } as const;
  const best = new Map<string, Figures>();
  try {
    for (let round = 1; round <= ROUNDS; round++) {
      for (const [name, env] of Object.entries(variants)) {
        process.stderr.write(`round ${round}/${ROUNDS}: ${name}…\n`);
        const f = await rollout(env);
        const prev = best.get(name);
        if (!prev || f.cpuMsPerResource < prev.cpuMsPerResource) best.set(name, f);
      }
    }
  } finally {
    await sink.close();
  }
  const floor = best.get('metrics off')!;
  console.log(`Fleet update of ${N} resources (bench/rollout.bench.ts), best of ${ROUNDS} interleaved rounds per variant:`);
  for (const [name, f] of best) {
    const extra =
      name === 'metrics off'
        ? '(the floor)'
        : `${f.cpuMsPerResource >= floor.cpuMsPerResource ? '+' : ''}${((100 * (f.cpuMsPerResource - floor.cpuMsPerResource)) / floor.cpuMsPerResource).toFixed(1)}% CPU`;
    console.log(`  ${name.padEnd(24)} FleetOps CPU ${f.cpuMsPerResource.toFixed(2)} ms per resource, update ${f.updateSeconds.toFixed(1)} s   ${extra}`);
  }
  console.log(`  spans exported while traced: ${(sink.bytes() / 1024 / 1024).toFixed(1)} MiB of OTLP protobuf in all rounds`);
  console.log(`  CLI start (fleetops --help, median of 11): ${(await cliStart(11)).toFixed(0)} ms (loads neither prom-client nor OpenTelemetry)`);
}

await main();
