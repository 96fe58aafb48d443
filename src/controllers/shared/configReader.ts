/** Reads the ConfigMaps and Secrets a pipeline step's `env`/`envFrom` name, in the pipeline's namespace. */
import type { Client } from '../../client/Client.ts';
import { getOf } from '../../client/typed.ts';
import { configMapType, secretType } from '../../registry/builtin/coreKinds.ts';

export type ConfigReader = (kind: 'ConfigMap' | 'Secret', name: string) => Promise<Record<string, string> | undefined>;

/** A ConfigMap's data or a Secret's decoded data; undefined when the object is missing. */
export function configReader(client: Client, namespace: string): ConfigReader {
  return async (kind, name) => {
    if (kind === 'ConfigMap') return (await getOf(client, configMapType, name, namespace))?.data ?? undefined;
    const secret = await getOf(client, secretType, name, namespace);
    if (!secret) return undefined;
    return Object.fromEntries(Object.entries(secret.data ?? {}).map(([k, v]) => [k, Buffer.from(v, 'base64').toString('utf8')]));
  };
}
