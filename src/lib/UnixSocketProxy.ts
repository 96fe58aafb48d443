/**
 * A Unix socket whose connections are carried to a local TCP port (the API server): how sandboxed steps without a
 * network reach the API. It carries bytes only (TLS stays end to end), so it exposes nothing the port does not: any
 * local user can reach the port anyway, and every request still needs a token.
 */
import { chmodSync, mkdirSync, rmSync } from 'node:fs';
import { dirname } from 'node:path';
import { connect, createServer, type Server, type Socket } from 'node:net';

export interface UnixSocketProxyOptions {
  path: string;
  /** The TCP port to carry connections to; undefined until it is known (connections meanwhile are closed). */
  port: () => number | undefined;
  host?: string;
}

export class UnixSocketProxy {
  private readonly opts: UnixSocketProxyOptions;
  private server: Server | undefined;
  private readonly sockets = new Set<Socket>();

  constructor(options: UnixSocketProxyOptions) {
    this.opts = options;
  }

  get path(): string {
    return this.opts.path;
  }

  async start(): Promise<void> {
    if (this.server) return;
    mkdirSync(dirname(this.opts.path), { recursive: true, mode: 0o711 });
    rmSync(this.opts.path, { force: true }); // left by a process that was killed
    const server = createServer((client) => {
      const port = this.opts.port();
      if (port === undefined) {
        client.destroy();
        return;
      }
      const upstream = connect(port, this.opts.host ?? '127.0.0.1');
      for (const s of [client, upstream]) {
        this.sockets.add(s);
        s.on('close', () => this.sockets.delete(s));
      }
      client.pipe(upstream).pipe(client);
      client.on('error', () => upstream.destroy());
      upstream.on('error', () => client.destroy());
    });
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(this.opts.path, () => resolve());
    });
    // Steps run as other uids (a uid per run when FleetOps is root): they must be able to connect.
    chmodSync(this.opts.path, 0o666);
    this.server = server;
  }

  async stop(): Promise<void> {
    const server = this.server;
    if (!server) return;
    this.server = undefined;
    for (const s of this.sockets) s.destroy();
    await new Promise<void>((resolve) => server.close(() => resolve()));
    rmSync(this.opts.path, { force: true });
  }
}
