/**
 * Installs Kratix's PromiseReleases: the Promise at `spec.sourceRef.url` (http or https; a Secret's
 * `authorizationHeader` sent as the Authorization header when `secretRef` names one) is fetched, checked to carry
 * `kratix.io/promise-version: <spec.version>`, and created or updated, labelled `kratix.io/promise-release-name`.
 * A new version fetches and updates it again; deleting the release deletes its Promise (finalizer
 * `kratix.io/promise-cleanup`). Level-based: the release's status records the version installed.
 */
import { withFinalizer, withoutFinalizer } from '../../api/finalizers.ts';
import type { Logger } from 'pino';
import { parseAllDocuments } from 'yaml';
import { setCondition } from '../../api/conditions.ts';
import { errorMessage, isApiError } from '../../api/errors.ts';
import { isKubeObject, isPlainObject, type KubeObject } from '../../api/types.ts';
import { rfc3339Seconds } from '../../api/time.ts';
import type { Client } from '../../client/Client.ts';
import { getOf } from '../../client/typed.ts';
import type { ReconcileResult } from '../../controller/Controller.ts';
import { TypeController } from '../shared/TypeController.ts';
import { objectOf, type Static } from '../../registry/builtin/defineType.ts';
import { promiseReleaseType, promiseType, type PromiseRelease } from '../../registry/builtin/kratixKinds.ts';
import { KRATIX_API } from '../shared/kratixNames.ts';

export const LABEL_PROMISE_RELEASE = 'kratix.io/promise-release-name';
export const FINALIZER_PROMISE_CLEANUP = 'kratix.io/promise-cleanup';
const LABEL_PROMISE_VERSION = 'kratix.io/promise-version';

/** How a release's Promise is fetched (injected: FleetOps passes one over `fetch`, with a timeout and a size limit). */
export type FetchText = (url: string, headers: Record<string, string>) => Promise<string>;

export interface PromiseReleaseControllerOptions {
  client: Client;
  fetchText: FetchText;
  logger: Logger;
  now?: () => Date;
}

export class PromiseReleaseController {
  private readonly opts: PromiseReleaseControllerOptions;
  private readonly runner: TypeController<Static<typeof promiseReleaseType>>;

  constructor(options: PromiseReleaseControllerOptions) {
    this.opts = options;
    this.runner = new TypeController({
      name: 'promise-release',
      client: options.client,
      type: promiseReleaseType,
      logger: options.logger,
      reconciler: { reconcile: (key, log) => this.reconcile(key, log) },
      onEvent: (e, enqueue) => enqueue(e.object.metadata.name),
    });
  }

  start(): Promise<void> {
    return this.runner.start();
  }

  stop(): Promise<void> {
    return this.runner.stop();
  }

  async reconcile(name: string, log: Logger): Promise<ReconcileResult | void> {
    const { client } = this.opts;
    const release = await getOf(client, promiseReleaseType, name);
    if (!release?.spec) return;
    const finalizers = release.metadata.finalizers ?? [];
    if (release.metadata.deletionTimestamp) return this.uninstall(release, log);
    if (!finalizers.includes(FINALIZER_PROMISE_CLEANUP)) {
      await client.update(withFinalizer(release, FINALIZER_PROMISE_CLEANUP));
      return; // the update brings us back
    }
    if (release.status?.installedVersion === release.spec.version && release.status.status === 'Installed') return;
    let promise: KubeObject;
    try {
      promise = await this.fetchPromise(release);
    } catch (err) {
      await this.writeStatus(release, false, 'FetchFailed', errorMessage(err));
      return { requeueAfter: 60_000 };
    }
    const promiseName = promise.metadata.name ?? '';
    const existing = await getOf(client, promiseType, promiseName);
    const owner = existing?.metadata.labels?.[LABEL_PROMISE_RELEASE];
    if (existing && owner !== name) {
      await this.writeStatus(
        release,
        false,
        'PromiseExists',
        `Promise ${promiseName} exists and is not installed by this release${owner ? ` (release ${owner} has it)` : ''}`,
      );
      return;
    }
    const labels = { ...(promise.metadata.labels ?? {}), [LABEL_PROMISE_RELEASE]: name };
    try {
      if (existing) await client.update({ ...promise, metadata: { ...existing.metadata, labels, annotations: promise.metadata.annotations ?? {} } });
      else await client.create({ ...promise, metadata: { ...promise.metadata, labels } });
    } catch (err) {
      if (isApiError(err, 'Conflict')) throw err; // retried at once
      await this.writeStatus(release, false, 'InstallFailed', errorMessage(err));
      return { requeueAfter: 60_000 };
    }
    log.info({ release: name, promise: promiseName, version: release.spec.version }, 'promise release installed');
    await this.writeStatus(release, true, 'PromiseInstalled', `Promise ${promiseName} installed at version ${release.spec.version}`, release.spec.version);
  }

  /** The Promise document at the release's URL, at the release's version. */
  private async fetchPromise(release: PromiseRelease): Promise<KubeObject> {
    const spec = release.spec!;
    const url = spec.sourceRef.url;
    if (!/^https?:\/\//.test(url)) throw new Error(`sourceRef.url ${JSON.stringify(url)} must be an http or https URL`);
    const headers: Record<string, string> = {};
    const ref = spec.sourceRef.secretRef;
    if (ref) {
      const secret = await this.opts.client.get({ apiVersion: 'v1', kind: 'Secret', namespace: ref.namespace ?? 'default', name: ref.name });
      const data = secret && isPlainObject(secret.data) ? secret.data : {};
      const header = typeof data.authorizationHeader === 'string' ? Buffer.from(data.authorizationHeader, 'base64').toString('utf8') : undefined;
      if (!header) throw new Error(`Secret ${ref.namespace ?? 'default'}/${ref.name} has no authorizationHeader`);
      headers.Authorization = header;
    }
    const text = await this.opts.fetchText(url, headers);
    const promise = parseAllDocuments(text)
      .map((d): unknown => d.toJS())
      .find((d): d is KubeObject => isKubeObject(d) && d.kind === 'Promise' && d.apiVersion === KRATIX_API);
    if (!promise?.metadata.name) throw new Error(`${url} holds no Promise (${KRATIX_API}, kind Promise, with a name)`);
    const version = promise.metadata.labels?.[LABEL_PROMISE_VERSION];
    if (version !== spec.version)
      throw new Error(
        `the Promise at ${url} is labelled ${LABEL_PROMISE_VERSION}: ${JSON.stringify(version ?? null)}, not the release's version ${JSON.stringify(spec.version)}`,
      );
    return promise;
  }

  private async uninstall(release: PromiseRelease, log: Logger): Promise<void> {
    const { client } = this.opts;
    const name = release.metadata.name;
    const installed = (await client.list(KRATIX_API, 'Promise', { labelSelector: `${LABEL_PROMISE_RELEASE}=${name}` })).filter(
      (p) => !p.metadata.deletionTimestamp,
    );
    for (const p of installed) {
      try {
        await client.delete({ apiVersion: KRATIX_API, kind: 'Promise', name: p.metadata.name });
      } catch (err) {
        if (!isApiError(err, 'NotFound')) throw err;
      }
    }
    log.info({ release: name, promises: installed.length }, 'promise release removed with its Promise');
    await client.update(withoutFinalizer(release, FINALIZER_PROMISE_CLEANUP));
  }

  private async writeStatus(release: PromiseRelease, ok: boolean, reason: string, message: string, installedVersion?: string): Promise<void> {
    const now = rfc3339Seconds((this.opts.now ?? (() => new Date()))());
    const status = {
      ...(release.status ?? {}),
      status: ok ? 'Installed' : 'Error',
      conditions: setCondition(release.status?.conditions, { type: 'Installed', status: ok ? 'True' : 'False', reason, message }, now),
      ...(installedVersion ? { installedVersion } : {}),
    };
    await this.opts.client.updateStatus(objectOf(promiseReleaseType, { ...release, status }));
  }
}
