/**
 * The transport's floor for API writes: a bare Node.js HTTPS server (same certificate and key as FleetOps', same
 * process as the bench's FleetOps) that reads each request's JSON body, parses it and answers 201 with a stored
 * object of the size FleetOps answers — no routing, authentication, admission, store or audit. What it sustains
 * under the same client load is what any server on this runtime and machine can reach at most.
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:https';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';

export interface BareHttps {
  /** A kubeconfig like FleetOps' own, naming the bare server (same CA, same token). */
  kubeconfigPath: string;
  close(): Promise<void>;
}

/** A created ConfigMap as FleetOps answers it (managed fields included), for a response of the same size. */
function answerFor(body: { metadata?: { name?: string } }): string {
  return JSON.stringify({
    apiVersion: 'v1',
    kind: 'ConfigMap',
    metadata: {
      name: body.metadata?.name ?? '',
      namespace: 'default',
      uid: '4f1b6c8e-0d2a-4b7e-9a55-3c1f2e8d7a90',
      resourceVersion: '100000',
      creationTimestamp: '2026-01-01T00:00:00Z',
      labels: { bench: 'yes' },
      managedFields: [
        {
          manager: 'node',
          operation: 'Update',
          apiVersion: 'v1',
          time: '2026-01-01T00:00:00Z',
          fieldsType: 'FieldsV1',
          fieldsV1: { 'f:data': { '.': {}, 'f:payload': {} }, 'f:metadata': { 'f:labels': { '.': {}, 'f:bench': {} } } },
        },
      ],
    },
    data: { payload: 'x'.repeat(200) },
  });
}

/** Starts the bare server beside FleetOps, whose data dir holds the certificate and the kubeconfig to copy. */
export async function startBareHttps(fleetDataDir: string, fleetKubeconfig: string, dir: string): Promise<BareHttps> {
  const server: Server = createServer(
    { key: readFileSync(join(fleetDataDir, 'apiserver.key')), cert: readFileSync(join(fleetDataDir, 'apiserver.crt')), keepAliveTimeout: 60_000 },
    (req, res) => {
      const chunks: Buffer[] = [];
      req.on('data', (c: Buffer) => chunks.push(c));
      req.on('end', () => {
        const answer = answerFor(JSON.parse(Buffer.concat(chunks).toString('utf8')));
        res.writeHead(201, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(answer) });
        res.end(answer);
      });
    },
  );
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  const kubeconfigPath = join(dir, 'bare-kubeconfig');
  writeFileSync(kubeconfigPath, readFileSync(fleetKubeconfig, 'utf8').replace(/https:\/\/127\.0\.0\.1:\d+/g, `https://127.0.0.1:${port}`));
  return {
    kubeconfigPath,
    close: () =>
      new Promise((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
