/**
 * TurnReads: the reads asked for in one turn of the event loop go out together (in batches of at most maxBatch), two
 * reads of one row share an answer, a read asked after a batch was sent waits for the next, and a failed statement
 * fails exactly the reads it carried.
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { TurnReads, type StoredRow } from '../../src/store/TurnReads.ts';
import type { ObjectKey } from '../../src/store/Store.ts';

const key = (name: string): ObjectKey => ({ group: 'g', kind: 'K', namespace: 'ns', name });

/** A table of rows by name, and the statements sent to it (the names each carried). */
function table(rows: Record<string, StoredRow>, fail?: (names: string[]) => boolean) {
  const statements: string[][] = [];
  const read = async (keys: ReadonlyMap<string, { name: string }>): Promise<Map<string, StoredRow>> => {
    const names = [...keys.values()].map((k) => k.name);
    statements.push(names);
    await new Promise((r) => setTimeout(r, 1));
    if (fail?.(names)) throw new Error('connection lost');
    const found = new Map<string, StoredRow>();
    for (const [id, k] of keys) if (rows[k.name]) found.set(id, rows[k.name]!);
    return found;
  };
  return { statements, read };
}

describe('TurnReads', () => {
  it("reads one turn's rows in one statement, shares a row asked twice, and answers absent rows with undefined", async () => {
    const t = table({ a: { rv: 1, text: 'A' }, b: { rv: 2, text: 'B' } });
    const reads = new TurnReads({ read: t.read });
    const answers = await Promise.all(['a', 'b', 'a', 'missing'].map((n) => reads.read(n, key(n))));
    assert.deepEqual(answers, [{ rv: 1, text: 'A' }, { rv: 2, text: 'B' }, { rv: 1, text: 'A' }, undefined]);
    assert.deepEqual(t.statements, [['a', 'b', 'missing']]);
  });

  it('splits a turn larger than maxBatch into statements of at most maxBatch rows, each row in exactly one', async () => {
    const rows: Record<string, StoredRow> = {};
    for (let i = 0; i < 25; i++) rows[`r${i}`] = { rv: i + 1, text: `text ${i}` };
    const t = table(rows);
    const reads = new TurnReads({ read: t.read, maxBatch: 10 });
    const answers = await Promise.all(Object.keys(rows).map((n) => reads.read(n, key(n))));
    assert.deepEqual(answers, Object.values(rows));
    assert.deepEqual(
      t.statements.map((s) => s.length),
      [10, 10, 5],
    );
    assert.deepEqual(t.statements.flat().sort(), Object.keys(rows).sort());
  });

  it('sends a read asked after its turn was sent in a statement of its own, even for a row being read', async () => {
    const t = table({ a: { rv: 1, text: 'A' } });
    const reads = new TurnReads({ read: t.read });
    const first = reads.read('a', key('a'));
    await new Promise((r) => setImmediate(r));
    // The first statement is under way: a read asked now must not take its answer, which may predate the asking.
    const second = reads.read('a', key('a'));
    assert.deepEqual(await Promise.all([first, second]), [
      { rv: 1, text: 'A' },
      { rv: 1, text: 'A' },
    ]);
    assert.deepEqual(t.statements, [['a'], ['a']]);
  });

  it('fails the reads of a statement that failed, and only those', async () => {
    const t = table({ a: { rv: 1, text: 'A' }, b: { rv: 2, text: 'B' } }, (names) => names.includes('a'));
    const reads = new TurnReads({ read: t.read, maxBatch: 1 });
    const [a, again, b] = await Promise.allSettled([reads.read('a', key('a')), reads.read('a', key('a')), reads.read('b', key('b'))]);
    assert.equal(a.status, 'rejected');
    assert.equal(again.status, 'rejected');
    assert.deepEqual(b, { status: 'fulfilled', value: { rv: 2, text: 'B' } });
  });
});
