/**
 * Work payloads: base64 of gzip, as Kratix stores them. Small files are written as a stored (uncompressed) deflate
 * block, which any gzip reader reads; larger ones compressed by zlib. Both read back byte for byte, by FleetOps and by
 * zlib, and a payload whose stored bytes do not match its checksum is refused.
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { gunzipSync, gzipSync } from 'node:zlib';
import { decodeWorkload, encodeWorkload, STORED_MAX_BYTES } from '../../src/lib/workloads.ts';

const small = 'apiVersion: v1\nkind: ConfigMap\nmetadata: {name: todo}\ndata: {revision: "2"}\n';
const large = Array.from({ length: 200 }, (_, i) => `  key-${i}: value ${i} ünïcödé\n`).join('');

describe('Work payloads', () => {
  it('reads back what it writes, small and large, text and bytes, empty included', () => {
    const binary = Buffer.from(Array.from({ length: STORED_MAX_BYTES }, (_, i) => (i * 37) % 256));
    for (const content of [small, large, '', binary, Buffer.from(large)]) {
      const encoded = encodeWorkload(content);
      const expected = typeof content === 'string' ? Buffer.from(content) : content;
      assert.deepEqual(decodeWorkload(encoded), expected);
      assert.deepEqual(gunzipSync(Buffer.from(encoded, 'base64')), expected, 'any gzip reader reads it');
    }
  });

  it('stores small files uncompressed and compresses larger ones', () => {
    const storedSize = Buffer.from(encodeWorkload(small), 'base64').length;
    assert.equal(storedSize, Buffer.byteLength(small) + 23, 'a gzip header, one stored block, a trailer');
    const compressed = Buffer.from(encodeWorkload(large), 'base64');
    assert.ok(compressed.length < Buffer.byteLength(large) / 2, `compressed: ${compressed.length} bytes of ${Buffer.byteLength(large)}`);
  });

  it('reads payloads zlib wrote, compressed or not', () => {
    for (const content of [small, large, 'x']) {
      for (const level of [0, 6, 9]) {
        assert.equal(decodeWorkload(gzipSync(content, { level }).toString('base64')).toString(), content);
      }
    }
  });

  it('refuses a stored payload whose bytes do not match its checksum', () => {
    const gzip = Buffer.from(encodeWorkload(small), 'base64');
    gzip[20] = gzip[20]! ^ 0x20; // one letter's case, inside the stored data
    assert.throws(() => decodeWorkload(gzip.toString('base64')), /CRC-32/);
    assert.throws(() => gunzipSync(gzip), 'zlib refuses it too');
  });

  it('answers a buffer of its own, not a view of a larger one', () => {
    const out = decodeWorkload(encodeWorkload(small));
    assert.equal(out.buffer.byteLength, out.length);
  });
});
