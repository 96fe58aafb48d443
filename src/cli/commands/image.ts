/**
 * `fleetops image build DIR`: a step folder becomes an OCI image without Docker, put into the data directory's image
 * cache (where FleetOps finds it, pulling nothing) or pushed to a registry. `fleetops image list`: what the cache
 * holds.
 */
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { buildImage, buildIntoCache, readImageSpec, type ImageBase } from '../../workflows/images/imageBuild.ts';
import { parseImageReference } from '../../workflows/images/imageReference.ts';
import { openFetcher, openImageCache } from '../../workflows/images/openImageCache.ts';
import { toolRunner } from '../../lib/runTool.ts';

export interface ImageBuildOptions {
  tag?: string;
  base?: ImageBase;
  entrypoint?: string;
  cmd?: string;
  push?: boolean;
  authfile?: string;
  registriesConf?: string;
  dataDir: string;
  installDir: string;
}

/** A JSON array of strings, or one string taken as a single word. */
function argList(flag: string, text: string | undefined): string[] | undefined {
  if (text === undefined) return undefined;
  if (!text.trim().startsWith('[')) return [text];
  const parsed = JSON.parse(text) as unknown;
  if (!Array.isArray(parsed) || parsed.some((a) => typeof a !== 'string'))
    throw new Error(`${flag} must be a JSON array of strings, e.g. '["node", "/pipeline/step.ts"]'`);
  return parsed as string[];
}

export async function imageBuildCommand(dir: string, opts: ImageBuildOptions, out: (line: string) => void, err: (line: string) => void): Promise<number> {
  const folder = resolve(dir);
  const entrypoint = argList('--entrypoint', opts.entrypoint);
  const cmd = argList('--cmd', opts.cmd);
  const spec = readImageSpec(folder, {
    ...(opts.tag ? { tag: opts.tag } : {}),
    ...(opts.base ? { base: opts.base } : {}),
    ...(entrypoint ? { entrypoint } : {}),
    ...(cmd ? { cmd } : {}),
  });
  if (!spec.tag) throw new Error(`no tag for the image: give --tag (e.g. --tag fleetops.local/team/step:v1) or "tag:" in ${join(folder, 'image.yaml')}`);
  const ref = parseImageReference(spec.tag);
  const started = performance.now();
  const seconds = (): string => `${((performance.now() - started) / 1000).toFixed(1)}s`;
  const build = { ...spec, dir: folder, run: toolRunner(), installDir: opts.installDir };
  err(`building ${ref.canonical} from ${folder} (base ${spec.base ?? 'busybox'})…`);
  if (opts.push) {
    const work = mkdtempSync(join(tmpdir(), 'fleetops-image-'));
    try {
      const built = await buildImage({ ...build, workDir: work });
      const fetcher = openFetcher(opts.dataDir, opts.registriesConf ? { registriesConf: opts.registriesConf } : {});
      await fetcher.push(built.layoutDir, built.layoutTag, ref, opts.authfile ? { authFile: opts.authfile } : {});
      out(`pushed ${ref.canonical} (${built.digest}, ${megabytes(built.sizeBytes)}) in ${seconds()}`);
      return 0;
    } finally {
      rmSync(work, { recursive: true, force: true });
    }
  }
  const cache = openImageCache(opts.dataDir);
  cache.start();
  try {
    const built = await buildIntoCache(cache, build, [ref.canonical]);
    out(`built ${ref.canonical} (${built.digest}, ${megabytes(built.sizeBytes)}) into the image cache at ${cache.dir} in ${seconds()}`);
    return 0;
  } finally {
    cache.stop();
  }
}

const megabytes = (bytes: number): string => `${(bytes / 1024 / 1024).toFixed(1)} MB`;

export function imageListCommand(dataDir: string, out: (line: string) => void): number {
  const cache = openImageCache(dataDir);
  cache.start();
  try {
    const refsDir = join(cache.dir, 'refs');
    const byDigest = new Map<string, string[]>();
    for (const f of readdirSync(refsDir)) {
      try {
        const r = JSON.parse(readFileSync(join(refsDir, f), 'utf8')) as { ref: string; digest: string };
        byDigest.set(r.digest, [...(byDigest.get(r.digest) ?? []), r.ref]);
      } catch {
        // being written
      }
    }
    const rows = cache.list().reverse();
    if (!rows.length) {
      out(`no images in ${cache.dir}`);
      return 0;
    }
    const lines = rows.map((r) => [
      (byDigest.get(r.digest) ?? ['<untagged>']).join(','),
      r.digest.slice(0, 19),
      megabytes(r.sizeBytes),
      new Date(r.lastUsed).toISOString(),
    ]);
    const header = ['IMAGE', 'DIGEST', 'SIZE', 'LAST USED'];
    const widths = header.map((h, i) => Math.max(h.length, ...lines.map((l) => (l[i] as string).length)));
    for (const l of [header, ...lines])
      out(
        l
          .map((c, i) => c.padEnd(widths[i] as number))
          .join('   ')
          .trimEnd(),
      );
    out(`${rows.length} image(s), ${megabytes(cache.sizeBytes)} in ${cache.dir}`);
    return 0;
  } finally {
    cache.stop();
  }
}
