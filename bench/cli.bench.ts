/**
 * CLI start-up: `fleetops --help` and `fleetops get promises` (against a running FleetOps) as whole commands, the
 * median of N runs each, against the floor measured in the same run: `node -e 0` (Node's own start-up).
 * Figures only, no assertions. Usage: node bench/cli.bench.ts [--runs 15]
 */
import { execFile } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { promisify } from 'node:util';
import { pino } from 'pino';
import { startFleetOps } from '../src/main.ts';
import { arg } from './lib/figures.ts';

const RUNS = arg('runs', 15);
const CLI = join(import.meta.dirname, '..', 'src', 'cli', 'main.ts');

const run = promisify(execFile);

/** Asynchronously: FleetOps answers from this same process. */
async function median(args: string[]): Promise<number> {
  const times: number[] = [];
  for (let i = 0; i < RUNS; i++) {
    const t = performance.now();
    await run(process.execPath, args);
    times.push(performance.now() - t);
  }
  return times.sort((a, b) => a - b)[Math.floor(RUNS / 2)] as number;
}

async function main(): Promise<void> {
  const dir = mkdtempSync(join(tmpdir(), 'fleetops-clibench-'));
  const fleet = await startFleetOps({ dataDir: join(dir, 'fleet'), port: 0, logger: pino({ level: 'silent' }), defaultDestinations: false });
  try {
    const floor = await median(['-e', '0']);
    const help = await median([CLI, '--help']);
    const get = await median([CLI, '--kubeconfig', fleet.kubeconfigPath, 'get', 'promises']);
    console.log(`CLI start-up, median of ${RUNS} runs of the whole command:`);
    console.log(`  fleetops --help:         ${help.toFixed(0)} ms`);
    console.log(`  fleetops get promises:   ${get.toFixed(0)} ms (against a running FleetOps)`);
    console.log(`  floor, node -e 0:        ${floor.toFixed(0)} ms`);
  } finally {
    await fleet.stop();
    rmSync(dir, { recursive: true, force: true });
  }
}

await main();
