/**
 * Git state store benchmark, side by side in one run:
 *  - N resource outputs (default 10,000) written by the FleetOps Git writer in batches (one commit per batch) to a bare
 *    repository on this machine, which it writes in place;
 *  - the same to a repository with a receive hook, which the writer pushes to (a fetch, a commit and a push per batch);
 *  - the same writer with one commit per resource (Kratix's way: a commit per WorkPlacement), on a sample
 *    (default 300) and extrapolated to N;
 *  - the floor: bare `git add` + `git commit` of one file per resource in a local repository (no fetch, no push).
 * Figures only. Usage: node bench/git.bench.ts [--resources 10000] [--batch 1000] [--per-commit-sample 300]
 */
import { execFile } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { promisify } from 'node:util';
import { GitWriter } from '../src/statestores/GitWriter.ts';
import { GIT_MALLOC_ENV } from '../src/lib/gitEnv.ts';
import { arg } from './lib/figures.ts';

const run = promisify(execFile);
const N = arg('resources', 10_000);
const BATCH = arg('batch', 1000);
const SAMPLE = arg('per-commit-sample', 300);

const path = (i: number): string => `worker-1/resources/default/app/app-${i}/resource-configure/5058f/deployment.yaml`;
const content = (i: number): Buffer =>
  Buffer.from(
    `apiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: app-${i}\n  namespace: default\nspec:\n  replicas: 2\n  selector:\n    matchLabels: {app: app-${i}}\n  template:\n    metadata:\n      labels: {app: app-${i}}\n    spec:\n      containers:\n        - name: app\n          image: registry.example.com/app-${i}:1.0\n`,
  );

/** A writer to a new bare repository; `pushed`: the repository has a receive hook, so the writer pushes to it. */
async function writer(dir: string, name: string, pushed = false): Promise<GitWriter> {
  const bare = join(dir, `${name}.git`);
  await run('git', ['init', '-q', '--bare', '-b', 'main', bare]);
  if (pushed) writeFileSync(join(bare, 'hooks', 'post-receive'), '#!/bin/sh\ncat > /dev/null\n', { mode: 0o755 });
  return new GitWriter({
    url: `file://${bare}`,
    branch: 'main',
    workDir: join(dir, `${name}-work`),
    author: { name: 'bench', email: 'bench@fleetops' },
    auth: { kind: 'none' },
  });
}

async function main(): Promise<void> {
  const dir = mkdtempSync(join(tmpdir(), 'fleetops-gitbench-'));
  try {
    // batched: outputs arrive BATCH at a time; each batch is one sync (one commit)
    const batched = async (w: GitWriter): Promise<{ ms: number; commits: number; noopMs: number; noopChanged: number }> => {
      const files = new Map<string, Buffer>();
      const start = performance.now();
      let commits = 0;
      for (let i = 0; i < N; i += BATCH) {
        for (let j = i; j < Math.min(N, i + BATCH); j++) files.set(path(j), content(j));
        const r = await w.sync({ roots: ['worker-1'], files, message: `batch ${i / BATCH}` });
        if (r.changed) commits++;
      }
      const ms = performance.now() - start;
      const noopStart = performance.now();
      const noop = await w.sync({ roots: ['worker-1'], files, message: 'noop' });
      return { ms, commits, noopMs: performance.now() - noopStart, noopChanged: noop.changed };
    };
    const inPlace = await batched(await writer(dir, 'batched'));
    const throughPush = await batched(await writer(dir, 'batched-pushed', true));
    const batchedMs = inPlace.ms;

    // one commit per resource, on a sample
    const single = await writer(dir, 'single');
    const one = new Map<string, Buffer>();
    let start = performance.now();
    for (let i = 0; i < SAMPLE; i++) {
      one.set(path(i), content(i));
      await single.sync({ roots: ['worker-1'], files: one, message: `Update from: app-${i}` });
    }
    const perCommitMs = (performance.now() - start) / SAMPLE;

    // floor: bare git add + commit per file, local only
    const floorRepo = join(dir, 'floor');
    await run('git', ['init', '-q', '-b', 'main', floorRepo]);
    const env = { ...process.env, ...GIT_MALLOC_ENV, GIT_AUTHOR_NAME: 'b', GIT_AUTHOR_EMAIL: 'b@b', GIT_COMMITTER_NAME: 'b', GIT_COMMITTER_EMAIL: 'b@b' };
    start = performance.now();
    for (let i = 0; i < SAMPLE; i++) {
      const f = join(floorRepo, path(i));
      mkdirSync(join(f, '..'), { recursive: true });
      writeFileSync(f, content(i));
      await run('git', ['-C', floorRepo, 'add', '-A'], { env });
      await run('git', ['-C', floorRepo, 'commit', '-q', '-m', `c${i}`], { env });
    }
    const floorPerCommitMs = (performance.now() - start) / SAMPLE;

    const s = (ms: number): string => `${(ms / 1000).toFixed(2)} s`;
    console.log(`${N} resource outputs to a Git state store (file:// remote, real git):`);
    for (const [how, r] of [
      ['written in place (a bare repository on this machine, no push hooks)', inPlace],
      ['pushed to (the same with a receive hook: fetch, commit, push)', throughPush],
    ] as const)
      console.log(
        `  batched, ${BATCH} per batch, ${how}: ${s(r.ms)} for ${r.commits} commits (${(N / (r.ms / 1000)).toFixed(0)} outputs/s, ${(r.ms / r.commits).toFixed(0)} ms per commit); re-sync with nothing changed: ${r.noopMs.toFixed(0)} ms, ${r.noopChanged} files changed`,
      );
    console.log(
      `  one commit per resource (FleetOps writer in place, a commit each): ${perCommitMs.toFixed(1)} ms per resource on ${SAMPLE} → ${s(perCommitMs * N)} for ${N} (extrapolated)`,
    );
    console.log(
      `  floor, bare git add+commit per resource (no fetch/push): ${floorPerCommitMs.toFixed(1)} ms per resource on ${SAMPLE} → ${s(floorPerCommitMs * N)} for ${N} (extrapolated)`,
    );
    console.log(
      `  batched vs one commit per resource: ${((perCommitMs * N) / batchedMs).toFixed(0)}× faster; vs the bare-commit floor: ${((floorPerCommitMs * N) / batchedMs).toFixed(0)}× faster`,
    );
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

await main();
