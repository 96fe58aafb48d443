/** Runs `src/main.ts` as a separate process (for crash tests), reading where it listens from its output. */
import { spawn, type ChildProcess } from 'node:child_process';
import { resolve } from 'node:path';
import { HttpClient } from '../../src/client/HttpClient.ts';
import { loadKubeconfig } from '../../src/client/kubeconfig.ts';
import { cgroupsNameFor, openCgroups } from '../../src/workflows/runtime/cgroups.ts';

export interface FleetProcess {
  child: ChildProcess;
  client: HttpClient;
  output(): string;
  kill(signal: NodeJS.Signals): Promise<void>;
}

export async function spawnFleet(dataDir: string, env: Record<string, string> = {}, nodeArgs: string[] = []): Promise<FleetProcess> {
  const child = spawn(process.execPath, [...nodeArgs, 'src/main.ts'], {
    env: { ...process.env, FLEETOPS_HOME: dataDir, FLEETOPS_PORT: '0', FLEETOPS_LOG_LEVEL: 'warn', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  child.stdout?.on('data', (d: Buffer) => (out += d.toString()));
  child.stderr?.on('data', (d: Buffer) => (out += d.toString()));
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  const deadline = Date.now() + 30_000;
  while (!/listening on/.test(out)) {
    if (child.exitCode !== null || Date.now() > deadline) throw new Error(`FleetOps did not start:\n${out}`);
    await new Promise((r) => setTimeout(r, 50));
  }
  const client = new HttpClient(loadKubeconfig(`${dataDir}/kubeconfig`));
  return {
    child,
    client,
    output: () => out,
    async kill(signal) {
      client.close();
      if (child.exitCode === null) child.kill(signal);
      await exited;
      // Killed hard, it could not remove its step cgroups: done here, as the next FleetOps on the directory would.
      if (signal === 'SIGKILL') removeStepCgroups(dataDir);
    },
  };
}

/** Removes the step cgroups of FleetOps processes of `dataDir` (none where this machine gives none). */
function removeStepCgroups(dataDir: string): void {
  const groups = openCgroups({ name: cgroupsNameFor(resolve(dataDir)) });
  if (typeof groups !== 'string') groups.close();
}
