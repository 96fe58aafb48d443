/**
 * YAML and JSON from untrusted sources (request bodies, pipeline metadata files) under limits: nesting depth, number
 * of nodes, aliases; duplicate map keys refused in linear time (the yaml library's own check compares every key with
 * every other, which made a 30,000-key map take a minute). Pure: runs on the main thread for small texts and in a
 * worker for big ones (see workers/YamlParser).
 */
import { errorMessage } from './errors.ts';
import { parsePlainYaml } from './plainYaml.ts';
import { isAlias, isMap, isScalar, isSeq, parseAllDocuments, parseDocument, type Document } from 'yaml';

export interface ParseLimits {
  /** Deepest nesting of maps and lists. */
  maxDepth: number;
  /** Map entries and list items, all documents together. */
  maxNodes: number;
  /** Alias (*ref) expansions, as the yaml library counts them. */
  maxAliases: number;
}

/**
 * The platform team's limits (Promises embed whole CRD schemas). A node costs FleetOps ~10 µs of event loop
 * downstream (validation, managed fields, storing), so 50,000 nodes hold it for up to ~0.5 s.
 */
export const DEFAULT_LIMITS: ParseLimits = { maxDepth: 100, maxNodes: 50_000, maxAliases: 100 };
/** For application teams' requests and what pipeline steps write: ~50 ms of event loop at most. */
export const UNTRUSTED_LIMITS: ParseLimits = { maxDepth: 100, maxNodes: 5_000, maxAliases: 100 };

/** The text breaks a limit (`kind` says which), or is not valid YAML/JSON (`syntax`). */
export class ParseLimitError extends Error {
  readonly kind: 'depth' | 'nodes' | 'aliases' | 'duplicate' | 'syntax';
  constructor(kind: ParseLimitError['kind'], message: string) {
    super(message);
    this.name = 'ParseLimitError';
    this.kind = kind;
  }
}

function firstLine(text: string): string {
  const nl = text.indexOf('\n');
  return nl < 0 ? text : text.slice(0, nl);
}

/** Checks a YAML node tree iteratively (no recursion: the depth itself is untrusted). */
function checkTree(root: unknown, limits: ParseLimits, counted: { nodes: number }): void {
  const stack: { node: unknown; depth: number }[] = [{ node: root, depth: 1 }];
  for (let top = stack.pop(); top; top = stack.pop()) {
    const { node, depth } = top;
    if (isMap(node) || isSeq(node)) {
      if (depth > limits.maxDepth) throw new ParseLimitError('depth', `nested deeper than ${limits.maxDepth} levels`);
      counted.nodes += node.items.length;
      if (counted.nodes > limits.maxNodes) throw new ParseLimitError('nodes', `more than ${limits.maxNodes} map entries and list items`);
    }
    if (isMap(node)) {
      const seen = new Set<string>();
      for (const pair of node.items) {
        const key = isScalar(pair.key) ? String(pair.key.value) : isAlias(pair.key) ? `*${pair.key.source}` : JSON.stringify(pair.key);
        if (seen.has(key)) throw new ParseLimitError('duplicate', `duplicate key ${JSON.stringify(key.slice(0, 100))}`);
        seen.add(key);
        if (pair.value) stack.push({ node: pair.value, depth: depth + 1 });
      }
    } else if (isSeq(node)) {
      for (const item of node.items) stack.push({ node: item, depth: depth + 1 });
    }
  }
}

/**
 * As Kubernetes' tools read YAML (go-yaml, behind kubectl, the API server, Argo CD and kustomize): `<<` merge keys
 * are merged. Read as plain keys, `metadata: {<<: {namespace: other}}` would hide from FleetOps' checks a namespace
 * that every GitOps agent applies.
 */
const READ_AS_KUBERNETES = { uniqueKeys: false, merge: true } as const;

/** Parses one YAML document (JSON is YAML) under the limits. */
export function parseYamlBounded(text: string, limits: ParseLimits = DEFAULT_LIMITS): unknown {
  const plain = parsePlainYaml(text, limits, false);
  return plain ? plain[0] : readWithLibrary(text, limits, false)[0];
}

/** Parses a multi-document YAML stream under the limits (counted over all documents). */
export function parseYamlStreamBounded(text: string, limits: ParseLimits = DEFAULT_LIMITS): unknown[] {
  return parsePlainYaml(text, limits, true) ?? readWithLibrary(text, limits, true);
}

/**
 * The documents as the yaml library reads them, under the limits: what parsePlainYaml must agree with wherever it
 * answers (exported for the tests that check it does).
 */
export function readWithLibrary(text: string, limits: ParseLimits, stream: boolean): unknown[] {
  const counted = { nodes: 0 };
  if (!stream) return [valueOf(parseDocument(text, READ_AS_KUBERNETES), limits, counted)];
  return parseAllDocuments(text, READ_AS_KUBERNETES).map((doc) => valueOf(doc, limits, counted));
}

/** A parsed document's value, its syntax and size checked; what building it refuses is a ParseLimitError too. */
function valueOf(doc: Document.Parsed, limits: ParseLimits, counted: { nodes: number }): unknown {
  const [syntax] = doc.errors;
  if (syntax) throw new ParseLimitError('syntax', firstLine(syntax.message));
  checkTree(doc.contents, limits, counted);
  try {
    return doc.toJS({ maxAliasCount: limits.maxAliases });
  } catch (err) {
    // Too many alias expansions, or a merge key whose value is not a map (`<<: 5`).
    const message = firstLine(errorMessage(err));
    throw new ParseLimitError(/excessive alias count/i.test(message) ? 'aliases' : 'syntax', message);
  }
}

/** Checks an already parsed JSON value (JSON.parse has no limits of its own) iteratively. */
export function checkJsonLimits(value: unknown, limits: ParseLimits = DEFAULT_LIMITS): void {
  const stack: { v: unknown; depth: number }[] = [{ v: value, depth: 1 }];
  let nodes = 0;
  for (let top = stack.pop(); top; top = stack.pop()) {
    const { v, depth } = top;
    if (v === null || typeof v !== 'object') continue;
    if (depth > limits.maxDepth) throw new ParseLimitError('depth', `nested deeper than ${limits.maxDepth} levels`);
    const children = Array.isArray(v) ? v : Object.values(v);
    nodes += children.length;
    if (nodes > limits.maxNodes) throw new ParseLimitError('nodes', `more than ${limits.maxNodes} map entries and list items`);
    for (const c of children) if (c !== null && typeof c === 'object') stack.push({ v: c, depth: depth + 1 });
  }
}
