/** Reads manifests from files, folders (recursively, *.yaml|*.yml|*.json) and stdin, one object per document. */
import { readFileSync, readdirSync, statSync } from 'node:fs';
import { extname, join } from 'node:path';
import { parseAllDocuments } from 'yaml';
import { isKubeObject, isPlainObject, type KubeObject } from '../api/types.ts';

export interface Manifest {
  source: string;
  object: KubeObject;
}

export class ManifestError extends Error {
  constructor(message: string, options?: ErrorOptions) {
    super(message, options);
    this.name = 'ManifestError';
  }
}

function filesUnder(path: string): string[] {
  const st = statSync(path, { throwIfNoEntry: false });
  if (!st) throw new ManifestError(`the path "${path}" does not exist`);
  if (!st.isDirectory()) return [path];
  return readdirSync(path)
    .sort()
    .flatMap((entry) => {
      const full = join(path, entry);
      if (statSync(full).isDirectory()) return filesUnder(full);
      return ['.yaml', '.yml', '.json'].includes(extname(entry)) ? [full] : [];
    });
}

/** Parses one YAML/JSON text; `List` kinds are flattened into their items. */
export function parseManifests(text: string, source: string): Manifest[] {
  const out: Manifest[] = [];
  const docs = parseAllDocuments(text);
  docs.forEach((doc, i) => {
    const where = docs.length > 1 ? `${source} (document ${i + 1})` : source;
    if (doc.errors.length) throw new ManifestError(`${where}: invalid YAML: ${doc.errors[0]?.message.split('\n')[0]}`);
    const value: unknown = doc.toJS();
    if (value === null || value === undefined) return;
    if (!isPlainObject(value)) throw new ManifestError(`${where}: expected an object with apiVersion and kind`);
    const items: unknown[] = value.kind === 'List' && Array.isArray(value.items) ? value.items : [value];
    for (const item of items) {
      if (!isKubeObject(item)) throw new ManifestError(`${where}: every object needs "apiVersion", "kind" and "metadata"`);
      if (typeof item.metadata.name !== 'string' || item.metadata.name === '') throw new ManifestError(`${where}: ${item.kind} has no metadata.name`);
      out.push({ source: where, object: item });
    }
  });
  return out;
}

export function readManifests(paths: string[], stdin: () => string): Manifest[] {
  const out: Manifest[] = [];
  for (const p of paths) {
    if (p === '-') {
      out.push(...parseManifests(stdin(), '<stdin>'));
      continue;
    }
    for (const file of filesUnder(p)) out.push(...parseManifests(readFileSync(file, 'utf8'), file));
  }
  return out;
}
