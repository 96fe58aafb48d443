/**
 * Concurrent creates through the HTTPS API, run in a process of its own (as clients on other machines would be, so
 * their TLS and JSON work is not counted against the server's event loop). A light client, as load generators are
 * (wrk, ab): keep-alive TLS connections, one request at a time on each (no pipelining), each request a string built
 * from a template and each answer read only as far as its status and length — so that on a machine of two cores the
 * client leaves the server a core, and the figure is the server's. Every answer must be 201 Created. Prints one JSON
 * line: the seconds taken. Usage: node bench/lib/writeLoad.ts <kubeconfig> <writes> <concurrency> <name prefix>
 */
import { connect, type TLSSocket } from 'node:tls';
import { performance } from 'node:perf_hooks';
import { loadKubeconfig } from '../../src/client/kubeconfig.ts';

const [kubeconfig = '', writes = '1000', concurrency = '16', prefix = 'w'] = process.argv.slice(2);
const config = loadKubeconfig(kubeconfig);
const server = new URL(config.server);
const total = Number(writes);
const PATH = '/api/v1/namespaces/default/configmaps';

function requestText(name: string): string {
  const body = JSON.stringify({ apiVersion: 'v1', kind: 'ConfigMap', metadata: { name, labels: { bench: 'yes' } }, data: { payload: 'x'.repeat(200) } });
  return (
    `POST ${PATH} HTTP/1.1\r\nHost: ${server.host}\r\nAuthorization: Bearer ${config.token ?? ''}\r\nAccept: application/json\r\n` +
    `Content-Type: application/json\r\nContent-Length: ${Buffer.byteLength(body)}\r\n\r\n${body}`
  );
}

/** One keep-alive connection: sends a request, resolves with the status of its answer once all of it has arrived. */
class Connection {
  private readonly socket: TLSSocket;
  private buffer: Buffer = Buffer.alloc(0);
  private waiting: { resolve: (status: number) => void; reject: (err: Error) => void } | undefined;

  constructor(ready: () => void, failed: (err: Error) => void) {
    this.socket = connect({ host: server.hostname, port: Number(server.port), ca: config.caCert, rejectUnauthorized: !config.insecure }, ready);
    this.socket.on('error', (err) => (this.waiting ? this.waiting.reject(err) : failed(err)));
    this.socket.on('data', (chunk: Buffer) => {
      this.buffer = this.buffer.length ? Buffer.concat([this.buffer, chunk]) : chunk;
      this.answer();
    });
  }

  private answer(): void {
    const end = this.buffer.indexOf('\r\n\r\n');
    if (end < 0 || !this.waiting) return;
    const head = this.buffer.subarray(0, end).toString('latin1');
    const length = /\r\ncontent-length: *(\d+)/i.exec(head);
    if (!length) return this.waiting.reject(new Error(`an answer without Content-Length: ${head}`));
    const size = end + 4 + Number(length[1]);
    if (this.buffer.length < size) return;
    this.buffer = this.buffer.subarray(size);
    const waiting = this.waiting;
    this.waiting = undefined;
    waiting.resolve(Number(head.slice(9, 12)));
  }

  send(text: string): Promise<number> {
    return new Promise((resolve, reject) => {
      this.waiting = { resolve, reject };
      this.socket.write(text);
    });
  }

  close(): void {
    this.socket.end();
  }
}

const connections = await Promise.all(
  Array.from(
    { length: Number(concurrency) },
    () =>
      new Promise<Connection>((resolve, reject) => {
        const c: Connection = new Connection(() => resolve(c), reject);
      }),
  ),
);
let next = 0;
const start = performance.now();
await Promise.all(
  connections.map(async (c) => {
    for (let i = next++; i < total; i = next++) {
      const status = await c.send(requestText(`${prefix}${i}`));
      if (status !== 201) throw new Error(`create ${prefix}${i} answered ${status}`);
    }
  }),
);
console.log(JSON.stringify({ seconds: (performance.now() - start) / 1000 }));
for (const c of connections) c.close();
