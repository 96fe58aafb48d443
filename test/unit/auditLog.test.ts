import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, existsSync, rmSync } from 'node:fs';
import { pathToFileURL } from 'node:url';
import { spawnSync } from 'node:child_process';
import { setImmediate as turn } from 'node:timers/promises';
import { join } from 'node:path';
import { tmpdir } from 'node:os';
import pino from 'pino';
import { AuditLog } from '../../src/apiserver/AuditLog.ts';

const record = (name: string) => ({
  verb: 'create',
  requestURI: `/api/v1/namespaces/default/configmaps/${name}`,
  user: { username: 'admin', groups: ['system:masters'] },
  sourceIPs: ['127.0.0.1'],
  objectRef: { resource: 'configmaps', namespace: 'default', name, apiVersion: 'v1' },
  code: 201,
  received: new Date('2026-01-01T00:00:00Z'),
});

describe('audit log', () => {
  it('appends one line per write and rotates by size, the newest entries in the live file', () => {
    const dir = mkdtempSync(join(tmpdir(), 'fo-audit-'));
    try {
      const path = join(dir, 'audit.log');
      const log = new AuditLog({ path, logger: pino({ level: 'silent' }), maxBytes: 2_000, keep: 2 });
      for (let i = 0; i < 30; i++) log.record(record(`cm${i}`));
      log.close();
      const live = readFileSync(path, 'utf8')
        .trim()
        .split('\n')
        .map((l) => JSON.parse(l) as { objectRef: { name: string } });
      assert.equal(live[live.length - 1]?.objectRef.name, 'cm29');
      assert.ok(existsSync(`${path}.1`) && existsSync(`${path}.2`), 'two rotated files kept');
      assert.ok(!existsSync(`${path}.3`), 'no more than keep');
      const older = readFileSync(`${path}.1`, 'utf8')
        .trim()
        .split('\n')
        .map((l) => JSON.parse(l) as { objectRef: { name: string } });
      assert.equal(Number(older[older.length - 1]?.objectRef.name.slice(2)) + 1, Number(live[0]?.objectRef.name.slice(2)), 'rotation loses no entry');
      // A record after close opens the file again.
      log.record(record('after'));
      log.close();
      assert.match(readFileSync(path, 'utf8'), /"after"/);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('writes the records of a turn at its end, without being closed', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'fo-audit-'));
    try {
      const path = join(dir, 'audit.log');
      const log = new AuditLog({ path, logger: pino({ level: 'silent' }) });
      for (let i = 0; i < 3; i++) log.record(record(`turn${i}`));
      await turn();
      const names = readFileSync(path, 'utf8')
        .trim()
        .split('\n')
        .map((l) => (JSON.parse(l) as { objectRef: { name: string } }).objectRef.name);
      assert.deepEqual(names, ['turn0', 'turn1', 'turn2']);
      log.close();
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('writes what was recorded when the process dies of an uncaught error in the same turn', () => {
    const dir = mkdtempSync(join(tmpdir(), 'fo-audit-'));
    try {
      const path = join(dir, 'audit.log');
      // A process of its own that records and then dies of an uncaught error before the turn ends.
      const script = [
        `import pino from 'pino';`,
        `import { AuditLog } from ${JSON.stringify(pathToFileURL(join(import.meta.dirname, '../../src/apiserver/AuditLog.ts')).href)};`,
        `const log = new AuditLog({ path: ${JSON.stringify(path)}, logger: pino({ level: 'silent' }) });`,
        `log.record({ ...${JSON.stringify(record('before-crash'))}, received: new Date() });`,
        `throw new Error('crash after the record');`,
      ].join('\n');
      const r = spawnSync(process.execPath, ['--input-type=module', '--eval', script], { encoding: 'utf8', cwd: join(import.meta.dirname, '../..') });
      assert.notEqual(r.status, 0, 'the process died');
      assert.match(r.stderr, /crash after the record/);
      assert.match(readFileSync(path, 'utf8'), /"before-crash"/);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
