/**
 * Tracing through OpenTelemetry's API: spans for API requests, reconciles, pipeline runs, steps and state-store
 * writes. The SDK and the OTLP exporter are loaded by startTracing only when `OTEL_EXPORTER_OTLP_ENDPOINT` is set;
 * until then every helper here returns at its first line, so a plain start and the CLI pay nothing.
 *
 * A write's context travels with it: the store hands each committed event to its watchers inside the context of the
 * commit that made it (see WatchHub), the work queue keeps the context a key was added in, and the reconcile of that
 * key starts its span there. So one trace runs from `kubectl apply` through the reconcile, the run and its steps, the
 * Work, its placement and the Git commit, across every watch hand-off in the process.
 */
import {
  context,
  INVALID_SPAN_CONTEXT,
  propagation,
  ROOT_CONTEXT,
  SpanStatusCode,
  trace,
  type Attributes,
  type Context,
  type Span,
  type SpanKind,
} from '@opentelemetry/api';

export type { Context, Span } from '@opentelemetry/api';
// Types only: the SDK itself is imported when tracing starts.
import type * as sdkTrace from '@opentelemetry/sdk-trace';
import type { Sampler } from '@opentelemetry/sdk-trace';
type TraceSdk = typeof sdkTrace;

const tracer = trace.getTracer('fleetops');
let enabled = false;

/** True once startTracing has installed an exporter. */
export function tracingOn(): boolean {
  return enabled;
}

/** The active context, captured to be resumed later (undefined when tracing is off or nothing is active). */
export function activeTraceContext(): Context | undefined {
  if (!enabled) return undefined;
  const ctx = context.active();
  return trace.getSpanContext(ctx) ? ctx : undefined;
}

/** The id of the span a captured context holds (to tell causes apart). */
export function spanIdOf(ctx: Context): string | undefined {
  return trace.getSpanContext(ctx)?.spanId;
}

/** Runs fn inside a captured context (as is when there is none). */
export function withTraceContext<T>(ctx: Context | undefined, fn: () => T): T {
  return ctx && enabled ? context.with(ctx, fn) : fn();
}

export interface SpanOptions {
  attributes?: Attributes;
  /** Parent other than the active context (a reconcile resumes the context its key was queued in). */
  parent?: Context;
  kind?: SpanKind;
  /** Further causes (a batched commit serves several writes). */
  links?: Context[];
}

/**
 * Runs fn in a span, child of `parent` or the active context; the span ends when fn settles and records a thrown
 * error. With tracing off, fn runs as is with an inert span.
 */
export function inSpan<T>(name: string, options: SpanOptions, fn: (span: Span) => Promise<T>): Promise<T> {
  return enabled ? inRecordedSpan(name, options, fn) : fn(INERT_SPAN);
}

const INERT_SPAN = trace.wrapSpanContext(INVALID_SPAN_CONTEXT);

async function inRecordedSpan<T>(name: string, options: SpanOptions, fn: (span: Span) => Promise<T>): Promise<T> {
  const parent = options.parent ?? context.active();
  const links = (options.links ?? []).flatMap((c) => {
    const sc = trace.getSpanContext(c);
    return sc ? [{ context: sc }] : [];
  });
  const span = tracer.startSpan(
    name,
    { ...(options.attributes ? { attributes: options.attributes } : {}), ...(options.kind !== undefined ? { kind: options.kind } : {}), links },
    parent,
  );
  try {
    return await context.with(trace.setSpan(parent, span), () => fn(span));
  } catch (err) {
    span.recordException(err instanceof Error ? err : String(err));
    span.setStatus({ code: SpanStatusCode.ERROR, message: err instanceof Error ? err.message : String(err) });
    throw err;
  } finally {
    span.end();
  }
}

/** Marks a span failed without an exception (a step that exited non-zero). */
export function failSpan(span: Span, message: string): void {
  if (enabled) span.setStatus({ code: SpanStatusCode.ERROR, message });
}

/** The W3C `traceparent` of the active span, for a step's environment (TRACEPARENT); undefined with tracing off. */
export function activeTraceparent(): string | undefined {
  if (!enabled) return undefined;
  const carrier: Record<string, string> = {};
  propagation.inject(context.active(), carrier);
  return carrier.traceparent;
}

/** The context an incoming request's `traceparent` header names (or none). */
export function extractTraceContext(headers: Record<string, string | string[] | undefined>): Context {
  if (!enabled) return ROOT_CONTEXT;
  const carrier: Record<string, string> = {};
  for (const k of ['traceparent', 'tracestate']) {
    const v = headers[k];
    if (typeof v === 'string') carrier[k] = v;
  }
  return propagation.extract(ROOT_CONTEXT, carrier);
}

/** trace_id/span_id of the active span for log lines (pino's mixin); empty when none. */
export function traceLogFields(): { trace_id?: string; span_id?: string } {
  if (!enabled) return {};
  const sc = trace.getSpanContext(context.active());
  return sc ? { trace_id: sc.traceId, span_id: sc.spanId } : {};
}

export interface TracingHandle {
  /** Flushes what is buffered and stops exporting. */
  shutdown(): Promise<void>;
}

let started: { handle: TracingHandle; users: number } | undefined;

/**
 * Installs the SDK when `OTEL_EXPORTER_OTLP_ENDPOINT` (or `…_TRACES_ENDPOINT`) is set: an AsyncLocalStorage context,
 * W3C propagation and batched OTLP/HTTP protobuf export. Undefined (and nothing loaded) otherwise. Process-wide, as
 * OpenTelemetry's globals are: a second FleetOps in the same process shares it.
 */
export async function startTracing(env: NodeJS.ProcessEnv, resource: Attributes): Promise<TracingHandle | undefined> {
  if (!env.OTEL_EXPORTER_OTLP_ENDPOINT && !env.OTEL_EXPORTER_OTLP_TRACES_ENDPOINT) return undefined;
  if (started) {
    started.users++;
    return release(started);
  }
  const [sdk, { AsyncLocalStorageContextManager }, { W3CTraceContextPropagator }, { OTLPTraceExporter }, resources] = await Promise.all([
    import('@opentelemetry/sdk-trace'),
    import('@opentelemetry/context-async-hooks'),
    import('@opentelemetry/core'),
    import('@opentelemetry/exporter-trace-otlp-proto'),
    import('@opentelemetry/resources'),
  ]);
  const number = (name: string): number | undefined => (env[name] !== undefined && Number.isFinite(Number(env[name])) ? Number(env[name]) : undefined);
  const delay = number('OTEL_BSP_SCHEDULE_DELAY');
  const queue = number('OTEL_BSP_MAX_QUEUE_SIZE');
  const batch = number('OTEL_BSP_MAX_EXPORT_BATCH_SIZE');
  const provider = new sdk.TracerProvider({
    resource: resources.defaultResource().merge(resources.resourceFromAttributes({ 'service.name': env.OTEL_SERVICE_NAME ?? 'fleetops', ...resource })),
    sampler: samplerFromEnv(sdk, env.OTEL_TRACES_SAMPLER, number('OTEL_TRACES_SAMPLER_ARG')),
    spanProcessors: [
      new sdk.BatchSpanProcessor({
        exporter: new OTLPTraceExporter(),
        ...(delay !== undefined ? { scheduledDelayMillis: delay } : {}),
        ...(queue !== undefined ? { maxQueueSize: queue } : {}),
        ...(batch !== undefined ? { maxExportBatchSize: batch } : {}),
      }),
    ],
  });
  const contextManager = new AsyncLocalStorageContextManager().enable();
  context.setGlobalContextManager(contextManager);
  propagation.setGlobalPropagator(new W3CTraceContextPropagator());
  trace.setGlobalTracerProvider(provider);
  enabled = true;
  const entry = {
    users: 1,
    handle: {
      shutdown: async (): Promise<void> => {
        enabled = false;
        started = undefined;
        await provider.shutdown();
        trace.disable();
        propagation.disable();
        context.disable();
      },
    },
  };
  started = entry;
  return release(entry);
}

/**
 * The sampler OpenTelemetry's environment variables name (OTEL_TRACES_SAMPLER, …_ARG), as the SDKs read them; the
 * default samples every trace a parent did not decline (parentbased_always_on).
 */
function samplerFromEnv(sdk: TraceSdk, name: string | undefined, ratio: number | undefined): Sampler {
  const r = ratio !== undefined && ratio >= 0 && ratio <= 1 ? ratio : 1;
  switch (name) {
    case 'always_on':
      return new sdk.AlwaysOnSampler();
    case 'always_off':
      return new sdk.AlwaysOffSampler();
    case 'traceidratio':
      return new sdk.TraceIdRatioBasedSampler(r);
    case 'parentbased_always_off':
      return new sdk.ParentBasedSampler({ root: new sdk.AlwaysOffSampler() });
    case 'parentbased_traceidratio':
      return new sdk.ParentBasedSampler({ root: new sdk.TraceIdRatioBasedSampler(r) });
    default:
      return new sdk.ParentBasedSampler({ root: new sdk.AlwaysOnSampler() });
  }
}

function release(entry: { handle: TracingHandle; users: number }): TracingHandle {
  let done = false;
  return {
    shutdown: async () => {
      if (done) return;
      done = true;
      if (--entry.users === 0) await entry.handle.shutdown();
    },
  };
}
