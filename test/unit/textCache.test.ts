import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { TextCache } from '../../src/store/TextCache.ts';

describe('text cache', () => {
  it('evicts the least recently used beyond its budget, down to 90%', () => {
    const cache = new TextCache({ maxChars: 100 });
    for (let i = 0; i < 10; i++) cache.remember(`k${i}`, 'x'.repeat(10), i + 1);
    assert.equal(cache.get('k0'), 'x'.repeat(10)); // k0 is now the freshest
    cache.remember('k10', 'x'.repeat(10), 11);
    assert.equal(cache.get('k1'), undefined, 'the stalest went');
    assert.equal(cache.get('k2'), undefined, 'and the next, down to 90 characters');
    assert.equal(cache.get('k3'), 'x'.repeat(10), 'no more');
    assert.equal(cache.get('k0'), 'x'.repeat(10), 'a read keeps an entry fresh');
  });

  it('moves an entry read only from the older half, which keeps it as fresh as eviction needs', () => {
    const cache = new TextCache({ maxChars: 100 });
    for (let i = 0; i < 10; i++) cache.remember(`k${i}`, 'x'.repeat(10), i + 1);
    for (let i = 0; i < 5; i++) cache.get('k8'); // in the fresher half: left where it is
    cache.get('k2'); // in the older half: moved to the fresh end
    for (let i = 10; i < 13; i++) cache.remember(`k${i}`, 'x'.repeat(10), i + 1);
    assert.deepEqual(
      ['k0', 'k1', 'k2', 'k3', 'k4', 'k5', 'k8'].map((k) => cache.get(k) !== undefined),
      [false, false, true, false, false, true, true],
      'the stalest went, not the entries read',
    );
  });

  it('takes a row read from the database unless the object changed while it was read, or a newer version is known', () => {
    const cache = new TextCache();
    const read = (id: string, text: string, rv: number, meanwhile = (): void => undefined): void => {
      cache.beginRead(id);
      meanwhile();
      cache.endRead(id, { text, rv });
    };
    cache.remember('a', 'a@5', 5);
    read('a', 'a@3', 3);
    assert.equal(cache.get('a'), 'a@5', 'an older read does not replace a newer version');
    read('b', 'b@6', 6, () => cache.remember('b', undefined, 7));
    assert.equal(cache.get('b'), undefined, 'a read from before the deletion does not bring it back');
    read('c', 'c@8', 8, () => {
      cache.remember('c', 'c@9', 9);
      cache.remember('c', undefined, 10);
      cache.remember('c', 'c@11', 11);
      cache.remember('filler', 'x'.repeat(100), 12);
    });
    assert.equal(cache.get('c'), 'c@11', 'a change while the read was under way wins, even one dropped again since');
    read('d', 'd@4', 4);
    assert.equal(cache.get('d'), 'd@4');
    cache.beginRead('e');
    cache.endRead('e');
    assert.equal(cache.get('e'), undefined, 'a read that found nothing keeps nothing');
  });

  it('keeps what it reads while full: only the object read counts, not the entries dropped for room', () => {
    const cache = new TextCache({ maxChars: 100 });
    for (let i = 0; i < 10; i++) cache.remember(`k${i}`, 'x'.repeat(10), 100 + i); // full: every new entry evicts
    for (let i = 0; i < 5; i++) {
      cache.beginRead(`old${i}`);
      cache.remember(`new${i}`, 'x'.repeat(10), 200 + i); // another object's change, which evicts
      cache.endRead(`old${i}`, { text: 'y'.repeat(10), rv: i + 1 }); // an object last changed long ago
      assert.equal(cache.get(`old${i}`), 'y'.repeat(10), `read ${i} kept`);
    }
    cache.beginRead('k9');
    cache.beginRead('k9');
    cache.remember('k9', undefined, 300);
    cache.endRead('k9', { text: 'x'.repeat(10), rv: 109 });
    cache.endRead('k9', { text: 'x'.repeat(10), rv: 109 });
    assert.equal(cache.get('k9'), undefined, 'two reads under way both yield to the deletion');
    cache.beginRead('k9');
    cache.endRead('k9', { text: 'x'.repeat(10), rv: 301 });
    assert.equal(cache.get('k9'), 'x'.repeat(10), 'a read begun after it is kept');
  });

  it('hands out copies of an object parsed once per version, each its own, never a stale one', () => {
    const cache = new TextCache({ maxObjects: 2 });
    const text = (n: number): string => JSON.stringify({ metadata: { name: 'a', resourceVersion: String(n) }, spec: { list: [n] } });
    cache.remember('a', text(1), 1);
    const first = cache.object('a');
    const second = cache.object('a');
    assert.deepEqual(first, JSON.parse(text(1)));
    assert.deepEqual(second, first);
    assert.notEqual(second, first, 'a copy each');
    (second?.spec as { list: number[] }).list.push(99);
    assert.deepEqual(cache.object('a'), JSON.parse(text(1)), "a reader's change does not reach the next reader");
    // A commit hands its parsed object over as the template (shared with watchers, who only read it); readers get
    // copies of it, never the template itself; a later version replaces it.
    const committed = JSON.parse(text(2));
    cache.remember('a', text(2), 2, committed);
    const read = cache.object('a');
    assert.deepEqual(read, JSON.parse(text(2)));
    assert.notEqual(read, committed, 'a copy, not the shared template');
    (read?.spec as { list: number[] }).list.push(99);
    assert.deepEqual(committed, JSON.parse(text(2)), "a reader's change does not reach the template");
    cache.remember('a', text(3), 3);
    assert.deepEqual(cache.object('a'), JSON.parse(text(3)), 'a new text without a parsed copy is parsed again');
    cache.remember('a', undefined, 4);
    assert.equal(cache.object('a'), undefined, 'deleted');
    // Only the most recently used objects stay parsed; the others are parsed from their text again.
    for (const id of ['b', 'c', 'd']) cache.remember(id, text(5), 5, JSON.parse(text(5)));
    for (const id of ['b', 'c', 'd']) assert.deepEqual(cache.object(id), JSON.parse(text(5)));
    // A text parsed for its object: from the template only when it is the template's very text.
    cache.remember('e', text(6), 6, JSON.parse(text(6)));
    assert.deepEqual(cache.parsed('e', text(6)), JSON.parse(text(6)));
    assert.deepEqual(cache.parsed('e', text(7)), JSON.parse(text(7)), 'another version is parsed');
  });

  it('hands a reader that only reads the template itself, and a copy to every other reader', () => {
    const cache = new TextCache();
    const text = JSON.stringify({ metadata: { name: 'ns', resourceVersion: '1' } });
    const committed = JSON.parse(text);
    cache.remember('ns', text, 1, committed);
    assert.equal(cache.object('ns', true), committed, 'the shared template, not a copy');
    assert.notEqual(cache.object('ns'), committed, 'a copy for a reader that may change it');
    // Without a template yet, a shared read parses once and keeps what it parsed as the template.
    cache.remember('other', text, 2);
    const parsed = cache.object('other', true);
    assert.deepEqual(parsed, committed);
    assert.equal(cache.object('other', true), parsed);
    assert.notEqual(cache.object('other'), parsed);
    // A store reading a row's text inside its transaction: the template when it was made from that very text.
    assert.equal(cache.readOnly('ns', text), committed, 'the template of this text');
    const newer = JSON.stringify({ metadata: { name: 'ns', resourceVersion: '3' } });
    assert.deepEqual(cache.readOnly('ns', newer), JSON.parse(newer), 'another text is parsed, not answered with the template');
    assert.deepEqual(cache.readOnly('unknown', newer), JSON.parse(newer));
  });

  it("keeps a text read only as its template when the cache holds that very text, and never another's", () => {
    const cache = new TextCache({ maxObjects: 1 });
    const text = (name: string, rv: number): string => JSON.stringify({ metadata: { name, resourceVersion: String(rv) }, spec: { holder: 'me' } });
    cache.remember('lease', text('lease', 1), 1, JSON.parse(text('lease', 1)));
    cache.remember('other', text('other', 2), 2, JSON.parse(text('other', 2))); // one template at most: the lease's goes
    const first = cache.readOnly('lease', text('lease', 1));
    assert.deepEqual(first, JSON.parse(text('lease', 1)));
    assert.equal(cache.readOnly('lease', text('lease', 1)), first, 'parsed once, then the template');
    assert.equal(cache.object('lease', true), first, 'and the template shared readers get');
    const stale = cache.readOnly('lease', text('lease', 0));
    assert.deepEqual(stale, JSON.parse(text('lease', 0)));
    assert.equal(cache.object('lease', true), first, 'a text the cache does not hold is not kept as its template');
  });

  it("tells a committed object's identity without its template or a parse", () => {
    const cache = new TextCache({ maxObjects: 1 });
    const object = (name: string, rv: number): { metadata: Record<string, string> } => ({
      metadata: { name, resourceVersion: String(rv), uid: `uid-${name}`, creationTimestamp: '2026-01-02T03:04:05Z' },
    });
    cache.remember('a', JSON.stringify(object('a', 7)), 7, JSON.parse(JSON.stringify(object('a', 7))));
    cache.remember('b', JSON.stringify(object('b', 8)), 8, JSON.parse(JSON.stringify(object('b', 8)))); // a's template goes
    assert.deepEqual(cache.identity('a'), { rv: 7, uid: 'uid-a', creationTimestamp: '2026-01-02T03:04:05Z' });
    cache.remember('c', JSON.stringify(object('c', 9)), 9); // remembered without its object (a read): no identity known
    assert.equal(cache.identity('c'), undefined);
    cache.remember('a', undefined, 10);
    assert.equal(cache.identity('a'), undefined, 'deleted');
  });
});
