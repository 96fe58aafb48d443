/**
 * The API server's request metrics under the names Kubernetes' dashboards read: `apiserver_request_total`,
 * `apiserver_request_duration_seconds`, `apiserver_current_inflight_requests` and `apiserver_longrunning_requests`
 * (watches, which leave the in-flight count once streaming, as in Kubernetes). Verbs are spelled as Kubernetes
 * spells them in these metrics: GET, LIST, WATCH, POST, PUT, PATCH, APPLY, DELETE, DELETECOLLECTION.
 */
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { apiserverMetrics, type GaugeSeries } from '../telemetry/metrics.ts';

export interface RequestLabels {
  verb: string;
  group: string;
  version: string;
  resource: string;
  subresource: string;
}

declare module 'fastify' {
  interface FastifyRequest {
    /** What the request addressed, once known (non-resource requests keep the method only). */
    metricLabels?: RequestLabels;
    /** The in-flight series this request counts in, until it answers or starts streaming. */
    inflight?: GaugeSeries;
  }
}

const INFLIGHT = {
  readOnly: apiserverMetrics.inflight.with('readOnly'),
  mutating: apiserverMetrics.inflight.with('mutating'),
};

/** The verb as Kubernetes' request metrics spell it. */
export function metricVerb(verb: string, apply: boolean): string {
  if (verb === 'create') return 'POST';
  if (verb === 'update') return 'PUT';
  if (verb === 'patch' && apply) return 'APPLY';
  return verb.toUpperCase();
}

function labelsOf(req: FastifyRequest): RequestLabels {
  return req.metricLabels ?? { verb: req.method, group: '', version: '', resource: '', subresource: '' };
}

function leaveInflight(req: FastifyRequest): void {
  req.inflight?.dec();
  req.inflight = undefined;
}

function count(req: FastifyRequest, code: number, seconds: number): void {
  const l = labelsOf(req);
  apiserverMetrics.requests.with(l.verb, l.group, l.version, l.resource, l.subresource, String(code)).inc();
  apiserverMetrics.duration.with(l.verb, l.group, l.version, l.resource, l.subresource).observe(seconds);
}

/** Counts every request: in flight from its arrival, by verb, resource and code once answered. */
export function installRequestMetrics(app: FastifyInstance): void {
  app.addHook('onRequest', async (req) => {
    req.inflight = req.method === 'GET' || req.method === 'HEAD' ? INFLIGHT.readOnly : INFLIGHT.mutating;
    req.inflight.inc();
  });
  app.addHook('onResponse', async (req: FastifyRequest, reply: FastifyReply) => {
    leaveInflight(req);
    count(req, reply.statusCode, reply.elapsedTime / 1000);
  });
}

/**
 * A watch starts streaming (its reply is taken over, so no onResponse follows): counted as answered 200, moved from
 * in flight to long-running until `ended` is called.
 */
export function watchStarted(req: FastifyRequest, reply: FastifyReply): { ended(): void } {
  leaveInflight(req);
  count(req, 200, reply.elapsedTime / 1000);
  const l = labelsOf(req);
  const longrunning = apiserverMetrics.longrunning.with(l.verb, l.group, l.version, l.resource);
  longrunning.inc();
  let done = false;
  return {
    ended: () => {
      if (done) return;
      done = true;
      longrunning.dec();
    },
  };
}
