/**
 * Keeps each state store equal to what its Destinations should hold: for a store, gather every Destination that
 * uses it, the canary documents and the files of every WorkPlacement targeting those Destinations, and hand the
 * whole desired tree to the store's writer, which commits the difference in one batch. Changes that arrive while a
 * write is under way are folded into the next batch (the work queue holds one entry per store). The desired
 * content is always derived from the stored objects, so restarts and outages converge to it; folders of
 * Destinations that were removed are emptied because the store remembers which folders it manages. Between writes
 * the desired tree is kept and brought up to date by the placements that changed (see StoreTree), and the writer
 * told which paths those are: a write costs what changed, not the fleet.
 */
import { stateStoreMetrics } from '../../telemetry/metrics.ts';
import { inSpan } from '../../telemetry/tracing.ts';
import { commitMessage } from './commitMessage.ts';
import { join } from 'node:path';
import type { Logger } from 'pino';
import { setCondition } from '../../api/conditions.ts';
import { errorMessage, isApiError } from '../../api/errors.ts';
import { isPlainObject, type StoredObject, cloneJson } from '../../api/types.ts';
import type { Client } from '../../client/Client.ts';
import { getOf, listOf, updateOf, watchOf } from '../../client/typed.ts';
import { writeStatus } from '../../client/writeStatus.ts';
import { withFinalizer, withoutFinalizer } from '../../api/finalizers.ts';
import { isObjectOf, objectOf, type TypedResourceType } from '../../registry/builtin/defineType.ts';
import {
  bucketStateStoreType,
  destinationType,
  gitStateStoreType,
  workPlacementType,
  type BucketStateStore,
  type Destination,
  type GitStateStore,
  type StateStoreStatus,
  type WorkPlacement,
} from '../../registry/builtin/kratixKinds.ts';
import { Controller, type ReconcileResult } from '../../controller/Controller.ts';
import { rfc3339Seconds } from '../../api/time.ts';
import { decodeWorkload } from '../../lib/workloads.ts';
import { spacedAfter } from '../../controller/spacedAfter.ts';
import { eachConcurrently } from '../../lib/eachConcurrently.ts';
import { KeyOrder } from './KeyOrder.ts';
import { destinationRoot, type DestinationLayout, type PlacementFiles } from '../../statestores/layout.ts';
import { placementKey, StoreTree } from './StoreTree.ts';
import type { GitAuth, SyncRequest, SyncResult } from '../../statestores/GitWriter.ts';
import { GitHubAppTokens, githubApiUrlOf, INSTALLATION_TOKEN_USER } from '../../statestores/GitHubAppTokens.ts';
import { LABEL_PIPELINE_NAME } from '../shared/kratixNames.ts';
import { LABEL_TARGET } from '../scheduler/WorkScheduler.ts';

/** What the controller needs from a state store writer (Git today; buckets implement the same). */
export interface StateWriter {
  sync(request: SyncRequest): Promise<SyncResult>;
}

/** A state store's spec, by kind. */
export type StoreSpec = { kind: 'GitStateStore'; spec: GitStateStore['spec'] } | { kind: 'BucketStateStore'; spec: BucketStateStore['spec'] };

export type WriterConfig = StoreSpec & {
  name: string;
  auth: GitAuth;
  /** Private working folder for this store. */
  workDir: string;
};

export interface StateStoreControllerOptions {
  client: Client;
  logger: Logger;
  /** Makes the writer for a store's current spec and credentials. */
  writerFor: (config: WriterConfig) => StateWriter;
  /** Where writers keep working copies. */
  workRoot: string;
  /** Changes are gathered this long before a write (a batch). */
  batchDelayMs?: number;
  now?: () => Date;
  /** Installation tokens for `authMethod: githubApp` (made here when not given). */
  githubApp?: GitHubAppTokens;
}

/** Kratix's finalizer on a Destination with `cleanup: all`: its folders are emptied before it goes. */
export const FINALIZER_DESTINATION_CLEANUP = 'kratix.io/destination-cleanup';

/** Placement status writes under way at once after a write. */
const STATUS_WRITES_AT_ONCE = 32;

/** Longest pause between two writes of a store however slow the last one was. */
const MAX_GAP_MS = 5_000;

/**
 * A write's pause after the last one, in multiples of what it took. A write of a fleet-sized store costs git about
 * the same however few files changed (its trees are rewritten), so under a stream of changes the writes are spaced
 * widely enough that git takes about a seventh of the time: at 3,000 resources on PostgreSQL a fleet update made
 * 124–126 writes instead of 246–268 (three times), and git's share of the machine fell with them. A lone change
 * after a quiet spell is written at once.
 */
const WRITE_SPACING = 6;

/** Where and how a Destination's files go in its store. */
function layoutOf(d: Destination, storePath: string | undefined): DestinationLayout {
  const ds = d.spec;
  return {
    name: d.metadata.name,
    root: destinationRoot(storePath, ds.path),
    mode: ds.filepath?.mode ?? 'nestedByMetadata',
    filename: ds.filepath?.filename ?? 'aggregated.yaml',
    canary: ds.initWorkloads?.enabled !== false,
  };
}

/** The Destination a placement targets. */
function targetOf(wp: WorkPlacement): string {
  return wp.spec?.targetDestinationName ?? wp.metadata.labels?.[LABEL_TARGET] ?? '';
}

/** Whether a placement's status says its files are written, for its current generation. */
function reportedWritten(wp: WorkPlacement): boolean {
  const status = wp.status ?? {};
  return status.observedGeneration === wp.metadata.generation && (status.conditions ?? []).some((c) => c.type === 'WriteSucceeded' && c.status === 'True');
}

/** The cached placements in their key order, with their keys. */
function* inOrder({ byKey, order }: { byKey: Map<string, CachedPlacement>; order: KeyOrder }): Generator<[string, CachedPlacement]> {
  for (const key of order.keys()) {
    const placement = byKey.get(key);
    if (placement) yield [key, placement];
  }
}

/** The placements a write of these Destinations holds: those targeting one of them, not being deleted. */
function targetedBy(layouts: DestinationLayout[], placements: Iterable<[string, CachedPlacement]>): CachedPlacement[] {
  const names = new Set(layouts.map((l) => l.name));
  const out: CachedPlacement[] = [];
  for (const [, p] of placements) if (names.has(p.target) && !p.deleting) out.push(p);
  return out;
}

/** What a placement's files depend on: its spec generation and pipeline label (status writes change neither). */
function versionOf(wp: WorkPlacement): string {
  return `${String(wp.metadata.generation)}|${wp.metadata.labels?.[LABEL_PIPELINE_NAME] ?? ''}`;
}

/**
 * What this controller keeps of a WorkPlacement (one per resource of the fleet, so only what a write reads): its
 * files, decoded once per spec generation, where they go, and whether its status already says they are written —
 * not the placement itself (its status conditions alone were half a kilobyte); a status write reads it first.
 */
interface CachedPlacement {
  /** The Destination it targets. */
  target: string;
  deleting: boolean;
  /** Its status says written for its generation: after a successful write, no status write is needed. */
  reported: boolean;
  /** Spec generation and pipeline label the files were decoded for. */
  version: string;
  files: PlacementFiles;
}

export class StateStoreController {
  readonly controller: Controller;
  private readonly opts: StateStoreControllerOptions;
  private watches: { stop(): void }[] = [];
  /** Destination name → its store key, from the Destination watch (to route WorkPlacement events). */
  private readonly storeOf = new Map<string, string>();
  private readonly writers = new Map<string, { signature: string; writer: StateWriter }>();
  /** When each store was last written and how long that took (to space the writes). */
  private readonly lastWrite = new Map<string, { end: number; took: number }>();
  /**
   * Every WorkPlacement as the watch last delivered it, decoded: a batch reads these instead of listing and parsing
   * 10,000 objects from the store each time. Undefined until the watch has delivered the existing ones.
   */
  private placements: { byKey: Map<string, CachedPlacement>; order: KeyOrder } | undefined;
  /** Each store's tree as its last successful write made it (see StoreTree). */
  private readonly trees = new Map<string, StoreTree>();
  /** By store: the placements changed since its tree was last brought up to date. */
  private readonly dirty = new Map<string, Set<string>>();

  private readonly githubApp: GitHubAppTokens;

  constructor(options: StateStoreControllerOptions) {
    this.opts = options;
    this.githubApp = options.githubApp ?? new GitHubAppTokens(options.now ? { now: options.now } : {});
    this.controller = new Controller({
      name: 'statestore',
      reconciler: { reconcile: (key, log) => this.reconcile(key, log) },
      logger: options.logger,
      concurrency: 2,
    });
  }

  /**
   * Last generation and labels seen per state store and Destination: status writes (ours included) do not change them,
   * so they trigger no batch. (WorkPlacements are compared with their cache entries.)
   */
  private readonly seen = new Map<string, unknown>();

  private changed(e: { type: string; object: StoredObject }): boolean {
    const id = `${e.object.kind}/${e.object.metadata.namespace ?? ''}/${e.object.metadata.name}`;
    if (e.type === 'DELETED') {
      this.seen.delete(id);
      return true;
    }
    const mark = JSON.stringify([e.object.metadata.generation, e.object.metadata.labels ?? {}, e.object.metadata.deletionTimestamp ?? null]);
    if (this.seen.get(id) === mark) return false;
    this.seen.set(id, mark);
    return true;
  }

  private enqueue(key: string | undefined): void {
    if (key) this.controller.queue.addAfter(key, this.opts.batchDelayMs ?? 100);
  }

  private enqueueAllStores(): void {
    for (const key of new Set(this.storeOf.values())) this.enqueue(key);
  }

  async start(): Promise<void> {
    this.controller.start();
    const { client } = this.opts;
    const cache = new Map<string, CachedPlacement>();
    // Keys in the order the store's files are laid out by (namespace, then name: NUL sorts before any character).
    const order = new KeyOrder();
    const watchStores = <T>(type: TypedResourceType<T>): Promise<{ stop(): void }> =>
      watchOf(client, type, {}, (e) => this.changed(e) && this.enqueue(`${type.kind}/${e.object.metadata.name}`));
    this.watches.push(await watchStores(gitStateStoreType), await watchStores(bucketStateStoreType));
    this.watches.push(
      await watchOf(client, destinationType, {}, (e) => {
        if (!this.changed(e)) return;
        const name = e.object.metadata.name;
        const ref = e.object.spec.stateStoreRef;
        const before = this.storeOf.get(name);
        const key = ref?.kind && ref.name ? `${ref.kind}/${ref.name}` : undefined;
        if (e.type === 'DELETED' || !key) this.storeOf.delete(name);
        else this.storeOf.set(name, key);
        this.enqueue(before);
        this.enqueue(key);
      }),
      await watchOf(client, workPlacementType, {}, (e) => {
        // What a write reads of a placement is in its cache entry: a change of none of it (status writes, ours
        // included) needs no write; a change of target rewrites the store it leaves too.
        const id = placementKey(e.object.metadata.namespace ?? '', e.object.metadata.name);
        const before = cache.get(id);
        const after = e.type === 'DELETED' ? undefined : this.placementOf(e.object, before);
        if (after) {
          cache.set(id, after);
          if (!before) order.add(id);
        } else if (before) {
          cache.delete(id);
          order.delete(id);
        }
        if (before && after && before.version === after.version && before.target === after.target && before.deleting === after.deleting) return;
        for (const target of new Set([before?.target, after?.target ?? targetOf(e.object)])) {
          const key = target === undefined ? undefined : this.storeOf.get(target);
          if (!key) continue;
          let dirty = this.dirty.get(key);
          if (!dirty) this.dirty.set(key, (dirty = new Set()));
          dirty.add(id);
          this.enqueue(key);
        }
      }),
      // Credentials can change under a store.
      await client.watch('v1', 'Secret', {}, () => this.enqueueAllStores()),
    );
    this.placements = { byKey: cache, order }; // the WorkPlacement watch has delivered every existing one by now
  }

  async stop(): Promise<void> {
    for (const w of this.watches) w.stop();
    this.watches = [];
    this.placements = undefined;
    this.trees.clear();
    this.dirty.clear();
    await this.controller.stop();
  }

  private now(): string {
    return rfc3339Seconds((this.opts.now ?? (() => new Date()))());
  }

  private async credentials({ kind, spec }: StoreSpec): Promise<GitAuth | string> {
    const ref = spec.secretRef;
    // IAM: the AWS SDK's own chain (environment, web identity, instance profile); a secretRef is not read.
    if (!ref?.name || spec.authMethod === 'IAM') return { kind: 'none' };
    const secret = await this.opts.client.get({ apiVersion: 'v1', kind: 'Secret', namespace: ref.namespace ?? 'default', name: ref.name });
    if (!secret) return `Secret ${ref.namespace ?? 'default'}/${ref.name} not found`;
    const data = Object.fromEntries(
      Object.entries(isPlainObject(secret.data) ? secret.data : {}).map(([k, v]) => [k, Buffer.from(String(v), 'base64').toString('utf8')]),
    );
    const method = spec.authMethod ?? (kind === 'GitStateStore' ? 'basicAuth' : 'accessKey');
    if (method === 'ssh')
      return data.sshPrivateKey
        ? { kind: 'ssh', privateKey: data.sshPrivateKey, ...(data.knownHosts ? { knownHosts: data.knownHosts } : {}) }
        : `Secret ${ref.name} has no sshPrivateKey`;
    if (method === 'basicAuth')
      return data.password !== undefined
        ? { kind: 'basic', username: data.username ?? '', password: data.password }
        : `Secret ${ref.name} has no password (basicAuth needs username and password)`;
    if (method === 'accessKey') return { kind: 'basic', username: data.accessKeyID ?? '', password: data.secretAccessKey ?? '' };
    if (method === 'githubApp' && kind === 'GitStateStore') {
      const missing = ['appID', 'installationID', 'privateKey'].filter((k) => !data[k]);
      if (missing.length) return `Secret ${ref.name} has no ${missing.join(', ')} (githubApp needs appID, installationID and privateKey)`;
      try {
        const token = await this.githubApp.token({
          appId: data.appID ?? '',
          installationId: data.installationID ?? '',
          privateKey: data.privateKey ?? '',
          // FleetOps' addition: GitHub Enterprise Server's API when it is not at https://HOST/api/v3.
          apiUrl: data.apiURL || githubApiUrlOf(spec.url ?? ''),
        });
        return { kind: 'basic', username: INSTALLATION_TOKEN_USER, password: token };
      } catch (err) {
        return errorMessage(err);
      }
    }
    return `authMethod ${method} is not supported for a ${kind}`;
  }

  async reconcile(key: string, log: Logger): Promise<ReconcileResult | void> {
    // A write re-derives the whole store (10,000 placements: a full tree to compare, several git processes), so
    // writes are spaced by WRITE_SPACING times the last one's cost: under a stream of changes the batches grow,
    // instead of writing back to back.
    const last = this.lastWrite.get(key);
    const wait = last ? last.end + spacedAfter(last.took, this.opts.batchDelayMs ?? 100, MAX_GAP_MS, WRITE_SPACING) - Date.now() : 0;
    if (wait > 0) {
      // Queued from inside this reconcile: the write that follows continues the trace of the change that asked for it.
      this.controller.queue.addAfter(key, wait);
      return;
    }
    const started = Date.now();
    try {
      return await this.write(key, log);
    } finally {
      this.lastWrite.set(key, { end: Date.now(), took: Date.now() - started });
    }
  }

  private async write(key: string, log: Logger): Promise<ReconcileResult | void> {
    const [kind = '', name = ''] = key.split('/');
    const { client } = this.opts;
    const git = kind === gitStateStoreType.kind ? await getOf(client, gitStateStoreType, name) : undefined;
    const bucket = kind === bucketStateStoreType.kind ? await getOf(client, bucketStateStoreType, name) : undefined;
    const store = git ?? bucket;
    const config: StoreSpec | undefined = git
      ? { kind: 'GitStateStore', spec: git.spec }
      : bucket
        ? { kind: 'BucketStateStore', spec: bucket.spec }
        : undefined;
    if (!store || !config) {
      this.trees.delete(key);
      this.dirty.delete(key);
      return;
    }
    const referring = (await listOf(client, destinationType)).filter((d) => {
      const ref = d.spec.stateStoreRef;
      return ref?.kind === kind && ref.name === name;
    });
    const destinations = await this.keepCleanupFinalizers(referring.filter((d) => !d.metadata.deletionTimestamp));
    // Deleted with `cleanup: all`: held by the finalizer until their folders are cleared by this write.
    const clearing = referring.filter((d) => d.metadata.deletionTimestamp && d.metadata.finalizers?.includes(FINALIZER_DESTINATION_CLEANUP));
    const auth = await this.credentials(config);
    if (typeof auth === 'string') {
      await this.setStoreStatus(store, false, 'CredentialsNotReady', auth);
      for (const d of destinations) await this.setDestinationReady(d, false, 'StateStoreNotReady', `State store ${name} is not ready: ${auth}`);
      return { requeueAfter: 30_000 };
    }
    const layouts = destinations.map((d) => layoutOf(d, config.spec.path));
    const roots = [...new Set(layouts.map((l) => l.root))].sort();
    const { tree, changed, targeted } = await this.desiredTree(key, layouts, roots);
    const failed = tree.failed;
    const destinationPaths = Object.fromEntries(layouts.map((l) => [l.name, l.root]));
    const request: SyncRequest = {
      // What the store held before and no Destination holds now is removed (a changed path, a cleared Destination),
      // except the folders of Destinations deleted with `cleanup: none` (Kratix's default), which stay as they are.
      roots: [...new Set([...roots, ...this.staleRoots(store.status, referring), ...clearing.map((d) => layoutOf(d, config.spec.path).root)])],
      files: tree.files,
      ...(changed ? { changed } : {}),
      message: (paths) => commitMessage(paths, layouts),
    };
    let result: SyncResult;
    const started = performance.now();
    try {
      result = await inSpan(
        `statestore.write ${config.kind}`,
        { attributes: { 'fleetops.statestore': `${config.kind}/${name}`, 'fleetops.destinations': destinations.map((d) => d.metadata.name) } },
        async (span) => {
          const r = await this.writerFor(config, name, auth).sync(request);
          span.setAttribute('fleetops.statestore.changed', r.changed);
          if (r.version) span.setAttribute('fleetops.statestore.version', r.version);
          return r;
        },
      );
      const took = (performance.now() - started) / 1000;
      for (const d of destinations) stateStoreMetrics.writeDuration.with(d.metadata.name).observe(took);
    } catch (err) {
      // The tree holds what was not written: the next write makes it again from every placement.
      this.trees.delete(key);
      for (const d of destinations) stateStoreMetrics.writeErrors.with(d.metadata.name).inc();
      const message = errorMessage(err);
      log.warn({ err: message }, 'state store write failed; retrying with backoff');
      await this.setStoreStatus(store, false, 'StateStoreWriteFailed', message);
      for (const d of destinations) await this.setDestinationReady(d, false, 'StateStoreWriteFailed', message);
      throw err;
    }
    if (result.changed) log.info({ changed: result.changed, version: result.version, placements: targeted.length }, 'state store updated');
    await this.setStoreStatus(store, true, 'StateStoreReady', 'State store is ready', { managedPaths: roots, destinationPaths, lastCommit: result.version });
    for (const d of clearing) await client.update(withoutFinalizer(d, FINALIZER_DESTINATION_CLEANUP));
    for (const d of destinations) await this.setDestinationReady(d, true, 'TestDocumentsWritten', 'Test documents written to State Store');
    // A placement already reported written for its generation is left alone: no status write per batch per placement.
    // (A walk of every targeted placement per write: no key made for each unless some failed.)
    const unreported = targeted.filter(({ files: p, reported }) => !reported || (failed.size > 0 && failed.has(placementKey(p.namespace, p.name))));
    // Written many at once: they share the store's transactions (one after another, a batch of 700 took 0.9 s of
    // waiting for commits, which the spacing of writes then tripled).
    await eachConcurrently(unreported, STATUS_WRITES_AT_ONCE, (placement) =>
      this.reportPlacement(placement, failed.get(placementKey(placement.files.namespace, placement.files.name)), result.version),
    );
  }

  /**
   * Every file the store should hold for these Destinations (and those that failed), and the placements they come
   * from: the store's last tree brought up to date by the placements changed since (with the paths that may have
   * changed), or a tree made from every placement.
   */
  private async desiredTree(
    storeKey: string,
    layouts: DestinationLayout[],
    roots: string[],
  ): Promise<{ tree: StoreTree; changed?: ReadonlySet<string>; targeted: CachedPlacement[] }> {
    const signature = JSON.stringify([layouts, roots]);
    const placements = this.placements;
    if (!placements) {
      // No watch cache yet: listed and decoded (the layout sorts them).
      const listed = (await listOf(this.opts.client, workPlacementType)).map((wp): [string, CachedPlacement] => [
        placementKey(wp.metadata.namespace ?? '', wp.metadata.name),
        this.placementOf(wp, undefined),
      ]);
      this.trees.delete(storeKey);
      return { tree: StoreTree.build(signature, layouts, listed), targeted: targetedBy(layouts, listed) };
    }
    // From here on synchronous: the changes taken are those the cache holds.
    const dirty = this.dirty.get(storeKey) ?? new Set<string>();
    this.dirty.delete(storeKey);
    const targeted = targetedBy(layouts, placements.byKey);
    const kept = this.trees.get(storeKey);
    const changed = kept?.signature === signature ? kept.update(dirty, (k) => placements.byKey.get(k)) : undefined;
    if (kept && changed) return { tree: kept, changed, targeted };
    const tree = StoreTree.build(signature, layouts, inOrder(placements));
    this.trees.set(storeKey, tree);
    return { tree, targeted };
  }

  private writerFor(config: StoreSpec, name: string, auth: GitAuth): StateWriter {
    const id = `${config.kind}/${name}`;
    const signature = JSON.stringify([config.spec, auth]);
    const cached = this.writers.get(id);
    if (cached?.signature === signature) return cached.writer;
    const writer = this.opts.writerFor({ ...config, name, auth, workDir: join(this.opts.workRoot, `${config.kind.toLowerCase()}-${name}`) });
    this.writers.set(id, { signature, writer });
    return writer;
  }

  /**
   * A placement as kept: its files decoded, or those decoded before when its spec generation and pipeline label are
   * the same (this controller's own status writes change neither), where it goes and whether its write is reported.
   */
  private placementOf(wp: WorkPlacement, before: CachedPlacement | undefined): CachedPlacement {
    const version = versionOf(wp);
    const kept = {
      target: targetOf(wp),
      deleting: Boolean(wp.metadata.deletionTimestamp),
      reported: reportedWritten(wp),
      version,
    };
    if (before?.version === version) return { ...kept, files: before.files };
    let workloads: PlacementFiles['workloads'] = [];
    let invalid: Error | undefined;
    try {
      workloads = (wp.spec?.workloads ?? []).map((w) => ({ filepath: w.filepath, content: decodeWorkload(w.content ?? '') }));
    } catch (err) {
      invalid = new Error(`cannot decode the workloads: ${errorMessage(err)}`, { cause: err });
    }
    const spec = wp.spec;
    const files: PlacementFiles = {
      namespace: wp.metadata.namespace ?? '',
      name: wp.metadata.name,
      promiseName: spec?.promiseName ?? '',
      resourceName: spec?.resourceName ?? '',
      pipeline: wp.metadata.labels?.[LABEL_PIPELINE_NAME] ?? '',
      groupId: spec?.id ?? '',
      workloads,
      ...(invalid ? { invalid } : {}),
    };
    return { ...kept, files };
  }

  private async setStoreStatus(
    store: GitStateStore | BucketStateStore,
    ready: boolean,
    reason: string,
    message: string,
    written?: Pick<StateStoreStatus, 'managedPaths' | 'destinationPaths' | 'lastCommit'>,
  ): Promise<void> {
    const view = (o: StoredObject): typeof store => (isObjectOf(gitStateStoreType, o) ? o : objectOf(bucketStateStoreType, o));
    await writeStatus(this.opts.client, store, view, (current) => {
      const status = cloneJson(current.status ?? {});
      status.status = ready ? 'Ready' : 'NotReady';
      status.conditions = setCondition(status.conditions, { type: 'Ready', status: ready ? 'True' : 'False', reason, message }, this.now());
      status.observedGeneration = current.metadata.generation ?? 1;
      if (written) {
        status.managedPaths = written.managedPaths;
        status.destinationPaths = written.destinationPaths;
        if (written.lastCommit) status.lastCommit = written.lastCommit;
      }
      return status;
    });
  }

  /**
   * Folders the store managed at its last write that are to be emptied now. A Destination that no longer exists at
   * all was deleted without the cleanup finalizer, that is with `cleanup: none`: its folder is released, not emptied.
   * (A store last written before FleetOps recorded each Destination's folder has no such record: all are emptied.)
   */
  private staleRoots(status: StateStoreStatus | undefined, referring: Destination[]): string[] {
    const exists = new Set(referring.map((d) => d.metadata.name));
    const released = new Set(
      Object.entries(status?.destinationPaths ?? {})
        .filter(([destination]) => !exists.has(destination))
        .map(([, root]) => root),
    );
    return (status?.managedPaths ?? []).filter((root) => typeof root === 'string' && !released.has(root));
  }

  /** Destinations with `cleanup: all` carry Kratix's finalizer (their folders are emptied before they go); others not. */
  private async keepCleanupFinalizers(destinations: Destination[]): Promise<Destination[]> {
    const kept: Destination[] = [];
    for (const d of destinations) {
      const wants = d.spec.cleanup === 'all';
      const has = d.metadata.finalizers?.includes(FINALIZER_DESTINATION_CLEANUP) ?? false;
      if (wants === has) kept.push(d);
      else
        kept.push(
          await updateOf(
            this.opts.client,
            destinationType,
            wants ? withFinalizer(d, FINALIZER_DESTINATION_CLEANUP) : withoutFinalizer(d, FINALIZER_DESTINATION_CLEANUP),
          ),
        );
    }
    return kept;
  }

  private async setDestinationReady(dest: Destination, ready: boolean, reason: string, message: string): Promise<void> {
    await writeStatus(
      this.opts.client,
      dest,
      (o) => objectOf(destinationType, o),
      (current) => {
        const status = cloneJson(current.status ?? {});
        status.conditions = setCondition(status.conditions, { type: 'Ready', status: ready ? 'True' : 'False', reason, message }, this.now());
        return status;
      },
    );
  }

  /**
   * Reports a placement written (or failed) at `version`, as it was when the tree was made: one changed since has its
   * own write coming (its watch event queued it), which reports it.
   */
  private async reportPlacement(placement: CachedPlacement, error: string | undefined, version: string): Promise<void> {
    const { namespace, name } = placement.files;
    // Only read: its new status is made as a new object (the store's shared copy).
    const wp = await getOf(this.opts.client, workPlacementType, name, namespace || undefined, { shared: true });
    if (!wp) return;
    const written = writeStatus(
      this.opts.client,
      wp,
      (o) => objectOf(workPlacementType, o),
      (current) => {
        // Changed since the tree was made, or already reported written for its generation: left alone.
        if (versionOf(current) !== placement.version || (!error && reportedWritten(current))) return false;
        const now = this.now();
        let c = current.status?.conditions;
        c = setCondition(c, { type: 'ScheduleSucceeded', status: 'True', reason: 'ScheduledToDestination', message: 'Scheduled to correct Destination' }, now);
        c = error
          ? setCondition(c, { type: 'WriteSucceeded', status: 'False', reason: 'WorkloadsFailedWrite', message: error }, now)
          : setCondition(c, { type: 'WriteSucceeded', status: 'True', reason: 'WorkloadsWrittenToStateStore', message: '' }, now);
        c = setCondition(
          c,
          error
            ? { type: 'Ready', status: 'False', reason: 'WorkloadsFailedWrite', message: 'Failing' }
            : { type: 'Ready', status: 'True', reason: 'WorkloadsWrittenToTargetDestination', message: 'Ready' },
          now,
        );
        return { ...current.status, conditions: c, versionID: version, observedGeneration: current.metadata.generation ?? 1 };
      },
    );
    await written.catch((err: unknown) => {
      if (!isApiError(err, 'NotFound')) throw err; // deleted meanwhile: nothing to report
    });
  }
}
