/**
 * The audit log: one Kubernetes `audit.k8s.io/v1` Event per write request (JSON lines), at the Metadata level —
 * who, what verb, which object, when, the response code — never a body, so no Secret's data reaches it. The file
 * rotates by size (`audit.log` → `audit.log.1` … `audit.log.<keep>`), as the apiserver's log backend does.
 *
 * The records of one turn of the event loop are written together, at the end of that turn (one system call for the
 * writes a store commit answered together, where one each cost a tenth of a create's CPU), and at once when the
 * process exits (an uncaught error included) or the log is closed. Only a process killed outright can lose the
 * records of its last turn, as it can lose a record written after its answer in the apiserver's log backend.
 */
import { randomUUID } from 'node:crypto';
import { closeSync, existsSync, mkdirSync, openSync, renameSync, rmSync, statSync, writeSync } from 'node:fs';
import { dirname } from 'node:path';
import type { Logger } from 'pino';
import type { UserInfo } from '../api/rbac.ts';

export interface AuditObjectRef {
  resource: string;
  subresource?: string;
  namespace?: string;
  name?: string;
  apiGroup?: string;
  apiVersion: string;
}

export interface AuditRecord {
  verb: string;
  requestURI: string;
  user: UserInfo;
  sourceIPs: string[];
  userAgent?: string;
  objectRef: AuditObjectRef;
  code: number;
  received: Date;
}

export interface AuditLogOptions {
  path: string;
  logger: Logger;
  /** Rotate when the file passes this size. Default 100 MiB. */
  maxBytes?: number;
  /** Rotated files kept. Default 5. */
  keep?: number;
  now?: () => Date;
}

/** Logs with records not yet written, written when the process exits (one listener for every log). */
const unwritten = new Set<AuditLog>();
let exitListened = false;

function writeAllAtExit(): void {
  for (const log of unwritten) log.flush();
}

export class AuditLog {
  private readonly opts: AuditLogOptions;
  private size: number;
  private failed = false;
  /** The file, kept open for appending (an open and a close per write request cost more than the write). */
  private fd: number | undefined;
  /** Lines recorded in this turn, not yet written. */
  private pending: string[] = [];
  private flushing: NodeJS.Immediate | undefined;

  constructor(options: AuditLogOptions) {
    this.opts = options;
    mkdirSync(dirname(options.path), { recursive: true, mode: 0o700 });
    this.size = existsSync(options.path) ? statSync(options.path).size : 0;
  }

  record(r: AuditRecord): void {
    const now = (this.opts.now ?? (() => new Date()))();
    const event = {
      kind: 'Event',
      apiVersion: 'audit.k8s.io/v1',
      level: 'Metadata',
      auditID: randomUUID(),
      stage: 'ResponseComplete',
      requestURI: r.requestURI,
      verb: r.verb,
      user: { username: r.user.username, ...(r.user.uid ? { uid: r.user.uid } : {}), groups: r.user.groups },
      sourceIPs: r.sourceIPs,
      ...(r.userAgent ? { userAgent: r.userAgent } : {}),
      objectRef: r.objectRef,
      responseStatus: { metadata: {}, code: r.code },
      requestReceivedTimestamp: r.received.toISOString(),
      stageTimestamp: now.toISOString(),
      annotations: {},
    };
    this.pending.push(`${JSON.stringify(event)}\n`);
    if (this.flushing) return;
    this.flushing = setImmediate(() => this.flush());
    unwritten.add(this);
    if (!exitListened) {
      process.on('exit', writeAllAtExit);
      exitListened = true;
    }
  }

  /** Writes what was recorded (at most one system call per file it lands in). */
  flush(): void {
    if (this.flushing) clearImmediate(this.flushing);
    this.flushing = undefined;
    unwritten.delete(this);
    const lines = this.pending;
    if (lines.length === 0) return;
    this.pending = [];
    const max = this.opts.maxBytes ?? 100 * 1024 * 1024;
    try {
      let chunk = '';
      let chunkBytes = 0;
      for (const line of lines) {
        const bytes = Buffer.byteLength(line);
        if (this.size + chunkBytes + bytes > max && this.size + chunkBytes > 0) {
          this.append(chunk, chunkBytes);
          chunk = '';
          chunkBytes = 0;
          this.rotate();
        }
        chunk += line;
        chunkBytes += bytes;
      }
      this.append(chunk, chunkBytes);
      this.failed = false;
    } catch (err) {
      if (!this.failed) this.opts.logger.error({ err, path: this.opts.path }, 'audit log not written');
      this.failed = true;
    }
  }

  private append(text: string, bytes: number): void {
    if (bytes === 0) return;
    this.fd ??= openSync(this.opts.path, 'a', 0o600);
    writeSync(this.fd, text);
    this.size += bytes;
  }

  /** Writes what was recorded and closes the file (a later record opens it again). */
  close(): void {
    this.flush();
    if (this.fd === undefined) return;
    closeSync(this.fd);
    this.fd = undefined;
  }

  private rotate(): void {
    this.close();
    const keep = this.opts.keep ?? 5;
    const p = this.opts.path;
    rmSync(`${p}.${keep}`, { force: true });
    for (let i = keep - 1; i >= 1; i--) if (existsSync(`${p}.${i}`)) renameSync(`${p}.${i}`, `${p}.${i + 1}`);
    if (existsSync(p)) renameSync(p, `${p}.1`);
    this.size = 0;
  }
}
