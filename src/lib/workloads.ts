/** Work payloads as Kratix stores them: base64 of gzip of the file bytes; group ids are md5 of the directory. */
import { createHash } from 'node:crypto';
import { gunzipSync, gzipSync } from 'node:zlib';

export function encodeWorkload(content: string | Buffer): string {
  return gzipSync(content, { level: 6 }).toString('base64');
}

/**
 * The file's bytes in memory of their own: zlib's output is a view of its whole output chunk (64 KiB), and a copy
 * from Buffer's pool a view of a shared 64 KiB slab; either, cached with a placement, would keep the whole block alive
 * — and V8 counts that memory as external, so it also brings collections forward.
 */
export function decodeWorkload(content: string): Buffer {
  const out = gunzipSync(Buffer.from(content, 'base64'));
  if (out.length === out.buffer.byteLength) return out;
  const own = Buffer.allocUnsafeSlow(out.length);
  out.copy(own);
  return own;
}

export function md5Hex(text: string): string {
  return createHash('md5').update(text).digest('hex');
}

/** md5(".") — the id of a Work's root workload group. */
export const ROOT_GROUP_ID = md5Hex('.');
