/**
 * `fleetops logs <kind>/<name>`: the logs of the latest workflow run of an object (a resource request, a Promise, or
 * a WorkflowRun by name), step by step with image, exit code and duration. `-f` waits for a run in progress and
 * prints each step as it finishes, until the run ends.
 */
import type { KubeObject } from '../../api/types.ts';
import { collectionPath, objectPath } from '../../client/discovery.ts';
import type { CliContext } from '../context.ts';

const RUNS = { group: 'fleetops.dev', version: 'v1alpha1', plural: 'workflowruns', namespaced: true } as const;
const PLATFORM_NAMESPACE = 'kratix-platform-system';

export interface RunStep {
  name: string;
  image: string;
  exitCode: number | null;
  signal: string | null;
  timedOut: boolean;
  durationMs: number;
  log: string;
  logTruncated: boolean;
  pull?: { image: string; digest: string; policy: string; cached: boolean; durationMs: number };
  /** Set when the kernel stopped it: `OOMKilled`. */
  reason?: string;
}
interface WorkflowRun extends KubeObject {
  spec: { pipeline: string; action: string; object: { kind: string; name: string } };
  status?: { phase?: string; message?: string; steps?: RunStep[] };
}

export interface LogsOptions {
  follow?: boolean;
  /** Only this pipeline's runs. */
  pipeline?: string;
  /** Stop following after this long (ms); default: until the run ends. */
  timeoutMs?: number;
}

/** No exit code, no signal, no timeout: the step never ran (its image could not be had, its limits did not parse). */
const neverStarted = (step: RunStep): boolean => step.exitCode === null && !step.signal && !step.timedOut;

/** A step's first line: how it ended (or that it never started, and why), how long it ran. */
export function stepHeader(step: RunStep): string {
  const head = `==> step ${step.name} (image ${step.image || 'none'})`;
  if (neverStarted(step)) return `${head} did not start: ${step.log.split('\n')[0] || 'no reason recorded'}`;
  const end = step.reason
    ? `${step.reason} (killed)`
    : step.timedOut
      ? 'timed out'
      : step.signal
        ? `killed by ${step.signal}`
        : `exit ${String(step.exitCode)}`;
  return `${head} ${end}, ${step.durationMs} ms${step.logTruncated ? ', log truncated to its tail' : ''}`;
}

/** The pull before the step's output: which image, its digest, cached or pulled and how long it took. */
function pullLine(step: RunStep): string | undefined {
  const p = step.pull;
  if (!p) return undefined;
  const how = p.cached ? `already present (pull policy ${p.policy})` : `pulled in ${(p.durationMs / 1000).toFixed(1)}s`;
  return `    image ${p.image} (${p.digest.slice(0, 19)}) ${how}`;
}

function newest(runs: WorkflowRun[]): WorkflowRun | undefined {
  return [...runs].sort(
    (a, b) =>
      Number(b.metadata.resourceVersion) - Number(a.metadata.resourceVersion) ||
      String(b.metadata.creationTimestamp).localeCompare(String(a.metadata.creationTimestamp)),
  )[0];
}

export async function logsCommand(ctx: CliContext, target: string, opts: LogsOptions, out: (text: string) => void, signal?: AbortSignal): Promise<number> {
  const [typeName, name] = target.split('/');
  if (!typeName || !name)
    throw new Error(`expected <kind>/<name>, e.g. "fleetops logs app/todoer" or "fleetops logs promise/app"; got ${JSON.stringify(target)}`);
  const r = await ctx.discovery.resolve(typeName);
  let namespace = r.namespaced ? ctx.namespace : PLATFORM_NAMESPACE;
  let selector: string;
  if (r.group === RUNS.group && r.plural === RUNS.plural) {
    selector = '';
  } else if (r.group === 'platform.kratix.io' && r.plural === 'promises') {
    selector = `kratix.io/promise-name=${name},kratix.io/workflow-type=promise`;
  } else {
    const obj = await ctx.client.get<KubeObject>(objectPath(r, namespace, name));
    namespace = obj.metadata.namespace ?? '';
    selector = `kratix.io/resource-name=${name},kratix.io/workflow-type=resource${obj.metadata.labels?.['kratix.io/promise-name'] ? `,kratix.io/promise-name=${obj.metadata.labels['kratix.io/promise-name']}` : ''}`;
  }
  if (opts.pipeline && selector) selector += `,kratix.io/pipeline-name=${opts.pipeline}`;
  const fetchLatest = async (): Promise<WorkflowRun | undefined> => {
    if (!selector) return ctx.client.get<WorkflowRun>(objectPath(RUNS, namespace, name));
    return newest((await ctx.client.get<{ items: WorkflowRun[] }>(collectionPath(RUNS, namespace), { query: { labelSelector: selector } })).items);
  };

  let run = await fetchLatest();
  if (!run && !opts.follow)
    throw new Error(`no workflow run found for ${target} in namespace ${namespace}; has a workflow run yet? ("fleetops get workflowruns -n ${namespace}")`);
  const printed = new Set<string>();
  const print = (wr: WorkflowRun): void => {
    const head = `run ${wr.metadata.name}: pipeline ${wr.spec.pipeline} (${wr.spec.action})`;
    if (!printed.has(head)) {
      printed.add(head);
      out(head);
    }
    for (const step of wr.status?.steps ?? []) {
      const id = `${wr.metadata.name}/${step.name}`;
      if (printed.has(id)) continue;
      printed.add(id);
      out(stepHeader(step));
      const pull = pullLine(step);
      if (pull) out(pull);
      // A step that never started has only its reason as log, already in its header.
      if (step.log && !neverStarted(step)) out(step.log.endsWith('\n') ? step.log.slice(0, -1) : step.log);
    }
    const done = `${wr.metadata.name}/done`;
    if (wr.status?.phase && wr.status.phase !== 'Running' && !printed.has(done)) {
      printed.add(done);
      out(`run ${wr.metadata.name} ${wr.status.phase}${wr.status.phase === 'Failed' && wr.status.message ? `: ${wr.status.message.split('\n')[0]}` : ''}`);
    }
  };
  if (run) print(run);
  if (!opts.follow) return 0;
  const deadline = opts.timeoutMs ? Date.now() + opts.timeoutMs : Infinity;
  // Follow by polling: runs are written at step boundaries, so a short poll sees every step as it finishes.
  while (!signal?.aborted && Date.now() < deadline && !(run?.status?.phase && run.status.phase !== 'Running')) {
    await new Promise((resolve) => setTimeout(resolve, 300));
    const latest = await fetchLatest();
    if (latest) run = latest;
    if (run) print(run);
  }
  return 0;
}
