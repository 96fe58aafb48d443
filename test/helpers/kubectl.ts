/**
 * Runs the real kubectl 1.32 (the versioned binary beside the machine's kubectl dispatcher) against a test fleet,
 * with its own discovery cache directory.
 */
import { spawn, execFileSync } from 'node:child_process';
import { existsSync, mkdtempSync, realpathSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';

export function kubectlBinary(): string {
  if (process.env.KUBECTL) return process.env.KUBECTL;
  try {
    const which = execFileSync('sh', ['-c', 'command -v kubectl'], { encoding: 'utf8' }).trim();
    const versioned = join(dirname(realpathSync(which)), 'kubectl.1.32');
    if (existsSync(versioned)) return versioned;
    return which;
  } catch {
    throw new Error('kubectl is not installed: run scripts/setup-test-deps.sh');
  }
}

export interface KubectlResult {
  code: number;
  stdout: string;
  stderr: string;
}

export interface Kubectl {
  (args: string[], opts?: { input?: string; env?: Record<string, string>; timeoutMs?: number }): Promise<KubectlResult>;
  /** Starts a long-running kubectl (e.g. --watch); returns a handle to read output and stop it. */
  spawn(args: string[]): { output(): string; stop(): void };
}

export function kubectlFor(kubeconfig: string): Kubectl {
  const bin = kubectlBinary();
  const cacheDir = mkdtempSync(join(tmpdir(), 'kubectl-cache-'));
  const base = ['--kubeconfig', kubeconfig, '--cache-dir', cacheDir];
  const run = ((args, opts = {}) =>
    new Promise<KubectlResult>((resolve, reject) => {
      const child = spawn(bin, [...base, ...args], { env: { ...process.env, HOME: cacheDir, ...opts.env }, stdio: ['pipe', 'pipe', 'pipe'] });
      let stdout = '';
      let stderr = '';
      child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
      child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
      const timer = setTimeout(() => child.kill('SIGKILL'), opts.timeoutMs ?? 60_000);
      child.on('error', reject);
      child.on('close', (code) => {
        clearTimeout(timer);
        resolve({ code: code ?? -1, stdout, stderr });
      });
      child.stdin.end(opts.input ?? '');
    })) as Kubectl;
  run.spawn = (args) => {
    const child = spawn(bin, [...base, ...args], { env: { ...process.env, HOME: cacheDir }, stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    child.stdout.on('data', (d: Buffer) => (out += d.toString()));
    child.stderr.on('data', (d: Buffer) => (out += d.toString()));
    return { output: () => out, stop: () => void child.kill('SIGTERM') };
  };
  return run;
}

/** Each App's name and `status.replicas`, as `kubectl get apps` shows them (custom columns). */
export async function appReplicas(kubectl: Kubectl): Promise<Map<string, string>> {
  const r = await kubectl(['get', 'apps', '-o', 'custom-columns=NAME:.metadata.name,REPLICAS:.status.replicas', '--no-headers']);
  if (r.code !== 0) throw new Error(`kubectl get apps failed: ${r.stderr}`);
  return new Map(
    r.stdout
      .trim()
      .split('\n')
      .map((l) => l.trim().split(/\s+/) as [string, string]),
  );
}
