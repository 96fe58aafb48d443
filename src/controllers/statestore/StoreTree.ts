/**
 * A state store's desired tree as its last write made it, kept so that the next write brings it up to date by the
 * placements that changed since rather than making it again from every placement of the fleet (100,000 placements:
 * ~60 ms of the event loop per write, and the writer's comparison of every file as much again).
 *
 * Only for Destinations laid out nestedByMetadata, where each placement has folders of its own: a tree in which two
 * placements write the same path (the layout's order decides which one wins), or an update that would make one, is
 * made again from scratch, as are trees of the other modes (an aggregated document depends on every placement).
 */
import { asError } from '../../api/errors.ts';
import { destinationFiles, placementPaths, type DestinationLayout, type PlacementFiles } from '../../statestores/layout.ts';

/** A placement as a tree reads it: its files, the Destination it targets, whether it is being deleted. */
export interface TreePlacement {
  target: string;
  deleting: boolean;
  files: PlacementFiles;
}

/** A placement's key: its namespace and name, which sort as the pair does (NUL sorts before any character). */
export function placementKey(namespace: string, name: string): string {
  return `${namespace}\0${name}`;
}

const keyOf = (p: PlacementFiles): string => placementKey(p.namespace, p.name);

export class StoreTree {
  /** What the tree was made for (layouts and roots): another signature means another tree. */
  readonly signature: string;
  /** Every file the store should hold, by path. */
  readonly files: Map<string, Buffer>;
  /** Placements that could not be written, by placement key, with why. */
  readonly failed: Map<string, string>;
  private readonly layouts: Map<string, DestinationLayout>;
  /** Placement key → the placement's files as they are in the tree, and the layout they were placed by. */
  private readonly placed = new Map<string, { layout: DestinationLayout; files: PlacementFiles }>();
  /** Whether updates can be made in place (nestedByMetadata only, no shared path). */
  private readonly incremental: boolean;

  private constructor(signature: string, layouts: DestinationLayout[], files: Map<string, Buffer>, failed: Map<string, string>, incremental: boolean) {
    this.signature = signature;
    this.layouts = new Map(layouts.map((l) => [l.name, l]));
    this.files = files;
    this.failed = failed;
    this.incremental = incremental;
  }

  /** The tree of these Destinations from every placement, given in the layout's order with their keys. */
  static build(signature: string, layouts: DestinationLayout[], placements: Iterable<[string, TreePlacement]>): StoreTree {
    const byDest = new Map<string, PlacementFiles[]>(layouts.map((l) => [l.name, []]));
    const targeted: [string, TreePlacement][] = [];
    for (const entry of placements) {
      const list = byDest.get(entry[1].target);
      if (!list || entry[1].deleting) continue;
      targeted.push(entry);
      list.push(entry[1].files);
    }
    const failed = new Map<string, string>();
    const each = layouts.map((layout) => destinationFiles(layout, byDest.get(layout.name) ?? [], (wp, err) => failed.set(keyOf(wp), err.message)));
    // One Destination (the usual store): its map as it is, not copied file by file.
    const files = each.length === 1 && each[0] ? each[0] : new Map<string, Buffer>();
    if (each.length !== 1) for (const one of each) for (const [path, content] of one) files.set(path, content);
    const tree = new StoreTree(
      signature,
      layouts,
      files,
      failed,
      layouts.every((l) => l.mode === 'nestedByMetadata'),
    );
    if (!tree.incremental) return tree;
    // Which placement each file is from; a path two placements share makes the tree one to make again each time.
    const owner = new Map<string, string>();
    for (const [key, p] of targeted) {
      if (failed.has(key)) continue;
      const layout = tree.layouts.get(p.target);
      if (!layout) continue;
      for (const path of placementPaths(layout, p.files).keys()) {
        if (owner.has(path)) return new StoreTree(signature, layouts, files, failed, false);
        owner.set(path, key);
      }
      tree.placed.set(key, { layout, files: p.files });
    }
    return tree;
  }

  /**
   * Brings the tree up to date with the placements `keys` now (undefined: gone), in place. Returns the paths that may
   * have changed, or undefined when the tree must be made again from scratch (another mode, a path two placements
   * would share).
   */
  update(keys: Iterable<string>, now: (key: string) => TreePlacement | undefined): Set<string> | undefined {
    if (!this.incremental) return undefined;
    const changed = new Set<string>();
    const keyList = [...keys];
    // Every changed placement's files out first, then in: two placements trading paths is not taken for a clash.
    for (const key of keyList) {
      this.failed.delete(key);
      const before = this.placed.get(key);
      if (!before) continue;
      for (const path of placementPaths(before.layout, before.files).keys()) {
        this.files.delete(path);
        changed.add(path);
      }
      this.placed.delete(key);
    }
    for (const key of keyList) {
      const p = now(key);
      const layout = p && !p.deleting ? this.layouts.get(p.target) : undefined;
      if (!p || !layout) continue;
      let paths: Map<string, Buffer>;
      try {
        paths = placementPaths(layout, p.files);
      } catch (err) {
        this.failed.set(key, asError(err).message);
        continue;
      }
      for (const [path, content] of paths) {
        // The changed placements' files are out: one still here is another placement's (or a canary document).
        if (this.files.has(path)) return undefined;
        this.files.set(path, content);
        changed.add(path);
      }
      this.placed.set(key, { layout, files: p.files });
    }
    return changed;
  }
}
