/**
 * The token file (`<data dir>/tokens.json`): bootstrap identities, made with one admin token on first start. Teams
 * in it keep working through RoleBindings (ADR 0010). A file edited into another shape is refused with what is
 * wrong and where.
 */
import { randomBytes } from 'node:crypto';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { errorMessage } from '../api/errors.ts';
import { isPlainObject } from '../api/types.ts';
import type { TokenEntry } from './auth.ts';

export class TokenFileError extends Error {
  constructor(message: string, options?: ErrorOptions) {
    super(message, options);
    this.name = 'TokenFileError';
  }
}

interface TokenFile {
  users: TokenEntry[];
}

/** Reads the token file, creating it with one admin token on first start. */
export function loadTokens(dataDir: string): TokenEntry[] {
  const path = join(dataDir, 'tokens.json');
  if (!existsSync(path)) {
    const file: TokenFile = { users: [{ name: 'admin', role: 'admin', namespaces: [], token: randomBytes(24).toString('hex') }] };
    writeFileSync(path, JSON.stringify(file, null, 2) + '\n', { mode: 0o600 });
  }
  return parseTokenFile(path, readFileSync(path, 'utf8'));
}

/** The entries of a token file; a file edited into another shape is refused with what is wrong and where. */
export function parseTokenFile(path: string, text: string): TokenEntry[] {
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch (err) {
    throw new TokenFileError(`${path} is not valid JSON (${errorMessage(err)}): fix it or remove it to get a new admin token`, { cause: err });
  }
  const users = isPlainObject(parsed) ? parsed.users : undefined;
  if (!Array.isArray(users)) throw new TokenFileError(`${path} must hold {"users": [...]}: fix it or remove it to get a new admin token`);
  return users.map((u: unknown, i): TokenEntry => {
    const bad = (what: string): TokenFileError => new TokenFileError(`${path}: users[${i}] ${what}`);
    if (!isPlainObject(u)) throw bad('must be an object with name, role, namespaces and token');
    if (typeof u.name !== 'string' || !u.name) throw bad('needs a name');
    if (u.role !== 'admin' && u.role !== 'team') throw bad('needs role "admin" or "team"');
    if (typeof u.token !== 'string' || u.token.length < 16) throw bad('needs a token of at least 16 characters');
    const namespaces = u.namespaces ?? [];
    if (!Array.isArray(namespaces) || !namespaces.every((n) => typeof n === 'string')) throw bad('namespaces must be a list of names');
    return { name: u.name, role: u.role, namespaces, token: u.token };
  });
}
