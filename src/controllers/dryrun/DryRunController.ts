/**
 * Runs Kratix's DryRuns: one resource request — inline in `spec.resource`, or an existing one named by
 * `spec.resourceRequestRef` — through its Promise's resource configure workflows in the sandbox, with no side effect
 * (no Work, no WorkflowRun, no status written to the resource). The DryRun's status gets each output file, the
 * status fields the workflows would write and, for an existing resource, what would change against its Works.
 *
 * A DryRun reads only its own namespace: a referenced resource must be there, and an inline one is put there.
 * Re-running after a restart starts the dry run over: it changes nothing, so that is safe.
 */
import type { Logger } from 'pino';
import { errorMessage } from '../../api/errors.ts';
import { isKubeObject, type StoredObject } from '../../api/types.ts';
import type { Client } from '../../client/Client.ts';
import { getOf, mergeStatusOf } from '../../client/typed.ts';
import { TypeController } from '../shared/TypeController.ts';
import { type Static } from '../../registry/builtin/defineType.ts';
import { dryRunType, promiseType, type DryRun, type DryRunStatus } from '../../registry/builtin/kratixKinds.ts';
import type { Registry } from '../../registry/Registry.ts';
import { apiVersionOf } from '../../registry/ResourceType.ts';
import { rfc3339Seconds } from '../../api/time.ts';
import { configReader } from '../shared/configReader.ts';
import { kindServedBy } from '../shared/promiseKinds.ts';
import type { WorkflowExecutor, WorkflowTarget } from '../shared/WorkflowExecutor.ts';
import { workflowChanges } from '../rollout/workflowChanges.ts';

export interface DryRunControllerOptions {
  client: Client;
  registry: Registry;
  executor: WorkflowExecutor;
  logger: Logger;
  now?: () => Date;
  /** Bytes of one output file kept in the status (default 64 KiB), and of all of them (default 512 KiB). */
  maxFileBytes?: number;
  maxTotalBytes?: number;
}

const DONE: ReadonlySet<unknown> = new Set(['Complete', 'Failed']);

export class DryRunController {
  private readonly opts: DryRunControllerOptions;
  private readonly runner: TypeController<Static<typeof dryRunType>>;

  constructor(options: DryRunControllerOptions) {
    this.opts = options;
    this.runner = new TypeController({
      name: 'dry-run',
      client: options.client,
      type: dryRunType,
      logger: options.logger,
      reconciler: { reconcile: (key, log) => this.reconcile(key, log) },
      onEvent: (e, enqueue) => {
        if (e.type !== 'DELETED' && !DONE.has(e.object.status?.phase)) enqueue(`${e.object.metadata.namespace ?? ''}/${e.object.metadata.name}`);
      },
    });
  }

  start(): Promise<void> {
    return this.runner.start();
  }

  stop(): Promise<void> {
    return this.runner.stop();
  }

  async reconcile(key: string, log: Logger): Promise<void> {
    const [namespace = '', name = ''] = key.split('/');
    const { client } = this.opts;
    const found = await getOf(client, dryRunType, name, namespace);
    if (!found?.spec || DONE.has(found.status?.phase)) return;
    let dryRun: DryRun = found;
    const write = async (status: DryRunStatus): Promise<void> => {
      dryRun = await mergeStatusOf(client, dryRunType, dryRun, status);
    };
    const finished = (): string => rfc3339Seconds((this.opts.now ?? (() => new Date()))());
    const promiseName = found.spec.promiseRef.name;
    const promise = await getOf(client, promiseType, promiseName);
    const type = kindServedBy(this.opts.registry, promiseName);
    if (!promise || !type) return write({ phase: 'Failed', message: `Promise ${promiseName} is not installed`, completionTime: finished() });
    const subject = await this.subject(found, apiVersionOf(type), type.kind);
    if (typeof subject === 'string') return write({ phase: 'Failed', message: subject, completionTime: finished() });

    await write({ phase: 'Running', message: `running the configure workflows of Promise ${promiseName} for ${type.kind} ${subject.object.metadata.name}` });
    const target: WorkflowTarget = {
      object: subject.object,
      workflowType: 'resource',
      action: 'configure',
      promise,
      plural: type.plural,
      pipelines: promise.spec?.workflows?.resource?.configure ?? [],
      hash: 'dry-run',
      namespace,
    };
    const outcome = await this.opts.executor.run(target, log, { readConfig: configReader(client, namespace), dryRun: true });
    if (!outcome.ok)
      return write({
        phase: 'Failed',
        message: `pipeline ${outcome.failedPipeline ?? ''} failed: ${outcome.failure ?? ''}`.slice(0, 4000),
        status: outcome.status,
        completionTime: finished(),
      });
    const { outputs, truncated } = this.outputsOf(outcome.outputs ?? new Map());
    const changes = subject.existing ? await workflowChanges(client, this.opts.executor, target, subject.object, outcome) : undefined;
    await write({
      phase: 'Complete',
      message: `${outputs.length} output files${changes ? `, ${changes.length} changes against the resource's Works` : ''}; nothing was written`,
      outputs,
      status: outcome.status,
      ...(changes ? { changes } : {}),
      ...(truncated ? { truncated } : {}),
      completionTime: finished(),
    });
    log.info({ dryRun: key, outputs: outputs.length }, 'dry run complete');
  }

  /** The resource to run: the referenced one (in the DryRun's namespace) or the inline one, put in that namespace. */
  private async subject(dryRun: DryRun, apiVersion: string, kind: string): Promise<{ object: StoredObject; existing: boolean } | string> {
    const namespace = dryRun.metadata.namespace ?? '';
    const ref = dryRun.spec?.resourceRequestRef;
    if (ref) {
      if (ref.namespace && ref.namespace !== namespace)
        return `spec.resourceRequestRef.namespace must be the DryRun's own namespace (${namespace}): a dry run reads nothing outside it`;
      const object = await this.opts.client.get({ apiVersion, kind, namespace, name: ref.name });
      return object ? { object, existing: true } : `${kind} ${namespace}/${ref.name} not found`;
    }
    const inline = dryRun.spec?.resource;
    if (!isKubeObject(inline)) return 'set spec.resource (a resource request of the Promise) or spec.resourceRequestRef';
    if (inline.apiVersion !== apiVersion || inline.kind !== kind)
      return `spec.resource is a ${inline.kind} (${inline.apiVersion}); Promise ${dryRun.spec?.promiseRef.name ?? ''} serves ${kind} (${apiVersion})`;
    // Decoded, defaulted and validated as its creation would be, and not stored.
    try {
      const object = await this.opts.client.create(
        { ...inline, metadata: { ...inline.metadata, name: inline.metadata.name ?? dryRun.metadata.name, namespace } },
        { dryRun: true },
      );
      return { object, existing: false };
    } catch (err) {
      return `spec.resource is not a valid ${kind}: ${errorMessage(err)}`;
    }
  }

  /** Output files as text for the status, each and all bounded (a status is stored and watched like any object). */
  private outputsOf(byPipeline: Map<string, { path: string; content: Buffer }[]>): { outputs: NonNullable<DryRunStatus['outputs']>; truncated: boolean } {
    const perFile = this.opts.maxFileBytes ?? 64 * 1024;
    let budget = this.opts.maxTotalBytes ?? 512 * 1024;
    let truncated = false;
    const outputs: NonNullable<DryRunStatus['outputs']> = [];
    for (const [pipeline, files] of byPipeline) {
      for (const f of files) {
        const keep = Math.max(0, Math.min(perFile, budget, f.content.length));
        if (keep < f.content.length) truncated = true;
        budget -= keep;
        outputs.push({ pipeline, path: f.path, content: f.content.subarray(0, keep).toString('utf8') });
      }
    }
    return { outputs, truncated };
  }
}
