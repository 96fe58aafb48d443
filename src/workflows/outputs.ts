/**
 * Turns what a pipeline left in /kratix/output and /kratix/metadata into Kratix's Work shape. Everything from a step
 * is untrusted: file names must stay inside the output folder (no `..`, no absolute names, no links, only regular
 * files and folders), sizes are capped, and YAML must parse.
 */
import { errorMessage } from '../api/errors.ts';
import { lstatSync, readdirSync, readFileSync, existsSync } from 'node:fs';
import { join } from 'node:path';
import { encodeWorkload, md5Hex, ROOT_GROUP_ID } from '../lib/workloads.ts';
import { relativePathInside, UnsafePathError } from '../lib/safePath.ts';

/** An output that breaks the contract; the message says which file and why. */
export class OutputError extends Error {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'OutputError';
  }
}

export interface OutputFile {
  /** Path relative to /kratix/output, with forward slashes. */
  path: string;
  content: Buffer;
}

export interface OutputLimits {
  maxFiles: number;
  maxBytes: number;
}

/** Reads every file under `dir`, refusing links, special files and anything over the limits. */
export function collectOutputs(dir: string, limits: OutputLimits): OutputFile[] {
  const files: OutputFile[] = [];
  let bytes = 0;
  const walk = (rel: string): void => {
    for (const entry of readdirSync(join(dir, rel)).sort()) {
      const relPath = rel ? `${rel}/${entry}` : entry;
      const st = lstatSync(join(dir, relPath));
      if (st.isSymbolicLink())
        throw new OutputError(`output ${relPath} is a symbolic link; links could point outside the output folder, write the file itself`);
      if (st.isDirectory()) walk(relPath);
      else if (st.isFile()) {
        bytes += st.size;
        if (files.length >= limits.maxFiles) throw new OutputError(`more than ${limits.maxFiles} output files`);
        if (bytes > limits.maxBytes) throw new OutputError(`outputs exceed ${limits.maxBytes} bytes`);
        files.push({ path: safeRelativePath(relPath), content: readFileSync(join(dir, relPath)) });
      } else throw new OutputError(`output ${relPath} is not a regular file`);
    }
  };
  walk('');
  return files;
}

/** A relative path that stays inside the output folder, normalised; OutputError for anything that could escape. */
export function safeRelativePath(path: string): string {
  try {
    return relativePathInside(path, '/kratix/output', 'output path');
  } catch (err) {
    if (err instanceof UnsafePathError) throw new OutputError(err.message, { cause: err });
    throw err;
  }
}

export interface DestinationSelector {
  directory?: string;
  matchLabels: Record<string, string>;
}

/** Parses /kratix/metadata/destination-selectors.yaml with Kratix's rules (non-empty labels, flat unique dirs). */
export async function readDestinationSelectors(metadataDir: string, parse: YamlReader): Promise<DestinationSelector[]> {
  const file = join(metadataDir, 'destination-selectors.yaml');
  if (!existsSync(file)) return [];
  const parsed = await readMetadataYaml(file, 'destination-selectors.yaml', parse);
  if (parsed == null) return [];
  if (!Array.isArray(parsed)) throw new OutputError('destination-selectors.yaml must be a list of {directory, matchLabels}');
  const seen = new Set<string>();
  return parsed.map((entry: unknown, i) => {
    const e = (entry ?? {}) as { directory?: unknown; matchLabels?: unknown };
    const labels = e.matchLabels;
    if (!labels || typeof labels !== 'object' || Array.isArray(labels) || !Object.keys(labels).length)
      throw new OutputError(`destination-selectors.yaml[${i}]: matchLabels must be a non-empty map`);
    const selector: DestinationSelector = { matchLabels: Object.fromEntries(Object.entries(labels).map(([k, v]) => [k, String(v)])) };
    if (e.directory !== undefined && e.directory !== '.' && e.directory !== '') {
      const dir = safeRelativePath(String(e.directory));
      if (dir.includes('/'))
        throw new OutputError(`destination-selectors.yaml[${i}]: directory ${JSON.stringify(dir)} must be a top-level folder of /kratix/output`);
      if (seen.has(dir)) throw new OutputError(`destination-selectors.yaml[${i}]: directory ${JSON.stringify(dir)} appears twice`);
      seen.add(dir);
      selector.directory = dir;
    }
    return selector;
  });
}

/** Parses metadata YAML (a parser that may work off the event loop; see workers/YamlParser). */
export type YamlReader = (text: string) => Promise<unknown>;

/** The metadata files a step may write, and how big each may be. */
export const METADATA_LIMITS: Record<string, number> = {
  'status.yaml': 256 * 1024,
  'destination-selectors.yaml': 64 * 1024,
  'workflow-control.yaml': 64 * 1024,
};

/**
 * Reads a metadata file a step wrote, refusing one over its size limit before reading it, and parses it under the
 * parser's limits (depth, nodes, aliases, duplicate keys).
 */
export async function readMetadataYaml(file: string, label: string, parse: YamlReader): Promise<unknown> {
  const max = METADATA_LIMITS[label] ?? 64 * 1024;
  const st = lstatSync(file);
  if (!st.isFile()) throw new OutputError(`${label} must be a regular file`);
  if (st.size > max) throw new OutputError(`${label} is ${st.size} bytes; at most ${max} bytes are accepted`);
  try {
    return await parse(readFileSync(file, 'utf8'));
  } catch (err) {
    throw new OutputError(`${label} is not valid YAML or breaks a limit: ${errorMessage(err).split('\n')[0]}`);
  }
}

export interface WorkloadGroup {
  id: string;
  directory: string;
  workloads: { filepath: string; content: string }[];
  destinationSelectors: { matchLabels: Record<string, string>; source: string }[];
}

/**
 * Kratix's grouping: a group per selector with a directory (its files, that pipeline's selector only), and a root
 * group with every other file, selected by the root selector and the Promise's own selectors.
 */
export function buildWorkloadGroups(
  files: OutputFile[],
  selectors: DestinationSelector[],
  promiseSelectors: Record<string, string>,
  source: string,
): WorkloadGroup[] {
  const groups: WorkloadGroup[] = [];
  const dirs = selectors.filter((s) => s.directory);
  for (const s of dirs) {
    const prefix = `${s.directory}/`;
    const workloads = files.filter((f) => f.path.startsWith(prefix)).map((f) => ({ filepath: f.path, content: encodeWorkload(f.content) }));
    groups.push({
      id: md5Hex(s.directory as string),
      directory: s.directory as string,
      workloads,
      destinationSelectors: [{ matchLabels: s.matchLabels, source }],
    });
  }
  const rootFiles = files.filter((f) => !dirs.some((s) => f.path.startsWith(`${s.directory}/`)));
  if (rootFiles.length) {
    const root = selectors.find((s) => !s.directory);
    const destinationSelectors: WorkloadGroup['destinationSelectors'] = [];
    if (root) destinationSelectors.push({ matchLabels: root.matchLabels, source });
    if (Object.keys(promiseSelectors).length) destinationSelectors.push({ matchLabels: promiseSelectors, source: 'promise' });
    groups.unshift({
      id: ROOT_GROUP_ID,
      directory: '.',
      workloads: rootFiles.map((f) => ({ filepath: f.path, content: encodeWorkload(f.content) })),
      destinationSelectors,
    });
  }
  return groups;
}
