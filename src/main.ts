/**
 * Composition root: the only place (with the CLI's `up`) that picks concrete implementations. `startFleetOps`
 * brings up the store, registry, API server and controllers in one process; run directly it starts with the
 * embedded defaults.
 */
import { startTracing, traceLogFields } from './telemetry/tracing.ts';
import { SERVER_VERSION } from './apiserver/discovery.ts';
import { randomBytes, randomUUID } from 'node:crypto';
import { hostname } from 'node:os';
import type { KubeObject } from './api/types.ts';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { checkDatabase, DataDirError, keepPrivate, lockDataDir, markInitialized } from './dataDir.ts';
import { dirname, join, resolve } from 'node:path';
import { pino, type Logger } from 'pino';
import { ApiError, isApiError, errorCode, errorMessage } from './api/errors.ts';
import { ApiServer } from './apiserver/ApiServer.ts';
import { Authenticator } from './apiserver/auth.ts';
import { loadTokens } from './apiserver/tokenFile.ts';
import { portalRoutes } from './apiserver/portalRoutes.ts';
import { AuditLog } from './apiserver/AuditLog.ts';
import { RbacAuthorizer } from './apiserver/rbac/RbacAuthorizer.ts';
import { reconcileBootstrapPolicy } from './apiserver/rbac/bootstrapPolicy.ts';
import { rbacTypes } from './registry/builtin/rbacKinds.ts';
import { ClusterRoleAggregator } from './controllers/rbac/ClusterRoleAggregator.ts';
import { PromiseRoles } from './controllers/rbac/PromiseRoles.ts';
import { ServiceAccountTokenSecrets } from './controllers/rbac/ServiceAccountTokenSecrets.ts';
import { signServiceAccountToken } from './lib/serviceAccountToken.ts';
import { IdleMemoryReclaimer, type IdleMemoryReclaimerOptions } from './lib/IdleMemoryReclaimer.ts';
import { limitHeapGrowth } from './lib/heapGrowth.ts';
import type { ToolRunner } from './lib/runTool.ts';
import { UnixSocketProxy } from './lib/UnixSocketProxy.ts';
import { PlatformApplier } from './controllers/platform/PlatformApplier.ts';
import { ComponentStatus } from './controllers/platform/ComponentStatus.ts';
import { HealthRecords } from './controllers/health/HealthRecords.ts';
import { GarbageCollector } from './controllers/gc/GarbageCollector.ts';
import { ResourceBindings } from './controllers/bindings/ResourceBindings.ts';
import { RevisionVersions } from './controllers/bindings/revisionVersions.ts';
import { KratixPromiseRevisions } from './controllers/bindings/KratixPromiseRevisions.ts';
import { BackstageCatalog } from './controllers/backstage/BackstageCatalog.ts';
import { ensureSelfSignedCert } from './apiserver/tls.ts';
import { coreTypes, namespaceType, secretType, serviceAccountType } from './registry/builtin/coreKinds.ts';
import { destinationType, gitStateStoreType, kratixTypes } from './registry/builtin/kratixKinds.ts';
import { isPlainObject, type JsonObject, type ObjectMeta } from './api/types.ts';
import { ObjectService } from './registry/ObjectService.ts';
import { Registry } from './registry/Registry.ts';
import { apiVersionOf, type ResourceType } from './registry/ResourceType.ts';
import { SchemaValidator } from './registry/schema/SchemaValidator.ts';
import { SqliteStore } from './store/SqliteStore.ts';
import { shareIdentity } from './sharedIdentity.ts';
import { ControllerManager } from './controller/ControllerManager.ts';
import { LeaderElector, type LeaseAccess, type LeaseRecord } from './controller/LeaderElector.ts';
import { coordinationTypes, leaseType } from './registry/builtin/coordinationKinds.ts';
import { ServedApis } from './controllers/promise/ServedApis.ts';
import { ReplicaHeartbeat } from './controller/ReplicaHeartbeat.ts';
import {
  ANNOTATION_REPLICA_ROLE,
  REPLICA_LEASE_NAMESPACE,
  ANNOTATION_REPLICA_STORE,
  ANNOTATION_REPLICA_URL,
  CONTROLLERS_LEASE_NAME,
  REPLICA_LEASE_PREFIX,
} from './api/fleetopsNames.ts';
import { redactCredentials } from './lib/redact.ts';
import { PostgresStore, isPostgresUrl, secretsOf } from './store/PostgresStore.ts';
import { migrateRenamedKinds } from './registry/renamedKinds.ts';
import { InProcessClient } from './client/InProcessClient.ts';
import { SharedInformers } from './controllers/shared/SharedInformers.ts';
import { PromiseController } from './controllers/promise/PromiseController.ts';
import { EventRecorder } from './controllers/shared/EventRecorder.ts';
import { EventExpiry } from './controllers/shared/EventExpiry.ts';
import type { CheckOp, Store } from './store/Store.ts';
import { fleetopsTypes, workflowRunType } from './registry/builtin/fleetopsKinds.ts';
import { isObjectOf } from './registry/builtin/defineType.ts';
import { isPipelineAccount } from './api/fleetopsNames.ts';
import { defaultWorkflowConcurrency, ResourceController } from './controllers/resource/ResourceController.ts';
import { Slots } from './lib/Slots.ts';
import { DRY_RUN_BINDING, WorkflowExecutor, type RunDispatch } from './controllers/shared/WorkflowExecutor.ts';
import { RunAwaiter } from './controllers/shared/RunAwaiter.ts';
import { RunWorker } from './controllers/shared/RunWorker.ts';
import type { Client } from './client/Client.ts';
import { WorkSeal } from './controllers/shared/workSeal.ts';
import { NamespaceController } from './controllers/namespace/NamespaceController.ts';
import { cgroupsNameFor, openCgroups } from './workflows/runtime/cgroups.ts';
import { PipelineRunner } from './workflows/PipelineRunner.ts';
import { apiSocketPath, removeStaleWorkspaces } from './workflows/workspace.ts';
import { HelperLauncher } from './workflows/runtime/HelperLauncher.ts';
import { openSandboxRuntime } from './workflows/runtime/openSandboxRuntime.ts';
import type { StepRuntime } from './workflows/StepRuntime.ts';
import type { ImageCache } from './workflows/images/ImageCache.ts';
import { openImageCache, type ImagesOptions } from './workflows/images/openImageCache.ts';
import { YamlParser } from './workers/YamlParser.ts';
import { DEFAULT_LIMITS, UNTRUSTED_LIMITS } from './api/boundedYaml.ts';
import { RolloutController } from './controllers/rollout/RolloutController.ts';
import { PromiseReleaseController } from './controllers/promiserelease/PromiseReleaseController.ts';
import { fetchText } from './lib/fetchText.ts';
import { DryRunController } from './controllers/dryrun/DryRunController.ts';
import { PlanController } from './controllers/rollout/PlanController.ts';
import { WorkScheduler } from './controllers/scheduler/WorkScheduler.ts';
import { StateStoreController, type StateWriter, type WriterConfig } from './controllers/statestore/StateStoreController.ts';
import { GitWriter } from './statestores/GitWriter.ts';
import { BucketWriter } from './statestores/BucketWriter.ts';
import { serveGit } from './gitserver/gitHttpBackend.ts';
import { execFileSync } from 'node:child_process';
import type { FastifyInstance } from 'fastify';
import { defaultDataDir, INSTALL_DIR } from './lib/installation.ts';
import { kubeconfigYaml } from './client/kubeconfig.ts';
import { Teardown } from './lib/Teardown.ts';

export { defaultDataDir, INSTALL_DIR } from './lib/installation.ts';
export { traceLogFields } from './telemetry/tracing.ts';

export interface FleetOpsOptions {
  /** Where the database, certificate, tokens and kubeconfig live. Default `$FLEETOPS_HOME` or `~/.fleetops`. */
  dataDir?: string;
  /** API port; 0 picks a free one. Default 6443. */
  port?: number;
  host?: string;
  logger?: Logger;
  /** Watch keep-alive interval (tests shorten it). */
  heartbeatMs?: number;
  /**
   * Pipeline steps run in parallel up to this many (default: 4 per core, see defaultWorkflowConcurrency). A single
   * FleetOps reconciles twice as many resources at once, so that the work around each run (its records in the store,
   * its workspace, its outputs) goes on while the steps use the cores.
   */
  workflowConcurrency?: number;
  /** Runs pipeline steps; default: the bubblewrap sandbox. */
  runtime?: StepRuntime;
  /** Per-step wall-clock limit (default 10 minutes). */
  stepTimeoutMs?: number;
  /** First retry delay after a failed workflow (default 5 s, doubling up to 5 minutes). */
  retryBaseMs?: number;
  /**
   * On first start, create the embedded Git state store and the `platform` and `worker-1` Destinations
   * (default true).
   */
  defaultDestinations?: boolean;
  /** Changes to a state store are gathered this long before one commit (default 100 ms). */
  stateStoreBatchMs?: number;
  /**
   * Start on a data directory whose database is missing or empty although it was used before (by default that is
   * refused: it would be an empty platform where one was).
   */
  fresh?: boolean;
  /** Pipeline images: registry configuration and the cache (see ImagesOptions). */
  images?: ImagesOptions;
  /** The audit log of write requests (`<dataDir>/audit/audit.log`): rotation size and files kept, or false for none. */
  audit?: false | { maxBytes?: number; keep?: number };
  /** Memory given back after a load once the API is quiet (default: after 10 s without requests but probes), or false. */
  idleMemory?: false | Omit<IdleMemoryReclaimerOptions, 'logger'>;
  /** The clock of the store, the API and every controller (default: the system's); tests set it to move time. */
  now?: () => Date;
  /**
   * Where objects are kept: `postgres://…` for a PostgreSQL database shared by several replicas, or the embedded
   * SQLite file in the data directory (the default). Default `$FLEETOPS_STORE`.
   */
  store?: string;
  /**
   * With a shared store: `all` (default) serves the API, may run the controllers and runs pipeline steps; `api` does
   * not run steps; `worker` runs steps and never runs the controllers. Default `$FLEETOPS_ROLE`, else `all`.
   */
  role?: ReplicaRole;
  /**
   * Mi characters of stored objects the store keeps in memory for reads (about MiB of memory; default 128, see
   * TextCache). Default `$FLEETOPS_READ_CACHE_MIB`.
   */
  readCacheMiB?: number;
}

export type ReplicaRole = 'all' | 'api' | 'worker';
const ROLES: readonly ReplicaRole[] = ['all', 'api', 'worker'];
/** Resources a single FleetOps reconciles at once per step slot (see FleetOpsOptions.workflowConcurrency). */
const RECONCILES_PER_STEP = 2;

export interface FleetOps {
  url: string;
  port: number;
  dataDir: string;
  kubeconfigPath: string;
  adminToken: string;
  caCert: string;
  registry: Registry;
  objects: ObjectService;
  store: Store;
  controllers: {
    promises: PromiseController;
    resources: ResourceController;
    rollouts: RolloutController;
    plans: PlanController;
    scheduler: WorkScheduler;
    stateStores: StateStoreController;
  };
  /** The embedded Git repository (bare) and where GitOps agents clone it. */
  embeddedGit: { path: string; cloneUrl: string };
  runtime: StepRuntime;
  images: ImageCache;
  stop(): Promise<void>;
}

export const SYSTEM_NAMESPACES = ['default', 'kratix-platform-system', 'fleetops-system'];

/** The key service account tokens are signed with, made on first start (0600, like the other secrets here). */
function loadSigningKey(dataDir: string): Buffer {
  const path = join(dataDir, 'serviceaccount.key');
  if (!existsSync(path)) writeFileSync(path, randomBytes(32).toString('hex') + '\n', { mode: 0o600 });
  return Buffer.from(readFileSync(path, 'utf8').trim(), 'hex');
}

async function ensureNamespaces(objects: ObjectService): Promise<void> {
  for (const name of SYSTEM_NAMESPACES) {
    try {
      await objects.create(namespaceType, '', { apiVersion: 'v1', kind: 'Namespace', metadata: { name } });
    } catch (err) {
      if (!isApiError(err, 'AlreadyExists')) throw err;
    }
  }
}

/**
 * Writers for state stores: Git through the real git (started by `runGit`: the sandbox helper's), S3-compatible
 * buckets through the AWS SDK.
 */
function writerFor(config: WriterConfig, runGit: ToolRunner): StateWriter {
  if (config.kind === 'GitStateStore') {
    const { spec } = config;
    return new GitWriter({
      run: runGit,
      url: spec.url,
      branch: spec.branch ?? 'main',
      workDir: config.workDir,
      auth: config.auth,
      author: { name: spec.gitAuthor?.name ?? 'kratix', email: spec.gitAuthor?.email ?? 'kratix@fleetops.local' },
    });
  }
  const { spec } = config;
  // IAM: no explicit credentials, the AWS SDK's default chain (environment, instance profile) applies.
  const credentials =
    config.auth.kind === 'basic' && spec.authMethod !== 'IAM' ? { accessKeyId: config.auth.username, secretAccessKey: config.auth.password } : undefined;
  return new BucketWriter({
    endpoint: spec.endpoint,
    bucket: spec.bucketName,
    ...(spec.insecure !== undefined ? { insecure: spec.insecure } : {}),
    ...(credentials ? { credentials } : {}),
  });
}

/** The embedded state store: a bare repository in the data directory. */
function ensureEmbeddedRepo(dataDir: string): string {
  const path = join(dataDir, 'git', 'state.git');
  if (!existsSync(join(path, 'HEAD'))) {
    mkdirSync(path, { recursive: true });
    execFileSync('git', ['init', '-q', '--bare', '-b', 'main', path]);
  }
  return path;
}

/** First start only: the embedded GitStateStore and a platform and a worker Destination on it. */
async function createDefaults(objects: ObjectService, registry: Registry, dataDir: string, repoPath: string): Promise<void> {
  const marker = join(dataDir, '.defaults-created');
  if (existsSync(marker)) return;
  const create = async (type: ResourceType, obj: { metadata: ObjectMeta; spec: JsonObject }): Promise<void> => {
    try {
      await objects.create(type, '', { apiVersion: apiVersionOf(type), kind: type.kind, ...obj });
    } catch (err) {
      if (!isApiError(err, 'AlreadyExists')) throw err;
    }
  };
  await create(gitStateStoreType, {
    metadata: { name: 'default' },
    spec: { url: `file://${repoPath}`, branch: 'main', gitAuthor: { name: 'fleetops', email: 'fleetops@fleetops.local' } },
  });
  await create(destinationType, {
    metadata: { name: 'platform', labels: { environment: 'platform' } },
    spec: { path: 'platform', stateStoreRef: { kind: 'GitStateStore', name: 'default' } },
  });
  await create(destinationType, {
    metadata: { name: 'worker-1', labels: { environment: 'worker' } },
    spec: { path: 'worker-1', stateStoreRef: { kind: 'GitStateStore', name: 'default' } },
  });
  writeFileSync(marker, `${new Date().toISOString()}\n`);
}

/** GET/POST /git/<repo>.git/...: the embedded repository over smart HTTP, read-only, for any valid token. */
function gitRoutes(gitRoot: string, authenticator: Authenticator): (app: FastifyInstance) => void {
  return (app) => {
    app.route({
      method: ['GET', 'POST'],
      url: '/git/*',
      handler: async (req, reply) => {
        const user = await authenticator.authenticateBasicOrBearer(req.headers.authorization);
        if (!user)
          return reply.code(401).header('WWW-Authenticate', 'Basic realm="FleetOps"').type('text/plain').send('a FleetOps token is needed (as the password)\n');
        reply.hijack();
        await serveGit(req.raw, reply.raw, {
          projectRoot: gitRoot,
          user: user.username,
          allowPush: false,
          pathInfo: `/${isPlainObject(req.params) ? String(req.params['*']) : ''}`,
          ...(Buffer.isBuffer(req.body) ? { body: req.body } : {}),
        });
      },
    });
  };
}

/**
 * With replicas, a Git state store in a local directory (the embedded one included) lives on one machine's disk:
 * another leader elsewhere would not find it, and GitOps agents lose their source with that machine. Said at start,
 * not discovered at fail-over.
 */
async function warnOfLocalStateStores(objects: ObjectService, logger: Logger): Promise<void> {
  for (const s of (await objects.list(gitStateStoreType, undefined)).items) {
    const url = isObjectOf(gitStateStoreType, s) ? (s.spec?.url ?? '') : '';
    if (url.startsWith('file://') || url.startsWith('/'))
      logger.warn(
        { gitStateStore: s.metadata.name, url },
        'this Git state store is a directory on one machine: with several replicas use an external Git server or a bucket (docs/scale-out.md), or its history is lost when that machine is',
      );
  }
}

/** The Lease of the replica that runs the controllers (`kubectl get leases -n fleetops-system`). */
const CONTROLLERS_LEASE = { namespace: REPLICA_LEASE_NAMESPACE, name: CONTROLLERS_LEASE_NAME };

/** One Lease object, read and written through the registry (validation, resourceVersions, watches). */
export function leaseAccess(
  objects: ObjectService,
  at: { namespace: string; name: string; annotations?: () => Record<string, string> },
): LeaseAccess & { delete(): Promise<void> } {
  const body = (spec: LeaseRecord, resourceVersion?: string): KubeObject => ({
    apiVersion: 'coordination.k8s.io/v1',
    kind: 'Lease',
    metadata: {
      name: at.name,
      namespace: at.namespace,
      ...(at.annotations ? { annotations: at.annotations() } : {}),
      ...(resourceVersion ? { resourceVersion } : {}),
    },
    spec,
  });
  return {
    async get() {
      const lease = await objects.find(leaseType, at.namespace, at.name);
      return lease && isObjectOf(leaseType, lease) ? { spec: lease.spec ?? {}, resourceVersion: lease.metadata.resourceVersion } : undefined;
    },
    async create(spec) {
      await objects.create(leaseType, at.namespace, body(spec));
    },
    async update(spec, resourceVersion) {
      await objects.update(leaseType, at.namespace, at.name, body(spec, resourceVersion));
    },
    async watch(onChange) {
      return objects.watch(leaseType, at.namespace, { resourceVersion: '', fieldSelector: `metadata.name=${at.name}` }, (e) =>
        onChange(e.type === 'DELETED' || !isObjectOf(leaseType, e.object) ? undefined : e.object.spec?.holderIdentity),
      );
    },
    async delete() {
      await objects.delete(leaseType, at.namespace, at.name).catch((err: unknown) => {
        if (!isApiError(err, 'NotFound')) throw err;
      });
    },
  };
}

/** The store-side check of a leader's fencing token: the Lease still names this holder and this acquisition. */
export function fenceCheck(at: { namespace: string; name: string }, token: { holder: string; transitions: number } | undefined): CheckOp {
  return {
    op: 'check',
    key: { group: leaseType.group, kind: leaseType.kind, namespace: at.namespace, name: at.name },
    accept: (lease) => {
      const spec: LeaseRecord = lease && isObjectOf(leaseType, lease) ? (lease.spec ?? {}) : {};
      return token !== undefined && spec.holderIdentity === token.holder && (spec.leaseTransitions ?? 0) === token.transitions;
    },
    refusal: () =>
      new ApiError(503, 'ServiceUnavailable', 'this replica no longer holds the controllers lease (fenced): another replica runs the controllers now'),
  };
}

/** The embedded SQLite store in the data directory, or a PostgreSQL store when `url` names one. */
async function openStore(
  dataDir: string,
  url: string | undefined,
  o: { now: () => Date; fresh: boolean; logger: Logger; cacheChars: number | undefined },
): Promise<Store> {
  const cache = o.cacheChars !== undefined ? { cacheChars: o.cacheChars } : {};
  if (url && isPostgresUrl(url)) {
    keepPrivate(dataDir);
    const where = redactCredentials(url);
    const log = o.logger.child({ component: 'store' });
    try {
      const store = await PostgresStore.open({
        url,
        now: o.now,
        ...cache,
        onConnectionChange: ({ ready, problem }) =>
          ready ? log.info({ store: where }, 'database reachable again') : log.warn({ store: where, problem }, 'database unreachable: not ready'),
      });
      log.info({ store: where }, 'objects kept in PostgreSQL');
      return store;
    } catch (err) {
      throw new DataDirError(`cannot open the PostgreSQL store ${where}: ${redactCredentials(errorMessage(err), secretsOf(url))}`);
    }
  }
  if (url)
    throw new DataDirError(`unknown store "${redactCredentials(url)}": give a postgres://user:password@host:port/database URL, or none for the embedded store`);
  checkDatabase(dataDir, o.fresh);
  // After the check (it tells a missing database from an empty one). Traversable, not listable: sandboxes reach image
  // roots below it by path; everything secret in it is 0600/0700.
  keepPrivate(dataDir);
  const dbPath = join(dataDir, 'fleetops.db');
  try {
    const store = new SqliteStore({ path: dbPath, now: o.now, logger: o.logger.child({ component: 'store' }), ...cache });
    markInitialized(dataDir);
    return store;
  } catch (err) {
    throw new DataDirError(`cannot open the database ${dbPath}: ${errorMessage(err)}`);
  }
}

/** The read cache's size in characters, from MiB given as an option or in the environment; refused unless positive. */
function readCacheChars(given: number | string | undefined): number | undefined {
  if (given === undefined || given === '') return undefined;
  const mib = Number(given);
  if (!Number.isFinite(mib) || mib <= 0)
    throw new DataDirError(`the read cache size "${String(given)}" is not a positive number of MiB: set FLEETOPS_READ_CACHE_MIB to, say, 256`);
  return Math.round(mib * 1024 * 1024);
}

/** The replica's role, refused before anything is opened when it is unknown or needs a store this one is not. */
function roleOf(name: string, replicated: boolean): ReplicaRole {
  const role = ROLES.find((r) => r === name);
  if (!role) throw new DataDirError(`unknown role "${name}": use all, api or worker`);
  if (!replicated && role !== 'all')
    throw new DataDirError(`the role "${role}" needs a store shared by several replicas: start with --store postgres://… (or use the default role, all)`);
  return role;
}

/** The API server started on its port; a port taken or not ours to take is refused with the fix. */
async function listen(server: ApiServer, port: number, host: string): Promise<{ url: string; port: number }> {
  try {
    return await server.start(port, host);
  } catch (err) {
    const code = errorCode(err);
    const problem =
      code === 'EADDRINUSE'
        ? 'is in use (another FleetOps?): stop what holds it, or start with another --port (FLEETOPS_PORT)'
        : code === 'EACCES'
          ? 'needs privileges this process lacks: start with a port above 1023 (--port, FLEETOPS_PORT)'
          : undefined;
    if (!problem) throw err;
    throw new DataDirError(`the API port ${port} on ${host} ${problem}`, { cause: err });
  }
}

/**
 * Starts FleetOps. A start that fails part way releases what it had acquired (the data directory's lock, the store,
 * the sandbox helper, the step cgroups, started controllers) before its error is thrown.
 */
export async function startFleetOps(options: FleetOpsOptions = {}): Promise<FleetOps> {
  const teardown = new Teardown();
  try {
    return await assemble(options, teardown);
  } catch (err) {
    // The start's own error is the one to report; a release that fails as well changes nothing for the caller.
    await teardown.run().catch(() => undefined);
    throw err;
  }
}

/** FleetOps put together and started; each part's release is added to `teardown` as soon as it is acquired. */
async function assemble(options: FleetOpsOptions, teardown: Teardown): Promise<FleetOps> {
  const storeUrl = options.store ?? process.env.FLEETOPS_STORE;
  const replicated = storeUrl !== undefined && isPostgresUrl(storeUrl);
  const role = roleOf(options.role ?? process.env.FLEETOPS_ROLE ?? 'all', replicated);
  const cacheChars = readCacheChars(options.readCacheMiB ?? process.env.FLEETOPS_READ_CACHE_MIB);
  const dataDir = resolve(options.dataDir ?? defaultDataDir());
  mkdirSync(dataDir, { recursive: true, mode: 0o700 });
  teardown.add('the data directory lock', lockDataDir(dataDir));
  limitHeapGrowth();
  // One clock for the store, the API and every controller (tests move it).
  const now = options.now ?? ((): Date => new Date());
  const logger = options.logger ?? pino({ level: process.env.FLEETOPS_LOG_LEVEL ?? 'info', mixin: traceLogFields });
  // Traces only when an OTLP endpoint is configured (the SDK is not even loaded otherwise).
  const tracing = await startTracing(process.env, { 'service.version': SERVER_VERSION.gitVersion, 'host.name': hostname(), 'process.pid': process.pid });
  if (tracing) {
    teardown.add('tracing', () => tracing.shutdown());
    logger.info({ endpoint: process.env.OTEL_EXPORTER_OTLP_TRACES_ENDPOINT ?? process.env.OTEL_EXPORTER_OTLP_ENDPOINT }, 'exporting traces (OTLP)');
  }
  const store: Store = await openStore(dataDir, storeUrl, { now, fresh: options.fresh === true, logger, cacheChars });
  teardown.add('the store', () => store.close());
  await migrateRenamedKinds(store, logger);
  const registry = new Registry();
  const validator = new SchemaValidator();
  for (const t of [...coreTypes, ...coordinationTypes, ...rbacTypes, ...kratixTypes(validator), ...fleetopsTypes]) registry.register(t);
  const objects = new ObjectService({ store, registry, validator, now });
  await ensureNamespaces(objects);
  if (replicated)
    await shareIdentity(
      objects,
      dataDir,
      () => {
        ensureSelfSignedCert(dataDir);
        loadSigningKey(dataDir);
        loadTokens(dataDir);
      },
      logger.child({ component: 'identity' }),
    );
  // Controllers share one watch per kind.
  // With replicas, every write of the controllers carries the leader's fencing token: a replica that has lost the
  // Lease (and not noticed yet) cannot write (ADR 0019).
  let elector: LeaderElector | undefined;
  const controllerObjects = replicated
    ? new ObjectService({ store, registry, validator, now, fence: () => fenceCheck(CONTROLLERS_LEASE, elector?.fence()) })
    : objects;
  const client = new SharedInformers({ client: new InProcessClient({ objects: controllerObjects }) });
  const controllerLog = logger.child({ component: 'controllers' });
  const events = new EventRecorder({ client, component: 'fleetops', logger: controllerLog, now });
  const eventExpiry = new EventExpiry({ client, logger: controllerLog, now });
  const launcher = new HelperLauncher({ logger: logger.child({ component: 'sandbox' }) });
  const stale = removeStaleWorkspaces();
  if (stale) logger.info({ removed: stale }, 'removed workspaces left by runs of a FleetOps that was stopped hard');
  const opened = options.runtime ? undefined : openCgroups({ name: cgroupsNameFor(dataDir) });
  if (typeof opened === 'string') logger.warn({ problem: opened }, 'steps run without memory and CPU limits');
  const cgroups = typeof opened === 'string' ? undefined : opened;
  if (cgroups) teardown.add('the step cgroups', () => cgroups.close());
  // Before the groups are removed: they must be empty, and the helper kills whatever it still runs when it stops.
  teardown.add('the sandbox helper', () => launcher.stop());
  const runtime = options.runtime ?? (await openSandboxRuntime({ dataDir, logger, launcher, ...(cgroups ? { cgroups } : {}) }));
  const images = openImageCache(dataDir, options.images, logger.child({ component: 'images' }));
  images.start();
  teardown.add('the image cache', () => images.stop());
  // One parser for what users send and what steps write: big YAML is parsed off the event loop, under limits.
  const parser = new YamlParser();
  teardown.add('the YAML parser', () => parser.stop());
  // Steps of pipelines with spec.rbac reach the API through this socket (their sandbox has no network).
  let apiPort: number | undefined = undefined; // known once the API server listens
  let portalUrl = ''; // likewise
  const apiSocket = new UnixSocketProxy({ path: apiSocketPath(), port: () => apiPort });
  await apiSocket.start();
  teardown.add('the API relay socket', () => apiSocket.stop());
  const tls = ensureSelfSignedCert(dataDir);
  const serviceAccountKey = loadSigningKey(dataDir);
  const stepConcurrency = options.workflowConcurrency ?? defaultWorkflowConcurrency();
  if (role !== 'api') logger.info({ stepConcurrency }, 'pipeline steps run at most this many at once');
  const runner = new PipelineRunner({
    stepSlots: new Slots({ size: stepConcurrency }),
    apiRelay: { socket: apiSocket.path },
    runtime,
    images,
    parseYaml: (text) => parser.yaml(text, UNTRUSTED_LIMITS),
    parseYamlStream: (text) => parser.yamlStream(text, DEFAULT_LIMITS),
    now,
    ...(options.stepTimeoutMs !== undefined ? { stepTimeoutMs: options.stepTimeoutMs } : {}),
  });
  // Only Works FleetOps produced are scheduled: they carry its seal.
  const seal = new WorkSeal({ secret: serviceAccountKey });
  const executorFor = (on: Client, dispatch?: RunDispatch): WorkflowExecutor =>
    new WorkflowExecutor({
      seal,
      client: on,
      ...(dispatch ? { dispatch } : {}),
      runner,
      now,
      tokens: {
        caCert: tls.cert,
        issue: async (namespace, name, seconds, run) => {
          const sa = await objects.get(serviceAccountType, namespace, name);
          const issuedAt = Math.floor(now().getTime() / 1000);
          return signServiceAccountToken(serviceAccountKey, {
            namespace,
            serviceAccount: { name, uid: sa.metadata.uid },
            ...(run ? { run } : {}),
            issuedAt,
            expiresAt: issuedAt + seconds,
          });
        },
      },
    });
  const identity = `${hostname()}-${process.pid}-${randomUUID().slice(0, 8)}`
    .toLowerCase()
    .replace(/[^a-z0-9-]/g, '-')
    .slice(0, 200);
  // Pipeline steps on this replica: runs any replica's leader dispatched, claimed through the store (started once
  // the API serves). Its writes are not fenced (a worker leads nothing): its claims fence its results instead.
  const workerClient = replicated && role !== 'api' ? new SharedInformers({ client: new InProcessClient({ objects }) }) : undefined;
  const worker = workerClient
    ? new RunWorker({
        client: workerClient,
        executor: executorFor(workerClient),
        seal,
        identity,
        logger: logger.child({ component: 'worker' }),
        now,
        concurrency: stepConcurrency,
      })
    : undefined;
  // With replicas, the leader records runs for any replica's RunWorker and awaits them (claimed at once by the worker
  // here when it has one and room); alone, it runs them itself.
  const awaiter = replicated ? new RunAwaiter({ client, ...(worker ? { here: worker } : {}) }) : undefined;
  const executor = executorFor(client, awaiter);
  const promises = new PromiseController({
    seal,
    client,
    registry,
    objects,
    validator,
    events,
    executor,
    logger: controllerLog,
    now,
    ...(options.retryBaseMs !== undefined ? { retryBaseMs: options.retryBaseMs } : {}),
  });
  await promises.registerInstalled();
  const resources = new ResourceController({
    client,
    registry,
    executor,
    events,
    logger: controllerLog,
    now,
    // With replicas a reconcile mostly waits for a run elsewhere: the workers' own limits pace the steps. Alone, the
    // step slots pace them, and reconciles beyond them fill the gaps between one run's step and the next's.
    concurrency: replicated ? (options.workflowConcurrency ?? 64) : stepConcurrency * RECONCILES_PER_STEP,
    ...(options.retryBaseMs !== undefined ? { retryBaseMs: options.retryBaseMs } : {}),
  });
  const rollouts = new RolloutController({ client, registry, events, logger: controllerLog, now });
  const plans = new PlanController({ client, registry, executor, logger: controllerLog, now });
  const dryRuns = new DryRunController({ client, registry, executor, logger: controllerLog, now });
  const releases = new PromiseReleaseController({ client, fetchText, logger: controllerLog, now });
  const scheduler = new WorkScheduler({ seal, registry, client, events, logger: controllerLog, now });
  const stateStores = new StateStoreController({
    client,
    logger: controllerLog,
    writerFor: (config) => writerFor(config, launcher.runTool),
    workRoot: join(dataDir, 'statestores'),
    now,
    ...(options.stateStoreBatchMs !== undefined ? { batchDelayMs: options.stateStoreBatchMs } : {}),
  });
  const repoPath = ensureEmbeddedRepo(dataDir);
  if (options.defaultDestinations !== false) await createDefaults(objects, registry, dataDir, repoPath);
  if (replicated) await warnOfLocalStateStores(objects, logger);
  const tokens = loadTokens(dataDir);
  await reconcileBootstrapPolicy(objects, tokens);
  const rbac = {
    aggregator: new ClusterRoleAggregator({ client, logger: controllerLog }),
    promiseRoles: new PromiseRoles({ client, registry, logger: controllerLog }),
    tokenSecrets: new ServiceAccountTokenSecrets({
      client,
      logger: controllerLog,
      caCert: tls.cert,
      now,
      sign: (claims) => signServiceAccountToken(serviceAccountKey, claims),
    }),
  };
  const platform = {
    applier: new PlatformApplier({ client, registry, events, logger: controllerLog, parseYamlStream: (text) => parser.yamlStream(text, UNTRUSTED_LIMITS) }),
    components: new ComponentStatus({ client, registry, logger: controllerLog }),
    health: new HealthRecords({ client, registry, events, logger: controllerLog }),
  };
  // Controllers added with RBAC and compound Promises: started in this order, stopped in the reverse.
  const added: { start(): Promise<void>; stop(): Promise<void> }[] = [
    platform.health,
    platform.applier,
    platform.components,
    rbac.aggregator,
    rbac.promiseRoles,
    rbac.tokenSecrets,
    new GarbageCollector({ client, registry, logger: controllerLog }),
    new NamespaceController({ client, registry, logger: controllerLog }),
    new ResourceBindings({ client, registry, versions: new RevisionVersions(client), logger: controllerLog, now }),
    new KratixPromiseRevisions({ client, logger: controllerLog }),
    new BackstageCatalog({ seal, client, registry, logger: controllerLog, portalUrl: () => portalUrl }),
  ];
  const manager = new ControllerManager({
    logger: controllerLog,
    runnables: [...added, resources, promises, releases, rollouts, plans, dryRuns, scheduler, stateStores, eventExpiry],
  });
  // With a shared database several replicas serve the API, and the one holding the controllers' Lease runs them;
  // the others serve the Promises' APIs as the leader accepts them. Alone on SQLite, this replica runs everything.
  const served = new ServedApis({ client, registry, validator, logger: controllerLog });
  teardown.add('the served APIs', () => served.stop());
  // A leader stops its controllers after the election (it hands the Lease over first), a replica alone after the
  // run worker: its runs are released for another replica.
  teardown.add('the controllers', () => manager.stop());
  // The informers' caches spared the controllers' start-up a list per watch; they go once it is over (see
  // SharedInformers): later watches, on a leader's take-over or a Promise's new kind, list what exists.
  if (!replicated) {
    await manager.start();
    client.stopCaching();
  } else if (role !== 'worker') {
    elector = new LeaderElector({
      identity,
      leases: leaseAccess(objects, CONTROLLERS_LEASE),
      logger: controllerLog,
      now,
      onStartedLeading: async () => {
        served.stop();
        await awaiter?.start();
        await manager.start();
        client.stopCaching();
      },
      onStoppedLeading: async () => {
        awaiter?.stop(); // reconciles waiting for runs end now; the next leader waits for those runs again
        await manager.stop();
        await served.start();
      },
    });
    await served.start();
    await elector.start();
    const leading = elector;
    teardown.add('the leader election', () => leading.stop());
  }
  const authenticator = new Authenticator({
    tokens,
    signingKey: serviceAccountKey,
    now,
    bound: {
      account: async (namespace, name) => {
        const sa = await objects.find(serviceAccountType, namespace, name);
        return sa && { uid: sa.metadata.uid, pipeline: isPipelineAccount(sa) };
      },
      secretUid: async (namespace, name) => (await objects.find(secretType, namespace, name))?.metadata.uid,
      run: async (namespace, name, uid) => {
        if (name === DRY_RUN_BINDING) return { uid, ended: !executor.isLiveDryRun(uid) };
        const run = await objects.find(workflowRunType, namespace, name);
        if (!run || !isObjectOf(workflowRunType, run)) return undefined;
        return { uid: run.metadata.uid, ended: run.status?.completionTime !== undefined };
      },
    },
  });
  const authorizer = new RbacAuthorizer({ objects });
  await authorizer.start();
  teardown.add('the authorizer', () => authorizer.stop());
  const audit =
    options.audit === false
      ? undefined
      : new AuditLog({ path: join(dataDir, 'audit', 'audit.log'), logger: logger.child({ component: 'audit' }), now, ...(options.audit ?? {}) });
  if (audit) teardown.add('the audit log', () => audit.close());
  const reclaimer =
    options.idleMemory === false ? undefined : new IdleMemoryReclaimer({ logger: logger.child({ component: 'memory' }), ...(options.idleMemory ?? {}) });
  reclaimer?.start();
  if (reclaimer) teardown.add('the idle memory reclaimer', () => reclaimer.stop());
  // Writes are work too: a fleet update driven by the controllers makes no API request for minutes, and the
  // reclaimer's last-resort collection (several full collections, tens of milliseconds each) every 15 s would stall
  // it. Lease renewals (every replica's, every few seconds) are not: with them nothing would ever be idle.
  const writesSeen = reclaimer ? await store.watch({}, (e) => e.key.kind !== 'Lease' && reclaimer.touch()) : undefined;
  if (writesSeen) teardown.add("the reclaimer's watch", () => writesSeen.stop());
  const storeReady = store.ready?.bind(store);
  const server = new ApiServer({
    ...(reclaimer ? { onActivity: () => reclaimer.touch() } : {}),
    ...(storeReady ? { ready: storeReady } : {}),
    registry,
    objects,
    authenticator,
    authorizer,
    serviceAccountKey,
    ...(audit ? { audit } : {}),
    extraRoutes: (app) => {
      gitRoutes(dirname(repoPath), authenticator)(app);
      portalRoutes(join(INSTALL_DIR, 'portal', 'dist'))(app);
    },
    parser,
    tls,
    now,
    logger: logger.child({ component: 'apiserver' }),
    ...(options.heartbeatMs !== undefined ? { heartbeatMs: options.heartbeatMs } : {}),
  });
  const { url, port } = await listen(server, options.port ?? 6443, options.host ?? '127.0.0.1');
  teardown.add('the API server', () => server.stop());
  apiPort = port;
  portalUrl = `${url}/portal/`;
  await worker?.start();
  if (worker) teardown.add('the run worker', () => worker.stop());
  workerClient?.stopCaching();
  const heartbeat = new ReplicaHeartbeat({
    identity,
    logger: controllerLog,
    now,
    lease: leaseAccess(objects, {
      namespace: CONTROLLERS_LEASE.namespace,
      name: `${REPLICA_LEASE_PREFIX}${identity}`,
      annotations: () => ({ [ANNOTATION_REPLICA_URL]: url, [ANNOTATION_REPLICA_STORE]: replicated ? 'postgres' : 'embedded', [ANNOTATION_REPLICA_ROLE]: role }),
    }),
  });
  await heartbeat.start();
  teardown.add('the replica heartbeat', () => heartbeat.stop());
  const admin = tokens.find((t) => t.role === 'admin');
  if (!admin) throw new DataDirError(`${join(dataDir, 'tokens.json')} has no user with role "admin": add one (or remove the file to get a new one)`);
  const kubeconfigPath = join(dataDir, 'kubeconfig');
  writeFileSync(kubeconfigPath, kubeconfigYaml(url, tls.cert, admin.token), { mode: 0o600 });
  return {
    url,
    port,
    dataDir,
    kubeconfigPath,
    adminToken: admin.token,
    caCert: tls.cert,
    registry,
    objects,
    store,
    controllers: { promises, resources, rollouts, plans, scheduler, stateStores },
    embeddedGit: { path: repoPath, cloneUrl: `${url}/git/state.git` },
    runtime,
    images,
    // The parts stop in the reverse of their start: the heartbeat and the run worker first (its runs are released
    // for another replica), then the API server, the controllers (a leader hands its Lease over first), the sandbox
    // helper and, last, the store and the data directory's lock.
    stop: () => teardown.run(),
  };
}

if (import.meta.main) {
  const fleet = await startFleetOps({ port: Number(process.env.FLEETOPS_PORT ?? 6443) });
  process.stdout.write(
    `FleetOps API listening on ${fleet.url}\nkubeconfig: ${fleet.kubeconfigPath} (context "platform")\n  export KUBECONFIG=${fleet.kubeconfigPath}\n`,
  );
  const shutdown = (): void => {
    fleet.stop().then(
      () => process.exit(0),
      () => process.exit(1),
    );
  };
  process.on('SIGINT', shutdown);
  process.on('SIGTERM', shutdown);
}
