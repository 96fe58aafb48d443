/** The SQLite store's log checkpointer: a worker thread that starts with writes, ends when idle, and says when it fails. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { copyFileSync, existsSync, mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DatabaseSync } from 'node:sqlite';
import { WalCheckpointer } from '../../src/store/WalCheckpointer.ts';

const until = async (what: () => boolean): Promise<void> => {
  while (!what()) await new Promise((r) => setTimeout(r, 10));
};

/** Rows of `t` in the database file alone, without its log: what checkpoints have copied into it. */
function rowsInFile(path: string): number {
  const copy = `${path}.copy`;
  copyFileSync(path, copy);
  const db = new DatabaseSync(copy, { readOnly: true });
  try {
    return Number(db.prepare('SELECT count(*) AS n FROM t').get()?.n ?? 0);
  } catch {
    return 0; // the table itself is not in the file yet
  } finally {
    db.close();
  }
}

test('checkpoints while there are writes, ends its worker when idle, and starts it again with the next write', { timeout: 60_000 }, async () => {
  const path = join(mkdtempSync(join(tmpdir(), 'fo-wal-')), 'db.sqlite');
  const db = new DatabaseSync(path);
  db.exec('PRAGMA journal_mode = WAL; PRAGMA wal_autocheckpoint = 0; CREATE TABLE t (x)');
  const failures: Error[] = [];
  const checkpointer = new WalCheckpointer({ path, everyMs: 20, idleMs: 50, onFailure: (err) => failures.push(err) });
  assert.equal(checkpointer.running, false); // no writes, no thread
  db.exec('INSERT INTO t VALUES (1)');
  checkpointer.wrote();
  await until(() => rowsInFile(path) === 1);
  await until(() => !checkpointer.running);
  db.exec('INSERT INTO t VALUES (2)');
  checkpointer.wrote();
  await until(() => rowsInFile(path) === 2);
  // The worker's answer comes after its checkpoint has written the file: waited for (a busy machine delays it).
  await until(() => checkpointer.checkpoints >= 2);
  await checkpointer.stop();
  db.close();
  assert.equal(existsSync(`${path}-wal`), false);
  assert.deepEqual(failures, []);
});

test('says when its worker cannot checkpoint', { timeout: 60_000 }, async () => {
  const failed = new Promise<Error>((resolve) => {
    const checkpointer = new WalCheckpointer({ path: join(tmpdir(), 'no-such-dir', 'db.sqlite'), everyMs: 1, onFailure: resolve });
    checkpointer.wrote();
  });
  assert.match((await failed).message, /checkpoints of .*db\.sqlite go back to the writer/);
});
