/**
 * The leader's side of dispatched runs (RunDispatch): resolves a waiter when its WorkflowRun has Succeeded or Failed,
 * whichever replica carried it out. Stopping (the leader stepping down) rejects every waiter: the reconcile is cut
 * short and the next leader adopts the runs (ResourceController's recovery waits for them again).
 */
import type { StoredObject } from '../../api/types.ts';
import type { Client } from '../../client/Client.ts';
import { getOf, watchOf } from '../../client/typed.ts';
import { workflowRunType } from '../../registry/builtin/fleetopsKinds.ts';
import type { HereClaim, RunDispatch } from './WorkflowExecutor.ts';

interface Waiter {
  resolve(run: StoredObject): void;
  reject(err: Error): void;
}

const keyOf = (namespace: string, name: string): string => `${namespace}/${name}`;
const finished = (run: { status?: { phase?: string } }): boolean => run.status?.phase === 'Succeeded' || run.status?.phase === 'Failed';

export class RunAwaiter implements RunDispatch {
  private readonly client: Client;
  private readonly here: { claimHere(): HereClaim | undefined } | undefined;
  private readonly waiters = new Map<string, Waiter[]>();
  private watch: { stop(): void } | undefined;

  /** `here`: this replica's RunWorker, when it runs pipelines too (RunWorker.claimHere). */
  constructor(options: { client: Client; here?: { claimHere(): HereClaim | undefined } }) {
    this.client = options.client;
    this.here = options.here;
  }

  claimHere(): HereClaim | undefined {
    return this.here?.claimHere();
  }

  async start(): Promise<void> {
    this.watch = await watchOf(this.client, workflowRunType, {}, (e) => {
      const key = keyOf(e.object.metadata.namespace ?? '', e.object.metadata.name);
      if (e.type === 'DELETED') this.settle(key, undefined, new Error(`WorkflowRun ${key} was deleted before it finished`));
      else if (finished(e.object)) this.settle(key, e.object);
    });
  }

  stop(): void {
    this.watch?.stop();
    this.watch = undefined;
    for (const key of [...this.waiters.keys()]) this.settle(key, undefined, new Error('interrupted: this replica no longer runs the controllers'));
  }

  awaitRun(namespace: string, name: string): Promise<StoredObject> {
    const key = keyOf(namespace, name);
    const waiting = new Promise<StoredObject>((resolve, reject) => {
      const list = this.waiters.get(key) ?? [];
      list.push({ resolve, reject });
      this.waiters.set(key, list);
    });
    // Finished before we started waiting (or before this replica led): the watch will not say it again. A shared
    // read, as the watch's objects are: waiters only read the run they are given.
    getOf(this.client, workflowRunType, name, namespace, { shared: true }).then(
      (run) => {
        if (run && finished(run)) this.settle(key, run);
      },
      () => undefined,
    );
    return waiting;
  }

  private settle(key: string, run: StoredObject | undefined, err?: Error): void {
    const list = this.waiters.get(key);
    if (!list) return;
    this.waiters.delete(key);
    for (const w of list) {
      if (run) w.resolve(run);
      else w.reject(err ?? new Error(`WorkflowRun ${key} did not finish`));
    }
  }
}
