/** The thread of `healthProbe`: one HTTPS GET of /healthz (a new connection each, as a load balancer's) every 50 ms. */
import { request } from 'node:https';
import { parentPort } from 'node:worker_threads';

const latencies: number[] = [];
const asked: number[] = [];
let stopped = false;

function once(port: number): void {
  if (stopped) return;
  const start = performance.now();
  const req = request({ host: '127.0.0.1', port, path: '/healthz', rejectUnauthorized: false, agent: false }, (res) => {
    res.resume();
    res.on('end', () => {
      latencies.push(performance.now() - start);
      asked.push(performance.timeOrigin + start);
      setTimeout(() => once(port), 50);
    });
  });
  req.on('error', () => setTimeout(() => once(port), 50));
  req.end();
}

parentPort?.on('message', (m: { port?: number; stop?: boolean }) => {
  if (m.port !== undefined) once(m.port);
  if (m.stop) {
    stopped = true;
    parentPort?.postMessage({ latencies, asked });
  }
});
