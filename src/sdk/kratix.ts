/**
 * A small SDK for pipeline steps written in TypeScript (`node step.ts`), over Kratix's file contract: read the
 * request from /kratix/input/object.yaml, write documents to /kratix/output, merge fields into
 * /kratix/metadata/status.yaml, choose destinations. Only node: built-ins and `yaml`, so it loads inside the sandbox.
 * The folder defaults to /kratix; KRATIX_DIR overrides it (for running a step's tests outside a sandbox).
 */
import { existsSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, join, normalize } from 'node:path';
import { parse, parseAllDocuments, stringify } from 'yaml';

/**
 * YAML as people and GitOps tools read it: no anchors and aliases for objects used twice (a step reusing one labels
 * object would otherwise write `&a1`/`*a1`), no folded long lines.
 */
const PLAIN = { lineWidth: 0, aliasDuplicateObjects: false } as const;

const root = (): string => process.env.KRATIX_DIR ?? '/kratix';
const outputPath = (file: string): string => {
  const clean = normalize(file);
  if (clean.startsWith('..') || clean.startsWith('/')) throw new Error(`output file ${file} must stay inside /kratix/output`);
  return join(root(), 'output', clean);
};

/** The object the workflow runs for: the resource request (or the Promise, in Promise workflows). */
export function readInput<T = Record<string, unknown>>(): T {
  return parse(readFileSync(join(root(), 'input', 'object.yaml'), 'utf8')) as T;
}

/** Writes one or more documents to /kratix/output/<file> (folders are created). */
export function writeOutput(file: string, ...documents: unknown[]): void {
  const path = outputPath(file);
  mkdirSync(dirname(path), { recursive: true });
  writeFileSync(path, documents.map((d) => stringify(d, PLAIN)).join('---\n'));
}

/** The documents an earlier step wrote to /kratix/output/<file> (empty when the file does not exist). */
export function readOutput<T = Record<string, unknown>>(file: string): T[] {
  const path = outputPath(file);
  if (!existsSync(path)) return [];
  return parseAllDocuments(readFileSync(path, 'utf8'))
    .map((d) => d.toJS() as T)
    .filter((d) => d != null);
}

/** Rewrites the documents of /kratix/output/<file> through `change` (which may edit them in place). */
export function updateOutput<T = Record<string, unknown>>(file: string, change: (doc: T) => T | void): void {
  const docs = readOutput<T>(file).map((d) => change(d) ?? d);
  writeOutput(file, ...docs);
}

/** Output files written so far, relative to /kratix/output. */
export function listOutputs(dir = ''): string[] {
  const base = join(root(), 'output', dir);
  if (!existsSync(base)) return [];
  return readdirSync(base, { recursive: true, withFileTypes: true })
    .filter((e) => e.isFile())
    .map((e) => join(e.parentPath.slice(join(root(), 'output').length + 1), e.name));
}

/** Status fields so far in this pipeline (what earlier steps set). */
export function getStatus(): Record<string, unknown> {
  const path = join(root(), 'metadata', 'status.yaml');
  return existsSync(path) ? ((parse(readFileSync(path, 'utf8')) as Record<string, unknown> | null) ?? {}) : {};
}

/** Merges top-level fields into the request's status (Kratix merges status.yaml into `.status`). */
export function setStatus(fields: Record<string, unknown>): void {
  writeFileSync(join(root(), 'metadata', 'status.yaml'), stringify({ ...getStatus(), ...fields }, PLAIN));
}

/** Sends the outputs (or those under `directory`) only to destinations with these labels. */
export function setDestinationSelectors(selectors: { directory?: string; matchLabels: Record<string, string> }[]): void {
  writeFileSync(join(root(), 'metadata', 'destination-selectors.yaml'), stringify(selectors, PLAIN));
}

/** Kratix's environment for the step: which workflow, Promise and object. */
export function workflowInfo(): { action: string; type: string; promise: string; pipeline: string; name: string; namespace: string } {
  const e = process.env;
  return {
    action: e.KRATIX_WORKFLOW_ACTION ?? '',
    type: e.KRATIX_WORKFLOW_TYPE ?? '',
    promise: e.KRATIX_PROMISE_NAME ?? '',
    pipeline: e.KRATIX_PIPELINE_NAME ?? '',
    name: e.KRATIX_OBJECT_NAME ?? '',
    namespace: e.KRATIX_OBJECT_NAMESPACE ?? '',
  };
}
