/**
 * Writes a state store's desired files to a Git repository with the real `git`: fetch the branch into a private bare
 * mirror, build one commit on its tip in which the managed folders hold exactly the desired files (only files that
 * differ are written, with `git fast-import`), push; a push that loses a race is redone on the new tip. The one
 * thing remembered between calls is the commit this writer last pushed and its files: the next call that has
 * changes builds on it without fetching (fast-import and push; a full pass adds fetch and ls-tree), and if anyone
 * else moved the branch the push is refused and the call starts over from a fetch; a call with nothing to change
 * fetches and compares with the repository itself. After a restart or an outage the next call converges from the
 * repository alone, and an unchanged tree makes no commit.
 */
import { errorMessage } from '../api/errors.ts';
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { GIT_MALLOC_ENV } from '../lib/gitEnv.ts';
import { ToolMissingError, toolRunner, type SpawnFn, type ToolRunner } from '../lib/runTool.ts';
import { redactCredentials } from '../lib/redact.ts';

export type GitAuth = { kind: 'none' } | { kind: 'basic'; username: string; password: string } | { kind: 'ssh'; privateKey: string; knownHosts?: string };

export interface GitWriterOptions {
  url: string;
  branch: string;
  /** Private bare mirror of the repository (created when missing). */
  workDir: string;
  author: { name: string; email: string };
  auth: GitAuth;
  timeoutMs?: number;
  /**
   * Runs git (default: spawned from this process). FleetOps passes its sandbox helper's, so that forking git costs a
   * small process's memory rather than FleetOps' own, off its event loop.
   */
  run?: ToolRunner;
  spawn?: SpawnFn;
}

export interface SyncRequest {
  /** Folders (relative to the repository root; '' = all of it) whose content FleetOps owns. */
  roots: string[];
  /** Desired content of every file under the roots. */
  files: Map<string, Buffer>;
  /** The commit message, or how to word it from the paths the commit changes. */
  message: string | ((changedPaths: readonly string[]) => string);
}

export interface SyncResult {
  /** Commit the branch is at afterwards. */
  version: string;
  /** Files added, changed or removed by this call (0: no commit was made). */
  changed: number;
}

/** A git operation failed. Its message never carries credentials (it ends up in status conditions and events). */
export class GitError extends Error {
  constructor(message: string, options?: ErrorOptions & { secrets?: readonly string[] }) {
    super(redactCredentials(message, options?.secrets), options);
    this.name = 'GitError';
  }
}

/** Git's advice after any transport failure, and ssh's banner lines: kept only when nothing more telling was said. */
const BOILERPLATE =
  /^(fatal: Could not read from remote repository\.|Please make sure you have the correct access rights|and the repository exists\.|@+.*@+|hint: .*)$/;

/** The last two telling lines of what git printed (for a status condition: one line, what went wrong). */
export function gitReason(output: string): string {
  const lines = output
    .split('\n')
    .map((l) => l.trim())
    .filter(Boolean);
  const telling = lines.filter((l) => !BOILERPLATE.test(l));
  return (telling.length ? telling : lines).slice(-2).join(' ');
}

/** Git's object id of a blob with this content (what `git ls-files -s` reports). */
/** Desired contents are cached Buffers that rarely change: their blob ids are remembered per Buffer. */
const blobShas = new WeakMap<Buffer, string>();

export function blobSha(content: Buffer): string {
  let sha = blobShas.get(content);
  if (!sha) {
    sha = createHash('sha1').update(`blob ${content.length}\0`).update(content).digest('hex');
    blobShas.set(content, sha);
  }
  return sha;
}

export class GitWriter {
  private readonly opts: GitWriterOptions;
  private readonly run: ToolRunner;
  private prepared = false;
  /** The commit this writer last pushed and the blob id of each file in it. */
  private pushed: { sha: string; roots: string; files: Map<string, string> } | undefined;

  constructor(opts: GitWriterOptions) {
    this.opts = opts;
    this.run = opts.run ?? toolRunner(opts.spawn);
  }

  /** What must never appear in an error: the password or token of basic auth. */
  private secrets(): string[] {
    return this.opts.auth.kind === 'basic' ? [this.opts.auth.password] : [];
  }

  private env(): Record<string, string> {
    const env: Record<string, string> = {
      PATH: process.env.PATH ?? '/usr/bin:/bin',
      HOME: this.opts.workDir,
      GIT_TERMINAL_PROMPT: '0',
      ...GIT_MALLOC_ENV,
      GIT_CONFIG_NOSYSTEM: '1',
      GIT_AUTHOR_NAME: this.opts.author.name,
      GIT_AUTHOR_EMAIL: this.opts.author.email,
      GIT_COMMITTER_NAME: this.opts.author.name,
      GIT_COMMITTER_EMAIL: this.opts.author.email,
    };
    const { auth } = this.opts;
    // Credentials go through the environment (not argv, which any local user can read in ps).
    if (auth.kind === 'basic')
      Object.assign(env, {
        GIT_CONFIG_COUNT: '1',
        GIT_CONFIG_KEY_0: 'http.extraHeader',
        GIT_CONFIG_VALUE_0: `Authorization: Basic ${Buffer.from(`${auth.username}:${auth.password}`).toString('base64')}`,
      });
    if (auth.kind === 'ssh') {
      const key = join(this.opts.workDir, '..', `${this.repoId()}.key`);
      const hosts = join(this.opts.workDir, '..', `${this.repoId()}.known_hosts`);
      writeFileSync(key, auth.privateKey.endsWith('\n') ? auth.privateKey : `${auth.privateKey}\n`, { mode: 0o600 });
      writeFileSync(hosts, auth.knownHosts ?? '', { mode: 0o600 });
      env.GIT_SSH_COMMAND = `ssh -i ${key} -o IdentitiesOnly=yes -o UserKnownHostsFile=${hosts} -o StrictHostKeyChecking=${auth.knownHosts ? 'yes' : 'accept-new'}`;
    }
    return env;
  }

  private repoId(): string {
    return createHash('sha1').update(this.opts.url).digest('hex').slice(0, 12);
  }

  private async git(args: string[], input?: Buffer): Promise<{ code: number; stdout: string; stderr: string }> {
    try {
      const r = await this.run('git', args, {
        cwd: this.opts.workDir,
        env: this.env(),
        timeoutMs: this.opts.timeoutMs ?? 120_000,
        ...(input !== undefined ? { input } : {}),
      });
      return { code: r.code ?? 1, stdout: r.stdout.toString('utf8'), stderr: r.stderr };
    } catch (err) {
      if (err instanceof ToolMissingError) throw new GitError(`cannot run git (${errorMessage(err.cause)}); install it: apt-get install git`, { cause: err });
      throw err;
    }
  }

  private async must(args: string[]): Promise<string> {
    const r = await this.git(args);
    if (r.code !== 0)
      throw new GitError(`git ${args[0]} failed for ${this.opts.url}: ${gitReason(r.stderr || r.stdout)}`, {
        secrets: this.secrets(),
      });
    return r.stdout;
  }

  private async prepare(): Promise<void> {
    if (this.prepared && existsSync(join(this.opts.workDir, 'HEAD'))) return;
    this.pushed = undefined;
    if (!existsSync(join(this.opts.workDir, 'HEAD'))) {
      rmSync(this.opts.workDir, { recursive: true, force: true });
      mkdirSync(this.opts.workDir, { recursive: true });
      await this.must(['init', '-q', '--bare', '-b', this.opts.branch]);
      await this.must(['remote', 'add', 'origin', this.opts.url]);
    } else await this.must(['remote', 'set-url', 'origin', this.opts.url]);
    this.prepared = true;
  }

  /** A ref's commit: read from its file when git left it loose (no process), else through rev-parse. */
  private async readRef(ref: string): Promise<string> {
    try {
      const sha = readFileSync(join(this.opts.workDir, ref), 'utf8').trim();
      if (/^[0-9a-f]{40}([0-9a-f]{24})?$/.test(sha)) return sha;
    } catch {
      // packed or missing: ask git
    }
    return (await this.must(['rev-parse', ref])).trim();
  }

  /** Fetches the branch; returns its tip, or undefined when the remote branch does not exist yet. */
  private async fetchTip(): Promise<string | undefined> {
    const ref = `refs/remotes/origin/${this.opts.branch}`;
    const fetch = await this.git(['fetch', '-q', '--no-tags', 'origin', `+refs/heads/${this.opts.branch}:${ref}`]);
    if (fetch.code !== 0) {
      if (!/couldn't find remote ref|could not find remote ref/i.test(fetch.stderr))
        throw new GitError(`cannot fetch ${this.opts.url} (branch ${this.opts.branch}): ${gitReason(fetch.stderr)}`, {
          secrets: this.secrets(),
        });
      await this.git(['update-ref', '-d', ref]);
      return undefined;
    }
    return this.readRef(ref);
  }

  async sync(req: SyncRequest): Promise<SyncResult> {
    await this.prepare();
    for (let attempt = 0; ; attempt++) {
      // Optimistic first attempt on what this writer pushed last; any refusal falls back to the fetched tip.
      const roots = JSON.stringify([...req.roots].sort());
      const base = attempt === 0 && this.pushed?.roots === roots ? this.pushed : undefined;
      const tip = base ? base.sha : await this.fetchTip();
      const commit = await this.commit(req, tip, base?.files);
      // Nothing to change by our memory: look at the repository itself, so edits made there by hand are repaired.
      if (!commit && base) continue;
      if (!commit) return { version: tip ?? '', changed: 0 };
      const push = await this.git(['push', '-q', '--porcelain', 'origin', `${commit.sha}:refs/heads/${this.opts.branch}`]);
      if (push.code === 0) {
        this.pushed = { sha: commit.sha, roots, files: commit.files };
        return { version: commit.sha, changed: commit.changed };
      }
      this.pushed = undefined;
      const lostRace = /rejected|non-fast-forward|fetch first|stale info/i.test(push.stderr + push.stdout);
      if (base) continue; // the branch moved under us (or our memory is stale): start over from a fetch
      if (!lostRace || attempt >= 3)
        throw new GitError(`cannot push to ${this.opts.url}: ${gitReason(push.stderr || push.stdout)}`, {
          secrets: this.secrets(),
        });
    }
  }

  /**
   * Makes one commit on top of `tip` in which the roots hold exactly the desired files, with `git fast-import`
   * (a single pack, no working tree: only the files that differ are sent). Returns undefined when nothing differs.
   */
  private async commit(
    req: SyncRequest,
    tip: string | undefined,
    known?: Map<string, string>,
  ): Promise<{ sha: string; changed: number; files: Map<string, string> } | undefined> {
    const current = new Map<string, string>(known);
    if (tip && !known) {
      const listing = await this.must(['ls-tree', '-r', '-z', '--full-tree', tip, ...(req.roots.includes('') ? [] : ['--', ...req.roots])]);
      for (const entry of listing.split('\0')) {
        if (!entry) continue;
        const tab = entry.indexOf('\t');
        current.set(entry.slice(tab + 1), entry.slice(0, tab).split(' ')[2] as string);
      }
    }
    const chunks: Buffer[] = [];
    const changedPaths: string[] = [];
    const files = new Map<string, string>();
    for (const [path, content] of req.files) {
      const sha = blobSha(content);
      files.set(path, sha);
      if (current.get(path) === sha) continue;
      chunks.push(Buffer.from(`M 100644 inline ${quotePath(path)}\ndata ${content.length}\n`), content, Buffer.from('\n'));
      changedPaths.push(path);
    }
    for (const path of current.keys()) {
      if (req.files.has(path)) continue;
      chunks.push(Buffer.from(`D ${quotePath(path)}\n`));
      changedPaths.push(path);
    }
    const changed = changedPaths.length;
    if (!changed) return undefined;
    const { name, email } = this.opts.author;
    const when = `${Math.floor(Date.now() / 1000)} +0000`;
    const text = typeof req.message === 'string' ? req.message : req.message(changedPaths);
    const message = Buffer.from(text);
    const ref = `refs/fleetops/${this.opts.branch}`;
    // With no tip the ref is reset first, so the commit is a root commit even if an earlier attempt left one.
    const head = Buffer.from(
      `${tip ? '' : `reset ${ref}\n\n`}commit ${ref}\nauthor ${name} <${email}> ${when}\ncommitter ${name} <${email}> ${when}\ndata ${message.length}\n${text}\n${tip ? `from ${tip}\n` : ''}`,
    );
    const r = await this.git(['fast-import', '--quiet', '--force', '--done'], Buffer.concat([head, ...chunks, Buffer.from('\ndone\n')]));
    if (r.code !== 0) throw new GitError(`cannot write the commit for ${this.opts.url}: ${gitReason(r.stderr)}`, { secrets: this.secrets() });
    return { sha: await this.readRef(ref), changed, files };
  }
}

/** A path as fast-import reads it: quoted C-style when it has characters that need it. */
function quotePath(path: string): string {
  if ([...path].some((ch) => ch.charCodeAt(0) < 0x20)) throw new GitError(`file name ${JSON.stringify(path)} has control characters`);
  return /["\\\s]/.test(path) || path.startsWith('"') ? `"${path.replace(/\\/g, '\\\\').replace(/"/g, '\\"')}"` : path;
}
