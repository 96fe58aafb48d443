/**
 * Builds a pipeline step's image from a folder, without Docker: a base (a static busybox for shell steps, or that plus
 * the Node that runs FleetOps and the step SDK for TypeScript steps), the folder's files at /pipeline, and anything
 * under its `rootfs/` at the root. The result is a one-layer OCI image in a layout, which the image cache imports
 * and skopeo can push to a registry.
 *
 * A folder may carry an `image.yaml` with the defaults of `fleetops image build`: tag, base, entrypoint, cmd, env,
 * workingDir, user.
 */
import { chmodSync, copyFileSync, cpSync, existsSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, posix } from 'node:path';
import { parse } from 'yaml';
import type { ImageConfig } from './ociLayout.ts';
import { writeLayout } from './ociLayout.ts';
import type { ToolRunner } from '../../lib/runTool.ts';
import { findBusybox, isStaticExecutable } from '../../lib/staticBusybox.ts';

export type ImageBase = 'scratch' | 'busybox' | 'node';

export interface ImageSpec {
  tag?: string;
  base?: ImageBase;
  entrypoint?: string[];
  cmd?: string[];
  env?: Record<string, string>;
  workingDir?: string;
  user?: string;
}

export interface BuildOptions extends ImageSpec {
  /** The step folder. */
  dir: string;
  /** Where the root and the layout are made (removed by the caller). */
  workDir: string;
  run: ToolRunner;
  /** The FleetOps install (for the step SDK and its `yaml` dependency in the node base). */
  installDir: string;
  /** Node binary for the node base (default: the one running). */
  nodePath?: string;
  /** Static busybox for the busybox and node bases (default: found on PATH or /bin/busybox). */
  busyboxPath?: string;
}

export interface BuiltImage {
  layoutDir: string;
  /** The layout tag of the image. */
  layoutTag: string;
  digest: string;
  spec: Required<Pick<ImageSpec, 'base'>> & ImageSpec;
  sizeBytes: number;
}

const BASE_PATH = '/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin';

/** The folder's `image.yaml`, if any, under the given options (options win). */
export function readImageSpec(dir: string, overrides: ImageSpec = {}): ImageSpec {
  const file = join(dir, 'image.yaml');
  const fromFile = existsSync(file) ? ((parse(readFileSync(file, 'utf8')) as ImageSpec | null) ?? {}) : {};
  const spec: ImageSpec = { ...fromFile };
  for (const [k, v] of Object.entries(overrides)) if (v !== undefined) (spec as Record<string, unknown>)[k] = v;
  return spec;
}

export async function buildImage(opts: BuildOptions): Promise<BuiltImage> {
  const spec = readImageSpec(opts.dir, opts);
  const base: ImageBase = spec.base ?? 'busybox';
  if (!['scratch', 'busybox', 'node'].includes(base)) throw new Error(`base ${JSON.stringify(base)} is not one of scratch, busybox, node`);
  const root = join(opts.workDir, 'root');
  mkdirSync(root, { recursive: true });
  chmodSync(root, 0o755);
  if (base !== 'scratch') addBusybox(root, busyboxOf(opts.busyboxPath));
  if (base === 'node') await addNode(root, opts.nodePath ?? process.execPath, opts.installDir, opts.run);
  const workingDir = spec.workingDir ?? '/pipeline';
  const pipelineDir = join(root, ...workingDir.split('/').filter(Boolean));
  mkdirSync(pipelineDir, { recursive: true });
  for (const entry of readdirSync(opts.dir)) {
    if (entry === 'rootfs' || entry === 'image.yaml') continue;
    cpSync(join(opts.dir, entry), join(pipelineDir, entry), { recursive: true, dereference: true });
  }
  if (base === 'node' && !existsSync(join(pipelineDir, 'package.json'))) writeFileSync(join(pipelineDir, 'package.json'), '{ "type": "module" }\n');
  if (existsSync(join(opts.dir, 'rootfs'))) cpSync(join(opts.dir, 'rootfs'), root, { recursive: true, dereference: true });
  const tar = await opts.run('tar', ['--sort=name', '--mtime=@0', '--owner=0', '--group=0', '--numeric-owner', '-C', root, '-cf', '-', '.'], {
    timeoutMs: 300_000,
  });
  if (tar.code !== 0) throw new Error(`tar failed: ${tar.stderr.trim()}`);
  const env = { PATH: BASE_PATH, ...(spec.env ?? {}) };
  const config: ImageConfig = {
    Env: Object.entries(env).map(([k, v]) => `${k}=${v}`),
    WorkingDir: workingDir,
    ...(spec.entrypoint ? { Entrypoint: spec.entrypoint } : {}),
    ...(spec.cmd ? { Cmd: spec.cmd } : {}),
    ...(spec.user ? { User: spec.user } : {}),
    Labels: { 'org.opencontainers.image.title': posix.basename(opts.dir), 'dev.fleetops.base': base },
  };
  const layoutDir = join(opts.workDir, 'layout');
  const digest = writeLayout(layoutDir, 'image', tar.stdout, config);
  return { layoutDir, layoutTag: 'image', digest, spec: { ...spec, base }, sizeBytes: tar.stdout.length };
}

/** Where a build's image goes when it is not pushed: the image cache (ImageCache.importLayout). */
export interface LayoutImporter {
  importLayout(layoutDir: string, tag: string, digest: string, references: string[]): Promise<string>;
}

/** Builds the folder and adds the image to `cache` under `references`; the build's work folder is removed. */
export async function buildIntoCache(cache: LayoutImporter, opts: Omit<BuildOptions, 'workDir'>, references: string[]): Promise<BuiltImage> {
  const workDir = mkdtempSync(join(tmpdir(), 'fleetops-image-'));
  try {
    const built = await buildImage({ ...opts, workDir });
    await cache.importLayout(built.layoutDir, built.layoutTag, built.digest, references);
    return built;
  } finally {
    rmSync(workDir, { recursive: true, force: true });
  }
}

function busyboxOf(given: string | undefined): string {
  const busybox = given ?? findBusybox();
  if (!busybox) throw new Error('busybox is not installed; the busybox and node bases need a static busybox: apt-get install busybox-static');
  return busybox;
}

function addBusybox(root: string, busybox: string): void {
  if (!isStaticExecutable(busybox)) throw new Error(`${busybox} is not a static executable; install busybox-static (apt-get install busybox-static)`);
  for (const d of ['bin', 'etc', 'tmp', 'root', 'usr/bin', 'usr/local/bin']) mkdirSync(join(root, d), { recursive: true });
  chmodSync(join(root, 'tmp'), 0o1777);
  copyFileSync(busybox, join(root, 'bin', 'busybox'));
  chmodSync(join(root, 'bin', 'busybox'), 0o755);
  // Applets as links, as busybox images have them (the list is compiled in; `--list` would need to run it).
  for (const applet of APPLETS) if (!existsSync(join(root, 'bin', applet))) symlinkSync('busybox', join(root, 'bin', applet));
  writeFileSync(join(root, 'etc', 'passwd'), 'root:x:0:0:root:/root:/bin/sh\nnobody:x:65534:65534:nobody:/nonexistent:/bin/false\n');
  writeFileSync(join(root, 'etc', 'group'), 'root:x:0:\nnobody:x:65534:\n');
}

/** The Node binary with the shared libraries it loads, the step SDK at /fleetops/src/sdk, and `yaml`. */
async function addNode(root: string, node: string, installDir: string, run: ToolRunner): Promise<void> {
  const copy = (from: string, to: string): void => {
    mkdirSync(join(root, dirname(to)), { recursive: true });
    copyFileSync(from, join(root, to));
    chmodSync(join(root, to), 0o755);
  };
  copy(node, '/usr/local/bin/node');
  const ldd = await run('ldd', [node], { timeoutMs: 30_000 });
  if (ldd.code === 0) {
    for (const line of ldd.stdout.toString('utf8').split('\n')) {
      const m = /(?:=>\s*)?(\/\S+)\s+\(0x/.exec(line);
      if (m?.[1]) copy(m[1], m[1]);
    }
  }
  const sdk = join(installDir, 'src', 'sdk', 'kratix.ts');
  mkdirSync(join(root, 'fleetops', 'src', 'sdk'), { recursive: true });
  copyFileSync(sdk, join(root, 'fleetops', 'src', 'sdk', 'kratix.ts'));
  writeFileSync(join(root, 'fleetops', 'package.json'), '{ "type": "module" }\n');
  // At the root's node_modules: found from the SDK and from any step file (Node looks up the folders to /).
  cpSync(join(installDir, 'node_modules', 'yaml'), join(root, 'node_modules', 'yaml'), { recursive: true, dereference: true });
}

/** Busybox applets linked in /bin (the common ones pipeline scripts use). */
const APPLETS = (
  'sh ash awk basename cat chmod chown cp cut date dd df dirname du echo env expr false find grep egrep fgrep gunzip gzip head hostname id ' +
  'kill ln ls mkdir mktemp mv nc od printf ps pwd readlink realpath rm rmdir sed seq sha256sum sleep sort split stat tail tar tee test ' +
  'timeout touch tr true uname uniq unzip wc wget which whoami xargs yes base64 md5sum ['
).split(' ');
