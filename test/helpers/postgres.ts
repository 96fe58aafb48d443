/**
 * A throw-away PostgreSQL cluster for tests and benchmarks: Debian's `initdb` and `pg_ctl` on a temporary directory
 * and a free port on 127.0.0.1 (trust authentication, no fsync: the data lives as long as the test). As root, the
 * cluster runs as the `postgres` user (PostgreSQL refuses root). It can be stopped and started again (an outage),
 * and given a streaming standby (`startStandby`) that can be promoted in the primary's place.
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { appendFileSync, chmodSync, chownSync, existsSync, mkdirSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { freePort } from './ports.ts';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

export interface TestPostgres {
  /** `postgres://…` for the database `fleetops`. */
  url: string;
  port: number;
  dir: string;
  stop(mode?: 'fast' | 'immediate'): void;
  start(): void;
  cleanup(): void;
}

/** The directory of Debian's PostgreSQL binaries (the newest installed), or undefined. */
export function postgresBin(): string | undefined {
  const root = '/usr/lib/postgresql';
  if (!existsSync(root)) return undefined;
  const versions = readdirSync(root)
    .filter((v) => existsSync(join(root, v, 'bin', 'initdb')))
    .sort((a, b) => Number(b) - Number(a));
  return versions[0] ? join(root, versions[0], 'bin') : undefined;
}

const asRoot = process.getuid?.() === 0;

/** Runs a PostgreSQL tool, as `postgres` when we are root. */
function run(bin: string, tool: string, args: string[]): void {
  const [cmd, argv] = asRoot ? ['runuser', ['-u', 'postgres', '--', join(bin, tool), ...args]] : [join(bin, tool), args];
  const r = spawnSync(cmd, argv, { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'], timeout: 60_000 });
  if (r.status !== 0) throw new Error(`${tool} ${args.join(' ')} failed (${r.status}): ${r.stderr || r.stdout}`);
}

function ownDir(dir: string): void {
  if (asRoot) {
    const uid = Number(execFileSync('id', ['-u', 'postgres'], { encoding: 'utf8' }).trim());
    const gid = Number(execFileSync('id', ['-g', 'postgres'], { encoding: 'utf8' }).trim());
    chownSync(dir, uid, gid);
  }
  chmodSync(dir, 0o700);
}

/** A directory of the cluster's own for its socket and lock file (PostgreSQL writes there as its user). */
function socketDir(dir: string): string {
  const run = join(dir, 'run');
  if (!existsSync(run)) {
    mkdirSync(run);
    ownDir(run);
  }
  return run;
}

function cluster(bin: string, dir: string, port: number): TestPostgres {
  const data = join(dir, 'data');
  const log = join(dir, 'log');
  const self: TestPostgres = {
    url: `postgres://postgres@127.0.0.1:${port}/fleetops`,
    port,
    dir,
    start: () => run(bin, 'pg_ctl', ['-D', data, '-l', log, '-w', '-t', '60', 'start']),
    stop: (mode = 'fast') => run(bin, 'pg_ctl', ['-D', data, '-m', mode, '-w', '-t', '60', 'stop']),
    cleanup: () => {
      try {
        self.stop('immediate');
      } catch {
        // already stopped
      }
      rmSync(dir, { recursive: true, force: true });
    },
  };
  return self;
}

export interface StartPostgresOptions {
  /** Lines added to postgresql.conf (e.g. a benchmark's `shared_preload_libraries = 'pg_stat_statements'`). */
  settings?: string[];
}

/** Makes, starts and returns a fresh cluster with an empty database `fleetops`. */
export async function startPostgres(options: StartPostgresOptions = {}): Promise<TestPostgres> {
  const bin = postgresBin();
  if (!bin) throw new Error('PostgreSQL is not installed: run scripts/setup-test-deps.sh (Debian package postgresql)');
  const dir = mkdtempSync(join(tmpdir(), 'fo-pg-'));
  chmodSync(dir, 0o755);
  const data = join(dir, 'data');
  const port = await freePort();
  mkdirSync(data);
  ownDir(data);
  writeFileSync(join(dir, 'log'), '');
  if (asRoot) ownDir(join(dir, 'log'));
  run(bin, 'initdb', ['-D', data, '-U', 'postgres', '--auth=trust', '-E', 'UTF8', '--locale=C.UTF-8']);
  appendFileSync(
    join(data, 'postgresql.conf'),
    [
      `port = ${port}`,
      "listen_addresses = '127.0.0.1'",
      `unix_socket_directories = '${socketDir(dir)}'`,
      'fsync = off',
      'synchronous_commit = off',
      'full_page_writes = off',
      'max_connections = 200',
      'wal_level = replica',
      'max_wal_senders = 4',
      ...(options.settings ?? []),
      '',
    ].join('\n'),
  );
  appendFileSync(join(data, 'pg_hba.conf'), 'host replication postgres 127.0.0.1/32 trust\n');
  const primary = cluster(bin, dir, port);
  primary.start();
  createDatabase(primary, 'fleetops');
  return primary;
}

/** Makes an empty database `name` on the cluster (beside `fleetops`); answers its URL. */
export function createDatabase(db: TestPostgres, name: string): string {
  const bin = postgresBin();
  if (!bin) throw new Error('PostgreSQL is not installed: run scripts/setup-test-deps.sh (Debian package postgresql)');
  run(bin, 'createdb', ['-h', '127.0.0.1', '-p', String(db.port), '-U', 'postgres', name]);
  return db.url.replace(/\/fleetops$/, `/${name}`);
}

/** A streaming standby of `primary` (pg_basebackup -R), started and following; `promote()` makes it a primary. */
export async function startStandby(primary: TestPostgres): Promise<TestPostgres & { promote(): void }> {
  const bin = postgresBin();
  if (!bin) throw new Error('PostgreSQL is not installed');
  const dir = mkdtempSync(join(tmpdir(), 'fo-pg-standby-'));
  chmodSync(dir, 0o755);
  const data = join(dir, 'data');
  writeFileSync(join(dir, 'log'), '');
  if (asRoot) ownDir(join(dir, 'log'));
  mkdirSync(data);
  ownDir(data);
  const port = await freePort();
  run(bin, 'pg_basebackup', ['-h', '127.0.0.1', '-p', String(primary.port), '-U', 'postgres', '-D', data, '-R', '-X', 'stream', '-c', 'fast']);
  appendFileSync(join(data, 'postgresql.conf'), `port = ${port}\nunix_socket_directories = '${socketDir(dir)}'\n`);
  const standby = cluster(bin, dir, port);
  standby.start();
  return { ...standby, promote: () => run(bin, 'pg_ctl', ['-D', data, '-w', 'promote']) };
}
