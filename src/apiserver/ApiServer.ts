/**
 * The Kubernetes-compatible HTTPS API: discovery, OpenAPI v3, CRUD, patch, apply, watch and Table output for every
 * kind in the registry, with bearer-token authentication. Served kinds change at run time (Promises) and are
 * visible on the next request.
 */
import Fastify, { LogController, type FastifyBaseLogger, type FastifyInstance, type FastifyReply, type FastifyRequest } from 'fastify';
import type { Duplex } from 'node:stream';
import type { Logger } from 'pino';
import { ApiError, badRequest, errorMessage, forbidden, invalid, isApiError, type Status } from '../api/errors.ts';
import { isPlainObject, type KubeObject } from '../api/types.ts';
import { serviceAccountType } from '../registry/builtin/coreKinds.ts';
import type { ObjectService, PropagationPolicy, WatchEvent } from '../registry/ObjectService.ts';
import type { Registry } from '../registry/Registry.ts';
import { apiVersionOf, type ResourceType } from '../registry/ResourceType.ts';
import type { Authenticator } from './auth.ts';
import { deniedMessage, isSuperuser, type ResourceAttributes, type UserInfo } from '../api/rbac.ts';
import type { RbacAuthorizer } from './rbac/RbacAuthorizer.ts';
import { answerReview } from './rbac/reviews.ts';
import { checkEscalation, guardsEscalation } from './rbac/escalation.ts';
import { impersonated } from './impersonation.ts';
import { isPipelineAccount } from '../api/fleetopsNames.ts';
import { rfc3339Seconds } from '../api/time.ts';
import { signServiceAccountToken } from '../lib/serviceAccountToken.ts';
import type { AuditLog, AuditObjectRef } from './AuditLog.ts';
import { decodeBody, decodeObjectBody, mediaType, patchTypeOf } from './body.ts';
import { YamlParser } from '../workers/YamlParser.ts';
import { DEFAULT_LIMITS, UNTRUSTED_LIMITS } from '../api/boundedYaml.ts';
import { apiGroup, apiGroupList, apiResourceList, apiVersions, SERVER_VERSION } from './discovery.ts';
import { OpenApiCache } from './openapi.ts';
import { parseApiPath, type ResourcePath } from './paths.ts';
import { toTable, wantsTable, type IncludeObject } from './table.ts';
import type { TlsMaterial } from './tls.ts';
import { prefersProtobuf, PROTOBUF_MEDIA_TYPE, ProtobufCodec } from './protobuf/ProtobufCodec.ts';
import { installRequestMetrics, metricVerb, watchStarted } from './requestMetrics.ts';
import { metricsRegistry } from '../telemetry/metrics.ts';
import { extractTraceContext, inSpan } from '../telemetry/tracing.ts';
import { SpanKind, trace } from '@opentelemetry/api';

export interface ApiServerOptions {
  /** Whether this replica can serve (its store reachable): `/readyz` answers 503 while not. Default always. */
  ready?: () => boolean;
  registry: Registry;
  objects: ObjectService;
  authenticator: Authenticator;
  authorizer: RbacAuthorizer;
  /** Signs the short-lived tokens of `serviceaccounts/<name>/token`. */
  serviceAccountKey: Buffer;
  /** Records every write request (default: none). */
  audit?: AuditLog;
  tls: TlsMaterial;
  logger: Logger;
  now?: () => Date;
  /** Largest accepted request body. Default 3 MiB (the apiserver's limit). */
  bodyLimit?: number;
  /** Bytes-free interval after which a watch gets a keep-alive newline. Default 10 s. */
  heartbeatMs?: number;
  /** Default lifetime of a watch without timeoutSeconds. Default 30 min. */
  watchTimeoutMs?: number;
  /** A watcher that falls this many bytes behind is disconnected (it will resume). Default 16 MiB. */
  watchBufferLimit?: number;
  /** Extra routes (git smart HTTP, portal) mounted by the caller. */
  extraRoutes?: (app: FastifyInstance) => void;
  /** Told of every request (the idle memory reclaimer waits for quiet). */
  onActivity?: () => void;
  /** Parses YAML bodies under limits, big ones off the event loop (default: its own). */
  parser?: YamlParser;
}

declare module 'fastify' {
  interface FastifyRequest {
    user?: UserInfo;
    audit?: { verb: string; objectRef: AuditObjectRef; received: Date };
  }
}

const PUBLIC_PATHS = new Set(['/version', '/healthz', '/livez', '/readyz']);

function sendStatus(reply: FastifyReply, err: ApiError): FastifyReply {
  return reply.code(err.code).type('application/json').send(err.toStatus());
}

function query(req: FastifyRequest): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries(isPlainObject(req.query) ? req.query : {})) out[k] = Array.isArray(v) ? String(v[0]) : String(v);
  return out;
}

/** The path of a request URL (without its query). */
function pathOf(url: string): string {
  const q = url.indexOf('?');
  return q < 0 ? url : url.slice(0, q);
}

/** The object's name of a path that addresses one object (the verb was derived from its presence). */
function nameOf(path: ResourcePath): string {
  if (path.name === undefined) throw new ApiError(405, 'MethodNotAllowed', 'this request needs an object name in its path');
  return path.name;
}

function includeObjectOf(q: Record<string, string>): IncludeObject {
  const v = q.includeObject ?? 'Metadata';
  if (v === 'None' || v === 'Metadata' || v === 'Object') return v;
  throw badRequest(`includeObject must be one of "None", "Metadata" or "Object", got ${JSON.stringify(v)}`);
}

function dryRunOf(q: Record<string, string>, body?: unknown): boolean {
  const fromBody = isPlainObject(body) && Array.isArray(body.dryRun) ? String(body.dryRun[0] ?? '') : undefined;
  const value = q.dryRun ?? fromBody;
  if (value === undefined || value === '') return false;
  if (value !== 'All') throw badRequest(`invalid dry run value: ${JSON.stringify(value)}: only "All" is supported`);
  return true;
}

function fieldValidationOf(q: Record<string, string>): 'Strict' | 'Warn' | 'Ignore' | undefined {
  const v = q.fieldValidation;
  if (v === undefined || v === '') return undefined;
  if (v === 'Strict' || v === 'Warn' || v === 'Ignore') return v;
  throw badRequest(`fieldValidation must be one of "Strict", "Warn" or "Ignore", got ${JSON.stringify(v)}`);
}

/** DeleteOptions' propagationPolicy (body or query), or the older orphanDependents; 400 for anything else. */
function propagationPolicyOf(q: Record<string, string>, body?: Record<string, unknown>): PropagationPolicy | undefined {
  const value = body?.propagationPolicy ?? q.propagationPolicy;
  if (value === undefined || value === '') {
    const orphan = body?.orphanDependents ?? q.orphanDependents;
    return orphan === true || orphan === 'true' ? 'Orphan' : undefined;
  }
  if (value === 'Orphan' || value === 'Background' || value === 'Foreground') return value;
  throw badRequest(`propagationPolicy must be one of "Orphan", "Background" or "Foreground", got ${JSON.stringify(value)}`);
}

/** What Fastify's own errors carry (body too large, bad content type…) besides a message. */
function httpErrorOf(err: unknown): { statusCode: number | undefined; code: string | undefined; message: string } {
  const o = typeof err === 'object' && err !== null ? err : {};
  return {
    statusCode: 'statusCode' in o && typeof o.statusCode === 'number' ? o.statusCode : undefined,
    code: 'code' in o && typeof o.code === 'string' ? o.code : undefined,
    message: errorMessage(err),
  };
}

/** One resource request as its verb's handler needs it. */
interface Call {
  req: FastifyRequest;
  type: ResourceType;
  path: ResourcePath;
  q: Record<string, string>;
  namespace: string;
  version: string;
  limits: typeof DEFAULT_LIMITS;
  table: boolean;
  include: IncludeObject;
  send(code: number, body: KubeObject | { kind: string; apiVersion: string; [field: string]: unknown }): FastifyReply;
  /** JSON made already, sent as it is; undefined when the client asked for protobuf. */
  sendJson: ((code: number, json: string) => FastifyReply) | undefined;
  respond(code: number, obj: KubeObject, warnings?: string[]): FastifyReply;
}

/** The raw request body (every content type is read as a buffer). */
function bodyOf(req: FastifyRequest): Buffer | undefined {
  return Buffer.isBuffer(req.body) ? req.body : undefined;
}

/** DeleteOptions' preconditions, when they are an object with string fields. */
function preconditionsOf(value: unknown): { uid?: string; resourceVersion?: string } | undefined {
  if (!isPlainObject(value)) return undefined;
  const out: { uid?: string; resourceVersion?: string } = {};
  if (typeof value.uid === 'string') out.uid = value.uid;
  if (typeof value.resourceVersion === 'string') out.resourceVersion = value.resourceVersion;
  return out;
}

function fieldManagerOf(q: Record<string, string>): string | undefined {
  const m = q.fieldManager;
  if (m !== undefined && m.length > 128) throw badRequest('fieldManager must be at most 128 characters');
  return m || undefined;
}

export class ApiServer {
  private readonly app: FastifyInstance;
  private readonly opts: ApiServerOptions;
  private readonly openapi: OpenApiCache;
  private readonly now: () => Date;
  private readonly watches = new Set<() => void>();
  private readonly parser: YamlParser;
  private readonly protobuf = new ProtobufCodec();
  private started = false;

  constructor(options: ApiServerOptions) {
    this.opts = options;
    this.now = options.now ?? (() => new Date());
    this.openapi = new OpenApiCache(options.registry);
    this.parser = options.parser ?? new YamlParser();
    // pino's Logger is a FastifyBaseLogger; typed as such, the instance is Fastify's default type.
    const fastifyLogger: FastifyBaseLogger = options.logger;
    this.app = Fastify({
      https: { key: options.tls.key, cert: options.tls.cert },
      bodyLimit: options.bodyLimit ?? 3 * 1024 * 1024,
      loggerInstance: fastifyLogger,
      logController: new LogController({ disableRequestLogging: true }),
      // Requests log through the server's logger, with their id where they log (a pino child per request, made for
      // the few requests that fail, cost every request ~2% of a create's CPU).
      childLoggerFactory: (logger) => logger,
      return503OnClosing: false,
      clientErrorHandler: clientErrorAsStatus,
    });
    this.setup();
  }

  private setup(): void {
    const app = this.app;
    app.removeAllContentTypeParsers();
    app.addContentTypeParser('*', { parseAs: 'buffer' }, (_req, body, done) => done(null, body));

    app.setErrorHandler((err, req, reply) => {
      if (isApiError(err)) return sendStatus(reply, err);
      const e = httpErrorOf(err);
      if (e.statusCode === 413 || e.code === 'FST_ERR_CTP_BODY_TOO_LARGE') {
        return sendStatus(reply, new ApiError(413, 'RequestEntityTooLarge', 'the request body is too large: limit is 3 MiB'));
      }
      if (e.statusCode && e.statusCode >= 400 && e.statusCode < 500) {
        return sendStatus(reply, new ApiError(e.statusCode, 'BadRequest', e.message));
      }
      req.log.error({ err, reqId: req.id, method: req.method, url: req.url }, 'request failed');
      return sendStatus(reply, new ApiError(500, 'InternalError', `Internal error occurred: ${e.message}`));
    });
    app.setNotFoundHandler((_req, reply) => sendStatus(reply, new ApiError(404, 'NotFound', 'the server could not find the requested resource')));

    installRequestMetrics(app);
    app.addHook('onRequest', async (req, reply) => {
      const path = pathOf(req.url);
      // Probes are not use: a load balancer's health check every few seconds would otherwise keep the idle memory
      // reclaimer from ever running.
      if (!PUBLIC_PATHS.has(path)) this.opts.onActivity?.();
      if (PUBLIC_PATHS.has(path) || path.startsWith('/git/') || path === '/' || path.startsWith('/portal')) return;
      const user = await this.opts.authenticator.authenticate(req.headers.authorization);
      if (!user) return sendStatus(reply, new ApiError(401, 'Unauthorized', 'Unauthorized'));
      req.user = await impersonated(this.opts.authorizer, user, req.headers);
    });

    app.get('/version', async () => SERVER_VERSION);
    for (const p of ['/healthz', '/livez']) app.get(p, async (_req, reply) => reply.type('text/plain').send('ok'));
    // Alive but not ready while the store is unreachable: a load balancer sends requests to another replica.
    app.get('/readyz', async (_req, reply) =>
      this.opts.ready && !this.opts.ready()
        ? reply.code(503).type('text/plain').send('[-]store failed: the database is unreachable\nreadyz check failed')
        : reply.type('text/plain').send('ok'),
    );
    // Prometheus' scrape: authenticated like every API request, allowed to those granted `get` on the non-resource URL
    // /metrics (the ClusterRole system:monitoring; see docs/observability.md).
    app.get('/metrics', async (req, reply) => {
      const user = req.user;
      if (!user) throw new ApiError(401, 'Unauthorized', 'Unauthorized');
      if (!(await this.opts.authorizer.authorizeNonResource(user, { verb: 'get', path: '/metrics' })).allowed)
        throw new ApiError(403, 'Forbidden', `forbidden: User "${user.username}" cannot get path "/metrics"`);
      return reply.type(metricsRegistry.contentType).send(await metricsRegistry.metrics());
    });
    app.get('/openapi/v3', async () => this.openapi.index());
    app.get('/openapi/v3/*', async (req, reply) => {
      const key = isPlainObject(req.params) ? String(req.params['*']) : '';
      const doc = this.openapi.document(key);
      if (!doc) throw new ApiError(404, 'NotFound', 'the server could not find the requested resource');
      return reply.type('application/json').header('Cache-Control', 'no-cache, private').send(doc);
    });

    const methods = ['GET', 'POST', 'PUT', 'PATCH', 'DELETE'] as const;
    for (const url of ['/api', '/api/*', '/apis', '/apis/*']) {
      app.route({ method: [...methods], url, handler: (req, reply) => this.handleAudited(req, reply) });
    }
    this.opts.extraRoutes?.(app);
  }

  /**
   * Handles a request and audits a write once its outcome is known, whether or not the answer reaches the client: a
   * client that hangs up mid-request cannot keep a stored write out of the audit log.
   */
  private handleAudited(req: FastifyRequest, reply: FastifyReply): Promise<unknown> {
    // The request's span (a client's traceparent continued): what the request writes carries it to the controllers.
    return inSpan(req.method, { kind: SpanKind.SERVER, parent: extractTraceContext(req.headers) }, async (span) => {
      try {
        const result = await this.handle(req, reply);
        this.audit(req, reply.statusCode);
        span.setAttribute('http.response.status_code', reply.statusCode);
        return result;
      } catch (err) {
        this.audit(req, isApiError(err) ? err.code : 500);
        span.setAttribute('http.response.status_code', isApiError(err) ? err.code : 500);
        throw err;
      }
    });
  }

  private audit(req: FastifyRequest, code: number): void {
    if (!req.audit || !req.user || !this.opts.audit) return;
    this.opts.audit.record({
      verb: req.audit.verb,
      requestURI: req.url,
      user: req.user,
      sourceIPs: [req.ip],
      ...(req.headers['user-agent'] ? { userAgent: req.headers['user-agent'] } : {}),
      objectRef: req.audit.objectRef,
      code,
      received: req.audit.received,
    });
  }

  private async handle(req: FastifyRequest, reply: FastifyReply): Promise<unknown> {
    const pathname = pathOf(req.url);
    const parsed = parseApiPath(pathname);
    const registry = this.opts.registry;
    // Made when needed: an error captures a stack trace, a cost every request would pay.
    const notFound = (): ApiError => new ApiError(404, 'NotFound', 'the server could not find the requested resource');
    if (parsed.kind !== 'resource') {
      if (req.method !== 'GET') throw new ApiError(405, 'MethodNotAllowed', `${req.method} is not supported here`);
      if (parsed.kind === 'root') return parsed.core ? apiVersions() : apiGroupList(registry);
      if (parsed.kind === 'group') return apiGroup(registry, parsed.group) ?? reply.code(404).send(notFound().toStatus());
      if (parsed.kind === 'groupVersion') return apiResourceList(registry, parsed.group, parsed.version) ?? reply.code(404).send(notFound().toStatus());
      throw notFound();
    }
    const path = parsed.path;
    const type = registry.byResource(path.group, path.version, path.plural);
    if (!type) throw notFound();
    const subresourceOk =
      path.subresource === undefined ||
      (path.subresource === 'status' && type.statusSubresource) ||
      (path.subresource === 'token' && type.group === '' && type.plural === 'serviceaccounts');
    if (!subresourceOk) throw notFound();
    if (!type.namespaced && path.namespace !== undefined) throw notFound();
    return this.handleResource(req, reply, type, path);
  }

  private verbOf(req: FastifyRequest, path: ResourcePath, q: Record<string, string>): string {
    const item = path.name !== undefined;
    switch (req.method) {
      case 'GET':
        return item ? 'get' : q.watch === 'true' || q.watch === '1' ? 'watch' : 'list';
      case 'POST':
        return 'create';
      case 'PUT':
        return 'update';
      case 'PATCH':
        return 'patch';
      default:
        return item ? 'delete' : 'deletecollection';
    }
  }

  private async handleResource(req: FastifyRequest, reply: FastifyReply, type: ResourceType, path: ResourcePath): Promise<unknown> {
    const q = query(req);
    const verb = this.verbOf(req, path, q);
    const apply = verb === 'patch' && mediaType(req.headers['content-type']) === 'application/apply-patch+yaml';
    req.metricLabels = { verb: metricVerb(verb, apply), group: type.group, version: path.version, resource: type.plural, subresource: path.subresource ?? '' };
    trace.getActiveSpan()?.updateName(`${req.metricLabels.verb} ${type.plural}${path.subresource ? `/${path.subresource}` : ''}`);
    const { user } = req;
    if (!user) throw new ApiError(401, 'Unauthorized', 'Unauthorized');
    await this.authorize(req, user, type, path, verb);
    // Bodies of all but the platform's admins get the tighter limits: what they send must not hold the event loop for others.
    const limits = isSuperuser(user) ? DEFAULT_LIMITS : UNTRUSTED_LIMITS;
    if (type.createOnly || path.subresource === 'token') return this.handleComputed(req, reply, type, path, verb, limits, user);
    const item = path.name !== undefined;
    if (item !== ['get', 'update', 'patch', 'delete'].includes(verb)) {
      throw new ApiError(405, 'MethodNotAllowed', `${req.method} is not supported on ${item ? 'an object' : 'a collection'} of kind "${type.plural}"`);
    }
    if (type.namespaced && !path.namespace && ['create', 'update', 'patch', 'delete', 'get'].includes(verb)) {
      throw new ApiError(404, 'NotFound', 'the server could not find the requested resource');
    }
    if (path.subresource === 'status' && !['get', 'update', 'patch'].includes(verb)) {
      throw new ApiError(405, 'MethodNotAllowed', `${verb} is not supported on the status subresource`);
    }
    const call = this.call(req, reply, type, path, q, limits);
    switch (verb) {
      case 'get':
        // Only serialized: the store's shared copy.
        return call.respond(200, await this.opts.objects.get(type, call.namespace, nameOf(path), path.version, { shared: true }));
      case 'list':
        return this.list(call);
      case 'watch':
        return this.watch(req, reply, type, path, q, call.table, call.include);
      case 'create':
      case 'update':
      case 'patch':
        return this.write(call, verb);
      case 'delete':
        return this.deleteOne(call);
      case 'deletecollection':
        return this.deleteAll(call);
    }
    throw new ApiError(405, 'MethodNotAllowed', `${verb} is not supported`);
  }

  /** RBAC's decision on the request (403 with Kubernetes' message), and the audit record of a write. */
  private async authorize(req: FastifyRequest, user: UserInfo, type: ResourceType, path: ResourcePath, verb: string): Promise<void> {
    const attrs: ResourceAttributes = { verb, group: type.group, resource: type.plural };
    if (path.subresource !== undefined) attrs.subresource = path.subresource;
    // As Kubernetes: a Namespace object is in its own namespace, so a RoleBinding there can grant reading it.
    const attrNamespace = type.group === '' && type.plural === 'namespaces' ? path.name : path.namespace;
    if (attrNamespace !== undefined) attrs.namespace = attrNamespace;
    if (path.name !== undefined) attrs.name = path.name;
    if (!['get', 'list', 'watch'].includes(verb)) {
      const objectRef: AuditObjectRef = { resource: type.plural, apiGroup: type.group, apiVersion: path.version };
      if (path.subresource !== undefined) objectRef.subresource = path.subresource;
      if (path.namespace !== undefined) objectRef.namespace = path.namespace;
      if (path.name !== undefined) objectRef.name = path.name;
      req.audit = { verb, objectRef, received: this.now() };
    }
    if (!(await this.opts.authorizer.authorize(user, attrs)).allowed) throw forbidden(type.plural, type.group, path.name ?? '', deniedMessage(user, attrs));
  }

  /** What the verbs of one request share: its target, its query, its body limits and how to answer (JSON, Table or protobuf). */
  private call(
    req: FastifyRequest,
    reply: FastifyReply,
    type: ResourceType,
    path: ResourcePath,
    q: Record<string, string>,
    limits: typeof DEFAULT_LIMITS,
  ): Call {
    const accept = req.headers.accept;
    const table = wantsTable(accept);
    const include = includeObjectOf(q);
    const protobuf = prefersProtobuf(accept) && this.protobuf.supports(apiVersionOf(type, path.version), type.kind);
    const send = (code: number, body: KubeObject | { kind: string; apiVersion: string; [field: string]: unknown }): FastifyReply =>
      protobuf ? reply.code(code).type(PROTOBUF_MEDIA_TYPE).send(this.protobuf.encode(body)) : reply.code(code).send(body);
    const respond = (code: number, obj: KubeObject, warnings: string[] = []): FastifyReply => {
      for (const w of warnings) void reply.header('Warning', `299 - ${JSON.stringify(w)}`);
      if (!table) return send(code, obj);
      return reply
        .code(code)
        .send(toTable(type, [obj], { include, headers: true, resourceVersion: obj.metadata.resourceVersion ?? '', now: this.now().getTime() }));
    };
    const sendJson = protobuf ? undefined : (code: number, json: string): FastifyReply => reply.code(code).type('application/json; charset=utf-8').send(json);
    return { req, type, path, q, namespace: path.namespace ?? '', version: path.version, limits, table, include, send, sendJson, respond };
  }

  private async list({ type, path, q, version, table, include, send, sendJson }: Call): Promise<unknown> {
    const limit = q.limit ? Number(q.limit) : undefined;
    if (limit !== undefined && (!Number.isInteger(limit) || limit < 0))
      throw badRequest(`limit must be a non-negative integer, got ${JSON.stringify(q.limit)}`);
    const query = { labelSelector: q.labelSelector, fieldSelector: q.fieldSelector, limit, continue: q.continue, version };
    // JSON: the stored texts, forwarded as they are (a selective list parses only to match).
    if (!table && sendJson) {
      const list = await this.opts.objects.listTexts(type, path.namespace, query);
      const metadata: Record<string, string> = { resourceVersion: list.resourceVersion };
      if (list.continue) metadata.continue = list.continue;
      const head = JSON.stringify({ kind: type.listKind, apiVersion: apiVersionOf(type, version), metadata });
      return sendJson(200, `${head.slice(0, -1)},"items":[${list.texts.join(',')}]}`);
    }
    const list = await this.opts.objects.list(type, path.namespace, query);
    if (table) {
      return toTable(type, list.items, { include, headers: true, resourceVersion: list.resourceVersion, continue: list.continue, now: this.now().getTime() });
    }
    const metadata: Record<string, string> = { resourceVersion: list.resourceVersion };
    if (list.continue) metadata.continue = list.continue;
    return send(200, { kind: type.listKind, apiVersion: apiVersionOf(type, version), metadata, items: list.items });
  }

  /** create, update (of the object or its status) and every kind of patch. */
  private async write(call: Call, verb: 'create' | 'update' | 'patch'): Promise<unknown> {
    const { req, type, path, q, namespace, version, limits } = call;
    const objects = this.opts.objects;
    const raw = bodyOf(req);
    const validate = this.admission(call);
    const options = {
      ...(validate ? { validate } : {}),
      dryRun: dryRunOf(q),
      fieldManager: fieldManagerOf(q),
      fieldValidation: fieldValidationOf(q),
      version,
      // The answer is only serialized: the object the store's watchers share, not a copy (WriteOptions.shared).
      shared: true,
      ...(path.subresource === 'status' ? { subresource: 'status' as const } : {}),
    };
    if (verb === 'patch') {
      const patchType = patchTypeOf(req.headers['content-type']);
      const body = await decodeBody(this.parser, limits, raw, patchType === 'apply' ? 'application/yaml' : 'application/json');
      if (body === undefined) throw badRequest('the request body is empty: send a patch');
      const force = q.force === undefined ? undefined : q.force === 'true';
      const r = await objects.patch(type, namespace, nameOf(path), patchType, body, { ...options, ...(force !== undefined ? { force } : {}) });
      return call.respond(r.created ? 201 : 200, r.object, r.warnings);
    }
    // Protobuf only for the kinds that have a protobuf form: a custom kind's protobuf body is 415, as on Kubernetes.
    const protobuf = this.protobuf.supports(apiVersionOf(type, version), type.kind) ? this.protobuf : undefined;
    const body = await decodeObjectBody(this.parser, limits, raw, req.headers['content-type'], protobuf);
    if (body === undefined)
      throw badRequest(verb === 'create' ? 'the request body is empty: send the object to create' : 'the request body is empty: send the whole object');
    // The body was parsed for this request: the object service stores it rather than a copy.
    if (verb === 'update') {
      const r = await objects.update(type, namespace, nameOf(path), body, { ...options, ownedBody: true });
      return call.respond(200, r.object, r.warnings);
    }
    const { subresource: _none, ...createOptions } = options;
    const r = await objects.create(type, namespace, body, { ...createOptions, ownedBody: true });
    if (req.audit) req.audit.objectRef.name = r.object.metadata.name;
    return call.respond(201, r.object, r.warnings);
  }

  /**
   * The checks of a write that need its user, run on the object as it would be stored: RBAC's escalation rules, and
   * that only FleetOps writes a pipeline's ServiceAccount (else a team could strip its label and borrow its grants).
   */
  private admission({ req, type }: Call): ((obj: KubeObject, old: KubeObject | undefined) => Promise<void>) | undefined {
    const user = req.user;
    if (!user || isSuperuser(user)) return undefined;
    if (guardsEscalation(type.group, type.kind)) return (obj, old) => checkEscalation(this.opts.authorizer, user, obj, old);
    if (type === serviceAccountType) {
      return async (obj, old) => {
        if (isPipelineAccount(obj) || (old && isPipelineAccount(old))) throw pipelineAccountForbidden(obj.metadata.name ?? '');
      };
    }
    return undefined;
  }

  /** Refuses deleting what only FleetOps deletes (a pipeline's account), whether one at a time or by collection. */
  private guardDelete(req: FastifyRequest, type: ResourceType, objects: (KubeObject | undefined)[]): void {
    if (type !== serviceAccountType || !req.user || isSuperuser(req.user)) return;
    const sa = objects.find((o) => o && isPipelineAccount(o));
    if (sa) throw pipelineAccountForbidden(sa.metadata.name ?? '');
  }

  private async deleteOne({ req, type, path, q, namespace, limits, respond }: Call): Promise<unknown> {
    if (type === serviceAccountType) this.guardDelete(req, type, [await this.opts.objects.find(type, namespace, nameOf(path))]);
    const decoded = await decodeBody(this.parser, limits, bodyOf(req), 'application/json');
    const body = isPlainObject(decoded) ? decoded : undefined;
    const propagationPolicy = propagationPolicyOf(q, body);
    const preconditions = preconditionsOf(body?.preconditions);
    const r = await this.opts.objects.delete(type, namespace, nameOf(path), {
      dryRun: dryRunOf(q, body),
      ...(preconditions ? { preconditions } : {}),
      ...(propagationPolicy ? { propagationPolicy } : {}),
    });
    if (!r.deleted) return respond(200, r.object);
    const status: Status = {
      kind: 'Status',
      apiVersion: 'v1',
      metadata: {},
      status: 'Success',
      details: { name: nameOf(path), group: type.group, kind: type.plural, uid: r.object.metadata.uid },
      code: 200,
    };
    return status;
  }

  private async deleteAll({ req, type, path, q, version }: Call): Promise<unknown> {
    const objects = this.opts.objects;
    const list = await objects.list(type, path.namespace, { labelSelector: q.labelSelector, fieldSelector: q.fieldSelector, version });
    this.guardDelete(req, type, list.items);
    const dryRun = dryRunOf(q);
    const items: KubeObject[] = [];
    for (const obj of list.items) {
      try {
        items.push((await objects.delete(type, obj.metadata.namespace ?? '', obj.metadata.name, { dryRun })).object);
      } catch (err) {
        if (!isApiError(err, 'NotFound')) throw err;
      }
    }
    return { kind: type.listKind, apiVersion: apiVersionOf(type, version), metadata: { resourceVersion: await objects.currentResourceVersion() }, items };
  }

  /** Requests answered without storing anything: access reviews and service account token requests. */
  private async handleComputed(
    req: FastifyRequest,
    reply: FastifyReply,
    type: ResourceType,
    path: ResourcePath,
    verb: string,
    limits: typeof DEFAULT_LIMITS,
    user: UserInfo,
  ): Promise<unknown> {
    const expected = path.subresource === 'token' ? path.name !== undefined : path.name === undefined;
    if (verb !== 'create' || !expected) throw new ApiError(405, 'MethodNotAllowed', `${req.method} is not supported here: only create (POST)`);
    const body = await decodeObjectBody(this.parser, limits, bodyOf(req), req.headers['content-type'], this.protobuf);
    const answer =
      path.subresource === 'token'
        ? await this.tokenRequest(path.namespace ?? '', nameOf(path), body)
        : await answerReview(type.kind, body, user, this.opts.authorizer);
    if (prefersProtobuf(req.headers.accept) && this.protobuf.supports(String(answer.apiVersion), String(answer.kind))) {
      return reply.code(201).type(PROTOBUF_MEDIA_TYPE).send(this.protobuf.encode(answer));
    }
    return reply.code(201).send(answer);
  }

  /** `kubectl create token`: a short-lived token bound to the account's uid (deleting the account revokes it). */
  private async tokenRequest(namespace: string, name: string, body: unknown): Promise<Record<string, unknown>> {
    const sa = await this.opts.objects.get(serviceAccountType, namespace, name);
    if (isPipelineAccount(sa)) throw pipelineAccountForbidden(name, 'FleetOps issues its tokens to its runs only, each valid while its run lasts');
    const spec = isPlainObject(body) && isPlainObject(body.spec) ? body.spec : {};
    const seconds = spec.expirationSeconds ?? 3600;
    const audiences = Array.isArray(spec.audiences) && spec.audiences.every((a) => typeof a === 'string') ? spec.audiences : ['fleetops'];
    if (typeof seconds !== 'number' || !Number.isInteger(seconds) || seconds < 600 || seconds > 2 ** 32) {
      throw invalid('TokenRequest', 'authentication.k8s.io', name, [
        { reason: 'FieldValueInvalid', field: 'spec.expirationSeconds', message: 'Invalid value: may not specify a duration less than 10 minutes' },
      ]);
    }
    const now = Math.floor(this.now().getTime() / 1000);
    const token = signServiceAccountToken(this.opts.serviceAccountKey, {
      namespace,
      serviceAccount: { name, uid: sa.metadata.uid },
      issuedAt: now,
      expiresAt: now + seconds,
    });
    return {
      kind: 'TokenRequest',
      apiVersion: 'authentication.k8s.io/v1',
      metadata: { name, namespace, creationTimestamp: null },
      spec: { audiences, expirationSeconds: seconds, boundObjectRef: null },
      status: { token, expirationTimestamp: rfc3339Seconds(new Date((now + seconds) * 1000)) },
    };
  }

  private async watch(
    req: FastifyRequest,
    reply: FastifyReply,
    type: ResourceType,
    path: ResourcePath,
    q: Record<string, string>,
    table: boolean,
    include: IncludeObject,
  ): Promise<void> {
    const objects = this.opts.objects;
    objects.selectors(type, q); // 400 for bad selectors before the stream starts
    const timeoutSeconds = q.timeoutSeconds ? Number(q.timeoutSeconds) : undefined;
    if (timeoutSeconds !== undefined && !(timeoutSeconds >= 0)) throw badRequest('timeoutSeconds must be a non-negative number');
    const bookmarks = q.allowWatchBookmarks === 'true';
    const initialEvents = q.sendInitialEvents === 'true';
    if (initialEvents && q.resourceVersionMatch !== 'NotOlderThan') {
      throw badRequest('sendInitialEvents requires resourceVersionMatch=NotOlderThan');
    }
    if (q.resourceVersion && !initialEvents) await this.waitForResourceVersion(q.resourceVersion);
    reply.hijack();
    const streaming = watchStarted(req, reply);
    const res = reply.raw;
    res.writeHead(200, { 'Content-Type': 'application/json', 'Cache-Control': 'no-cache, private', 'Transfer-Encoding': 'chunked' });
    // At once, not with the first event: a client waiting for a condition that already holds must not wait for one.
    res.flushHeaders();
    let headersSent = false;
    let lastRv = q.resourceVersion ?? '';
    let lastWrite = Date.now();
    let closed = false;
    let handle: { stop(): void } | undefined;
    const limit = this.opts.watchBufferLimit ?? 16 * 1024 * 1024;
    const close = (): void => {
      if (closed) return;
      closed = true;
      streaming.ended();
      handle?.stop();
      clearInterval(timer);
      clearTimeout(deadline);
      this.watches.delete(close);
      if (!res.writableEnded) res.end();
    };
    const write = (line: string): void => {
      if (closed) return;
      res.write(line);
      lastWrite = Date.now();
      if (res.writableLength > limit) close(); // too slow: the client resumes from its last resourceVersion
    };
    const send = (e: WatchEvent): void => {
      lastRv = e.object.metadata.resourceVersion ?? lastRv;
      let object: unknown = e.object;
      if (table) {
        object = toTable(type, [e.object], { include, headers: !headersSent, resourceVersion: lastRv, now: this.now().getTime() });
        headersSent = true;
      }
      write(`${JSON.stringify({ type: e.type, object })}\n`);
    };
    const bookmark = (rv: string, annotations?: Record<string, string>): void => {
      write(
        `${JSON.stringify({ type: 'BOOKMARK', object: { kind: type.kind, apiVersion: apiVersionOf(type, path.version), metadata: { resourceVersion: rv, ...(annotations ? { annotations } : {}) } } })}\n`,
      );
    };
    const heartbeat = this.opts.heartbeatMs ?? 10_000;
    const timer = setInterval(
      () => {
        if (Date.now() - lastWrite < heartbeat) return;
        if (bookmarks && lastRv) bookmark(lastRv);
        else write('\n');
      },
      Math.max(50, Math.min(heartbeat, 5000)),
    );
    const lifetime = timeoutSeconds !== undefined ? timeoutSeconds * 1000 : (this.opts.watchTimeoutMs ?? 30 * 60_000);
    const deadline = setTimeout(close, lifetime);
    this.watches.add(close);
    res.on('close', close);
    try {
      handle = await objects.watch(
        type,
        path.namespace,
        { resourceVersion: initialEvents ? '' : q.resourceVersion, labelSelector: q.labelSelector, fieldSelector: q.fieldSelector, version: path.version },
        send,
      );
      if (closed) handle.stop();
      else if (initialEvents) bookmark(await objects.currentResourceVersion(), { 'k8s.io/initial-events-end': 'true' });
    } catch (err) {
      const status = isApiError(err) ? err.toStatus() : new ApiError(500, 'InternalError', String(err)).toStatus();
      write(`${JSON.stringify({ type: 'ERROR', object: status })}\n`);
      close();
    }
  }

  /**
   * A watch from a resourceVersion the store has not reached: waited for up to 3 s (a client that read from another
   * replica may be ahead), then refused as the apiserver does: 504 "Too large resource version", retry in 1 s.
   */
  private async waitForResourceVersion(rv: string): Promise<void> {
    const wanted = Number(rv);
    if (!Number.isSafeInteger(wanted) || wanted < 0)
      throw badRequest(`resourceVersion ${JSON.stringify(rv)} is not valid: it must be a resourceVersion this server gave`);
    const deadline = Date.now() + 3000;
    for (;;) {
      const current = Number(await this.opts.objects.currentResourceVersion());
      if (current >= wanted) return;
      if (Date.now() >= deadline) {
        throw new ApiError(504, 'Timeout', `Too large resource version: ${wanted}, current: ${current}`, {
          causes: [{ reason: 'ResourceVersionTooLarge', message: 'Too large resource version', field: '' }],
          retryAfterSeconds: 1,
        });
      }
      await new Promise((r) => setTimeout(r, 100));
    }
  }

  /** Starts listening; resolves with the bound address. */
  async start(port: number, host = '127.0.0.1'): Promise<{ url: string; port: number }> {
    await this.app.listen({ port, host });
    this.started = true;
    const addr = this.app.server.address();
    const bound = typeof addr === 'object' && addr ? addr.port : port;
    return { url: `https://${host.includes(':') ? `[${host}]` : host}:${bound}`, port: bound };
  }

  /** Ends open watches and stops listening. Idempotent. */
  async stop(): Promise<void> {
    if (!this.started) return;
    this.started = false;
    for (const close of [...this.watches]) close();
    await this.app.close();
    if (!this.opts.parser) await this.parser.stop();
  }
}

function pipelineAccountForbidden(name: string, why = 'it is the account of a pipeline, which only FleetOps writes'): ApiError {
  return forbidden('serviceaccounts', '', name, why);
}

/**
 * Errors Node's HTTP parser meets before a request exists (headers too large, malformed requests): answered with a
 * Status body like every other error, then the connection is closed.
 */
function clientErrorAsStatus(err: NodeJS.ErrnoException, socket: Duplex): void {
  if (!socket.writable) {
    socket.destroy();
    return;
  }
  const tooLarge = err.code === 'HPE_HEADER_OVERFLOW';
  const code = tooLarge ? 431 : err.code === 'ERR_HTTP_REQUEST_TIMEOUT' ? 408 : 400;
  const status = new ApiError(
    code,
    tooLarge ? 'RequestEntityTooLarge' : code === 408 ? 'Timeout' : 'BadRequest',
    tooLarge ? 'the request headers are too large' : `the request could not be read: ${err.message}`,
  ).toStatus();
  const body = JSON.stringify(status);
  const reason = tooLarge ? 'Request Header Fields Too Large' : code === 408 ? 'Request Timeout' : 'Bad Request';
  socket.end(`HTTP/1.1 ${code} ${reason}\r\nContent-Type: application/json\r\nContent-Length: ${Buffer.byteLength(body)}\r\nConnection: close\r\n\r\n${body}`);
}
