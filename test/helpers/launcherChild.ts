/**
 * A stand-in for FleetOps in the helper test: starts a sandboxed `sleep` through a HelperLauncher, prints the
 * helper's pid, and waits to be killed.
 */
import { dirname } from 'node:path';
import { BwrapRuntime } from '../../src/workflows/runtime/BwrapRuntime.ts';
import { HelperLauncher } from '../../src/workflows/runtime/HelperLauncher.ts';

const [workspace, seconds] = process.argv.slice(2) as [string, string];
const launcher = new HelperLauncher();
const runtime = new BwrapRuntime({ hiddenPaths: [], pathPrefix: [dirname(process.execPath)], launcher });
const dirs = { input: `${workspace}/input`, output: `${workspace}/output`, metadata: `${workspace}/metadata` };
const running = runtime.run(
  { name: 's', image: '', command: ['sleep', seconds], args: [], env: {}, dirs, network: false, timeoutMs: 60_000, maxLogBytes: 1024 },
  {},
);
process.stdout.write(`helper ${String(launcher.pid)}\n`);
await running;
