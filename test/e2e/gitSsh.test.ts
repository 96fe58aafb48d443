/**
 * A GitStateStore with `authMethod: ssh` (Kratix's secret keys sshPrivateKey, knownHosts) against a real OpenSSH
 * server started by the test on a free port, whose only authorised key runs git-shell: FleetOps pushes a resource's
 * output over ssh, and a knownHosts that does not match the server's host key is refused and reported.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir, userInfo } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { eventually, installPromise, startTestFleet, type TestFleet } from '../helpers/fleet.ts';
import { freePort } from '../helpers/ports.ts';
import { testPromise } from '../helpers/promises.ts';
import { TEST_IMAGE } from '../helpers/images.ts';
import { createDestination, createGitStateStore } from '../helpers/stateStores.ts';

const run = promisify(execFile);
const kratix = '/apis/platform.kratix.io/v1alpha1';

interface SshServer {
  url(repo: string): string;
  repoPath(repo: string): string;
  knownHosts: string;
  clientKey: string;
  stop(): Promise<void>;
}

async function keyPair(path: string): Promise<void> {
  await run('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-C', 'fleetops-test', '-f', path]);
}

/** sshd as the current user, on 127.0.0.1, with its own host key and one key allowed, which may run git only. */
async function startSshServer(dir: string): Promise<SshServer> {
  await keyPair(join(dir, 'host'));
  await keyPair(join(dir, 'client'));
  writeFileSync(join(dir, 'authorized_keys'), `restrict,command="git-shell -c \\"$SSH_ORIGINAL_COMMAND\\"" ${readFileSync(join(dir, 'client.pub'), 'utf8')}`, {
    mode: 0o600,
  });
  const port = await freePort();
  writeFileSync(
    join(dir, 'sshd_config'),
    [
      `Port ${port}`,
      'ListenAddress 127.0.0.1',
      `HostKey ${join(dir, 'host')}`,
      `AuthorizedKeysFile ${join(dir, 'authorized_keys')}`,
      `PidFile ${join(dir, 'sshd.pid')}`,
      'PasswordAuthentication no',
      'KbdInteractiveAuthentication no',
      'UsePAM no',
      'StrictModes no',
      'PermitRootLogin prohibit-password',
      '',
    ].join('\n'),
  );
  // As root, sshd wants its privilege-separation directory.
  if (process.getuid?.() === 0) mkdirSync('/run/sshd', { recursive: true, mode: 0o755 });
  const child: ChildProcess = spawn('/usr/sbin/sshd', ['-D', '-e', '-f', join(dir, 'sshd_config')], { stdio: ['ignore', 'ignore', 'pipe'] });
  let log = '';
  child.stderr?.on('data', (d: Buffer) => (log += d.toString()));
  const exited = new Promise<void>((r) => child.once('exit', () => r()));
  await eventually(
    async () => {
      if (child.exitCode !== null) throw new Error(`sshd exited: ${log}`);
      return run('ssh-keyscan', ['-p', String(port), '-t', 'ed25519', '127.0.0.1']).then(
        (r) => r.stdout.includes('ssh-ed25519'),
        () => false,
      );
    },
    15_000,
    'sshd listening',
  );
  mkdirSync(join(dir, 'repos'));
  const hostKey = readFileSync(join(dir, 'host.pub'), 'utf8').split(' ').slice(0, 2).join(' ');
  return {
    url: (repo) => `ssh://${userInfo().username}@127.0.0.1:${port}${join(dir, 'repos', `${repo}.git`)}`,
    repoPath: (repo) => join(dir, 'repos', `${repo}.git`),
    knownHosts: `[127.0.0.1]:${port} ${hostKey}\n`,
    clientKey: readFileSync(join(dir, 'client'), 'utf8'),
    async stop() {
      if (child.exitCode === null) child.kill('SIGTERM');
      await exited;
    },
  };
}

describe('GitStateStore over ssh', () => {
  let dir: string;
  let ssh: SshServer;
  let fleet: TestFleet;
  before(async () => {
    dir = mkdtempSync(join(tmpdir(), 'fleetops-ssh-'));
    ssh = await startSshServer(dir);
    await run('git', ['init', '-q', '--bare', '-b', 'main', ssh.repoPath('platform')]);
    fleet = await startTestFleet({ stateStoreBatchMs: 50 });
  });
  after(async () => {
    await fleet?.cleanup();
    await ssh?.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  const sshStore = async (name: string, knownHosts: string): Promise<void> => {
    await fleet.client.request('POST', '/api/v1/namespaces/default/secrets', {
      body: { apiVersion: 'v1', kind: 'Secret', metadata: { name: `${name}-ssh` }, stringData: { sshPrivateKey: ssh.clientKey, knownHosts } },
    });
    await createGitStateStore(fleet.client, name, {
      url: ssh.url('platform'),
      branch: 'main',
      authMethod: 'ssh',
      secretRef: { name: `${name}-ssh`, namespace: 'default' },
    });
    await createDestination(fleet.client, `${name}-worker`, { labels: { via: name }, store: name, spec: { filepath: { mode: 'none' } } });
  };

  it("pushes a resource's output with the Secret's key, checking the server against knownHosts", async () => {
    await sshStore('sshstore', ssh.knownHosts);
    await installPromise(
      fleet,
      testPromise({
        kind: 'Memo',
        plural: 'memos',
        destinationSelectors: { via: 'sshstore' },
        pipeline: {
          name: 'write',
          spec: {
            containers: [
              { name: 'write', image: TEST_IMAGE, command: ['sh', '-c', 'printf "kind: ConfigMap\\nmetadata: {name: memo}\\n" > /kratix/output/memo.yaml'] },
            ],
          },
        },
      }),
    );
    await fleet.client.request('POST', '/apis/test.fleetops.dev/v1/namespaces/default/memos', {
      body: { apiVersion: 'test.fleetops.dev/v1', kind: 'Memo', metadata: { name: 'hello' }, spec: {} },
    });
    const clone = join(dir, 'clone');
    await eventually(
      async () => {
        rmSync(clone, { recursive: true, force: true });
        const cloned = await run('git', ['clone', '-q', '-b', 'main', ssh.repoPath('platform'), clone]).then(
          () => true,
          () => false,
        );
        return cloned && existsSync(join(clone, 'sshstore-worker', 'memo.yaml'));
      },
      60_000,
      'the memo pushed over ssh',
    ).catch(async (err: unknown) => {
      throw new Error(`${String(err)}: ${JSON.stringify((await fleet.client.get<{ status?: unknown }>(`${kratix}/gitstatestores/sshstore`)).status)}`);
    });
    assert.match(readFileSync(join(clone, 'sshstore-worker', 'memo.yaml'), 'utf8'), /name: memo/);
  });

  it('refuses a server whose host key is not the one in knownHosts, and says so', async () => {
    await keyPair(join(dir, 'impostor'));
    const impostor = readFileSync(join(dir, 'impostor.pub'), 'utf8').split(' ').slice(0, 2).join(' ');
    await sshStore('wrong-host', ssh.knownHosts.replace(/ssh-ed25519 \S+/, impostor));
    const condition = await eventually(async () => {
      const s = await fleet.client.get<{ status?: { conditions?: { type: string; status: string; message: string }[] } }>(
        `${kratix}/gitstatestores/wrong-host`,
      );
      return s.status?.conditions?.find((c) => c.type === 'Ready' && c.status === 'False');
    }, 60_000);
    assert.match(condition.message, /Host key verification failed|REMOTE HOST IDENTIFICATION HAS CHANGED/);
    assert.doesNotMatch(condition.message, /PRIVATE KEY/);
  });
});
