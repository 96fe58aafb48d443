/** Reads the ConfigMaps and Secrets a pipeline step's `env`/`envFrom` name, in the pipeline's namespace. */
import type { Client } from '../../client/Client.ts';

export type ConfigReader = (kind: 'ConfigMap' | 'Secret', name: string) => Promise<Record<string, string> | undefined>;

/** A ConfigMap's data or a Secret's decoded data; undefined when the object is missing. */
export function configReader(client: Client, namespace: string): ConfigReader {
  return async (kind, name) => {
    const o = await client.get({ apiVersion: 'v1', kind, namespace, name });
    if (!o) return undefined;
    const data = (o.data ?? {}) as Record<string, string>;
    return kind === 'Secret' ? Object.fromEntries(Object.entries(data).map(([k, v]) => [k, Buffer.from(v, 'base64').toString('utf8')])) : data;
  };
}
