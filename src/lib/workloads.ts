/** Work payloads as Kratix stores them: base64 of gzip of the file bytes; group ids are md5 of the directory. */
import { createHash } from 'node:crypto';
import { gunzipSync, gzipSync } from 'node:zlib';

export function encodeWorkload(content: string | Buffer): string {
  return gzipSync(content, { level: 6 }).toString('base64');
}

export function decodeWorkload(content: string): Buffer {
  return gunzipSync(Buffer.from(content, 'base64'));
}

export function md5Hex(text: string): string {
  return createHash('md5').update(text).digest('hex');
}

/** md5(".") — the id of a Work's root workload group. */
export const ROOT_GROUP_ID = md5Hex('.');
