/**
 * Runs one Kratix Pipeline for one object: a fresh workspace with /kratix/input/object.yaml, the containers in
 * order on a runtime with Kratix's environment, stop at the first failure, then read back what the contract says
 * a pipeline produces (outputs, status.yaml, destination-selectors.yaml, workflow-control.yaml).
 */
import { existsSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseApiVersion, type KubeObject } from '../api/types.ts';
import { parseGoDuration } from '../api/duration.ts';
import { toBlockYaml } from '../api/blockYaml.ts';
import type { StepRuntime } from './StepRuntime.ts';
import { ImagePullError, type AcquireOptions, type ImageLease, type PullRecord } from './images/ImageCache.ts';
import { pullSecretAuths, stepInImage, stepLimits, type StepInImage } from './containerSpec.ts';
import type { StepLimits } from './runtime/cgroups.ts';
import { wantsApiAccess, type Container, type Pipeline } from './pipelineSpec.ts';
import { prepareVolumes, writableVolumes } from './volumes.ts';
import { createWorkspace, defaultWorkRoot, type Workspace } from './workspace.ts';
import { watchWrites } from './outputWatchdog.ts';
import {
  collectOutputs,
  OutputError,
  readDestinationSelectors,
  readMetadataYaml,
  type DestinationSelector,
  type OutputFile,
  type OutputLimits,
  type YamlReader,
} from './outputs.ts';
import { DEFAULT_LIMITS, parseYamlBounded, parseYamlStreamBounded, UNTRUSTED_LIMITS } from '../api/boundedYaml.ts';
import type { Slots } from '../lib/Slots.ts';
import { checkOutputScope, type OutputScope } from './outputScope.ts';
import { LABEL_REVISION } from '../api/fleetopsNames.ts';
import { pipelineMetrics } from '../telemetry/metrics.ts';
import { activeTraceparent, failSpan, inSpan, type Span } from '../telemetry/tracing.ts';

const IMAGE_PULLS = {
  cached: pipelineMetrics.imagePulls.with('cached'),
  pulled: pipelineMetrics.imagePulls.with('pulled'),
  failed: pipelineMetrics.imagePulls.with('failed'),
};
const IMAGE_PULL_SECONDS = pipelineMetrics.imagePullDuration.with();
const RUNNING = pipelineMetrics.running.with();

/** Metadata files are at most 256 KiB; parsed on the calling thread unless a parser is given. */
const inlineYaml: YamlReader = (text) => Promise.resolve(parseYamlBounded(text, UNTRUSTED_LIMITS));
const inlineYamlStream = (text: string): Promise<unknown[]> => Promise.resolve(parseYamlStreamBounded(text, DEFAULT_LIMITS));

export type { Container, EnvFromSource, EnvVar, Pipeline } from './pipelineSpec.ts';

/** Where the runner gets a step's image root (the image cache). */
export interface ImageProvider {
  acquire(image: string, options: AcquireOptions): Promise<ImageLease>;
}

export interface PipelineContext {
  action: 'configure' | 'delete';
  workflowType: 'resource' | 'promise';
  promiseName: string;
  /** The object as the pipeline sees it (/kratix/input/object.yaml). */
  object: KubeObject;
  plural: string;
  /** Reads a ConfigMap's data or a Secret's decoded data in the pipeline's namespace; undefined when missing. */
  readConfig?: (kind: 'ConfigMap' | 'Secret', name: string) => Promise<Record<string, string> | undefined>;
  /** For pipelines with `spec.rbac`: the account's grants made, a token for the run (see pipelineAccess.ts). */
  apiAccess?: (pipeline: Pipeline) => Promise<ApiCredentials>;
  /** Where a resource workflow's outputs may go (outputScope.ts); without it they are not checked. */
  outputScope?: OutputScope;
}

/** What a step needs to call the platform API as its pipeline's service account. */
export interface ApiCredentials {
  token: string;
  caCert: string;
  namespace: string;
}

export interface StepRecord {
  name: string;
  image: string;
  command: string[];
  exitCode: number | null;
  signal: string | null;
  timedOut: boolean;
  durationMs: number;
  startedAt: string;
  log: string;
  logTruncated: boolean;
  /** How the step's image was had (image pipelines). */
  pull?: PullRecord;
  /** Why it stopped, when the kernel stopped it (as Kubernetes says it): `OOMKilled`. */
  reason?: string;
}

export interface WorkflowControl {
  suspend?: boolean;
  retryAfterMs?: number;
  message?: string;
}

export interface PipelineResult {
  ok: boolean;
  /** Why the pipeline failed, for conditions: which step, exit code and the tail of its log. */
  failure?: string;
  steps: StepRecord[];
  outputs: OutputFile[];
  status: Record<string, unknown>;
  selectors: DestinationSelector[];
  control: WorkflowControl;
}

type RunOptions = {
  signal?: AbortSignal;
  onStep?: (step: StepRecord, done: boolean) => void;
  onLog?: (step: string, chunk: string) => void;
  /** A step has its slot and goes into its sandbox (the run is under way: stopping it now costs the step's work). */
  onSandbox?: (step: string) => void;
};

/** What every step of one run shares. */
interface StepsContext {
  ctx: PipelineContext;
  options: RunOptions;
  base: Record<string, string>;
  /** Undefined for host-tool pipelines. */
  images: ImageProvider | undefined;
  auths: Awaited<ReturnType<typeof pullSecretAuths>>;
  mounts: Awaited<ReturnType<typeof prepareVolumes>>;
  api: { dir: string; socket: string; env: Record<string, string> } | undefined;
  dirs: Workspace['dirs'];
  network: boolean;
  timeoutMs: number;
  outputLimits: OutputLimits;
  user: ReturnType<NonNullable<StepRuntime['acquireUser']>>;
  result: PipelineResult;
}

export interface PipelineRunnerOptions {
  runtime: StepRuntime;
  /** Images for steps; without it only host-tool pipelines (`fleetops.dev/runtime: host`) can run. */
  images?: ImageProvider;
  /** Where workspaces are made (default: defaultWorkRoot()). */
  workRoot?: string;
  /** Per-step wall-clock limit unless the pipeline's `fleetops.dev/timeout` annotation says otherwise. */
  stepTimeoutMs?: number;
  /** Network for steps unless the pipeline's `fleetops.dev/network` annotation says otherwise. */
  network?: boolean;
  maxLogBytes?: number;
  limits?: OutputLimits;
  /** How often a running step's writes are measured (default 250 ms). */
  writeCheckMs?: number;
  /** Parses the metadata files steps write (FleetOps passes one that works off the event loop). */
  parseYaml?: YamlReader;
  /** Parses output files (multi-document) for the output scope check; likewise. */
  parseYamlStream?: (text: string) => Promise<unknown[]>;
  /** The Unix socket relaying to the API, for pipelines with `spec.rbac`; without it they fail with the reason. */
  apiRelay?: { socket: string };
  /**
   * Steps of every run of this runner that may be in their sandboxes at once (unset: no limit). Only the sandbox
   * holds a slot: a run's workspace, image lease and outputs are handled while other runs' steps use the cores.
   */
  stepSlots?: Slots;
  now?: () => Date;
}

const DEFAULT_OUTPUT_LIMITS: OutputLimits = { maxFiles: 1000, maxBytes: 16 * 1024 * 1024 };
/** What the metadata files may hold together (status.yaml and the rest), on top of the outputs. */
const METADATA_BYTES = 1024 * 1024;

export const ANNOTATION_NETWORK = 'fleetops.dev/network';
export const ANNOTATION_TIMEOUT = 'fleetops.dev/timeout';
/**
 * `host`: the pipeline's steps run host commands on the host's read-only root instead of in their images. Only a
 * Promise that says so gets it (platform teams write Promises); Kratix Promises always run in their images.
 */
export const ANNOTATION_RUNTIME = 'fleetops.dev/runtime';

/** Where steps with API access find it inside their sandbox (KUBERNETES_SERVICE_HOST/_PORT). */
export const API_PORT = 6443;

export class PipelineRunner {
  private readonly opts: PipelineRunnerOptions;
  private readonly workRoot: string;

  constructor(opts: PipelineRunnerOptions) {
    this.opts = opts;
    this.workRoot = opts.workRoot ?? defaultWorkRoot();
  }

  /**
   * The account's token, CA and namespace in a folder of the workspace, and the in-cluster environment: the steps
   * reach the API (and only it) through the relay.
   */
  private async apiAccess(
    pipeline: Pipeline,
    ctx: PipelineContext,
    onHost: boolean,
    mkdir: (rel: string) => string,
  ): Promise<{ dir: string; socket: string; env: Record<string, string> }> {
    const name = pipeline.metadata.name;
    if (onHost) throw new OutputError(`pipeline ${name}: spec.rbac needs its steps to run in their images, not with ${ANNOTATION_RUNTIME}: host`);
    if (!ctx.apiAccess || !this.opts.apiRelay)
      throw new OutputError(`pipeline ${name}: spec.rbac asks for the platform API, which this FleetOps does not relay to steps`);
    const creds = await ctx.apiAccess(pipeline);
    const dir = mkdir('serviceaccount');
    writeFileSync(join(dir, 'token'), creds.token);
    writeFileSync(join(dir, 'ca.crt'), creds.caCert);
    writeFileSync(join(dir, 'namespace'), creds.namespace);
    const port = String(API_PORT);
    return {
      dir,
      socket: this.opts.apiRelay.socket,
      env: { KUBERNETES_SERVICE_HOST: '127.0.0.1', KUBERNETES_SERVICE_PORT: port, KUBERNETES_SERVICE_PORT_HTTPS: port },
    };
  }

  get runtime(): StepRuntime {
    return this.opts.runtime;
  }

  /** Runs the pipeline in a span of its own, counted by Promise, pipeline and result. */
  async run(pipeline: Pipeline, ctx: PipelineContext, options: RunOptions = {}): Promise<PipelineResult> {
    const pipelineName = pipeline.metadata.name;
    const attributes = {
      'fleetops.promise': ctx.promiseName,
      'fleetops.pipeline': pipelineName,
      'fleetops.workflow.action': ctx.action,
      'fleetops.workflow.type': ctx.workflowType,
      'fleetops.resource.kind': ctx.object.kind,
      'fleetops.resource.namespace': ctx.object.metadata.namespace ?? '',
      'fleetops.resource.name': ctx.object.metadata.name ?? '',
      'fleetops.revision': ctx.object.metadata.labels?.[LABEL_REVISION] ?? '',
    };
    RUNNING.inc();
    let outcome = 'error';
    try {
      const result = await inSpan(`pipeline ${pipelineName}`, { attributes }, async (span) => {
        const r = await this.runPipeline(pipeline, ctx, options);
        if (!r.ok) failSpan(span, r.failure ?? 'failed');
        return r;
      });
      outcome = result.ok ? 'succeeded' : 'failed';
      return result;
    } finally {
      RUNNING.dec();
      pipelineMetrics.runs.with(ctx.promiseName, pipelineName, outcome).inc();
    }
  }

  private async runPipeline(pipeline: Pipeline, ctx: PipelineContext, options: RunOptions): Promise<PipelineResult> {
    // One user for the run's steps (its own uid when FleetOps runs as root); the workspace is theirs alone.
    const user = this.opts.runtime.acquireUser?.();
    let ws: Workspace;
    try {
      ws = createWorkspace(this.workRoot, user, toBlockYaml(ctx.object));
    } catch (err) {
      user?.release();
      throw err;
    }
    const dirs = ws.dirs;
    const result: PipelineResult = { ok: true, steps: [], outputs: [], status: {}, selectors: [], control: {} };
    try {
      const annotations = pipeline.metadata.annotations ?? {};
      const network = annotations[ANNOTATION_NETWORK] !== undefined ? annotations[ANNOTATION_NETWORK] === 'true' : !!this.opts.network;
      const timeoutMs = annotations[ANNOTATION_TIMEOUT] ? parseGoDuration(annotations[ANNOTATION_TIMEOUT]) : (this.opts.stepTimeoutMs ?? 10 * 60_000);
      const base = kratixEnv(pipeline, ctx);
      const onHost = annotations[ANNOTATION_RUNTIME] === 'host';
      const images = this.opts.images;
      if (!onHost && !images) throw new OutputError(`pipeline ${pipeline.metadata.name}: steps run in their images and no image cache is configured`);
      const outputLimits = this.opts.limits ?? DEFAULT_OUTPUT_LIMITS;
      const auths = onHost ? {} : await pullSecretAuths(pipeline.spec.imagePullSecrets ?? [], ctx.readConfig);
      const mounts = await prepareVolumes(pipeline.spec.volumes ?? [], (rel) => ws.mkdir(rel), ctx.readConfig);
      const api = wantsApiAccess(pipeline) ? await this.apiAccess(pipeline, ctx, onHost, (rel) => ws.mkdir(rel)) : undefined;
      if (api) Object.assign(base, api.env);
      const steps: StepsContext = {
        ctx,
        options,
        base,
        images: onHost ? undefined : images,
        auths,
        mounts,
        api,
        dirs,
        network,
        timeoutMs,
        outputLimits,
        user,
        result,
      };
      for (const container of pipeline.spec.containers) {
        const go = await inSpan(
          `step ${container.name}`,
          { attributes: { 'fleetops.step': container.name, 'fleetops.image': container.image ?? '' } },
          (span) => this.runStep(container, steps, span),
        );
        if (!go) return result;
      }
      await this.readBack(dirs, ctx, result);
      return result;
    } catch (err) {
      if (!(err instanceof OutputError)) throw err;
      result.ok = false;
      result.failure = err.message;
      return result;
    } finally {
      ws.remove();
      user?.release();
    }
  }

  /** One step: its image, its sandbox, its record. False when the pipeline stops here (the result says why). */
  private async runStep(container: Container, run: StepsContext, span: Span): Promise<boolean> {
    const { ctx, options, images, auths, mounts, api, dirs, network, timeoutMs, outputLimits, user, result } = run;
    const env = { ...run.base, ...(await resolveEnv(container, ctx)) };
    // The step's own spans go under its step span (W3C Trace Context; see docs/pipeline-contract.md).
    const traceparent = activeTraceparent();
    if (traceparent) env.TRACEPARENT = traceparent;
    const record: StepRecord = {
      name: container.name,
      image: container.image ?? '',
      command: [...(container.command ?? []), ...(container.args ?? [])],
      exitCode: null,
      signal: null,
      timedOut: false,
      durationMs: 0,
      startedAt: (this.opts.now ?? (() => new Date()))().toISOString(),
      log: '',
      logTruncated: false,
    };
    options.onStep?.(record, false);
    let lease: ImageLease | undefined;
    let plan: StepInImage;
    let limits: StepLimits;
    try {
      if (images) {
        lease = await this.acquire(images, container, auths, options.signal);
        record.pull = lease.pull;
      }
      plan = stepInImage(container, env, lease, mounts, api?.dir);
      limits = stepLimits(container);
    } catch (err) {
      lease?.release();
      if (!(err instanceof ImagePullError) && !(err instanceof OutputError)) throw err;
      record.log = `${err.message}\n`;
      result.steps.push(record);
      options.onStep?.(record, true);
      result.ok = false;
      result.failure = `step ${container.name}: ${err.message}`;
      failSpan(span, result.failure);
      return false;
    }
    // A run stopped while its step waits for a slot goes on to the sandbox, which reports it stopped at once.
    const giveBack = await this.opts.stepSlots?.take(options.signal).catch(() => undefined);
    if (!options.signal?.aborted) options.onSandbox?.(container.name);
    // Stopped while it runs if it writes more than its outputs and metadata may hold (workspaces are in memory).
    const maxWritten = outputLimits.maxBytes + METADATA_BYTES;
    const guard = new AbortController();
    let written: number | undefined;
    let stopWatching: (() => void) | undefined;
    let outcome;
    // Everything after the slot is taken is inside the try: whatever throws, the slot and the image lease go back.
    try {
      stopWatching = watchWrites([dirs.output, dirs.metadata, ...writableVolumes(mounts)], maxWritten, this.opts.writeCheckMs ?? 250, (bytes) => {
        written = bytes;
        guard.abort();
      });
      const signal = options.signal ? AbortSignal.any([options.signal, guard.signal]) : guard.signal;
      outcome = await inSpan('sandbox', {}, () =>
        this.opts.runtime.run(
          {
            name: container.name,
            image: container.image ?? '',
            command: plan.argv,
            args: [],
            env: plan.env,
            dirs,
            network,
            ...(api ? { apiRelay: { socket: api.socket, port: API_PORT } } : {}),
            timeoutMs,
            limits,
            maxLogBytes: this.opts.maxLogBytes ?? 256 * 1024,
            ...(plan.root ? { root: plan.root } : {}),
            mounts: plan.mounts,
            ...(user ? { user: { uid: user.uid, gid: user.gid } } : {}),
          },
          { signal, ...(options.onLog ? { onLog: (c: string) => options.onLog?.(container.name, c) } : {}) },
        ),
      );
    } finally {
      giveBack?.();
      stopWatching?.();
      lease?.release();
    }
    record.command = plan.argv;
    Object.assign(record, {
      exitCode: outcome.exitCode,
      signal: outcome.signal,
      timedOut: outcome.timedOut,
      durationMs: Math.round(outcome.durationMs),
      log: outcome.log,
      logTruncated: outcome.logTruncated,
      ...(outcome.oomKilled ? { reason: 'OOMKilled' } : {}),
    });
    result.steps.push(record);
    options.onStep?.(record, true);
    pipelineMetrics.stepDuration.with(ctx.promiseName, container.name).observe(outcome.durationMs / 1000);
    span.setAttribute('fleetops.step.exit_code', outcome.exitCode ?? -1);
    if (outcome.exitCode !== 0) {
      result.ok = false;
      const why = outcome.oomKilled
        ? `was OOMKilled: it used more than its memory limit (${limits.memoryBytes ? `${limits.memoryBytes} bytes` : 'the default'}; set resources.limits.memory)`
        : written !== undefined
          ? `was stopped: it wrote ${written} bytes to /kratix/output, /kratix/metadata and its volumes, more than the ${maxWritten} allowed`
          : outcome.signal === 'SIGXFSZ' || outcome.exitCode === 153
            ? `was stopped: it wrote a file bigger than the limit per file (SIGXFSZ)`
            : outcome.timedOut
              ? `timed out after ${timeoutMs} ms`
              : outcome.aborted
                ? 'was aborted'
                : outcome.signal
                  ? `was killed by ${outcome.signal}`
                  : `exited with code ${outcome.exitCode}`;
      result.failure = `step ${container.name} ${why}${tail(outcome.log)}`;
      failSpan(span, `step ${container.name} ${why}`);
      return false;
    }
    return true;
  }

  /** A step's image, counted by how it was had, in a span of its own. */
  private acquire(images: ImageProvider, container: Container, auths: StepsContext['auths'], signal: AbortSignal | undefined): Promise<ImageLease> {
    return inSpan('image.pull', { attributes: { 'fleetops.image': container.image ?? '' } }, async (span) => {
      try {
        const lease = await images.acquire(container.image ?? '', {
          auths,
          ...(container.imagePullPolicy ? { policy: container.imagePullPolicy } : {}),
          ...(signal ? { signal } : {}),
        });
        span.setAttribute('fleetops.image.cached', lease.pull.cached);
        IMAGE_PULLS[lease.pull.cached ? 'cached' : 'pulled'].inc();
        if (!lease.pull.cached) IMAGE_PULL_SECONDS.observe(lease.pull.durationMs / 1000);
        return lease;
      } catch (err) {
        IMAGE_PULLS.failed.inc();
        throw err;
      }
    });
  }

  private async readBack(dirs: { output: string; metadata: string }, ctx: PipelineContext, result: PipelineResult): Promise<void> {
    const parse = this.opts.parseYaml ?? inlineYaml;
    const statusFile = join(dirs.metadata, 'status.yaml');
    if (existsSync(statusFile)) {
      const status = (await readMetadataYaml(statusFile, 'status.yaml', parse)) ?? {};
      if (typeof status !== 'object' || Array.isArray(status)) throw new OutputError('status.yaml must be a map of status fields');
      if ('kratix' in status) throw new OutputError('status.yaml must not set "kratix": that key is owned by Kratix/FleetOps');
      result.status = status as Record<string, unknown>;
    }
    const controlFile = join(dirs.metadata, 'workflow-control.yaml');
    if (existsSync(controlFile)) {
      const c = ((await readMetadataYaml(controlFile, 'workflow-control.yaml', parse)) ?? {}) as { suspend?: unknown; retryAfter?: unknown; message?: unknown };
      if (c.suspend === true) result.control.suspend = true;
      if (typeof c.retryAfter === 'string' && c.retryAfter) {
        try {
          result.control.retryAfterMs = parseGoDuration(c.retryAfter);
        } catch {
          throw new OutputError(`workflow-control.yaml: retryAfter ${JSON.stringify(c.retryAfter)} is not a duration such as 30s or 5m`);
        }
      }
      if (typeof c.message === 'string') result.control.message = c.message;
    }
    if (ctx.action === 'configure') {
      result.selectors = await readDestinationSelectors(dirs.metadata, parse);
      result.outputs = collectOutputs(dirs.output, this.opts.limits ?? DEFAULT_OUTPUT_LIMITS);
      if (ctx.outputScope && ctx.workflowType === 'resource')
        await checkOutputScope(result.outputs, ctx.outputScope, this.opts.parseYamlStream ?? inlineYamlStream);
    }
  }
}

function tail(log: string): string {
  const lines = log.trimEnd().split('\n').slice(-5).join('\n');
  return lines ? `: ${lines.slice(-600)}` : '';
}

/** The environment Kratix gives every pipeline container (before the container's own env). */
export function kratixEnv(pipeline: Pipeline, ctx: PipelineContext): Record<string, string> {
  const { group, version } = parseApiVersion(ctx.object.apiVersion);
  return {
    KRATIX_WORKFLOW_ACTION: ctx.action,
    KRATIX_WORKFLOW_TYPE: ctx.workflowType,
    KRATIX_PROMISE_NAME: ctx.promiseName,
    KRATIX_PIPELINE_NAME: pipeline.metadata.name,
    KRATIX_OBJECT_KIND: ctx.object.kind,
    KRATIX_OBJECT_GROUP: group,
    KRATIX_OBJECT_VERSION: version,
    KRATIX_OBJECT_NAME: ctx.object.metadata.name ?? '',
    KRATIX_OBJECT_NAMESPACE: ctx.workflowType === 'resource' ? (ctx.object.metadata.namespace ?? '') : '',
    KRATIX_CRD_PLURAL: ctx.plural,
    KRATIX_CLUSTER_SCOPED: String(ctx.workflowType === 'promise'),
  };
}

async function resolveEnv(container: Container, ctx: PipelineContext): Promise<Record<string, string>> {
  const env: Record<string, string> = {};
  const read = async (kind: 'ConfigMap' | 'Secret', name: string, optional: boolean | undefined): Promise<Record<string, string>> => {
    const data = ctx.readConfig ? await ctx.readConfig(kind, name) : undefined;
    if (!data && !optional) throw new OutputError(`step ${container.name}: ${kind} ${JSON.stringify(name)} referenced by its environment does not exist`);
    return data ?? {};
  };
  for (const src of container.envFrom ?? []) {
    const ref = src.configMapRef ?? src.secretRef;
    if (!ref) continue;
    const data = await read(src.configMapRef ? 'ConfigMap' : 'Secret', ref.name, ref.optional);
    for (const [k, v] of Object.entries(data)) env[`${src.prefix ?? ''}${k}`] = v;
  }
  for (const e of container.env ?? []) {
    if (e.value !== undefined) env[e.name] = e.value;
    else if (e.valueFrom) {
      const ref = e.valueFrom.configMapKeyRef ?? e.valueFrom.secretKeyRef;
      if (!ref) continue;
      const data = await read(e.valueFrom.configMapKeyRef ? 'ConfigMap' : 'Secret', ref.name, ref.optional);
      if (data[ref.key] !== undefined) env[e.name] = data[ref.key] as string;
      else if (!ref.optional) throw new OutputError(`step ${container.name}: key ${JSON.stringify(ref.key)} not found in ${ref.name} for env ${e.name}`);
    } else env[e.name] = '';
  }
  return env;
}
