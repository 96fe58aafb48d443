/**
 * The Git writer against a real bare repository that others push to as well: the writer builds on the commit it
 * pushed last without fetching, so these check that a branch moved by someone else is noticed (the write is refused,
 * redone on the new tip, nothing of theirs outside the managed folders is lost) and that hand edits inside the managed
 * folders are repaired even when FleetOps has nothing new to write. Twice: a bare repository on this machine is
 * written in place, and one with a hook that a push runs is pushed to (its hook runs for every write).
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync, writeFileSync, rmSync, mkdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { GitWriter, PACKS_KEPT } from '../../src/statestores/GitWriter.ts';

const run = promisify(execFile);
const git = async (cwd: string, ...args: string[]): Promise<string> =>
  (
    await run('git', ['-C', cwd, ...args], {
      env: { ...process.env, GIT_AUTHOR_NAME: 't', GIT_AUTHOR_EMAIL: 't@t', GIT_COMMITTER_NAME: 't', GIT_COMMITTER_EMAIL: 't@t' },
    })
  ).stdout;

for (const mode of ['written in place', 'pushed to (a post-receive hook)'] as const)
  describe(`Git writer with other writers on the branch, the repository ${mode}`, () => {
    const dir = mkdtempSync(join(tmpdir(), 'fleetops-gitwriter-'));
    const remote = join(dir, 'remote.git');
    const hooked = mode !== 'written in place';
    /** Pushes the hook saw (one line per push). */
    const hookRuns = (): string[] => (existsSync(join(dir, 'hook.log')) ? readFileSync(join(dir, 'hook.log'), 'utf8').trim().split('\n') : []);
    const writer = new GitWriter({
      url: `file://${remote}`,
      branch: 'main',
      workDir: join(dir, 'mirror'),
      author: { name: 'fleetops', email: 'f@f' },
      auth: { kind: 'none' },
    });
    const files = (entries: Record<string, string>): Map<string, Buffer> => new Map(Object.entries(entries).map(([k, v]) => [k, Buffer.from(v)]));
    const tree = async (): Promise<string[]> => (await git(remote, 'ls-tree', '-r', '--name-only', 'main')).trim().split('\n').sort();
    const show = (path: string): Promise<string> => git(remote, 'show', `main:${path}`);

    /** Someone else's clone: commits `change` and pushes. */
    async function outsidePush(change: (clone: string) => void): Promise<void> {
      const clone = join(dir, `clone-${Math.random().toString(36).slice(2)}`);
      await run('git', ['clone', '-q', remote, clone]);
      change(clone);
      await git(clone, 'add', '-A');
      await git(clone, 'commit', '-q', '-m', 'by hand');
      await git(clone, 'push', '-q', 'origin', 'main');
      rmSync(clone, { recursive: true, force: true });
    }

    before(async () => {
      await run('git', ['init', '-q', '--bare', '-b', 'main', remote]);
      if (hooked) writeFileSync(join(remote, 'hooks', 'post-receive'), `#!/bin/sh\ncat >> ${join(dir, 'hook.log')}\n`, { mode: 0o755 });
    });
    after(() => rmSync(dir, { recursive: true, force: true }));

    it('redoes a write on the new tip when someone else pushed, keeping their files outside the managed folder', async () => {
      const first = await writer.sync({ roots: ['worker'], files: files({ 'worker/a.yaml': 'a: 1\n' }), message: 'one' });
      assert.equal(first.changed, 1);
      await outsidePush((clone) => {
        writeFileSync(join(clone, 'README.md'), 'theirs\n');
        writeFileSync(join(clone, 'worker', 'stray.yaml'), 'stray: true\n');
      });
      const second = await writer.sync({ roots: ['worker'], files: files({ 'worker/a.yaml': 'a: 2\n', 'worker/b.yaml': 'b: 1\n' }), message: 'two' });
      assert.equal(second.version, (await git(remote, 'rev-parse', 'main')).trim());
      assert.deepEqual(await tree(), ['README.md', 'worker/a.yaml', 'worker/b.yaml']);
      assert.equal(await show('worker/a.yaml'), 'a: 2\n');
      assert.equal(await show('README.md'), 'theirs\n');
      // Their commit is in the history: the write was rebuilt on it, not forced over it.
      assert.match(await git(remote, 'log', '--format=%s', 'main'), /two\nby hand\none/);
      // Pushed to: every write ran the hook (the hand push too); in place: no push at all, and no mirror kept.
      assert.equal(hookRuns().length, hooked ? 3 : 0);
      assert.equal(existsSync(join(dir, 'mirror', 'HEAD')), hooked);
    });

    it('repairs hand edits in the managed folder when it has nothing new to write', async () => {
      await outsidePush((clone) => {
        rmSync(join(clone, 'worker', 'b.yaml'));
        mkdirSync(join(clone, 'worker', 'sub'), { recursive: true });
        writeFileSync(join(clone, 'worker', 'sub', 'extra.yaml'), 'extra: true\n');
      });
      const r = await writer.sync({ roots: ['worker'], files: files({ 'worker/a.yaml': 'a: 2\n', 'worker/b.yaml': 'b: 1\n' }), message: 'three' });
      assert.equal(r.changed, 2);
      assert.deepEqual(await tree(), ['README.md', 'worker/a.yaml', 'worker/b.yaml']);
      const again = await writer.sync({ roots: ['worker'], files: files({ 'worker/a.yaml': 'a: 2\n', 'worker/b.yaml': 'b: 1\n' }), message: 'four' });
      assert.equal(again.changed, 0, 'no empty commit');
      assert.equal(again.version, r.version);
    });

    it('compares only the paths said to have changed in the map it last wrote, and every path of any other map', async () => {
      const desired = files({ 'worker/a.yaml': 'a: 3\n', 'worker/b.yaml': 'b: 1\n', 'worker/c.yaml': 'c: 1\n' });
      await writer.sync({ roots: ['worker'], files: desired, message: 'five' });
      assert.deepEqual(await tree(), ['README.md', 'worker/a.yaml', 'worker/b.yaml', 'worker/c.yaml']);
      // The same map, changed at the paths named: an update, an addition and a removal.
      desired.set('worker/a.yaml', Buffer.from('a: 4\n'));
      desired.set('worker/d.yaml', Buffer.from('d: 1\n'));
      desired.delete('worker/c.yaml');
      const delta = await writer.sync({
        roots: ['worker'],
        files: desired,
        message: 'six',
        changed: new Set(['worker/a.yaml', 'worker/c.yaml', 'worker/d.yaml']),
      });
      assert.equal(delta.changed, 3);
      assert.deepEqual(await tree(), ['README.md', 'worker/a.yaml', 'worker/b.yaml', 'worker/d.yaml']);
      assert.equal(await show('worker/a.yaml'), 'a: 4\n');
      // A change the hint does not name is not looked for in the same map (when the named ones change)...
      desired.set('worker/b.yaml', Buffer.from('b: 2\n'));
      desired.set('worker/d.yaml', Buffer.from('d: 2\n'));
      const named = await writer.sync({ roots: ['worker'], files: desired, message: 'seven', changed: new Set(['worker/d.yaml']) });
      assert.equal(named.changed, 1);
      assert.equal(await show('worker/b.yaml'), 'b: 1\n');
      // ...but a hint with another map is ignored: every path is compared.
      const other = new Map(desired);
      const full = await writer.sync({ roots: ['worker'], files: other, message: 'eight', changed: new Set() });
      assert.equal(full.changed, 1);
      assert.equal(await show('worker/b.yaml'), 'b: 2\n');
      // A branch moved by someone else: the hint is of no use, the write is redone from the repository.
      await outsidePush((clone) => writeFileSync(join(clone, 'worker', 'd.yaml'), 'd: by hand\n'));
      other.set('worker/e.yaml', Buffer.from('e: 1\n'));
      const moved = await writer.sync({ roots: ['worker'], files: other, message: 'nine', changed: new Set(['worker/e.yaml']) });
      assert.equal(moved.changed, 2, 'the new file, and the hand edit repaired');
      assert.equal(await show('worker/d.yaml'), 'd: 2\n');
      assert.deepEqual(await tree(), ['README.md', 'worker/a.yaml', 'worker/b.yaml', 'worker/d.yaml', 'worker/e.yaml']);
    });

    it('keeps the packs of the repository it writes few, every commit whole', async () => {
      // The repository a write makes its commit in: the remote itself in place, else the mirror it pushes from.
      const written = hooked ? join(dir, 'mirror') : remote;
      const packs = (): number => readdirSync(join(written, 'objects', 'pack')).filter((f) => f.endsWith('.pack')).length;
      const loose = async (): Promise<number> => Number(/^count: (\d+)$/m.exec(await git(written, 'count-objects', '-v'))?.[1]);
      const desired = files({ 'worker/a.yaml': 'a: 0\n' });
      const commitsBefore = Number((await git(remote, 'rev-list', '--count', 'main')).trim());
      const writes = PACKS_KEPT + 8;
      let most = 0;
      for (let i = 1; i <= writes; i++) {
        // Small writes and big ones (fast-import would leave a write of fewer than 100 objects loose).
        const paths = Array.from({ length: i % 4 ? 2 : 120 }, (_, j) => `worker/w${i}/f${j}.yaml`);
        for (const p of paths) desired.set(p, Buffer.from(`${p}: ${i}\n`));
        await writer.sync({ roots: ['worker'], files: desired, message: `write ${i}`, changed: new Set(paths) });
        most = Math.max(most, packs());
      }
      assert.ok(most <= PACKS_KEPT + 1, `at most ${PACKS_KEPT + 1} packs after a write, saw ${most}`);
      assert.ok(packs() < writes, 'packs were merged');
      assert.equal(await loose(), 0, 'no loose objects');
      assert.equal(Number((await git(remote, 'rev-list', '--count', 'main')).trim()), commitsBefore + writes);
      await git(written, 'fsck', '--strict', '--no-dangling');
      await git(remote, 'fsck', '--strict', '--no-dangling');
      assert.equal(await show(`worker/w${writes}/f119.yaml`), `worker/w${writes}/f119.yaml: ${writes}\n`, 'the last write, a big one');
    });
  });

describe('Git writer errors', () => {
  it('never carry the credentials of the URL or of the auth into the message (it reaches status conditions)', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'fleetops-gitwriter-'));
    const writer = new GitWriter({
      // Nothing listens on port 9: the clone fails, and git's message quotes the URL it tried.
      url: 'https://deploy:url-secret-123@127.0.0.1:9/state.git',
      branch: 'main',
      workDir: join(dir, 'mirror'),
      auth: { kind: 'basic', username: 'bot', password: 'auth-secret-456' },
      author: { name: 'fleetops', email: 'fleetops@example.com' },
    });
    try {
      await assert.rejects(writer.sync({ roots: ['x'], files: new Map([['x/a.yaml', Buffer.from('a: 1\n')]]), message: 'test' }), (err: unknown) => {
        const text = `${(err as Error).message} ${String((err as Error).stack)}`;
        assert.doesNotMatch(text, /url-secret-123|auth-secret-456/);
        assert.match((err as Error).message, /127\.0\.0\.1/);
        return true;
      });
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
