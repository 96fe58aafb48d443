/** Reads the parts of a kubeconfig a FleetOps client needs: server URL, CA, token, default namespace. */
import { errorMessage } from '../api/errors.ts';
import { readFileSync } from 'node:fs';
import { parse } from 'yaml';

export interface ClientConfig {
  server: string;
  token: string;
  caCert?: string;
  insecure?: boolean;
  namespace: string;
}

interface RawKubeconfig {
  'current-context'?: string;
  contexts?: { name: string; context: { cluster: string; user: string; namespace?: string } }[];
  clusters?: {
    name: string;
    cluster: { server: string; 'certificate-authority-data'?: string; 'certificate-authority'?: string; 'insecure-skip-tls-verify'?: boolean };
  }[];
  users?: { name: string; user: { token?: string } }[];
}

export class KubeconfigError extends Error {
  constructor(message: string, options?: ErrorOptions) {
    super(message, options);
    this.name = 'KubeconfigError';
  }
}

export function loadKubeconfig(path: string, contextName?: string): ClientConfig {
  let raw: RawKubeconfig;
  try {
    raw = parse(readFileSync(path, 'utf8')) as RawKubeconfig;
  } catch (err) {
    throw new KubeconfigError(`cannot read kubeconfig ${path}: ${errorMessage(err)}; start FleetOps with "fleetops up" or pass --kubeconfig`, {
      cause: err,
    });
  }
  const name = contextName ?? raw['current-context'];
  const ctx = raw.contexts?.find((c) => c.name === name);
  if (!ctx)
    throw new KubeconfigError(`context "${name}" not found in ${path}; pass --context with one of: ${(raw.contexts ?? []).map((c) => c.name).join(', ')}`);
  const cluster = raw.clusters?.find((c) => c.name === ctx.context.cluster)?.cluster;
  const user = raw.users?.find((u) => u.name === ctx.context.user)?.user;
  if (!cluster) throw new KubeconfigError(`cluster "${ctx.context.cluster}" of context "${name}" is missing in ${path}`);
  const config: ClientConfig = { server: cluster.server, token: user?.token ?? '', namespace: ctx.context.namespace ?? 'default' };
  if (cluster['certificate-authority-data']) config.caCert = Buffer.from(cluster['certificate-authority-data'], 'base64').toString();
  else if (cluster['certificate-authority']) config.caCert = readFileSync(cluster['certificate-authority'], 'utf8');
  if (cluster['insecure-skip-tls-verify']) config.insecure = true;
  return config;
}

/** A kubeconfig with one cluster, user (a bearer token) and context. */
export function kubeconfigYaml(url: string, caCert: string, token: string, user = 'admin', context = 'platform', namespace = 'default'): string {
  const ca = Buffer.from(caCert).toString('base64');
  return [
    'apiVersion: v1',
    'kind: Config',
    'clusters:',
    `- name: fleetops`,
    `  cluster:`,
    `    server: ${url}`,
    `    certificate-authority-data: ${ca}`,
    'users:',
    `- name: ${user}`,
    `  user:`,
    `    token: ${token}`,
    'contexts:',
    `- name: ${context}`,
    `  context:`,
    `    cluster: fleetops`,
    `    user: ${user}`,
    `    namespace: ${namespace}`,
    `current-context: ${context}`,
    '',
  ].join('\n');
}
