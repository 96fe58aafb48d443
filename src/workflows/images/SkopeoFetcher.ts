/**
 * The registry side of the image cache through well-kept tools: skopeo speaks the registry protocol (tags, digests,
 * auth, mirrors and rewrites from a containers `registries.conf`, TLS), umoci unpacks OCI layers (whiteouts, links,
 * modes) without privileges. Neither runs through a shell; credentials go in a file, never in argv.
 */
import { copyFileSync, existsSync, mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { FetchContext, ImageFetcher } from './ImageCache.ts';
import { byDigest, type ImageReference } from './imageReference.ts';
import { platformDigest } from './ociLayout.ts';
import { ToolMissingError, toolRunner, type ToolResult, type ToolRunner } from '../../lib/runTool.ts';

export interface SkopeoFetcherOptions {
  /** Where the fetcher keeps its trust policy and CA folder. */
  workDir: string;
  /** A containers `registries.conf` (v2): mirrors, prefix rewrites, insecure (plain HTTP) registries, blocked ones. */
  registriesConf?: string;
  /** PEM certificates trusted for registries besides the system's (e.g. an internal mirror's CA). */
  caBundle?: string;
  /** Per command (default 10 minutes: big images on slow links). */
  timeoutMs?: number;
  skopeo?: string;
  umoci?: string;
  run?: ToolRunner;
}

/** The tools are missing: what to install. */
export const INSTALL_HINT = 'install them: apt-get install skopeo umoci';

export class SkopeoFetcher implements ImageFetcher {
  private readonly opts: SkopeoFetcherOptions;
  private readonly run: ToolRunner;
  private readonly policy: string;
  private readonly certDir: string | undefined;

  constructor(opts: SkopeoFetcherOptions) {
    this.opts = opts;
    this.run = opts.run ?? toolRunner();
    mkdirSync(opts.workDir, { recursive: true, mode: 0o700 });
    // Signatures are not verified (as the kubelet does not); the policy file makes that explicit.
    this.policy = join(opts.workDir, 'policy.json');
    writeFileSync(this.policy, JSON.stringify({ default: [{ type: 'insecureAcceptAnything' }] }));
    if (opts.caBundle) {
      this.certDir = join(opts.workDir, 'certs');
      mkdirSync(this.certDir, { recursive: true, mode: 0o700 });
      copyFileSync(opts.caBundle, join(this.certDir, 'ca.crt'));
    }
  }

  private env(): Record<string, string | undefined> {
    return {
      PATH: process.env.PATH,
      HOME: this.opts.workDir,
      TMPDIR: this.opts.workDir,
    };
  }

  /**
   * skopeo's global flags: the trust policy and the platform's registries.conf (a hidden but long-standing flag), read
   * at each call (a file added or edited takes effect at the next pull); without one, the machine's
   * /etc/containers/registries.conf applies, as for any containers tool.
   */
  private globals(): string[] {
    const conf = this.opts.registriesConf;
    return ['--policy', this.policy, ...(conf && existsSync(conf) ? ['--registries-conf', conf] : [])];
  }

  private async tool(file: string, args: string[], ctx: FetchContext): Promise<ToolResult> {
    try {
      return await this.run(file, args, { env: this.env(), timeoutMs: this.opts.timeoutMs ?? 600_000, ...(ctx.signal ? { signal: ctx.signal } : {}) });
    } catch (err) {
      if (err instanceof ToolMissingError)
        throw new Error(`${err.message}; pipeline steps run in their images through skopeo and umoci: ${INSTALL_HINT}`, { cause: err });
      throw err;
    }
  }

  async resolve(ref: ImageReference, ctx: FetchContext): Promise<string> {
    const args = [...this.globals(), 'inspect', '--raw', '--retry-times', '1', ...this.access(ctx, ''), `docker://${ref.canonical}`];
    const r = await this.tool(this.opts.skopeo ?? 'skopeo', args, ctx);
    if (r.code !== 0) throw new Error(toolError(r, 'skopeo'));
    return platformDigest(r.stdout);
  }

  async copy(ref: ImageReference, digest: string, layoutDir: string, tag: string, ctx: FetchContext): Promise<void> {
    await this.skopeoCopy(`docker://${byDigest(ref, digest)}`, `oci:${layoutDir}:${tag}`, 'src-', ctx);
  }

  async unpack(layoutDir: string, tag: string, bundleDir: string, ctx: FetchContext): Promise<void> {
    const r = await this.tool(this.opts.umoci ?? 'umoci', ['unpack', '--rootless', '--image', `${layoutDir}:${tag}`, bundleDir], ctx);
    if (r.code !== 0) throw new Error(`unpacking the image failed: ${toolError(r, 'umoci')}`);
  }

  /** Pushes a layout's image to a registry (what `fleetops image build --push` does). */
  async push(layoutDir: string, tag: string, destination: ImageReference, ctx: FetchContext): Promise<void> {
    await this.skopeoCopy(`oci:${layoutDir}:${tag}`, `docker://${destination.canonical}`, 'dest-', ctx);
  }

  /** `skopeo copy` with the credentials and CA on the registry side (`src-` when pulling, `dest-` when pushing). */
  private async skopeoCopy(from: string, to: string, registrySide: 'src-' | 'dest-', ctx: FetchContext): Promise<void> {
    const args = [...this.globals(), 'copy', '--quiet', '--retry-times', '1', ...this.access(ctx, registrySide), from, to];
    const r = await this.tool(this.opts.skopeo ?? 'skopeo', args, ctx);
    if (r.code !== 0) throw new Error(toolError(r, 'skopeo'));
  }

  private access(ctx: FetchContext, prefix: '' | 'src-' | 'dest-'): string[] {
    const args: string[] = [];
    if (ctx.authFile) args.push(`--${prefix}authfile`, ctx.authFile);
    if (this.certDir) args.push(`--${prefix}cert-dir`, this.certDir);
    return args;
  }
}

/**
 * The part of a tool's error a person can act on: skopeo logs `level=fatal msg="…"` with the failing step's context
 * repeated; kept is the last cause, e.g. `manifest unknown`, `unauthorized: authentication required`, or
 * `connection refused` with the address.
 */
export function toolError(r: ToolResult, tool: string): string {
  if (r.timedOut) return `${tool} timed out`;
  const text = r.stderr.trim();
  const m = /msg="((?:[^"\\]|\\.)*)"/.exec(
    text
      .split('\n')
      .reverse()
      .find((l) => l.includes('msg=')) ?? '',
  );
  let message = m ? (JSON.parse(`"${m[1]}"`) as string) : text.split('\n').slice(-2).join(' ');
  message = message.replace(/^Error parsing image name "[^"]*": /, '').replace(/^initializing source [^:]+(?::[^:]+)*?: /, '');
  const known: [RegExp, string][] = [
    [/manifest unknown/i, 'manifest unknown'],
    [/(unauthorized|authentication required|invalid username\/password)/i, 'unauthorized: authentication required (check the pull secret)'],
    [/denied/i, 'denied: requested access to the resource is denied'],
    [/name unknown|repository name not known/i, 'repository not found (name unknown)'],
  ];
  for (const [pattern, text2] of known) if (pattern.test(message)) return text2;
  const refused = /dial tcp ([^:]+:\d+): connect: connection refused/.exec(message);
  if (refused) return `connection refused (${refused[1]})`;
  return (message || `${tool} exited with code ${String(r.code)}`).slice(0, 500);
}
