/**
 * The audit log: one Kubernetes `audit.k8s.io/v1` Event per write request (JSON lines), at the Metadata level —
 * who, what verb, which object, when, the response code — never a body, so no Secret's data reaches it. The file
 * rotates by size (`audit.log` → `audit.log.1` … `audit.log.<keep>`), as the apiserver's log backend does.
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

export class AuditLog {
  private readonly opts: AuditLogOptions;
  private size: number;
  private failed = false;
  /** The file, kept open for appending (an open and a close per write request cost more than the write). */
  private fd: number | undefined;

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
    const line = `${JSON.stringify(event)}\n`;
    try {
      if (this.size + line.length > (this.opts.maxBytes ?? 100 * 1024 * 1024)) this.rotate();
      // Synchronous: small, and an entry must not be lost to a crash right after the write it records.
      this.fd ??= openSync(this.opts.path, 'a', 0o600);
      writeSync(this.fd, line);
      this.size += Buffer.byteLength(line);
      this.failed = false;
    } catch (err) {
      if (!this.failed) this.opts.logger.error({ err, path: this.opts.path }, 'audit log not written');
      this.failed = true;
    }
  }

  /** Closes the file (a later record opens it again). */
  close(): void {
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
