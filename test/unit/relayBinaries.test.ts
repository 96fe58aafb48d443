import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { findRelayBinaries, parseLdd } from '../../src/workflows/runtime/relayBinaries.ts';

describe('the API relay binaries', () => {
  it('reads the loader and the library folders from ldd', () => {
    const out = [
      '\tlinux-vdso.so.1 (0x00007ffd)',
      '\tlibstdc++.so.6 => /lib/x86_64-linux-gnu/libstdc++.so.6 (0x00007f)',
      '\tlibfoo.so.1 => /opt/foo/lib/libfoo.so.1 (0x00007f)',
      '\tlibc.so.6 => /lib/x86_64-linux-gnu/libc.so.6 (0x00007f)',
      '\t/lib64/ld-linux-x86-64.so.2 (0x00007f)',
    ].join('\n');
    assert.deepEqual(parseLdd(out), { loader: '/lib64/ld-linux-x86-64.so.2', libraryDirs: ['/lib/x86_64-linux-gnu', '/opt/foo/lib'] });
  });

  it('finds them for the Node running FleetOps', () => {
    const found = findRelayBinaries();
    assert.ok(found, 'ldd found the loader');
    for (const p of [found.node, found.loader, found.script, ...found.libraryDirs]) assert.ok(existsSync(p), p);
  });
});
