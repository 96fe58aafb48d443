/**
 * Kubernetes' strategic merge patch (what kubectl sends by default for built-in kinds): a JSON merge patch whose lists
 * follow each field's patch strategy instead of being replaced, plus the `$patch`, `$retainKeys`,
 * `$deleteFromPrimitiveList/<field>` and `$setElementOrder/<field>` directives. Strategies are given by field path
 * (`metadata.ownerReferences`, `status.conditions`), list indices left out.
 */
import { badRequest } from './errors.ts';
import { isPlainObject } from './types.ts';

export interface ListStrategy {
  /** `merge`: lists of primitives become sets, lists of objects merge by `mergeKey`. Without it lists are replaced. */
  strategy: 'merge';
  mergeKey?: string;
}

export type PatchStrategies = Record<string, ListStrategy>;

/** The strategies of ObjectMeta, shared by every kind. */
export const METADATA_STRATEGIES: PatchStrategies = {
  'metadata.finalizers': { strategy: 'merge' },
  'metadata.ownerReferences': { strategy: 'merge', mergeKey: 'uid' },
};

type Json = Record<string, unknown>;

const DELETE_FROM = '$deleteFromPrimitiveList/';
const SET_ORDER = '$setElementOrder/';

/** Applies `patch` to `original` (neither is modified) and returns the result. Throws 400 for malformed directives. */
export function applyStrategicMergePatch(original: Json, patch: Json, strategies: PatchStrategies): Json {
  return mergeMap(original, patch, '', { ...METADATA_STRATEGIES, ...strategies });
}

function mergeMap(original: Json, patch: Json, path: string, strategies: PatchStrategies): Json {
  const directive = patch.$patch;
  if (directive === 'replace') return stripDirectives(patch);
  if (directive !== undefined && directive !== 'merge') throw badRequest(`unknown patch directive ${JSON.stringify(directive)} at ${path || 'the root'}`);
  const out: Json = { ...original };
  for (const [key, value] of Object.entries(patch)) {
    if (key === '$patch' || key === '$retainKeys' || key.startsWith(SET_ORDER)) continue;
    if (key.startsWith(DELETE_FROM)) {
      const field = key.slice(DELETE_FROM.length);
      if (!Array.isArray(value)) throw badRequest(`${key} must be a list`);
      const current = out[field];
      if (Array.isArray(current)) out[field] = current.filter((v) => !value.some((d) => deepEqual(d, v)));
      continue;
    }
    const childPath = path ? `${path}.${key}` : key;
    if (value === null) {
      delete out[key];
    } else if (isPlainObject(value)) {
      if (value.$patch === 'delete') delete out[key];
      else out[key] = mergeMap(isPlainObject(out[key]) ? out[key] : {}, value, childPath, strategies);
    } else if (Array.isArray(value)) {
      out[key] = mergeList(Array.isArray(out[key]) ? out[key] : [], value, childPath, strategies);
    } else {
      out[key] = value;
    }
  }
  for (const [key, order] of Object.entries(patch)) {
    if (!key.startsWith(SET_ORDER)) continue;
    const field = key.slice(SET_ORDER.length);
    const list = out[field];
    if (Array.isArray(order) && Array.isArray(list)) out[field] = reorder(list, order, strategies[path ? `${path}.${field}` : field]?.mergeKey);
  }
  if ('$retainKeys' in patch) {
    const keep = patch.$retainKeys;
    if (!Array.isArray(keep)) throw badRequest(`$retainKeys must be a list at ${path || 'the root'}`);
    for (const key of Object.keys(out)) if (!keep.includes(key)) delete out[key];
  }
  return out;
}

function mergeList(original: unknown[], patch: unknown[], path: string, strategies: PatchStrategies): unknown[] {
  const strategy = strategies[path];
  if (patch.some((item) => isPlainObject(item) && item.$patch === 'replace')) {
    return patch.filter((item) => !(isPlainObject(item) && item.$patch === 'replace')).map((i) => (isPlainObject(i) ? stripDirectives(i) : i));
  }
  if (!strategy) return patch.map((i) => (isPlainObject(i) ? stripDirectives(i) : i));
  const key = strategy.mergeKey;
  if (!key) {
    const out = [...original];
    for (const item of patch) if (!out.some((v) => deepEqual(v, item))) out.push(item);
    return out;
  }
  const out = [...original];
  for (const item of patch) {
    if (!isPlainObject(item)) throw badRequest(`${path} holds objects merged by "${key}": ${JSON.stringify(item)} is not an object`);
    if (!(key in item)) throw badRequest(`${path}: every element needs its merge key "${key}"`);
    const at = out.findIndex((v) => isPlainObject(v) && deepEqual(v[key], item[key]));
    if (item.$patch === 'delete') {
      if (at >= 0) out.splice(at, 1);
    } else if (at >= 0) {
      const current = out[at];
      out[at] = mergeMap(isPlainObject(current) ? current : {}, item, path, strategies);
    } else {
      out.push(stripDirectives(item));
    }
  }
  return out;
}

function reorder(list: unknown[], order: unknown[], mergeKey: string | undefined): unknown[] {
  const keyOf = (v: unknown): unknown => (mergeKey && isPlainObject(v) ? v[mergeKey] : v);
  const orderKey = (v: unknown): unknown => (mergeKey && isPlainObject(v) ? v[mergeKey] : v);
  const rank = (v: unknown): number => {
    const i = order.findIndex((o) => deepEqual(orderKey(o), keyOf(v)));
    return i < 0 ? order.length : i;
  };
  return list
    .map((v, i) => ({ v, i, r: rank(v) }))
    .sort((a, b) => a.r - b.r || a.i - b.i)
    .map((e) => e.v);
}

function stripDirectives(value: Json): Json {
  const out: Json = {};
  for (const [k, v] of Object.entries(value)) {
    if (k === '$patch' || k === '$retainKeys' || k.startsWith(DELETE_FROM) || k.startsWith(SET_ORDER)) continue;
    out[k] = isPlainObject(v) ? stripDirectives(v) : v;
  }
  return out;
}

function deepEqual(a: unknown, b: unknown): boolean {
  return JSON.stringify(a) === JSON.stringify(b);
}
