/**
 * In-process fan-out of store events to watchers, with per-watcher filtering and deduplication by
 * resourceVersion (history replay and live events may overlap while a watch starts).
 */
import { storeMetrics } from '../telemetry/metrics.ts';
import { withTraceContext, type Context } from '../telemetry/tracing.ts';
import type { StoreEvent, WatchHandle, WatchOptions } from './Store.ts';

interface Subscriber extends WatchHandle {
  options: WatchOptions;
  onEvent: (event: StoreEvent) => void;
  lastRv: number;
  stopped: boolean;
}

export class WatchHub {
  private readonly subscribers = new Set<Subscriber>();
  private readonly untrack = storeMetrics.watchers.track(() => [[[], this.subscribers.size]]);

  subscribe(options: WatchOptions, onEvent: (event: StoreEvent) => void, startRv: number): Subscriber {
    const sub: Subscriber = {
      options,
      onEvent,
      lastRv: startRv,
      stopped: false,
      stop: () => {
        sub.stopped = true;
        this.subscribers.delete(sub);
      },
    };
    this.subscribers.add(sub);
    return sub;
  }

  /**
   * Delivers to one subscriber if it matches and is newer than what it has seen; inside `cause`, the trace context
   * of the commit that made the event, so what the subscriber queues continues that trace.
   */
  deliver(handle: WatchHandle, event: StoreEvent, cause?: Context): void {
    const sub = handle as Subscriber;
    if (sub.stopped || event.rv <= sub.lastRv) return;
    const { type, namespace } = sub.options;
    if (type && (type.group !== event.key.group || type.kind !== event.key.kind)) return;
    if (namespace !== undefined && namespace !== event.key.namespace) return;
    sub.lastRv = event.rv;
    try {
      withTraceContext(cause, () => sub.onEvent(event));
    } catch (err) {
      // A listener's failure is its own bug: said loudly, but it cannot keep the change from the other listeners nor
      // a commit from being acknowledged (the store delivers inside its commit path).
      process.emitWarning(err instanceof Error ? err : new Error(String(err)), { code: 'FLEETOPS_WATCH_LISTENER' });
    }
  }

  publish(event: StoreEvent, cause?: Context): void {
    for (const sub of this.subscribers) this.deliver(sub, event, cause);
  }

  closeAll(): void {
    this.untrack();
    for (const sub of [...this.subscribers]) sub.stop();
  }
}
