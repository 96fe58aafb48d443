/**
 * Field ownership for server-side apply, stored in `metadata.managedFields` as FieldsV1 trees. Lists are treated
 * as atomic (owned whole), which is what CRDs without list-map keys get from the real apiserver; so are the maps the
 * kind's schema marks `x-kubernetes-map-type: atomic` (`AtomicFields`, given by the caller), as there.
 */
import { cause } from '../api/errors.ts';
import type { StatusCause } from '../api/errors.ts';
import { hasMembers, isPlainObject, jsonEqual, type JsonObject, type KubeObject, type ManagedFieldsEntry, cloneJson } from '../api/types.ts';
import { memberOf, type AtomicFields } from './schema/atomicFields.ts';

/** A leaf path, e.g. ['spec', 'replicas'] or ['metadata', 'labels', 'app']. */
type Path = string[];

const SEP = '\u0000';

/** Whether `path` leads to an atomic map. */
function isAtomicAt(atomic: AtomicFields | undefined, path: Path): boolean {
  let node = atomic;
  for (const part of path) node = memberOf(node, part);
  return node?.atomic === true;
}

/** Whether the value at a path is one field: anything but a map with members, or an atomic map. */
function isField(value: unknown, atomic: AtomicFields | undefined): boolean {
  return !isPlainObject(value) || !hasMembers(value) || atomic?.atomic === true;
}

function leafPaths(value: unknown, path: Path, out: Path[], atomic: AtomicFields | undefined): void {
  if (isPlainObject(value) && !isField(value, atomic)) {
    for (const k in value) {
      if (!Object.hasOwn(value, k)) continue;
      path.push(k);
      leafPaths(value[k], path, out, memberOf(atomic, k));
      path.pop();
    }
  } else {
    out.push(path.slice());
  }
}

/** The fields an object sets, as leaf paths (identity fields excluded). */
export function fieldPaths(obj: JsonObject, atomic?: AtomicFields): Path[] {
  const out: Path[] = [];
  for (const [k, v] of Object.entries(obj)) {
    if (k === 'apiVersion' || k === 'kind') continue;
    if (k === 'metadata' && isPlainObject(v)) {
      for (const mk of ['labels', 'annotations'] as const) {
        if (isPlainObject(v[mk])) for (const [lk, lv] of Object.entries(v[mk])) leafPaths(lv, ['metadata', mk, lk], out, undefined);
      }
      if (Array.isArray(v.finalizers)) out.push(['metadata', 'finalizers']);
      continue;
    }
    leafPaths(v, [k], out, memberOf(atomic, k));
  }
  return out;
}

/**
 * The leaf paths (as `fieldPaths` gives them) that `updated` sets to something other than `old` has there (changed,
 * in `fieldPaths(updated)`'s order), and those `old` sets where `updated` has nothing (removed). Equal subtrees are
 * skipped whole rather than listed leaf by leaf and compared: most of an object is the same before and after a write.
 * `old` is JSON data (as stored: no undefined members); both have an object, or nothing, as metadata.
 */
export function diffFieldPaths(old: JsonObject, updated: JsonObject, atomic?: AtomicFields): { changed: Path[]; removed: Path[] } {
  const changed: Path[] = [];
  const removed: Path[] = [];
  // for-in over own members throughout (rather than Object.entries): this runs on every write, and entries lists
  // allocated a pair per member.
  for (const k in updated) {
    if (!Object.hasOwn(updated, k) || k === 'apiVersion' || k === 'kind') continue;
    if (k === 'metadata') diffMetadata(old.metadata, updated[k], changed, removed);
    else diffLeaves(old[k], updated[k], [k], changed, removed, memberOf(atomic, k));
  }
  for (const k in old) {
    if (!Object.hasOwn(old, k) || k === 'apiVersion' || k === 'kind' || Object.hasOwn(updated, k)) continue;
    if (k === 'metadata') diffMetadata(old[k], undefined, changed, removed);
    else leafPaths(old[k], [k], removed, memberOf(atomic, k));
  }
  return { changed, removed };
}

/** Labels and annotations member by member, finalizers as one field: the metadata `fieldPaths` counts. */
function diffMetadata(old: unknown, updated: unknown, changed: Path[], removed: Path[]): void {
  const oldMeta = isPlainObject(old) ? old : {};
  const newMeta = isPlainObject(updated) ? updated : {};
  for (const mk of ['labels', 'annotations'] as const) {
    const oldMap = isPlainObject(oldMeta[mk]) ? oldMeta[mk] : {};
    const newMap = isPlainObject(newMeta[mk]) ? newMeta[mk] : {};
    for (const k in newMap) if (Object.hasOwn(newMap, k)) diffLeaves(oldMap[k], newMap[k], ['metadata', mk, k], changed, removed, undefined);
    for (const k in oldMap) if (Object.hasOwn(oldMap, k) && !Object.hasOwn(newMap, k)) leafPaths(oldMap[k], ['metadata', mk, k], removed, undefined);
  }
  if (Array.isArray(newMeta.finalizers) && !jsonEqual(oldMeta.finalizers, newMeta.finalizers)) changed.push(['metadata', 'finalizers']);
  if (Array.isArray(oldMeta.finalizers) && newMeta.finalizers === undefined) removed.push(['metadata', 'finalizers']);
}

/**
 * `diffFieldPaths` below one path: `old` and `updated` are the values there. The walk shares one path array, a member
 * pushed while it is visited, copied only into a path it records (an array per member visited was most of what the
 * diff of a write allocated); so does `leafPaths`.
 */
function diffLeaves(old: unknown, updated: unknown, path: Path, changed: Path[], removed: Path[], atomic: AtomicFields | undefined): void {
  if (isPlainObject(updated) && !isField(updated, atomic)) {
    const before = isPlainObject(old) ? old : undefined;
    if (before !== undefined && jsonEqual(before, updated)) return;
    // Without members in old, what it had here (a leaf) is replaced by members: each is new, and that leaf not removed.
    for (const k in updated) {
      if (!Object.hasOwn(updated, k)) continue;
      path.push(k);
      diffLeaves(before?.[k], updated[k], path, changed, removed, memberOf(atomic, k));
      path.pop();
    }
    if (before !== undefined) {
      for (const k in before) {
        if (!Object.hasOwn(before, k) || Object.hasOwn(updated, k)) continue;
        path.push(k);
        leafPaths(before[k], path, removed, memberOf(atomic, k));
        path.pop();
      }
    }
    return;
  }
  // A leaf of updated (a scalar, a list, an empty object, an atomic map, or nothing).
  if (!jsonEqual(old, updated)) changed.push(path.slice());
  if (!isField(old, atomic)) leafPaths(old, path, removed, atomic);
  else if (old !== undefined && updated === undefined) removed.push(path.slice());
}

function toTree(paths: Path[]): JsonObject {
  const root: JsonObject = {};
  for (const p of paths) addLeaf(root, p);
  return root;
}

/** Adds a leaf path to a tree of `f:` members, making the nodes on its way that it lacks. */
function addLeaf(tree: JsonObject, path: Path): void {
  let node = tree;
  for (const part of path) {
    const key = `f:${part}`;
    const next = node[key];
    if (isPlainObject(next)) node = next;
    else {
      const made: JsonObject = {};
      node[key] = made;
      node = made;
    }
  }
}

function fromTree(tree: JsonObject, prefix: Path = [], out: Path[] = []): Path[] {
  const keys = Object.keys(tree).filter((k) => k.startsWith('f:'));
  if (keys.length === 0 && prefix.length > 0) out.push(prefix);
  for (const k of keys) fromTree(tree[k] as JsonObject, [...prefix, k.slice(2)], out);
  return out;
}

function valueAt(obj: unknown, path: Path): unknown {
  let cur = obj;
  for (const p of path) {
    if (!isPlainObject(cur)) return undefined;
    cur = cur[p];
  }
  return cur;
}

/**
 * Removes the field at `path` from `root`, copying each map on the way the first time it is touched (`owned` holds
 * those already private to the result), so maps shared with the live object are never changed and a big object is
 * not deep-copied for a few removals.
 */
function removeAt(root: JsonObject, path: Path, owned: WeakSet<object>): void {
  const parents: JsonObject[] = [root];
  let cur = root;
  for (const p of path.slice(0, -1)) {
    const child = cur[p];
    if (!isPlainObject(child)) return;
    const mine = owned.has(child) ? child : { ...child };
    owned.add(mine);
    cur[p] = mine;
    parents.push(mine);
    cur = mine;
  }
  delete cur[path[path.length - 1] as string];
  // drop maps left empty by the removal, like the apiserver's merge does
  for (let i = parents.length - 1; i > 0; i--) {
    const parent = parents[i - 1] as JsonObject;
    const key = path[i - 1] as string;
    if (isPlainObject(parent[key]) && !hasMembers(parent[key])) delete parent[key];
    else break;
  }
}

/** Deep merge of an applied configuration into a live object; maps merge, everything else (atomic maps too) replaces. */
function mergeApplied(live: unknown, applied: unknown, atomic: AtomicFields | undefined): unknown {
  if (!isPlainObject(applied) || !isPlainObject(live) || atomic?.atomic === true) return copyValue(applied);
  const out: JsonObject = { ...live };
  for (const [k, v] of Object.entries(applied)) out[k] = k in live ? mergeApplied(live[k], v, memberOf(atomic, k)) : copyValue(v);
  return out;
}

/** Scalars as they are (most leaves of a big object), objects and lists deep-copied. */
function copyValue(v: unknown): unknown {
  return typeof v === 'object' && v !== null ? cloneJson(v) : v;
}

/**
 * The tree of the fields a manager owns after a write: those of its tree (if any) it neither changed nor lost, in the
 * tree's order, then those it changed — what `toTree` makes of that list of leaves, made by editing a copy of the tree
 * rather than listing its leaves and building it again (a status write whose fields change did that at every write).
 */
function ownedAfter(tree: JsonObject | undefined, changed: Path[], removed: Path[], atomic: AtomicFields | undefined): JsonObject {
  if (!tree) return toTree(changed);
  const owned = fieldsOf(tree);
  for (const p of removed) dropLeaf(owned, p);
  // An atomic map is one field, whatever the tree held below it: its members, recorded one by one before its schema
  // said so, go with it.
  for (const p of changed) dropLeaf(owned, p, isAtomicAt(atomic, p));
  for (const p of changed) addLeaf(owned, p);
  return owned;
}

/** A copy of a FieldsV1 tree's `f:` members, all the way down (as listing its leaves and building it again keeps). */
function fieldsOf(tree: JsonObject): JsonObject {
  const out: JsonObject = {};
  for (const k in tree) if (Object.hasOwn(tree, k) && k.startsWith('f:')) out[k] = isPlainObject(tree[k]) ? fieldsOf(tree[k]) : {};
  return out;
}

/**
 * Removes `path` from a tree of `f:` members when it is one of its leaves (or, with `below`, whatever the tree has
 * there), and the parents that lose their last field.
 */
function dropLeaf(tree: JsonObject, path: Path, below = false): void {
  const parents: JsonObject[] = [];
  let node = tree;
  for (const part of path) {
    const next = node[`f:${part}`];
    if (!isPlainObject(next)) return;
    parents.push(node);
    node = next;
  }
  if (path.length === 0 || (hasFields(node) && !below)) return;
  for (let i = path.length - 1; i >= 0; i--) {
    const parent = parents[i];
    if (parent === undefined) return;
    delete parent[`f:${path[i] ?? ''}`];
    if (i === 0 || hasFields(parent)) return;
  }
}

function pathSet(paths: Path[]): Set<string> {
  return new Set(paths.map((p) => p.join(SEP)));
}

/**
 * Removes `taken` paths (and their descendants) from an entry; returns the entry or undefined if it is empty. An
 * entry that loses nothing is returned as it is (most writes take no field from another manager, and rebuilding
 * every other entry's tree on each write was a quarter of the managed fields' cost).
 */
function withoutPaths(entry: ManagedFieldsEntry, taken: Path[]): ManagedFieldsEntry | undefined {
  // Most writes take nothing from another manager: the tree is looked at along the taken paths before it is listed.
  // When it touches one, at least one of its fields goes.
  if (!taken.some((t) => touches(entry.fieldsV1, t))) return entry;
  const takenKeys = pathSet(taken);
  const prefixes = [...takenKeys].map((t) => t + SEP);
  const kept = fromTree(entry.fieldsV1).filter((p) => {
    const key = p.join(SEP);
    if (takenKeys.has(key)) return false;
    const keyPrefix = key + SEP;
    for (const t of prefixes) if (key.startsWith(t) || t.startsWith(keyPrefix)) return false;
    return true;
  });
  return kept.length ? { ...entry, fieldsV1: toTree(kept) } : undefined;
}

/**
 * The node at `path` in a FieldsV1 tree: undefined when the tree has nothing there, 'above' when the walk meets a
 * leaf before the path's end (the tree owns a field the path lies inside).
 */
function nodeAt(tree: JsonObject, path: Path): JsonObject | 'above' | undefined {
  let node = tree;
  for (let i = 0; i < path.length; i++) {
    const next = node[`f:${path[i]}`];
    if (!isPlainObject(next)) return undefined;
    node = next;
    if (i < path.length - 1 && !hasFields(node)) return 'above';
  }
  return node;
}

/** Whether a FieldsV1 tree has a field at `path`, inside it, or above it (a leaf the path goes through). */
function touches(tree: JsonObject, path: Path): boolean {
  return nodeAt(tree, path) !== undefined;
}

/** Whether a FieldsV1 node has fields under it (else it is a leaf: what `fromTree` lists). */
function hasFields(node: JsonObject): boolean {
  for (const k in node) if (Object.hasOwn(node, k) && k.startsWith('f:')) return true;
  return false;
}

/** Whether `path` is one of a FieldsV1 tree's leaves. */
function isLeaf(tree: JsonObject, path: Path): boolean {
  const node = nodeAt(tree, path);
  return path.length > 0 && isPlainObject(node) && !hasFields(node);
}

export interface ApplyResult {
  object: KubeObject;
  conflicts: StatusCause[];
}

/**
 * Server-side apply of `applied` by `manager` onto `live` (undefined when creating). With `force`, conflicting
 * fields change owner; without it they are reported as conflicts and nothing is changed. `atomic`: the kind's
 * atomic maps, replaced whole.
 */
export function serverSideApply(
  live: KubeObject | undefined,
  applied: KubeObject,
  manager: string,
  force: boolean,
  apiVersion: string,
  time: string,
  atomic?: AtomicFields,
): ApplyResult {
  const appliedPaths = fieldPaths(applied, atomic);
  const appliedKeys = pathSet(appliedPaths);
  const entries = live?.metadata.managedFields ?? [];
  const conflicts: StatusCause[] = [];
  const taken: Path[] = [];
  for (const entry of entries) {
    if (entry.manager === manager && entry.operation === 'Apply') continue;
    for (const p of fromTree(entry.fieldsV1)) {
      const key = p.join(SEP);
      if (!appliedKeys.has(key)) continue;
      if (jsonEqual(valueAt(live, p), valueAt(applied, p))) continue;
      taken.push(p);
      if (!force) {
        const field = '.' + p.join('.');
        conflicts.push(
          cause('FieldManagerConflict', field, `conflict with "${entry.manager}"${entry.operation === 'Update' ? ' using ' + entry.apiVersion : ''}: ${field}`),
        );
      }
    }
  }
  if (conflicts.length) return { object: live as KubeObject, conflicts };

  const result = (live ? mergeApplied(live, applied, atomic) : cloneJson(applied)) as KubeObject;
  // Fields this manager applied before, no longer applies, and nobody else owns are removed.
  const previous = entries.find((e) => e.manager === manager && e.operation === 'Apply');
  if (previous && live) {
    const othersOwn = new Set<string>();
    for (const e of entries) if (e !== previous) for (const p of fromTree(e.fieldsV1)) othersOwn.add(p.join(SEP));
    const owned = new WeakSet<object>([result]);
    for (const p of fromTree(previous.fieldsV1)) {
      const key = p.join(SEP);
      if (!appliedKeys.has(key) && !othersOwn.has(key)) removeAt(result as JsonObject, p, owned);
    }
  }
  const others: ManagedFieldsEntry[] = [];
  for (const e of entries) {
    if (e.manager === manager && e.operation === 'Apply') continue;
    const kept = force ? withoutPaths(e, taken) : e;
    if (kept) others.push(kept);
  }
  result.metadata = {
    ...result.metadata,
    managedFields: [...others, { manager, operation: 'Apply', apiVersion, time, fieldsType: 'FieldsV1', fieldsV1: toTree(appliedPaths) }],
  };
  return { object: result, conflicts: [] };
}

/**
 * Records a non-apply write by `manager`: the fields it changed become its own (`operation: Update`) and are taken
 * from other managers. Returns the new managedFields list. `atomic`: the kind's atomic maps, each one field.
 */
export function recordUpdate(
  old: KubeObject | undefined,
  updated: KubeObject,
  manager: string,
  apiVersion: string,
  time: string,
  subresource?: string,
  atomic?: AtomicFields,
): ManagedFieldsEntry[] {
  const entries = old?.metadata.managedFields ?? [];
  // A status write changes nothing outside .status (the rest is the stored object's): only that part is compared.
  const scope = (o: KubeObject): JsonObject => (subresource === 'status' ? (o.status === undefined ? {} : { status: o.status }) : o);
  const { changed, removed } = old ? diffFieldPaths(scope(old), scope(updated), atomic) : { changed: fieldPaths(scope(updated), atomic), removed: [] };
  if (changed.length === 0 && removed.length === 0) return entries;
  const taken = [...changed, ...removed];
  const result: ManagedFieldsEntry[] = [];
  let mineTree: JsonObject | undefined;
  for (const e of entries) {
    if (e.manager === manager && e.operation === 'Update' && e.subresource === subresource) {
      mineTree = e.fieldsV1;
      continue;
    }
    const kept = withoutPaths(e, taken);
    if (kept) result.push(kept);
  }
  // A manager rewriting only fields it already owns (most status writes) owns the same set after: its tree is kept
  // rather than listed and built again. The same set: every changed field was its own, and it lost none.
  const tree = mineTree;
  const sameSet = tree !== undefined && hasFields(tree) && changed.every((p) => isLeaf(tree, p)) && !removed.some((p) => isLeaf(tree, p));
  const owned = sameSet ? undefined : ownedAfter(tree, changed, removed, atomic);
  if (sameSet || (owned !== undefined && hasFields(owned))) {
    const entry: ManagedFieldsEntry = {
      manager,
      operation: 'Update',
      apiVersion,
      time,
      fieldsType: 'FieldsV1',
      fieldsV1: sameSet && tree ? tree : (owned ?? {}),
    };
    if (subresource) entry.subresource = subresource;
    result.push(entry);
  }
  return result;
}
