import { after, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { chmodSync, copyFileSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { stepShell } from '../../src/workflows/runtime/BwrapRuntime.ts';
import { findBusybox, isStaticExecutable } from '../../src/lib/staticBusybox.ts';

describe('the shell a step starts in', () => {
  const dir = mkdtempSync(join(tmpdir(), 'fleetops-step-shell-'));
  const busybox = findBusybox();
  after(() => rmSync(dir, { recursive: true, force: true }));

  it('is the static busybox when every user may run it', { skip: busybox && isStaticExecutable(busybox) ? false : 'no static busybox here' }, () => {
    const copy = join(dir, 'busybox');
    copyFileSync(busybox!, copy);
    chmodSync(copy, 0o755);
    const shell = stepShell([copy]);
    assert.deepEqual(shell, [copy, 'sh']);
    // It sets the limits a step gets as /bin/sh does (processes with -u, file size in 512-byte blocks).
    const [file = '', ...args] = shell;
    const limits = execFileSync(file, [...args, '-c', '{ ulimit -p 77 2>/dev/null || ulimit -u 77; } && ulimit -f 8 || exit 125; exec cat /proc/self/limits'], {
      encoding: 'utf8',
    });
    assert.match(limits, /Max processes\s+77\s+77/);
    assert.match(limits, /Max file size\s+4096\s+4096/);
  });

  it('is /bin/sh when busybox is missing, dynamically linked, or closed to other users', () => {
    assert.deepEqual(stepShell([join(dir, 'missing')]), ['/bin/sh']);
    assert.equal(isStaticExecutable('/bin/sh'), false); // dash or bash: linked against libc
    assert.deepEqual(stepShell(['/bin/sh']), ['/bin/sh']);
    const script = join(dir, 'not-elf');
    writeFileSync(script, '#!/bin/sh\n');
    chmodSync(script, 0o755);
    assert.deepEqual(stepShell([script]), ['/bin/sh']);
    if (busybox && isStaticExecutable(busybox)) {
      const closed = join(dir, 'closed');
      copyFileSync(busybox, closed);
      chmodSync(closed, 0o750);
      assert.deepEqual(stepShell([closed]), ['/bin/sh']);
    }
  });
});
