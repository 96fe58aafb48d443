/**
 * A Pipeline's `volumes` of the kinds Kratix pipelines use, made in the run's workspace: `emptyDir` (a folder the
 * steps share for the run), `configMap` and `secret` (their keys as files, read-only). Other kinds are refused with
 * the list of supported ones.
 */
import { chmodSync, mkdirSync, writeFileSync } from 'node:fs';
import { dirname, join, posix } from 'node:path';
import { OutputError } from './outputs.ts';

interface KeyToPath {
  key: string;
  path: string;
  mode?: number;
}

export interface Volume {
  name: string;
  emptyDir?: { medium?: string; sizeLimit?: string };
  configMap?: { name: string; items?: KeyToPath[]; defaultMode?: number; optional?: boolean };
  secret?: { secretName: string; items?: KeyToPath[]; defaultMode?: number; optional?: boolean };
  [other: string]: unknown;
}

export interface VolumeMount {
  name: string;
  mountPath: string;
  readOnly?: boolean;
  subPath?: string;
}

/** A volume's content on the host, by volume name. */
export type PreparedVolumes = Map<string, { host: string; readOnly: boolean }>;

export type ConfigReader = (kind: 'ConfigMap' | 'Secret', name: string) => Promise<Record<string, string> | undefined>;

/** `mkdir` makes a folder of the run's workspace, owned by the run's user (see workspace.ts). */
export async function prepareVolumes(
  volumes: readonly Volume[],
  mkdir: (relative: string) => string,
  readConfig: ConfigReader | undefined,
): Promise<PreparedVolumes> {
  const prepared: PreparedVolumes = new Map();
  for (const [i, v] of volumes.entries()) {
    const dir = mkdir(join('volumes', String(i)));
    if (v.emptyDir) {
      prepared.set(v.name, { host: dir, readOnly: false });
      continue;
    }
    const source = v.configMap
      ? { ...v.configMap, kind: 'ConfigMap' as const }
      : v.secret
        ? { ...v.secret, kind: 'Secret' as const, name: v.secret.secretName }
        : undefined;
    if (!source) throw new OutputError(`volume ${v.name}: only emptyDir, configMap and secret volumes are supported`);
    const data = readConfig ? await readConfig(source.kind, source.name) : undefined;
    if (!data && !source.optional) throw new OutputError(`volume ${v.name}: ${source.kind} ${JSON.stringify(source.name)} does not exist`);
    const items: KeyToPath[] = source.items ?? Object.keys(data ?? {}).map((key) => ({ key, path: key }));
    for (const item of items) {
      const value = data?.[item.key];
      if (value === undefined) {
        if (source.optional) continue;
        throw new OutputError(`volume ${v.name}: key ${JSON.stringify(item.key)} is not in ${source.kind} ${source.name}`);
      }
      const rel = posix.normalize(item.path);
      if (rel.startsWith('..') || rel.startsWith('/'))
        throw new OutputError(`volume ${v.name}: item path ${JSON.stringify(item.path)} must stay inside the volume`);
      const file = join(dir, rel);
      mkdirSync(dirname(file), { recursive: true });
      writeFileSync(file, value);
      // Readable by the step user whatever the mode asks: the folder is read-only to the step anyway.
      chmodSync(file, (item.mode ?? source.defaultMode ?? 0o644) | 0o444);
    }
    prepared.set(v.name, { host: dir, readOnly: true });
  }
  return prepared;
}

/** The binds a container's volumeMounts stand for. */
export function mountsFor(mounts: readonly VolumeMount[], volumes: PreparedVolumes, container: string): { host: string; sandbox: string; readOnly: boolean }[] {
  return mounts.map((m) => {
    const v = volumes.get(m.name);
    if (!v) throw new OutputError(`step ${container}: volumeMount ${JSON.stringify(m.name)} names no volume of the pipeline`);
    if (m.subPath) throw new OutputError(`step ${container}: volumeMount ${m.name}: subPath is not supported; mount the whole volume`);
    if (!m.mountPath.startsWith('/') || m.mountPath.startsWith('/kratix'))
      throw new OutputError(`step ${container}: volumeMount ${m.name}: mountPath must be absolute and outside /kratix`);
    return { host: v.host, sandbox: posix.normalize(m.mountPath), readOnly: v.readOnly || !!m.readOnly };
  });
}

/** The host folders of the volumes steps may write (emptyDir), for the write watchdog. */
export function writableVolumes(volumes: PreparedVolumes): string[] {
  return [...volumes.values()].filter((v) => !v.readOnly).map((v) => v.host);
}
