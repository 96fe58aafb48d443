/** Work payloads as Kratix stores them: base64 of gzip of the file bytes; group ids are md5 of the directory. */
import { createHash } from 'node:crypto';
import { crc32, gunzipSync, gzipSync } from 'node:zlib';

/**
 * Files up to this size are stored in their gzip member uncompressed (a deflate "stored" block): deflate saves a
 * few bytes on them at best, and each gzipSync or gunzipSync call sets up a zlib stream of its own (state buffers of
 * hundreds of KiB, a Node.js stream object), which cost more than the rest of a small Work's write — in a fleet
 * update of one small file per resource, the payloads' compression and decompression were ~6% of FleetOps' main
 * thread. Any gzip reader reads them: it is the format's own way of storing data that does not compress.
 */
export const STORED_MAX_BYTES = 256;

/** gzip's header with no optional fields (FLG 0), no modification time, unknown OS, as zlib writes it. */
const GZIP_HEADER = Buffer.from([0x1f, 0x8b, 0x08, 0x00, 0, 0, 0, 0, 0x00, 0xff]);
/** A stored block's header: BFINAL and BTYPE in one byte, then LEN and its ones' complement NLEN. */
const BLOCK_HEADER_BYTES = 5;
/** The gzip header, the block's header, and the trailer (CRC-32 and size, 8 bytes). */
const STORED_OVERHEAD = GZIP_HEADER.length + BLOCK_HEADER_BYTES + 8;

export function encodeWorkload(content: string | Buffer): string {
  const bytes = typeof content === 'string' ? Buffer.from(content, 'utf8') : content;
  if (bytes.length > STORED_MAX_BYTES) return gzipSync(bytes, { level: 6 }).toString('base64');
  const out = Buffer.allocUnsafe(STORED_OVERHEAD + bytes.length);
  GZIP_HEADER.copy(out, 0);
  let at = GZIP_HEADER.length;
  out[at++] = 0x01; // BFINAL 1, BTYPE 00 (stored), the rest of the byte padding
  out.writeUInt16LE(bytes.length, at);
  out.writeUInt16LE(~bytes.length & 0xffff, at + 2);
  at += 4;
  at += bytes.copy(out, at);
  out.writeUInt32LE(crc32(bytes), at);
  out.writeUInt32LE(bytes.length, at + 4);
  return out.toString('base64');
}

/**
 * The file's bytes in memory of their own: zlib's output is a view of its whole output chunk (64 KiB), and a copy
 * from Buffer's pool a view of a shared 64 KiB slab; either, cached with a placement, would keep the whole block alive
 * — and V8 counts that memory as external, so it also brings collections forward.
 */
export function decodeWorkload(content: string): Buffer {
  const gzip = Buffer.from(content, 'base64');
  const out = storedContent(gzip) ?? gunzipSync(gzip);
  if (out.length === out.buffer.byteLength) return out;
  const own = Buffer.allocUnsafeSlow(out.length);
  out.copy(own);
  return own;
}

/**
 * The content of a gzip member written as `encodeWorkload` writes small files (no optional header fields, one final
 * stored block), checked against its CRC-32 and size; undefined for any other gzip data, which zlib reads.
 */
function storedContent(gzip: Buffer): Buffer | undefined {
  const start = GZIP_HEADER.length;
  if (gzip.length < STORED_OVERHEAD || gzip[0] !== 0x1f || gzip[1] !== 0x8b || gzip[2] !== 0x08 || gzip[3] !== 0x00 || gzip[start] !== 0x01) return undefined;
  const length = gzip.readUInt16LE(start + 1);
  if ((gzip.readUInt16LE(start + 3) ^ 0xffff) !== length || gzip.length !== STORED_OVERHEAD + length) return undefined;
  const content = gzip.subarray(start + BLOCK_HEADER_BYTES, start + BLOCK_HEADER_BYTES + length);
  const trailer = start + BLOCK_HEADER_BYTES + length;
  if (gzip.readUInt32LE(trailer) !== crc32(content) || gzip.readUInt32LE(trailer + 4) !== length) {
    throw new Error('invalid gzip payload: its stored data does not match its CRC-32 and size');
  }
  return content;
}

export function md5Hex(text: string): string {
  return createHash('md5').update(text).digest('hex');
}

/** md5(".") — the id of a Work's root workload group. */
export const ROOT_GROUP_ID = md5Hex('.');
