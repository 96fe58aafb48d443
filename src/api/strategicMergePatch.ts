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
      if (Array.isArray(current)) {
        const doomed = new Set(value.map(identity));
        out[field] = current.filter((v) => !doomed.has(identity(v)));
      }
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
    const kept = new Set(keep);
    for (const key of Object.keys(out)) if (!kept.has(key)) delete out[key];
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
  // Keyed by each element's identity (its JSON), so a patch costs the length of both lists, not their product.
  if (!key) {
    const out = [...original];
    const seen = new Set(original.map(identity));
    for (const item of patch) {
      const id = identity(item);
      if (!seen.has(id)) {
        seen.add(id);
        out.push(item);
      }
    }
    return out;
  }
  const out: (unknown | typeof REMOVED)[] = [...original];
  const at = new Map<string, number>();
  original.forEach((v, i) => {
    const id = isPlainObject(v) ? identity(v[key]) : undefined;
    if (id !== undefined && !at.has(id)) at.set(id, i);
  });
  for (const item of patch) {
    if (!isPlainObject(item)) throw badRequest(`${path} holds objects merged by "${key}": ${JSON.stringify(item)} is not an object`);
    if (!(key in item)) throw badRequest(`${path}: every element needs its merge key "${key}"`);
    const id = identity(item[key]);
    const i = at.get(id);
    if (item.$patch === 'delete') {
      if (i !== undefined) {
        out[i] = REMOVED;
        at.delete(id);
      }
    } else if (i !== undefined) {
      const current = out[i];
      out[i] = mergeMap(isPlainObject(current) ? current : {}, item, path, strategies);
    } else {
      at.set(id, out.length);
      out.push(stripDirectives(item));
    }
  }
  return out.filter((v) => v !== REMOVED);
}

function reorder(list: unknown[], order: unknown[], mergeKey: string | undefined): unknown[] {
  const keyOf = (v: unknown): string => identity(mergeKey && isPlainObject(v) ? v[mergeKey] : v);
  const ranks = new Map<string, number>();
  order.forEach((o, i) => {
    const k = keyOf(o);
    if (!ranks.has(k)) ranks.set(k, i);
  });
  return list
    .map((v, i) => ({ v, i, r: ranks.get(keyOf(v)) ?? order.length }))
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

/** What makes two elements the same element: equal JSON. */
function identity(v: unknown): string {
  return JSON.stringify(v) ?? 'undefined';
}

const REMOVED = Symbol('removed');
