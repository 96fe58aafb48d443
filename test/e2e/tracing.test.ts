/**
 * One trace from a request to its Git commit, as an OTLP collector receives it: FleetOps started with
 * OTEL_EXPORTER_OTLP_ENDPOINT exports to a receiver on 127.0.0.1; a client sends a create with its own `traceparent`;
 * the trace holds the API request, the resource's reconcile, the pipeline run, its step with the image pull and the
 * sandbox, the step's own span (sent by the step with wget, parented through TRACEPARENT), the scheduler's and the
 * state-store writer's reconciles and the Git write, each under the right parent. Log lines written inside a span
 * carry its trace_id and span_id.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { Writable } from 'node:stream';
import { pino } from 'pino';
import { eventually, installPromise, startTestFleet, type TestFleet } from '../helpers/fleet.ts';
import { connectStateStore, startGitServer, type TestGitServer } from '../helpers/gitServer.ts';
import { startOtlpReceiver, type OtlpReceiver, type ReceivedSpan } from '../helpers/otlpReceiver.ts';
import { testPromise } from '../helpers/promises.ts';
import { TEST_IMAGE } from '../helpers/images.ts';
import { traceLogFields } from '../../src/main.ts';

/** The step sends its own span to the collector, child of the span TRACEPARENT names, then renders. */
const STEP_SCRIPT = [
  'trace=$(echo "$TRACEPARENT" | cut -d- -f2)',
  'parent=$(echo "$TRACEPARENT" | cut -d- -f3)',
  "own=$(head -c8 /dev/urandom | od -An -tx1 | tr -d ' \\n')",
  'now=$(date +%s)000000000',
  'body="{\\"resourceSpans\\":[{\\"resource\\":{\\"attributes\\":[{\\"key\\":\\"service.name\\",\\"value\\":{\\"stringValue\\":\\"render-step\\"}}]},' +
    '\\"scopeSpans\\":[{\\"spans\\":[{\\"traceId\\":\\"$trace\\",\\"spanId\\":\\"$own\\",\\"parentSpanId\\":\\"$parent\\",\\"name\\":\\"render templates\\",' +
    '\\"kind\\":1,\\"startTimeUnixNano\\":\\"$now\\",\\"endTimeUnixNano\\":\\"$now\\"}]}]}]}"',
  'wget -q -O /dev/null --header "Content-Type: application/json" --post-data "$body" "$OTLP_URL/v1/traces"',
  'echo "a: 1" > /kratix/output/out.yaml',
].join('\n');

describe('a trace from apply to the Git commit', () => {
  let receiver: OtlpReceiver;
  let git: TestGitServer;
  let fleet: TestFleet;
  const logLines: Record<string, unknown>[] = [];

  before(async () => {
    receiver = await startOtlpReceiver();
    process.env.OTEL_EXPORTER_OTLP_ENDPOINT = receiver.url;
    process.env.OTEL_BSP_SCHEDULE_DELAY = '100';
    git = await startGitServer();
    await git.createRepo('platform');
    const sink = new Writable({
      write(chunk: Buffer, _enc, done) {
        for (const line of chunk.toString().split('\n')) if (line) logLines.push(JSON.parse(line) as Record<string, unknown>);
        done();
      },
    });
    fleet = await startTestFleet({ stateStoreBatchMs: 50, logger: pino({ level: 'info', mixin: traceLogFields }, sink) });
    await connectStateStore(fleet.client, git, 'platform');
    const promise = testPromise({
      kind: 'Dial',
      plural: 'dials',
      destinationSelectors: { environment: 'worker' },
      pipeline: {
        name: 'render',
        spec: { containers: [{ name: 'render', image: TEST_IMAGE, command: ['sh', '-c', STEP_SCRIPT], env: [{ name: 'OTLP_URL', value: receiver.url }] }] },
      },
    });
    // The step reaches the collector on the host's loopback.
    const pipelines = (promise.spec as { workflows: { resource: { configure: { metadata: Record<string, unknown> }[] } } }).workflows.resource.configure;
    for (const p of pipelines) p.metadata.annotations = { 'fleetops.dev/network': 'true' };
    await installPromise(fleet, promise);
  });

  after(async () => {
    await fleet?.cleanup();
    await git?.close();
    await receiver?.close();
  });

  it('links the request, reconcile, run, steps, the step’s own span and the Git write', async () => {
    const traceId = randomBytes(16).toString('hex');
    const clientSpan = randomBytes(8).toString('hex');
    await fleet.client.request('POST', '/apis/test.fleetops.dev/v1/namespaces/default/dials', {
      body: { apiVersion: 'test.fleetops.dev/v1', kind: 'Dial', metadata: { name: 'traced' }, spec: {} },
      headers: { traceparent: `00-${traceId}-${clientSpan}-01` },
    });
    const inTrace = (): ReceivedSpan[] => receiver.spans.filter((s) => s.traceId === traceId);
    const named = (name: string): ReceivedSpan[] => inTrace().filter((s) => s.name === name);
    const one = (name: string, parent: ReceivedSpan | undefined): ReceivedSpan => {
      const found = named(name).filter((s) => !parent || s.parentSpanId === parent.spanId);
      assert.ok(
        found.length >= 1,
        `a span "${name}" under ${parent?.name}; the trace has: ${inTrace()
          .map((s) => `${s.name}<-${s.parentSpanId}`)
          .join(', ')}`,
      );
      return found[0]!;
    };
    const findWriterReconcile = (): ReceivedSpan | undefined =>
      receiver.spans.find(
        (s) =>
          s.name === 'reconcile statestore' &&
          (s.traceId === traceId || s.links.some((l) => l.traceId === traceId)) &&
          receiver.spans.some((w) => w.name === 'statestore.write GitStateStore' && w.parentSpanId === s.spanId),
      );
    await eventually(() => findWriterReconcile() !== undefined && named('render templates').length > 0, 60_000, 'the Git write and the step span');

    const byId = new Map(inTrace().map((s) => [s.spanId, s]));
    /** A span's names up to the trace's root in this process (the request). */
    const ancestry = (span: ReceivedSpan): string[] => {
      const chain: string[] = [];
      for (let s: ReceivedSpan | undefined = span; s; s = byId.get(s.parentSpanId)) chain.push(s.name);
      return chain;
    };
    const request = one('POST dials', undefined);
    assert.equal(request.parentSpanId, clientSpan, 'the request continues the client’s traceparent');
    assert.equal(request.service, 'fleetops');
    one('reconcile resource', request);

    // The run is under a reconcile of the resource, which descends from the request (a reconcile may be caused by
    // another controller's write that the request caused: a binding, a finalizer).
    const run = one('pipeline render', undefined);
    const runChain = ancestry(run);
    assert.equal(runChain[1], 'reconcile resource', runChain.join(' <- '));
    assert.equal(runChain.at(-1), 'POST dials', runChain.join(' <- '));
    assert.equal(run.attributes['fleetops.promise'], 'dial');
    assert.equal(run.attributes['fleetops.resource.name'], 'traced');
    assert.equal(run.attributes['fleetops.resource.namespace'], 'default');
    const step = one('step render', run);
    one('image.pull', step);
    one('sandbox', step);
    const own = one('render templates', step);
    assert.equal(own.service, 'render-step');

    // The Git write descends from the run's reconcile through the scheduler and the state-store writer: as the
    // parent of the writer's reconcile, or as one of its links when the write batched other changes first.
    const writerReconcile = findWriterReconcile();
    assert.ok(writerReconcile, 'a state-store write caused by the request');
    const write = receiver.spans.find((w) => w.name === 'statestore.write GitStateStore' && w.parentSpanId === writerReconcile.spanId)!;
    assert.ok((write.attributes['fleetops.destinations'] as string[]).includes('worker-1'), JSON.stringify(write.attributes));
    const cause =
      writerReconcile.traceId === traceId ? byId.get(writerReconcile.parentSpanId) : byId.get(writerReconcile.links.find((l) => l.traceId === traceId)!.spanId);
    assert.ok(cause, 'the cause of the write is in the trace');
    const chain = ancestry(cause);
    assert.ok(chain.includes('reconcile scheduler'), chain.join(' <- '));
    assert.ok(chain.includes('reconcile resource'), chain.join(' <- '));
    assert.equal(chain.at(-1), 'POST dials', chain.join(' <- '));

    // A log line written inside the state-store write carries the trace of its reconcile.
    const logged = logLines.find((l) => l.msg === 'state store updated' && l.trace_id === writerReconcile.traceId);
    assert.ok(logged, 'the state store log line carries trace_id');
    assert.match(String(logged.span_id), /^[0-9a-f]{16}$/);
  });
});
