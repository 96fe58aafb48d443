/** What every API command needs: a client from the kubeconfig, discovery, the namespace to use. */
import { join } from 'node:path';
import { HttpClient } from '../client/HttpClient.ts';
import { Discovery } from '../client/discovery.ts';
import { loadKubeconfig } from '../client/kubeconfig.ts';
import { defaultDataDir } from '../lib/installation.ts';

export interface GlobalOptions {
  kubeconfig?: string;
  context?: string;
  namespace?: string;
}

export interface CliContext {
  client: HttpClient;
  discovery: Discovery;
  /** The namespace from -n, else the context's. */
  namespace: string;
  close(): void;
}

export function kubeconfigPath(opts: GlobalOptions): string {
  return opts.kubeconfig ?? process.env.FLEETOPS_KUBECONFIG ?? process.env.KUBECONFIG?.split(':')[0] ?? join(defaultDataDir(), 'kubeconfig');
}

export function openContext(opts: GlobalOptions): CliContext {
  const config = loadKubeconfig(kubeconfigPath(opts), opts.context);
  const client = new HttpClient(config);
  return { client, discovery: new Discovery(client), namespace: opts.namespace ?? config.namespace, close: () => client.close() };
}
