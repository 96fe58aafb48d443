/**
 * /healthz polled every 50 ms as a load balancer polls it: from a worker thread, so the benchmark's own work (parsing
 * pages of a list, say) cannot delay the probe's answer in its own event loop and be counted as FleetOps' latency.
 * Each answer's latency and when it was asked (on the caller's `performance.now()` clock) come back at `stop()`.
 */
import { Worker } from 'node:worker_threads';

export interface HealthProbe {
  /** Starts polling (once FleetOps listens on `port`). */
  start(port: number): void;
  /** Stops polling; the latencies and the times they were asked. */
  stop(): Promise<{ latencies: number[]; asked: number[] }>;
}

export function healthProbe(): HealthProbe {
  const worker = new Worker(new URL('./healthProbeWorker.ts', import.meta.url));
  return {
    start: (port) => worker.postMessage({ port }),
    stop: () =>
      new Promise((resolve, reject) => {
        worker.once('message', (m: { latencies: number[]; asked: number[] }) => {
          // The worker's clock starts later: its times, as epoch milliseconds, on this thread's clock.
          resolve({ latencies: m.latencies, asked: m.asked.map((t) => t - performance.timeOrigin) });
          void worker.terminate();
        });
        worker.once('error', reject);
        worker.postMessage({ stop: true });
      }),
  };
}
