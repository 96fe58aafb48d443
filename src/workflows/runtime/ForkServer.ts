/**
 * Starts processes through a small fork server: a Perl program (perl-base, part of every Debian and Ubuntu system) that
 * forks and execs what it is asked to, and sends back each process's output and exit. A process started by Node.js
 * is first a fork of Node.js — its page tables and mappings copied, then torn down again by the exec — about 1 ms of
 * CPU more than a fork of a process of a few MB (measured: 1,000 `sh -c 'echo hi'` with their output read, 2.2–2.3
 * ms each from Node.js, 1.2–1.4 ms from Perl). Every pipeline step is such a process. Where Perl is missing the
 * fallback launcher (Node's spawn) is used.
 *
 * The channel: requests on the server's stdin, a line each, fields hex-encoded and separated by tabs (id, uid, gid,
 * file, args); answers on its stdout: `S <id> <pid>` started, `F <id> <hex message> <errno name>` could not start,
 * `O <id> <length>` and that many bytes of output, `X <id> <code or -1> <signal number>` ended, after all its output.
 * Each process gets a session of its own (its group is killed as a whole), stdin from /dev/null, stdout and stderr
 * into one pipe, and the uid and gid asked for. When the server's stdin closes (its owner is gone, even killed) it
 * kills every group it started and exits.
 */
import { spawn as nodeSpawn, spawnSync, type ChildProcess } from 'node:child_process';
import { constants } from 'node:os';
import { LaunchError, type LaunchRequest, type LaunchResult, type ProcessLauncher } from './ProcessLauncher.ts';
import { supervise, type StartedProcess } from './supervise.ts';
import type { SpawnFn } from './LocalLauncher.ts';

export const FORK_SERVER_PROGRAM = String.raw`
use strict;
use warnings;
use POSIX ();
use IO::Select;
$| = 1;
binmode STDOUT;
my $sel = IO::Select->new(\*STDIN);
my (%out, %pid_of, %id_of, %open, %status);
my $reap = 0;
$SIG{CHLD} = sub { $reap = 1 };
$SIG{PIPE} = 'IGNORE';
my $inbuf = '';
sub hex_of { return unpack('H*', shift); }
sub finish {
  my ($id) = @_;
  return if $open{$id} || !exists $status{$id};
  my $st = delete $status{$id};
  delete $id_of{delete $pid_of{$id}};
  delete $open{$id};
  my ($code, $sig) = POSIX::WIFSIGNALED($st) ? (-1, POSIX::WTERMSIG($st)) : (POSIX::WEXITSTATUS($st), 0);
  print STDOUT "X $id $code $sig\n";
}
sub reap {
  $reap = 0;
  while ((my $pid = waitpid(-1, POSIX::WNOHANG())) > 0) {
    my $id = $id_of{$pid};
    next unless defined $id;
    $status{$id} = $?;
    finish($id);
  }
}
sub refuse {
  my ($id, $message, $errno) = @_;
  my ($name) = grep { $!{$_} } keys %!;
  print STDOUT "F $id " . hex_of($message) . " " . ($errno // $name // 'EIO') . "\n";
}
sub start {
  my ($id, $uid, $gid, $file, @args) = map { pack('H*', $_) } split /\t/, shift, -1;
  pipe(my $r, my $w) or return refuse($id, "pipe: $!");
  pipe(my $er, my $ew) or return refuse($id, "pipe: $!");
  my $pid = fork;
  return refuse($id, "fork: $!") unless defined $pid;
  if ($pid == 0) {
    close $r; close $er;
    $SIG{CHLD} = 'DEFAULT'; $SIG{PIPE} = 'DEFAULT';
    POSIX::setsid();
    open(STDIN, '<', '/dev/null');
    open(STDOUT, '>&', $w); open(STDERR, '>&', $w);
    close $w;
    my $fail = sub { my ($name) = grep { $!{$_} } keys %!; syswrite $ew, ($name // 'EIO') . " $_[0]"; POSIX::_exit(127); };
    if ($gid ne '') { $) = "$gid $gid"; POSIX::setgid($gid) or $fail->("setgid $gid: $!"); }
    if ($uid ne '') { POSIX::setuid($uid) or $fail->("setuid $uid: $!"); }
    { no warnings 'exec'; exec { $file } $file, @args; }
    $fail->("$!");
  }
  close $w; close $ew;
  my $failed = '';
  while (sysread($er, my $chunk, 4096)) { $failed .= $chunk; }
  close $er;
  if ($failed ne '') {
    close $r;
    waitpid($pid, 0);
    my ($errno, $message) = split / /, $failed, 2;
    return refuse($id, $message, $errno);
  }
  $pid_of{$id} = $pid; $id_of{$pid} = $id; $open{$id} = 1;
  $out{fileno $r} = [$id, $r];
  $sel->add($r);
  print STDOUT "S $id $pid\n";
}
for (;;) {
  reap() if $reap;
  my @ready = $sel->can_read(0.1);
  for my $h (@ready) {
    if (fileno($h) == fileno(STDIN)) {
      my $n = sysread(STDIN, $inbuf, 65536, length $inbuf);
      if (!$n) { kill 'KILL', -$_ for keys %id_of; exit 0; }
      while ((my $nl = index($inbuf, "\n")) >= 0) {
        my $line = substr($inbuf, 0, $nl);
        substr($inbuf, 0, $nl + 1) = '';
        start($line);
      }
      next;
    }
    my ($id, $r) = @{ $out{fileno $h} };
    my $n = sysread($r, my $chunk, 65536);
    if ($n) { print STDOUT "O $id " . length($chunk) . "\n" . $chunk; next; }
    $sel->remove($r);
    delete $out{fileno $r};
    close $r;
    $open{$id} = 0;
    reap();
    finish($id);
  }
  reap() if !@ready;
}
`;

function isSignal(name: string): name is NodeJS.Signals {
  return name in constants.signals;
}

/** Signal names by number, for the exits the server reports. */
const SIGNAL_NAMES = new Map<number, NodeJS.Signals>(Object.entries(constants.signals).flatMap(([name, n]) => (isSignal(name) ? [[n, name]] : [])));

export interface ForkServerOptions {
  /** Where runs go when Perl cannot be started here. */
  fallback: ProcessLauncher;
  /** The Perl interpreter (default `perl` on the PATH). */
  perl?: string;
  spawn?: SpawnFn;
  now?: () => number;
}

/** A process the server was asked to start, until it has ended. */
class ServerProcess implements StartedProcess {
  pid: number | undefined;
  private readonly file: string;
  readonly exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  /** Settles when the server has started it or could not. */
  readonly started: Promise<void>;
  private listener: ((chunk: string) => void) | undefined;
  private buffered: string[] = [];
  private settleStart!: (err?: Error) => void;
  private settleExit!: (result: { code: number | null; signal: NodeJS.Signals | null } | Error) => void;

  constructor(file: string) {
    this.file = file;
    this.started = new Promise((resolve, reject) => (this.settleStart = (err) => (err ? reject(err) : resolve())));
    this.exited = new Promise((resolve, reject) => (this.settleExit = (r) => (r instanceof Error ? reject(r) : resolve(r))));
    // Only one of the two is awaited when it fails.
    this.exited.catch(() => undefined);
  }

  onOutput(listener: (chunk: string) => void): void {
    this.listener = listener;
    for (const chunk of this.buffered) listener(chunk);
    this.buffered = [];
  }

  output(chunk: string): void {
    if (this.listener) this.listener(chunk);
    else this.buffered.push(chunk);
  }

  began(pid: number): void {
    this.pid = pid;
    this.settleStart();
  }

  refused(message: string, code: string | undefined): void {
    const err = new LaunchError(`cannot start ${this.file}: ${message}${code ? ` (${code})` : ''}`, code ? { code } : undefined);
    this.settleStart(err);
    this.settleExit(err);
  }

  ended(code: number | null, signal: NodeJS.Signals | null): void {
    this.settleExit({ code, signal });
  }

  lost(err: LaunchError): void {
    this.settleStart(err);
    this.settleExit(err);
  }
}

/** One server process, with the runs sent to it and what it has said that is not parsed yet. */
interface Server {
  readonly process: ChildProcess;
  readonly running: Map<string, ServerProcess>;
  inbox: Buffer;
}

export class ForkServer implements ProcessLauncher {
  private readonly opts: ForkServerOptions;
  private readonly now: () => number;
  private server: Server | undefined;
  private available: boolean | undefined;
  private nextId = 1;

  constructor(opts: ForkServerOptions) {
    this.opts = opts;
    this.now = opts.now ?? (() => performance.now());
  }

  /** The server, started on first use and again after it died or was stopped; undefined where Perl cannot run. */
  private serverProcess(): Server | undefined {
    if (this.server) return this.server;
    const perl = this.opts.perl ?? 'perl';
    // Perl's own variables could load code into the server: it runs without them (steps get their env from bwrap).
    const env = Object.fromEntries(Object.entries(process.env).filter(([k]) => !/^PERL/.test(k)));
    this.available ??= !spawnSync(perl, ['-e', 'use POSIX (); use IO::Select;'], { env, stdio: 'ignore' }).error;
    if (!this.available) return undefined;
    const child = (this.opts.spawn ?? nodeSpawn)(perl, ['-e', FORK_SERVER_PROGRAM], { stdio: ['pipe', 'pipe', 'inherit'], env });
    const server: Server = { process: child, running: new Map(), inbox: Buffer.alloc(0) };
    child.stdout?.on('data', (chunk: Buffer) => this.read(server, chunk));
    child.stdin?.on('error', () => undefined); // a server gone is told by its exit
    let ended = false;
    const gone = (why: string): void => {
      if (ended) return;
      ended = true;
      if (this.server === server) this.server = undefined;
      const err = new LaunchError(`the fork server ${why}`);
      for (const p of server.running.values()) p.lost(err);
      server.running.clear();
    };
    child.on('error', (err) => gone(`failed: ${err.message}`));
    child.on('exit', (code, signal) => gone(`exited (${signal ?? `code ${String(code)}`})`));
    this.server = server;
    return server;
  }

  /** Parses a server's answers: lines, each `O` line followed by its bytes. */
  private read(server: Server, chunk: Buffer): void {
    const inbox = server.inbox.length ? Buffer.concat([server.inbox, chunk]) : chunk;
    let at = 0;
    for (;;) {
      const nl = inbox.indexOf(10, at);
      if (nl < 0) break;
      const [type = '', id = '', a = '', b = ''] = inbox.toString('latin1', at, nl).split(' ');
      if (type === 'O') {
        const end = nl + 1 + Number(a);
        if (inbox.length < end) break;
        server.running.get(id)?.output(inbox.toString('utf8', nl + 1, end));
        at = end;
        continue;
      }
      at = nl + 1;
      const proc = server.running.get(id);
      if (!proc) continue;
      if (type === 'S') proc.began(Number(a));
      else {
        server.running.delete(id);
        if (type === 'F') proc.refused(Buffer.from(a, 'hex').toString('utf8'), b || undefined);
        else proc.ended(Number(a) < 0 ? null : Number(a), b === '0' ? null : (SIGNAL_NAMES.get(Number(b)) ?? null));
      }
    }
    server.inbox = at < inbox.length ? inbox.subarray(at) : Buffer.alloc(0);
  }

  async run(req: LaunchRequest, options: { signal?: AbortSignal; onOutput?: (chunk: string) => void } = {}): Promise<LaunchResult> {
    const started = this.now();
    const server = this.serverProcess();
    const stdin = server?.process.stdin;
    if (!server || !stdin) return this.opts.fallback.run(req, options);
    const id = String(this.nextId++);
    const proc = new ServerProcess(req.file);
    server.running.set(id, proc);
    const hex = (s: string): string => Buffer.from(s, 'utf8').toString('hex');
    const user = req.uid !== undefined ? [String(req.uid), String(req.gid ?? req.uid)] : ['', ''];
    stdin.write([id, ...user, req.file, ...req.args].map(hex).join('\t') + '\n');
    await proc.started;
    return supervise(req, proc, { ...options, now: this.now, started });
  }

  /** The server's process id while it runs (diagnostics, tests). */
  get pid(): number | undefined {
    return this.server?.process.pid;
  }

  /**
   * Ends the server: it kills every process group it started and exits, and its runs fail. A later run starts a new
   * one.
   */
  stop(): void {
    const server = this.server;
    this.server = undefined;
    server?.process.stdin?.end();
  }
}
