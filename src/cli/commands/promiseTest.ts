/**
 * `fleetops promise test [DIR]`: runs a Promise's resource configure workflows on this machine — no FleetOps server,
 * no Docker — in the same sandbox and image cache `fleetops up` uses, against cases kept beside the Promise:
 *
 *   DIR/promise.yaml
 *   DIR/test/<case>/input.yaml                   the resource request
 *   DIR/test/<case>/output/…                     expected output files (output/<pipeline>/… with several pipelines)
 *   DIR/test/<case>/status.yaml                  expected status fields (absent: none)
 *   DIR/test/<case>/destination-selectors.yaml   expected selectors (absent: none)
 *
 * Each case passes when what the workflows write equals what the case expects; a mismatch prints a diff. `--update`
 * writes what they wrote as the new expectation. Exit code 0 when every case passes, 1 otherwise; `--junit FILE`
 * writes a JUnit report for CI. Step images come from the local cache (`fleetops image build`) or a registry.
 */
import { chmodSync, existsSync, mkdirSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { pino } from 'pino';
import { parseAllDocuments, stringify } from 'yaml';
import { isKubeObject, isPlainObject, type KubeObject } from '../../api/types.ts';
import { errorMessage } from '../../api/errors.ts';
import { PipelineRunner, type Pipeline } from '../../workflows/PipelineRunner.ts';
import { openImageCache } from '../../workflows/images/openImageCache.ts';
import { HelperLauncher } from '../../workflows/runtime/HelperLauncher.ts';
import { openSandboxRuntime } from '../../workflows/runtime/openSandboxRuntime.ts';
import { lineDiff } from '../lineDiff.ts';

export interface PromiseTestOptions {
  update?: boolean;
  junit?: string;
  /** Only cases whose name contains this. */
  run?: string;
  dataDir: string;
}

type Out = (line: string) => void;

interface CaseResult {
  name: string;
  ok: boolean;
  seconds: number;
  /** What differs (a diff), or why the case could not run. */
  detail?: string;
}

/** The Promise in DIR/promise.yaml (or the file given), and where its cases live. */
function loadPromise(path: string): { promise: KubeObject; folder: string } {
  const file = existsSync(path) && statSync(path).isDirectory() ? join(path, 'promise.yaml') : path;
  if (!existsSync(file)) throw new Error(`no Promise at ${file}: give the Promise's folder (with promise.yaml) or its file`);
  const docs = parseAllDocuments(readFileSync(file, 'utf8')).map((d): unknown => d.toJS());
  const promise = docs.find((d): d is KubeObject => isKubeObject(d) && d.kind === 'Promise');
  if (!promise) throw new Error(`${file} holds no Promise (kind: Promise)`);
  return { promise, folder: dirname(resolve(file)) };
}

function configurePipelines(promise: KubeObject): Pipeline[] {
  const spec = isPlainObject(promise.spec) ? promise.spec : {};
  const workflows = isPlainObject(spec.workflows) ? spec.workflows : {};
  const resource = isPlainObject(workflows.resource) ? workflows.resource : {};
  const list = Array.isArray(resource.configure) ? resource.configure : [];
  return list.filter((p): p is Pipeline => isPlainObject(p) && isPlainObject(p.metadata) && isPlainObject(p.spec) && Array.isArray(p.spec.containers));
}

/** The served kind of the Promise's API (group, version, kind, plural), to check inputs against. */
function apiOf(promise: KubeObject): { apiVersions: string[]; kind: string; plural: string } | undefined {
  const spec = isPlainObject(promise.spec) ? promise.spec : {};
  const crd = isPlainObject(spec.api) && isPlainObject(spec.api.spec) ? spec.api.spec : undefined;
  const names = crd && isPlainObject(crd.names) ? crd.names : undefined;
  if (!crd || !names || typeof crd.group !== 'string' || typeof names.kind !== 'string') return undefined;
  const versions = Array.isArray(crd.versions) ? crd.versions.filter(isPlainObject).map((v) => `${String(crd.group)}/${String(v.name)}`) : [];
  return { apiVersions: versions, kind: names.kind, plural: typeof names.plural === 'string' ? names.plural : `${names.kind.toLowerCase()}s` };
}

/** Every file under a folder, by path relative to it (forward slashes). */
function filesUnder(root: string, base = root): Map<string, string> {
  const found = new Map<string, string>();
  if (!existsSync(root)) return found;
  for (const entry of readdirSync(root, { withFileTypes: true })) {
    const path = join(root, entry.name);
    if (entry.isDirectory()) for (const [k, v] of filesUnder(path, base)) found.set(k, v);
    else found.set(relative(base, path).split('\\').join('/'), readFileSync(path, 'utf8'));
  }
  return found;
}

function junitReport(suite: string, results: CaseResult[]): string {
  const esc = (t: string): string => t.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;');
  const failures = results.filter((r) => !r.ok).length;
  const time = results.reduce((t, r) => t + r.seconds, 0).toFixed(3);
  const cases = results.map((r) => {
    const head = `  <testcase classname="${esc(suite)}" name="${esc(r.name)}" time="${r.seconds.toFixed(3)}"`;
    return r.ok
      ? `${head}/>`
      : `${head}>\n    <failure message="${esc((r.detail ?? '').split('\n')[0] ?? '')}">${esc(r.detail ?? '')}</failure>\n  </testcase>`;
  });
  return `<?xml version="1.0" encoding="UTF-8"?>\n<testsuite name="${esc(suite)}" tests="${results.length}" failures="${failures}" time="${time}">\n${cases.join('\n')}\n</testsuite>\n`;
}

export async function promiseTestCommand(path: string, opts: PromiseTestOptions, out: Out): Promise<number> {
  const { promise, folder } = loadPromise(path);
  const name = promise.metadata.name ?? 'promise';
  const pipelines = configurePipelines(promise);
  if (!pipelines.length) throw new Error(`Promise ${name} has no resource configure pipeline (spec.workflows.resource.configure) to test`);
  const api = apiOf(promise);
  if (!api) throw new Error(`Promise ${name} has no spec.api (a CustomResourceDefinition): there is no resource kind to test`);
  const casesDir = join(folder, 'test');
  const cases = existsSync(casesDir)
    ? readdirSync(casesDir, { withFileTypes: true })
        .filter((d) => d.isDirectory() && existsSync(join(casesDir, d.name, 'input.yaml')) && (!opts.run || d.name.includes(opts.run)))
        .map((d) => d.name)
        .sort()
    : [];
  if (!cases.length) throw new Error(`no cases in ${casesDir}: add test/<case>/input.yaml (a ${api.kind}), then run with --update to record what it writes`);

  // Steps run as their own uid and reach their image roots below the data directory: it must be traversable, as
  // `fleetops up` makes it (what is secret in it has its own mode).
  mkdirSync(opts.dataDir, { recursive: true, mode: 0o711 });
  chmodSync(opts.dataDir, (statSync(opts.dataDir).mode & 0o777) | 0o111);
  const logger = pino({ level: process.env.FLEETOPS_LOG_LEVEL ?? 'silent' });
  const launcher = new HelperLauncher({ logger });
  const images = openImageCache(opts.dataDir, undefined, logger);
  images.start();
  const results: CaseResult[] = [];
  try {
    const runtime = await openSandboxRuntime({ dataDir: opts.dataDir, logger, launcher });
    const runner = new PipelineRunner({ runtime, images });
    for (const c of cases) {
      const started = performance.now();
      const result = await runCase(runner, promise, pipelines, api, join(casesDir, c), opts.update === true);
      results.push({ name: c, seconds: (performance.now() - started) / 1000, ...result });
      out(`${result.ok ? (opts.update ? 'UPDATED' : 'PASS') : 'FAIL'}  ${name}/${c}${result.ok ? '' : `\n${indent(result.detail ?? '')}`}`);
    }
  } finally {
    images.stop();
    await launcher.stop();
  }
  const failed = results.filter((r) => !r.ok).length;
  out(`${results.length - failed} passed, ${failed} failed`);
  if (opts.junit) {
    mkdirSync(dirname(resolve(opts.junit)), { recursive: true });
    writeFileSync(opts.junit, junitReport(`promise ${name}`, results));
  }
  return failed ? 1 : 0;
}

const indent = (text: string): string =>
  text
    .split('\n')
    .map((l) => `    ${l}`)
    .join('\n');

async function runCase(
  runner: PipelineRunner,
  promise: KubeObject,
  pipelines: Pipeline[],
  api: { apiVersions: string[]; kind: string; plural: string },
  dir: string,
  update: boolean,
): Promise<{ ok: boolean; detail?: string }> {
  let input: unknown;
  try {
    input = parseAllDocuments(readFileSync(join(dir, 'input.yaml'), 'utf8'))[0]?.toJS();
  } catch (err) {
    return { ok: false, detail: `input.yaml is not YAML: ${errorMessage(err)}` };
  }
  if (!isKubeObject(input) || input.kind !== api.kind || !api.apiVersions.includes(input.apiVersion))
    return { ok: false, detail: `input.yaml must be a ${api.kind} (${api.apiVersions.join(' or ')})` };
  let object: KubeObject = { ...input, metadata: { ...input.metadata, namespace: input.metadata.namespace ?? 'default' } };
  const actual = new Map<string, string>();
  let status: Record<string, unknown> = {};
  const selectors: unknown[] = [];
  for (const pipeline of pipelines) {
    const result = await runner.run(pipeline, {
      action: 'configure',
      workflowType: 'resource',
      promiseName: promise.metadata.name ?? '',
      object,
      plural: api.plural,
    });
    if (!result.ok) return { ok: false, detail: `pipeline ${pipeline.metadata.name} failed: ${result.failure ?? ''}` };
    const prefix = pipelines.length > 1 ? `output/${pipeline.metadata.name}/` : 'output/';
    for (const f of result.outputs) actual.set(`${prefix}${f.path}`, f.content.toString('utf8'));
    // Top-level status keys replace (as FleetOps merges pipelines' status); the next pipeline sees them.
    status = { ...status, ...result.status };
    object = { ...object, status };
    selectors.push(...result.selectors);
  }
  if (Object.keys(status).length) actual.set('status.yaml', stringify(status));
  if (selectors.length) actual.set('destination-selectors.yaml', stringify(selectors));

  const expected = filesUnder(dir);
  expected.delete('input.yaml');
  if (update) {
    for (const file of expected.keys()) if (!actual.has(file)) rmSync(join(dir, file));
    for (const [file, content] of actual) {
      mkdirSync(dirname(join(dir, file)), { recursive: true });
      writeFileSync(join(dir, file), content);
    }
    return { ok: true };
  }
  const diffs: string[] = [];
  for (const file of [...new Set([...expected.keys(), ...actual.keys()])].sort()) {
    const want = expected.get(file);
    const got = actual.get(file);
    if (want === got) continue;
    if (want === undefined) diffs.push(`+ ${file}: written, not expected`);
    else if (got === undefined) diffs.push(`- ${file}: expected, not written`);
    else diffs.push(`~ ${file}:`, ...lineDiff(want, got).map((l) => `  ${l}`));
  }
  return diffs.length ? { ok: false, detail: `${diffs.join('\n')}\n(run with --update to accept what the workflows write now)` } : { ok: true };
}
