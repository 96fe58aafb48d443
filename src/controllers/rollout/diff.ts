/**
 * What would change, in words a platform engineer reads at a glance: `spec.replicas 1→2 in deployment.yaml`. Used
 * by rollout plans to compare a resource's current outputs and status with what the new workflows produce.
 */
import { parseAllDocuments } from 'yaml';
import { isPlainObject, jsonEqual } from '../../api/types.ts';

export interface Change {
  path: string;
  before: unknown;
  after: unknown;
}

const MAX_CHANGES = 50;

function show(v: unknown): string {
  if (v === undefined) return '∅';
  const text = typeof v === 'string' ? v : JSON.stringify(v);
  return text.length > 60 ? `${text.slice(0, 57)}…` : text;
}

/** Leaf-level differences between two JSON values; arrays of equal length are compared item by item. */
export function diffValues(before: unknown, after: unknown, path = '', out: Change[] = []): Change[] {
  if (out.length >= MAX_CHANGES || jsonEqual(before, after)) return out;
  if (isPlainObject(before) && isPlainObject(after)) {
    for (const key of [...new Set([...Object.keys(before), ...Object.keys(after)])].sort())
      diffValues(before[key], after[key], path ? `${path}.${key}` : key, out);
    return out;
  }
  if (Array.isArray(before) && Array.isArray(after) && before.length === after.length) {
    before.forEach((b, i) => diffValues(b, after[i], `${path}[${i}]`, out));
    return out;
  }
  out.push({ path: path || '.', before, after });
  return out;
}

export function describeChange(c: Change, where?: string): string {
  const what =
    c.before === undefined
      ? `${c.path} added (${show(c.after)})`
      : c.after === undefined
        ? `${c.path} removed`
        : `${c.path} ${show(c.before)}→${show(c.after)}`;
  return where ? `${what} in ${where}` : what;
}

function documentsOf(text: string): unknown[] {
  return parseAllDocuments(text)
    .map((d) => d.toJS() as unknown)
    .filter((d) => d !== null && d !== undefined);
}

function docId(doc: unknown, index: number): string {
  if (!isPlainObject(doc)) return `#${index}`;
  const meta = isPlainObject(doc.metadata) ? doc.metadata : {};
  return `${String(doc.kind ?? '')}/${String(meta.namespace ?? '')}/${String(meta.name ?? index)}`;
}

/**
 * Changes between two sets of output files (path → content). YAML files are compared document by document (matched
 * by kind, namespace and name), other files as a whole.
 */
export function diffFiles(before: ReadonlyMap<string, string>, after: ReadonlyMap<string, string>): string[] {
  const lines: string[] = [];
  for (const file of [...new Set([...before.keys(), ...after.keys()])].sort()) {
    const a = before.get(file);
    const b = after.get(file);
    if (a === b) continue;
    if (a === undefined) {
      lines.push(`${file} added`);
      continue;
    }
    if (b === undefined) {
      lines.push(`${file} removed`);
      continue;
    }
    if (!/\.ya?ml$|\.json$/.test(file)) {
      lines.push(`${file} changed`);
      continue;
    }
    try {
      const docsA = new Map(documentsOf(a).map((d, i) => [docId(d, i), d]));
      const docsB = new Map(documentsOf(b).map((d, i) => [docId(d, i), d]));
      for (const id of new Set([...docsA.keys(), ...docsB.keys()])) {
        const name = docsA.size + docsB.size > 2 ? `${file} (${id})` : file;
        if (!docsA.has(id)) lines.push(`${name}: document added`);
        else if (!docsB.has(id)) lines.push(`${name}: document removed`);
        else for (const c of diffValues(docsA.get(id), docsB.get(id))) lines.push(describeChange(c, name));
      }
    } catch {
      lines.push(`${file} changed`);
    }
  }
  return lines;
}

/** Changes to the fields of `.status` a workflow writes (keys it does not write are left as they are). */
export function diffStatus(current: Record<string, unknown>, written: Record<string, unknown>): string[] {
  const lines: string[] = [];
  for (const key of Object.keys(written).sort()) {
    if (key === 'conditions') continue; // timestamps move on every run
    for (const c of diffValues(current[key], written[key], `status.${key}`)) lines.push(describeChange(c));
  }
  return lines;
}

/** Fleet summary lines, most frequent first: "37 apps: spec.replicas 1→2 in deployment.yaml". */
export function summarize(perResource: readonly string[][], plural: string): { text: string; count: number }[] {
  const counts = new Map<string, number>();
  for (const lines of perResource) for (const l of new Set(lines)) counts.set(l, (counts.get(l) ?? 0) + 1);
  return [...counts.entries()].sort((x, y) => y[1] - x[1] || x[0].localeCompare(y[0])).map(([line, count]) => ({ text: `${count} ${plural}: ${line}`, count }));
}
