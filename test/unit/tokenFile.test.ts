/** The token file: made with an admin token on first start, and refused with what is wrong when edited badly. */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadTokens, parseTokenFile, TokenFileError } from '../../src/apiserver/tokenFile.ts';

describe('the token file', () => {
  it('is made on first start with one admin token, readable by its owner only', () => {
    const dir = mkdtempSync(join(tmpdir(), 'fo-tokens-'));
    const [admin, ...rest] = loadTokens(dir);
    assert.equal(rest.length, 0);
    assert.equal(admin?.role, 'admin');
    assert.ok((admin?.token.length ?? 0) >= 32);
    assert.equal(statSync(join(dir, 'tokens.json')).mode & 0o777, 0o600);
    assert.deepEqual(loadTokens(dir), [admin]);
  });

  it('reads teams with their namespaces', () => {
    const users = parseTokenFile('t.json', JSON.stringify({ users: [{ name: 'team-a', role: 'team', namespaces: ['a'], token: 'x'.repeat(20) }] }));
    assert.deepEqual(users, [{ name: 'team-a', role: 'team', namespaces: ['a'], token: 'x'.repeat(20) }]);
  });

  it('refuses a broken file, saying what is wrong and where', () => {
    const refused = (text: string, pattern: RegExp): void =>
      assert.throws(
        () => parseTokenFile('/d/tokens.json', text),
        (e: unknown) => e instanceof TokenFileError && pattern.test(e.message),
      );
    refused('{not json', /\/d\/tokens.json is not valid JSON/);
    refused('[]', /must hold \{"users": \[\.\.\.\]\}/);
    refused('{"users":[{"name":"a","role":"root","token":"xxxxxxxxxxxxxxxxxxxx"}]}', /users\[0\] needs role "admin" or "team"/);
    refused('{"users":[{"name":"a","role":"admin","token":"short"}]}', /users\[0\] needs a token of at least 16 characters/);
    refused('{"users":[{"name":"a","role":"team","token":"xxxxxxxxxxxxxxxxxxxx","namespaces":"a"}]}', /namespaces must be a list/);
    const dir = mkdtempSync(join(tmpdir(), 'fo-tokens-'));
    writeFileSync(join(dir, 'tokens.json'), '{"users": 3}');
    assert.throws(() => loadTokens(dir), TokenFileError);
  });
});
