/**
 * The image cache behind pipeline steps: each image is pulled once, unpacked once into a read-only root file system
 * kept under its manifest digest (content-addressed), and lent to the steps that run in it.
 *
 * On disk (under `dir`, which survives restarts):
 *   roots/<hex>/rootfs       the unpacked root file system, readable by the step user
 *   roots/<hex>/image.json   digest, runtime configuration, size; its mtime is the last use (LRU)
 *   refs/<hash>.json         which digest a reference (tag) resolved to, and when
 *   tmp/                     pulls and unpacks in progress (a crash leaves them here; removed at start)
 *
 * Concurrency: one pull per reference and credentials, and one unpack per digest at a time, whoever asks (1,000 runs
 * starting at once share them). Bounded: past `maxBytes` the least recently used roots that no run holds are removed.
 * A reference whose pull failed is not tried again with the same credentials before its back-off ends (10 s doubling
 * to 5 minutes, as the kubelet does): runs asking for it so meanwhile fail at once with ImagePullBackOff, while a
 * team with other credentials is never held back by that failure.
 *
 * Tenants: an image pulled with a team's pull secret is lent to another team only once that team's own credentials
 * have been checked against the registry (Kubernetes' "ensure secret pulled images", KEP-2535); the credentials that
 * may use a root are kept beside it (roots/<hex>/access.json). The references and access files are FleetOps' alone
 * (no index of digests readable by another uid); the roots are reachable by path only, for the runs that use them.
 */
import { errorMessage } from '../../api/errors.ts';
import { createHash, randomBytes } from 'node:crypto';
import { chmodSync, existsSync, mkdirSync, readdirSync, readFileSync, renameSync, rmSync, statSync, utimesSync, writeFileSync } from 'node:fs';
import { rm } from 'node:fs/promises';
import { join } from 'node:path';
import type { Logger } from 'pino';
import { byDigest, defaultPullPolicy, InvalidImageName, LOCAL_DOMAIN, parseImageReference, type ImageReference, type PullPolicy } from './imageReference.ts';
import { readLayoutConfig, type ImageConfig } from './ociLayout.ts';
import { prepareRoot } from './rootfs.ts';
import { processAlive } from '../../lib/processAlive.ts';
import { cachedIn } from '../../lib/cachedIn.ts';

/** Credentials for registries, as in a `kubernetes.io/dockerconfigjson` Secret (`auths` by registry host). */
export type RegistryAuths = Record<string, { auth?: string; username?: string; password?: string; identitytoken?: string }>;

export interface FetchContext {
  /** A containers/Docker auth file (`{"auths": …}`) holding the pull secrets, when there are any. */
  authFile?: string;
  signal?: AbortSignal;
}

/** The registry side: resolving a reference and copying an image, and unpacking layouts (skopeo and umoci). */
export interface ImageFetcher {
  /** The digest the reference names on this platform (one manifest request). */
  resolve(ref: ImageReference, ctx: FetchContext): Promise<string>;
  /** Copies the image `ref` pinned to `digest` into a new OCI layout at `layoutDir`, tagged `tag`. */
  copy(ref: ImageReference, digest: string, layoutDir: string, tag: string, ctx: FetchContext): Promise<void>;
  /** Unpacks the layout's image `tag` into `bundleDir` (its root file system in bundleDir/rootfs). */
  unpack(layoutDir: string, tag: string, bundleDir: string, ctx: FetchContext): Promise<void>;
}

export type ImagePullReason = 'ErrImagePull' | 'ImagePullBackOff' | 'ErrImageNeverPull' | 'InvalidImageName';

/** A step's image could not be had; `message` reads like the kubelet's: `ErrImagePull: <image>: <why>`. */
export class ImagePullError extends Error {
  readonly reason: ImagePullReason;
  readonly image: string;
  constructor(reason: ImagePullReason, image: string, detail: string, options?: { cause?: unknown }) {
    super(`${reason}: ${image}: ${detail}`, options);
    this.name = 'ImagePullError';
    this.reason = reason;
    this.image = image;
  }
}

/** How a step got its image, for its run record and `fleetops logs`. */
export interface PullRecord {
  image: string;
  digest: string;
  policy: PullPolicy;
  /** True when no layer was downloaded (the root was already unpacked). */
  cached: boolean;
  durationMs: number;
}

export interface ImageLease {
  digest: string;
  /** The read-only root file system. */
  rootfs: string;
  config: ImageConfig;
  pull: PullRecord;
  /** The run no longer needs the root: it may be removed to make room. */
  release(): void;
}

export interface AcquireOptions {
  policy?: PullPolicy;
  auths?: RegistryAuths;
  signal?: AbortSignal;
}

export interface ImageCacheOptions {
  /** The cache folder (e.g. <data dir>/images). */
  dir: string;
  fetcher: ImageFetcher;
  /** Credentials for every pull (the platform's own, e.g. for its mirror); a step's pull secrets win. */
  defaultAuths?: RegistryAuths;
  /** Unpacked roots kept up to this many bytes (default 10 GiB); the least recently used go first. */
  maxBytes?: number;
  /** First back-off after a failed pull (default 10 s), doubling to `maxBackoffMs` (default 5 minutes). */
  backoffBaseMs?: number;
  maxBackoffMs?: number;
  /** Most files and folders an image's root may have (default MAX_ROOT_ENTRIES). */
  maxRootEntries?: number;
  logger?: Logger;
  now?: () => number;
}

interface Root {
  digest: string;
  dir: string;
  config: ImageConfig;
  sizeBytes: number;
  lastUsed: number;
  /** When the last use was written to disk (image.json's mtime). */
  lastUsedSaved: number;
  leases: number;
}

interface StoredRoot {
  digest: string;
  config: ImageConfig;
  sizeBytes: number;
}

/** Who may use a root: `anonymous` (pulled without a team's secret, or built here), or the hash of a registry credential. */
type AccessKey = string;
const ANONYMOUS: AccessKey = 'anonymous';

/**
 * The credential a pull of `ref` presents: the team's secret entry for the reference's registry, hashed (never kept in
 * the clear), or `anonymous` when it has none for that registry.
 */
export function accessKeyOf(ref: ImageReference, auths: RegistryAuths | undefined): AccessKey {
  const entry = Object.entries(auths ?? {}).find(([host]) => host.replace(/^https?:\/\//, '').replace(/\/.*$/, '') === ref.domain)?.[1];
  if (!entry) return ANONYMOUS;
  const canonical = JSON.stringify([entry.auth ?? '', entry.username ?? '', entry.password ?? '', entry.identitytoken ?? '']);
  return createHash('sha256').update(canonical).digest('hex').slice(0, 32);
}

interface Failure {
  message: string;
  until: number;
  delayMs: number;
}

const hexOf = (digest: string): string => digest.slice('sha256:'.length);

export class ImageCache {
  private readonly opts: ImageCacheOptions;
  private readonly now: () => number;
  private readonly roots = new Map<string, Root>();
  /** What each reference resolved to, and the mtime of its file when read (another process may rewrite it). */
  private readonly refs = new Map<string, { digest: string; mtimeMs: number }>();
  /** The file of each reference (a hash of it): every run looks its image's up. Emptied past 1,024 references. */
  private readonly refFiles = new Map<string, string>();
  private readonly pulls = new Map<string, Promise<{ digest: string; cached: boolean }>>();
  private readonly unpacks = new Map<string, Promise<Root>>();
  /** Keyed by reference and credential: one team's failures never hold back another's pulls. */
  private readonly failures = new Map<string, Failure>();
  /** Per digest, the credentials the registry accepted for it (see access.json). */
  private readonly access = new Map<string, Set<AccessKey>>();
  private started = false;
  private tmp = '';

  constructor(opts: ImageCacheOptions) {
    this.opts = opts;
    this.now = opts.now ?? Date.now;
  }

  get dir(): string {
    return this.opts.dir;
  }

  /** Loads the roots left by earlier runs and removes half-finished pulls. Idempotent. */
  start(): void {
    if (this.started) return;
    this.started = true;
    mkdirSync(this.opts.dir, { recursive: true, mode: 0o711 });
    // Steps (another uid) reach their root by path (bubblewrap resolves even a descriptor by path): traversable folders.
    for (const sub of ['', 'roots']) {
      mkdirSync(join(this.opts.dir, sub), { recursive: true });
      chmodSync(join(this.opts.dir, sub), 0o711);
    }
    // Which digest each reference names is FleetOps' alone: another uid finds no private image's digest here.
    mkdirSync(join(this.opts.dir, 'refs'), { recursive: true });
    chmodSync(join(this.opts.dir, 'refs'), 0o700);
    // Work in progress goes to a folder of this process's own: the CLI (image builds) may share the cache.
    const tmp = join(this.opts.dir, 'tmp');
    mkdirSync(tmp, { recursive: true, mode: 0o700 });
    for (const entry of readdirSync(tmp)) if (!processAlive(Number(entry.split('-')[0]))) rmSync(join(tmp, entry), { recursive: true, force: true });
    this.tmp = join(tmp, `${process.pid}-${randomBytes(4).toString('hex')}`);
    mkdirSync(this.tmp, { mode: 0o700 });
    for (const hex of readdirSync(join(this.opts.dir, 'roots'))) this.loadRoot(`sha256:${hex}`);
  }

  /** Removes this process's work folder (pulls in progress fail). */
  stop(): void {
    if (this.tmp) rmSync(this.tmp, { recursive: true, force: true });
    this.started = false;
  }

  /** Bytes of all unpacked roots. */
  get sizeBytes(): number {
    let n = 0;
    for (const r of this.roots.values()) n += r.sizeBytes;
    return n;
  }

  /** The digests of the roots held now, least recently used first. */
  list(): { digest: string; sizeBytes: number; lastUsed: number; inUse: boolean }[] {
    return [...this.roots.values()]
      .sort((a, b) => a.lastUsed - b.lastUsed)
      .map((r) => ({ digest: r.digest, sizeBytes: r.sizeBytes, lastUsed: r.lastUsed, inUse: r.leases > 0 }));
  }

  /** The digest a reference resolved to last, if this cache knows it. */
  resolved(image: string): string | undefined {
    return this.refOf(parseImageReference(image).canonical);
  }

  /**
   * The root file system of `image`, pulled and unpacked if needed per the pull policy (Kubernetes' default for the
   * reference when none is given). Throws ImagePullError with the kubelet's reasons.
   */
  async acquire(image: string, options: AcquireOptions = {}): Promise<ImageLease> {
    this.start();
    const started = this.now();
    let ref: ImageReference;
    try {
      ref = parseImageReference(image);
    } catch (err) {
      if (err instanceof InvalidImageName) throw new ImagePullError('InvalidImageName', image, err.message.replace(/^InvalidImageName: "[^"]*": /, ''));
      throw err;
    }
    const policy = options.policy ?? defaultPullPolicy(ref);
    const present = this.presentDigest(ref);
    const key = accessKeyOf(ref, options.auths);
    if (policy === 'Never' || ref.domain === LOCAL_DOMAIN) {
      if (present && (ref.domain === LOCAL_DOMAIN || this.mayUse(present, key))) return this.lease(present, ref, policy, true, started);
      if (present)
        throw new ImagePullError(
          'ErrImageNeverPull',
          ref.canonical,
          'the image is in the cache, pulled with other credentials, and the pull policy Never lets FleetOps not check yours: use IfNotPresent',
        );
      if (policy === 'Never') throw new ImagePullError('ErrImageNeverPull', ref.canonical, 'the image is not present and the pull policy is Never');
      throw new ImagePullError(
        'ErrImagePull',
        ref.canonical,
        `${LOCAL_DOMAIN} images are never pulled and this one is not in the local image cache; build it with "npx fleetops image build"`,
      );
    }
    if (policy === 'IfNotPresent' && present && this.mayUse(present, key)) return this.lease(present, ref, policy, true, started);
    const attempt = `${ref.canonical}|${key}`;
    const failure = this.failures.get(attempt);
    if (failure && failure.until > this.now())
      throw new ImagePullError(
        'ImagePullBackOff',
        ref.canonical,
        `back-off pulling the image (retry in ${Math.ceil((failure.until - this.now()) / 1000)}s); last error: ${failure.message}`,
      );
    let pulled: { digest: string; cached: boolean };
    try {
      // A root present for other credentials still goes through the registry: it must accept these (and a new tag
      // target is pulled as usual).
      pulled = await this.pull(ref, options, key);
    } catch (err) {
      const message = errorMessage(err);
      const delayMs = failure ? Math.min(failure.delayMs * 2, this.opts.maxBackoffMs ?? 300_000) : (this.opts.backoffBaseMs ?? 10_000);
      this.failures.set(attempt, { message, until: this.now() + delayMs, delayMs });
      this.opts.logger?.warn({ image: ref.canonical, err: message, retryInMs: delayMs }, 'image pull failed');
      throw new ImagePullError('ErrImagePull', ref.canonical, message, { cause: err });
    }
    this.failures.delete(attempt);
    return this.lease(pulled.digest, ref, policy, pulled.cached, started);
  }

  /** Whether runs presenting `key` may use the root: pulled without a team's secret, or their credentials were accepted. */
  private mayUse(digest: string, key: AccessKey): boolean {
    const keys = this.accessOf(digest);
    return keys.has(ANONYMOUS) || keys.has(key);
  }

  private accessFile(digest: string): string {
    return join(this.opts.dir, 'roots', hexOf(digest), 'access.json');
  }

  private accessOf(digest: string): Set<AccessKey> {
    let keys = this.access.get(digest);
    if (keys) return keys;
    try {
      const stored: unknown = JSON.parse(readFileSync(this.accessFile(digest), 'utf8'));
      keys = new Set(Array.isArray(stored) ? stored.map(String) : []);
    } catch {
      // Roots from before access was recorded were pulled by the platform: anyone's.
      keys = new Set(existsSync(join(this.opts.dir, 'roots', hexOf(digest))) ? [ANONYMOUS] : []);
    }
    this.access.set(digest, keys);
    return keys;
  }

  /** Records that the registry accepted `key` for `digest` (a root's access file is FleetOps' only). */
  private grant(digest: string, key: AccessKey): void {
    const keys = this.accessOf(digest);
    if (keys.has(key)) return;
    keys.add(key);
    const file = this.accessFile(digest);
    const tmp = `${file}.${randomBytes(4).toString('hex')}`;
    try {
      writeFileSync(tmp, JSON.stringify([...keys]), { mode: 0o600 });
      renameSync(tmp, file);
    } catch {
      // the root went meanwhile: nothing to record
    }
  }

  /**
   * Adds an image from an OCI layout on disk (a build) under the given references; returns its digest. The root is
   * unpacked unless the cache already has that digest.
   */
  async importLayout(layoutDir: string, tag: string, digest: string, references: string[]): Promise<string> {
    this.start();
    if (!this.rootFor(digest))
      await this.unpackOnce(
        digest,
        async (bundle) => this.opts.fetcher.unpack(layoutDir, tag, bundle, {}),
        () => readLayoutConfig(layoutDir, tag),
      );
    for (const r of references) this.remember(parseImageReference(r).canonical, digest);
    this.grant(digest, ANONYMOUS); // built here, by the platform
    return digest;
  }

  /** Removes least recently used roots that no run holds until the cache fits its bound. Returns what it removed. */
  async evict(maxBytes: number = this.opts.maxBytes ?? 10 * 1024 ** 3): Promise<string[]> {
    const removed: string[] = [];
    let total = this.sizeBytes;
    for (const r of [...this.roots.values()].sort((a, b) => a.lastUsed - b.lastUsed)) {
      if (total <= maxBytes) break;
      if (r.leases > 0 || this.unpacks.has(r.digest)) continue;
      this.roots.delete(r.digest);
      this.access.delete(r.digest);
      total -= r.sizeBytes;
      removed.push(r.digest);
      // Renamed away first: a crash mid-removal leaves nothing that looks like a usable root.
      const trash = join(this.tmp, `evicted-${hexOf(r.digest)}-${randomBytes(4).toString('hex')}`);
      try {
        renameSync(r.dir, trash);
      } catch {
        continue; // already gone
      }
      await rm(trash, { recursive: true, force: true });
      this.opts.logger?.info({ digest: r.digest, sizeBytes: r.sizeBytes }, 'image root removed from the cache (least recently used)');
    }
    return removed;
  }

  private presentDigest(ref: ImageReference): string | undefined {
    const digest = ref.digest && this.rootFor(ref.digest) ? ref.digest : this.refOf(ref.canonical);
    return digest && this.rootFor(digest) ? digest : undefined;
  }

  private refFile(canonical: string): string {
    return cachedIn(this.refFiles, canonical, 1024, () =>
      join(this.opts.dir, 'refs', `${createHash('sha256').update(canonical).digest('hex').slice(0, 32)}.json`),
    );
  }

  /**
   * The digest a reference resolved to. Its file is the truth: `fleetops image build` (another process) rewrites it
   * when it builds the same tag again, and the next run must use that build, so a change of the file's mtime is read.
   */
  private refOf(canonical: string): string | undefined {
    const file = this.refFile(canonical);
    let mtimeMs: number;
    try {
      mtimeMs = statSync(file).mtimeMs;
    } catch {
      this.refs.delete(canonical);
      return undefined;
    }
    const known = this.refs.get(canonical);
    if (known && known.mtimeMs === mtimeMs) return known.digest;
    try {
      const stored = JSON.parse(readFileSync(file, 'utf8')) as { ref: string; digest: string };
      if (stored.ref !== canonical) return undefined;
      this.refs.set(canonical, { digest: stored.digest, mtimeMs });
      return stored.digest;
    } catch {
      return undefined;
    }
  }

  private remember(canonical: string, digest: string): void {
    if (this.refOf(canonical) === digest) return;
    const file = this.refFile(canonical);
    const tmp = `${file}.${randomBytes(4).toString('hex')}`;
    writeFileSync(tmp, JSON.stringify({ ref: canonical, digest, resolvedAt: new Date(this.now()).toISOString() }), { mode: 0o600 });
    renameSync(tmp, file);
    this.refs.set(canonical, { digest, mtimeMs: statSync(file).mtimeMs });
  }

  private rootFor(digest: string): Root | undefined {
    return this.roots.get(digest) ?? this.loadRoot(digest);
  }

  private loadRoot(digest: string): Root | undefined {
    if (!/^sha256:[a-f0-9]{64}$/.test(digest)) return undefined;
    const dir = join(this.opts.dir, 'roots', hexOf(digest));
    try {
      const meta = join(dir, 'image.json');
      const stored = JSON.parse(readFileSync(meta, 'utf8')) as StoredRoot;
      const mtime = statSync(meta).mtimeMs;
      const root: Root = { digest, dir, config: stored.config, sizeBytes: stored.sizeBytes, lastUsed: mtime, lastUsedSaved: mtime, leases: 0 };
      this.roots.set(digest, root);
      return root;
    } catch {
      return undefined;
    }
  }

  /** Resolves and fetches the reference; one at a time per reference and credential, shared by all who ask so. */
  private pull(ref: ImageReference, options: AcquireOptions, key: AccessKey): Promise<{ digest: string; cached: boolean }> {
    const id = `${ref.canonical}|${key}`;
    const running = this.pulls.get(id);
    if (running) return running;
    const p = this.pullNow(ref, options, key).finally(() => this.pulls.delete(id));
    this.pulls.set(id, p);
    return p;
  }

  private async pullNow(ref: ImageReference, options: AcquireOptions, key: AccessKey): Promise<{ digest: string; cached: boolean }> {
    const work = join(this.tmp, `pull-${randomBytes(6).toString('hex')}`);
    mkdirSync(work, { mode: 0o700 });
    try {
      const ctx: FetchContext = { ...(options.signal ? { signal: options.signal } : {}) };
      const auths = { ...this.opts.defaultAuths, ...options.auths };
      if (Object.keys(auths).length) {
        ctx.authFile = join(work, 'auth.json');
        writeFileSync(ctx.authFile, JSON.stringify({ auths }), { mode: 0o600 });
      }
      const digest = await this.opts.fetcher.resolve(ref, ctx);
      this.remember(ref.canonical, digest);
      if (this.rootFor(digest)) {
        this.grant(digest, key); // the registry accepted these credentials for it
        return { digest, cached: true };
      }
      const layout = join(work, 'layout');
      await this.unpackOnce(
        digest,
        async (bundle) => {
          await this.opts.fetcher.copy(ref, digest, layout, 'image', ctx);
          await this.opts.fetcher.unpack(layout, 'image', bundle, ctx);
        },
        () => readLayoutConfig(layout, 'image'),
      );
      this.grant(digest, key);
      this.opts.logger?.info({ image: ref.canonical, digest, from: byDigest(ref, digest) }, 'image pulled and unpacked');
      return { digest, cached: false };
    } finally {
      rmSync(work, { recursive: true, force: true });
    }
  }

  /** Unpacks `digest` once, whoever asks; the root appears in roots/ only when complete. */
  private unpackOnce(digest: string, produce: (bundleDir: string) => Promise<void>, config: () => ImageConfig): Promise<Root> {
    const running = this.unpacks.get(digest);
    if (running) return running;
    const p = (async (): Promise<Root> => {
      const existing = this.rootFor(digest);
      if (existing) return existing;
      const bundle = join(this.tmp, `bundle-${randomBytes(6).toString('hex')}`);
      try {
        await produce(bundle);
        const sizeBytes = await prepareRoot(join(bundle, 'rootfs'), this.opts.maxRootEntries);
        const stored: StoredRoot = { digest, config: config(), sizeBytes };
        writeFileSync(join(bundle, 'image.json'), JSON.stringify(stored));
        // Nobody's yet: the pull that made it grants its credentials once it is in place.
        writeFileSync(join(bundle, 'access.json'), '[]', { mode: 0o600 });
        // Only what a step needs stays: umoci's bundle files (config.json, mtree) go.
        for (const entry of readdirSync(bundle))
          if (!['rootfs', 'image.json', 'access.json'].includes(entry)) rmSync(join(bundle, entry), { recursive: true, force: true });
        chmodSync(bundle, 0o711);
        const dir = join(this.opts.dir, 'roots', hexOf(digest));
        try {
          renameSync(bundle, dir);
        } catch (err) {
          if (!existsSync(join(dir, 'image.json'))) throw err; // else another FleetOps unpacked it meanwhile
        }
      } finally {
        rmSync(bundle, { recursive: true, force: true });
      }
      const root = this.loadRoot(digest);
      if (!root) throw new Error(`the unpacked root of ${digest} could not be read back`);
      await this.evict();
      return root;
    })().finally(() => this.unpacks.delete(digest));
    this.unpacks.set(digest, p);
    return p;
  }

  private lease(digest: string, ref: ImageReference, policy: PullPolicy, cached: boolean, started: number): ImageLease {
    const root = this.rootFor(digest);
    if (!root) throw new ImagePullError('ErrImagePull', ref.canonical, `the root of ${digest} was removed from the cache; the run is retried`);
    root.leases++;
    const now = this.now();
    root.lastUsed = now;
    if (now - root.lastUsedSaved > 60_000) {
      root.lastUsedSaved = now;
      try {
        utimesSync(join(root.dir, 'image.json'), now / 1000, now / 1000);
      } catch {
        // removed meanwhile
      }
    }
    let released = false;
    return {
      digest,
      rootfs: join(root.dir, 'rootfs'),
      config: root.config,
      pull: { image: ref.canonical, digest, policy, cached, durationMs: Math.round(this.now() - started) },
      release: () => {
        if (released) return;
        released = true;
        root.leases--;
      },
    };
  }
}
