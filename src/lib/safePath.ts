/**
 * Relative paths from untrusted sources (pipeline outputs, Work files, destination paths) that must stay inside their
 * folder: normalised, no `..` out, not absolute, no NUL.
 */
import { posix } from 'node:path';

export class UnsafePathError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'UnsafePathError';
  }
}

/** `path` normalised, or UnsafePathError saying why it could escape `folder` (a description, e.g. "the output folder"). */
export function relativePathInside(path: string, folder: string, label = 'path'): string {
  if (path.includes('\0')) throw new UnsafePathError(`${label} ${JSON.stringify(path)} contains a NUL byte`);
  if (path.startsWith('/') || /^[a-zA-Z]:/.test(path))
    throw new UnsafePathError(`${label} ${JSON.stringify(path)} is absolute; paths must be relative to ${folder}`);
  const clean = posix.normalize(path.replace(/\\/g, '/'));
  if (clean === '..' || clean.startsWith('../') || clean === '.' || clean === '')
    throw new UnsafePathError(`${label} ${JSON.stringify(path)} escapes ${folder}`);
  return clean;
}
