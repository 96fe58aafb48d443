/**
 * Kratix's PromiseRevisions (one per version) derived from FleetOps' numbered revisions: for each version a Promise
 * has had, the spec of its newest revision with that version; the one matching the Promise's current version is
 * labelled `kratix.io/latest-revision: "true"` and says `status.latest: true`. Owned by the Promise.
 */
import type { Logger } from 'pino';
import { jsonEqual, type KubeObject } from '../../api/types.ts';
import type { Client } from '../../client/Client.ts';
import { getOf, listOf, watchOf } from '../../client/typed.ts';
import { Controller } from '../../controller/Controller.ts';
import { md5Hex } from '../../lib/workloads.ts';
import { objectOf } from '../../registry/builtin/defineType.ts';
import { revisionType } from '../../registry/builtin/fleetopsKinds.ts';
import { kratixPromiseRevisionType, promiseType, type PromiseSpec } from '../../registry/builtin/kratixKinds.ts';
import { KRATIX_API, LABEL_PROMISE_NAME } from '../shared/kratixNames.ts';
import { LABEL_PROMISE_VERSION } from '../promise/PromiseController.ts';

export const LABEL_LATEST_REVISION = 'kratix.io/latest-revision';

export function kratixRevisionName(promise: string, version: string): string {
  return `${promise}-${md5Hex(version).slice(0, 5)}`;
}

export interface KratixPromiseRevisionsOptions {
  client: Client;
  logger: Logger;
}

export class KratixPromiseRevisions {
  readonly controller: Controller;
  private readonly opts: KratixPromiseRevisionsOptions;
  private watches: { stop(): void }[] = [];

  constructor(options: KratixPromiseRevisionsOptions) {
    this.opts = options;
    this.controller = new Controller({ name: 'kratix-promise-revisions', reconciler: { reconcile: (key) => this.reconcile(key) }, logger: options.logger });
  }

  async start(): Promise<void> {
    this.controller.start();
    this.watches.push(
      await watchOf(this.opts.client, revisionType, {}, (e) => {
        const promise = e.object.spec?.promiseName;
        if (promise) this.controller.enqueue(promise);
      }),
      await watchOf(this.opts.client, promiseType, {}, (e) => this.controller.enqueue(e.object.metadata.name)),
    );
  }

  async stop(): Promise<void> {
    for (const w of this.watches) w.stop();
    this.watches = [];
    await this.controller.stop();
  }

  async reconcile(name: string): Promise<void> {
    const { client } = this.opts;
    const promise = await getOf(client, promiseType, name);
    if (!promise || promise.metadata.deletionTimestamp) return; // its revisions go with it (ownerReferences)
    const current = promise.metadata.labels?.[LABEL_PROMISE_VERSION] ?? '';
    const newest = new Map<string, { revision: number; promiseSpec: PromiseSpec | undefined }>();
    for (const rev of await listOf(client, revisionType, { labelSelector: `${LABEL_PROMISE_NAME}=${name}` })) {
      const { spec } = rev;
      if (!spec?.version) continue;
      if (spec.revision > (newest.get(spec.version)?.revision ?? 0)) newest.set(spec.version, { revision: spec.revision, promiseSpec: spec.promiseSpec });
    }
    for (const [version, { promiseSpec }] of newest) {
      const latest = version === current;
      const desired: KubeObject = {
        apiVersion: KRATIX_API,
        kind: 'PromiseRevision',
        metadata: {
          name: kratixRevisionName(name, version),
          labels: { [LABEL_PROMISE_NAME]: name, ...(latest ? { [LABEL_LATEST_REVISION]: 'true' } : {}) },
          ownerReferences: [{ apiVersion: KRATIX_API, kind: 'Promise', name, uid: promise.metadata.uid }],
        },
        spec: { promiseRef: { name }, promiseSpec, version },
      };
      await this.ensure(desired, latest);
    }
  }

  private async ensure(desired: KubeObject, latest: boolean): Promise<void> {
    const { client } = this.opts;
    let existing = await getOf(client, kratixPromiseRevisionType, desired.metadata.name ?? '');
    if (!existing) existing = objectOf(kratixPromiseRevisionType, await client.create(desired));
    else if (!jsonEqual(existing.spec, desired.spec) || !jsonEqual(existing.metadata.labels ?? {}, desired.metadata.labels)) {
      existing = objectOf(
        kratixPromiseRevisionType,
        await client.update({ ...existing, metadata: { ...existing.metadata, labels: desired.metadata.labels ?? {} }, spec: desired.spec }),
      );
    }
    if (existing.status?.latest !== latest) await client.updateStatus({ ...existing, status: { latest } });
  }
}
