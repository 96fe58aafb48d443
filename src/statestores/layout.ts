/**
 * Where a Destination's documents go inside a state store, in Kratix's layout (its Destination `filepath.mode`):
 * nestedByMetadata (default), aggregatedYAML or none, under `<store path>/<destination path>/`, plus the
 * canary documents that tell an operator the destination reads from the store. Workload file paths come from
 * pipelines: any that would escape the destination's folder is refused here, whatever wrote the Work.
 */
import { asError } from '../api/errors.ts';
import { posix } from 'node:path';
import { compareCodeUnits } from '../api/types.ts';
import { relativePathInside } from '../lib/safePath.ts';

export interface DestinationLayout {
  name: string;
  /** Destination spec.path joined under the store's spec.path; '' is the store root. */
  root: string;
  mode: 'nestedByMetadata' | 'aggregatedYAML' | 'none';
  filename: string;
  canary: boolean;
}

export interface PlacementFiles {
  /** WorkPlacement namespace and name. */
  namespace: string;
  name: string;
  promiseName: string;
  resourceName: string;
  pipeline: string;
  groupId: string;
  /** Decoded once per placement version by the caller (a batch re-reads every placement of the store). */
  workloads: { filepath: string; content: Buffer }[];
  /** Why the placement's workloads could not be read (reported for that placement; the others are written). */
  invalid?: Error;
}

const CANARY_NAMESPACE = 'apiVersion: v1\nkind: Namespace\nmetadata:\n  name: kratix-worker-system\n';
const CANARY_CONFIGMAP =
  'apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: kratix-info\n  namespace: kratix-worker-system\ndata:\n  canary: this confirms your infrastructure is reading from Kratix state stores\n';

/** Joins store and destination paths the way Kratix does ('.' and '/' mean the root). */
export function destinationRoot(storePath: string | undefined, destPath: string | undefined): string {
  const clean = (p: string | undefined): string => (p ?? '').replace(/^\/+|\/+$/g, '').replace(/^\.$/, '');
  const joined = [clean(storePath), clean(destPath)].filter(Boolean).join('/');
  return joined ? relativePathInside(joined, 'the state store', 'destination path') : '';
}

const under = (root: string, rel: string): string => (root ? posix.join(root, rel) : rel);

/** placementPaths' results by placement object and layout: unchanged placements keep their paths between batches. */
const pathsMemo = new WeakMap<PlacementFiles, { layout: string; files: Map<string, Buffer> }>();

/** The files one placement contributes to a destination (nestedByMetadata and none modes). */
export function placementPaths(dest: DestinationLayout, wp: PlacementFiles): Map<string, Buffer> {
  if (wp.invalid) throw wp.invalid;
  const layout = `${dest.mode}\0${dest.root}`;
  const hit = pathsMemo.get(wp);
  if (hit?.layout === layout) return hit.files;
  const files = new Map<string, Buffer>();
  const id5 = wp.groupId.slice(0, 5);
  let base: string;
  if (dest.mode === 'none') base = '';
  else if (wp.resourceName) base = posix.join('resources', wp.namespace, wp.promiseName, wp.resourceName, wp.pipeline, id5);
  else if (wp.pipeline) base = posix.join('dependencies', wp.promiseName, wp.pipeline, id5);
  else base = posix.join('dependencies', wp.promiseName, id5);
  for (const w of wp.workloads) {
    const rel = relativePathInside(w.filepath, 'the destination folder', 'workload path');
    files.set(under(dest.root, base ? posix.join(base, rel) : rel), w.content);
  }
  pathsMemo.set(wp, { layout, files });
  return files;
}

/** The order of placements: by namespace, then name (code units). */
function placementOrder(a: PlacementFiles, b: PlacementFiles): number {
  return compareCodeUnits(a.namespace, b.namespace) || compareCodeUnits(a.name, b.name);
}

function inPlacementOrder(placements: readonly PlacementFiles[]): boolean {
  let previous: PlacementFiles | undefined;
  for (const p of placements) {
    if (previous && placementOrder(previous, p) > 0) return false;
    previous = p;
  }
  return true;
}

/** Everything a destination should hold: canary documents and its placements' files (whatever their order). */
export function destinationFiles(
  dest: DestinationLayout,
  placements: PlacementFiles[],
  onError: (wp: PlacementFiles, err: Error) => void,
): Map<string, Buffer> {
  const files = new Map<string, Buffer>();
  if (dest.canary) {
    const nested = dest.mode === 'nestedByMetadata';
    files.set(under(dest.root, nested ? 'dependencies/kratix-canary-namespace.yaml' : 'kratix-canary-namespace.yaml'), Buffer.from(CANARY_NAMESPACE));
    files.set(under(dest.root, nested ? 'resources/kratix-canary-configmap.yaml' : 'kratix-canary-configmap.yaml'), Buffer.from(CANARY_CONFIGMAP));
  }
  // A fixed order decides which placement wins a shared path and the order of aggregated documents. Callers that
  // keep their placements in that order (the state store controller, at every write) spare a sort of the fleet.
  const sorted = inPlacementOrder(placements) ? placements : [...placements].sort(placementOrder);
  if (dest.mode === 'aggregatedYAML') {
    const docs: string[] = [];
    for (const wp of sorted) {
      try {
        if (wp.invalid) throw wp.invalid;
        for (const w of wp.workloads) {
          relativePathInside(w.filepath, 'the destination folder', 'workload path');
          docs.push(w.content.toString('utf8').trim());
        }
      } catch (err) {
        onError(wp, asError(err));
      }
    }
    if (docs.length) files.set(under(dest.root, dest.filename), Buffer.from(`${docs.join('\n---\n')}\n`));
    return files;
  }
  for (const wp of sorted) {
    try {
      for (const [path, content] of placementPaths(dest, wp)) files.set(path, content);
    } catch (err) {
      onError(wp, asError(err));
    }
  }
  return files;
}
