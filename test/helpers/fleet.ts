/** Starts a throw-away FleetOps (own data dir, free port, silent logs) for one test file. */
import { execFile } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pino } from 'pino';
import { startFleetOps, type FleetOps, type FleetOpsOptions } from '../../src/main.ts';
import { HttpClient } from '../../src/client/HttpClient.ts';
import { loadKubeconfig } from '../../src/client/kubeconfig.ts';
import { buildExampleImage, buildTestImage } from './images.ts';

export interface TestFleet extends FleetOps {
  client: HttpClient;
  cleanup(): Promise<void>;
}

export interface TestFleetOptions extends Partial<FleetOpsOptions> {
  /** Also build the app-as-a-service example's pipeline image (a Node image: a few seconds). */
  exampleImage?: boolean;
}

/** A fleet with the test busybox image (TEST_IMAGE) in its cache, and the example's image when asked. */
export async function startTestFleet(options: TestFleetOptions = {}): Promise<TestFleet> {
  const { exampleImage, ...fleetOptions } = options;
  const dataDir = options.dataDir ?? mkdtempSync(join(tmpdir(), 'fleetops-test-'));
  // Default Destinations are opt-in in tests, so each test states the destinations it relies on.
  const fleet = await startFleetOps({
    dataDir,
    port: 0,
    logger: pino({ level: process.env.TEST_LOG_LEVEL ?? 'silent' }),
    heartbeatMs: 1000,
    defaultDestinations: false,
    ...fleetOptions,
  });
  await buildTestImage(fleet.images);
  if (exampleImage) await buildExampleImage(fleet.images);
  const client = new HttpClient(loadKubeconfig(fleet.kubeconfigPath));
  return {
    ...fleet,
    client,
    async cleanup() {
      client.close();
      await fleet.stop();
      if (!options.dataDir) rmSync(dataDir, { recursive: true, force: true });
    },
  };
}

/** Polls `check` until it returns a truthy value or the timeout passes (then throws with the last value). */
export async function eventually<T>(check: () => Promise<T> | T, timeoutMs = 20_000, what = 'condition'): Promise<NonNullable<T>> {
  const deadline = Date.now() + timeoutMs;
  let last: T | undefined;
  let lastErr: unknown;
  while (Date.now() < deadline) {
    try {
      last = await check();
      if (last) return last as NonNullable<T>;
    } catch (err) {
      lastErr = err;
    }
    await new Promise((r) => setTimeout(r, 50));
  }
  throw new Error(`timed out waiting for ${what}; last value: ${JSON.stringify(last)}${lastErr ? `; last error: ${String(lastErr)}` : ''}`);
}

export interface CliRun {
  code: number;
  stdout: string;
  stderr: string;
}

/** Runs the `fleetops` CLI as a user does: a child process with the fleet's kubeconfig. */
export function fleetopsCli(kubeconfigPath: string, cwd?: string): (args: string[], input?: string, timeoutMs?: number) => Promise<CliRun> {
  const main = join(import.meta.dirname, '..', '..', 'src', 'cli', 'main.ts');
  return (args, input, timeoutMs = 30_000) =>
    new Promise((resolve) => {
      const child = execFile(
        process.execPath,
        [main, '--kubeconfig', kubeconfigPath, ...args],
        { ...(cwd ? { cwd } : {}), timeout: timeoutMs },
        (err, stdout, stderr) => resolve({ code: err ? ((err as { code?: number }).code ?? 1) : 0, stdout, stderr }),
      );
      if (input !== undefined) child.stdin!.end(input);
    });
}

/** Creates a Promise through the API and waits until it is Available (its kind served), as `kubectl apply` then waits. */
export async function installPromise(fleet: { client: HttpClient }, promise: { metadata: { name?: string } }, timeoutMs = 30_000): Promise<void> {
  await fleet.client.request('POST', '/apis/platform.kratix.io/v1alpha1/promises', { body: promise });
  const name = promise.metadata.name ?? '';
  await eventually(
    async () => (await fleet.client.get<{ status?: { status?: string } }>(`/apis/platform.kratix.io/v1alpha1/promises/${name}`)).status?.status === 'Available',
    timeoutMs,
    `Promise ${name} available`,
  );
}
