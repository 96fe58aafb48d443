/**
 * Runs inside a step's sandbox, which has no network: listens on 127.0.0.1:<port> (what KUBERNETES_SERVICE_HOST and
 * _PORT say) and carries each connection, still TLS end to end, over the Unix socket bound in from FleetOps, then
 * runs the step's command and exits with its status. So a step reaches FleetOps' API and nothing else.
 *
 *   node apiRelay.ts <socket> <port> -- <command> [args…]
 */
import { spawn } from 'node:child_process';
import { connect, createServer } from 'node:net';
import { constants } from 'node:os';

const [socket, port, dashes, command, ...args] = process.argv.slice(2);
if (!socket || !port || dashes !== '--' || !command) {
  process.stderr.write('usage: apiRelay <socket> <port> -- <command> [args…]\n');
  process.exit(2);
}
const server = createServer((client) => {
  const upstream = connect(socket);
  client.pipe(upstream).pipe(client);
  client.on('error', () => upstream.destroy());
  upstream.on('error', () => client.destroy());
});
server.listen(Number(port), '127.0.0.1', () => {
  const child = spawn(command, args, { stdio: 'inherit' });
  for (const sig of ['SIGTERM', 'SIGINT', 'SIGHUP'] as const) process.on(sig, () => child.kill(sig));
  child.on('error', (err) => {
    process.stderr.write(`${command}: ${err.message}\n`);
    process.exit(127);
  });
  child.on('exit', (code, signal) => process.exit(code ?? 128 + (signal ? (constants.signals[signal] ?? 0) : 0)));
});
