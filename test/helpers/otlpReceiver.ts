/**
 * An OTLP/HTTP trace receiver on 127.0.0.1 for tests: POST /v1/traces in protobuf (what the OpenTelemetry SDK sends)
 * or JSON (what a shell step can send with wget), decoded into flat spans. The protobuf schema below is the part of
 * OTLP's trace.proto a test reads (field numbers as in opentelemetry-proto).
 */
import { createServer, type Server } from 'node:http';
import { gunzipSync } from 'node:zlib';
import protobuf from 'protobufjs';

const PROTO = `
syntax = "proto3";
message ExportTraceServiceRequest { repeated ResourceSpans resource_spans = 1; }
message ResourceSpans { Resource resource = 1; repeated ScopeSpans scope_spans = 2; }
message Resource { repeated KeyValue attributes = 1; }
message ScopeSpans { Scope scope = 1; repeated Span spans = 2; }
message Scope { string name = 1; }
message Span {
  bytes trace_id = 1; bytes span_id = 2; bytes parent_span_id = 4; string name = 5; int32 kind = 6;
  fixed64 start_time_unix_nano = 7; fixed64 end_time_unix_nano = 8; repeated KeyValue attributes = 9; repeated Link links = 13;
  Status status = 15;
}
message Link { bytes trace_id = 1; bytes span_id = 2; }
message Status { string message = 2; int32 code = 3; }
message KeyValue { string key = 1; AnyValue value = 2; }
message AnyValue {
  oneof value { string string_value = 1; bool bool_value = 2; int64 int_value = 3; double double_value = 4; ArrayValue array_value = 5; }
}
message ArrayValue { repeated AnyValue values = 1; }
`;

const Request = protobuf.parse(PROTO, { keepCase: false }).root.lookupType('ExportTraceServiceRequest');

export interface ReceivedSpan {
  traceId: string;
  spanId: string;
  parentSpanId: string;
  name: string;
  attributes: Record<string, unknown>;
  /** Further causes (a batch's span links the changes it serves beyond its parent). */
  links: { traceId: string; spanId: string }[];
  /** Status code: 0 unset, 1 ok, 2 error. */
  status: number;
  /** service.name of the resource that sent it. */
  service: string;
}

export interface OtlpReceiver {
  url: string;
  spans: ReceivedSpan[];
  close(): Promise<void>;
}

type Json = Record<string, unknown>;
const obj = (v: unknown): Json => (v && typeof v === 'object' ? (v as Json) : {});
const list = (v: unknown): unknown[] => (Array.isArray(v) ? v : []);

function valueOf(any: unknown): unknown {
  const v = obj(any);
  if ('stringValue' in v) return v.stringValue;
  if ('boolValue' in v) return v.boolValue;
  if ('intValue' in v) return Number(v.intValue);
  if ('doubleValue' in v) return v.doubleValue;
  if ('arrayValue' in v) return list(obj(v.arrayValue).values).map(valueOf);
  return undefined;
}

/** Ids: bytes in protobuf, hex strings in OTLP/JSON. */
const hex = (v: unknown): string => (v instanceof Uint8Array ? Buffer.from(v).toString('hex') : String(v ?? ''));

const attributesOf = (kvs: unknown): Record<string, unknown> => Object.fromEntries(list(kvs).map((kv) => [String(obj(kv).key), valueOf(obj(kv).value)]));

/** Both encodings as one JSON shape (ids hex, camelCase keys). */
function flatten(body: Json): ReceivedSpan[] {
  return list(body.resourceSpans).flatMap((rs) => {
    const service = String(attributesOf(obj(obj(rs).resource).attributes)['service.name'] ?? '');
    return list(obj(rs).scopeSpans).flatMap((ss) =>
      list(obj(ss).spans).map((raw) => {
        const s = obj(raw);
        return {
          traceId: hex(s.traceId),
          spanId: hex(s.spanId),
          parentSpanId: hex(s.parentSpanId),
          name: String(s.name ?? ''),
          attributes: attributesOf(s.attributes),
          links: list(s.links).map((l) => ({ traceId: hex(obj(l).traceId), spanId: hex(obj(l).spanId) })),
          status: Number(obj(s.status).code ?? 0),
          service,
        };
      }),
    );
  });
}

export async function startOtlpReceiver(): Promise<OtlpReceiver> {
  const spans: ReceivedSpan[] = [];
  const server: Server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      try {
        let body = Buffer.concat(chunks);
        if (req.headers['content-encoding'] === 'gzip') body = gunzipSync(body);
        if (req.url !== '/v1/traces') throw new Error(`unexpected path ${req.url}`);
        const json = String(req.headers['content-type']).includes('json')
          ? obj(JSON.parse(body.toString()))
          : obj(Request.toObject(Request.decode(body), { longs: String }));
        spans.push(...flatten(json));
        res.writeHead(200, { 'content-type': 'application/json' }).end('{}');
      } catch (err) {
        res.writeHead(400).end(String(err));
      }
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const { port } = server.address() as { port: number };
  return {
    url: `http://127.0.0.1:${port}`,
    spans,
    close: () => new Promise((r) => server.close(() => r())),
  };
}
