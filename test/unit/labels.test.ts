import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { labelNeedles, parseLabelSelector } from '../../src/api/labels.ts';
import { isApiError } from '../../src/api/errors.ts';

describe('label selectors (apimachinery grammar)', () => {
  const labels = { env: 'prod', tier: 'backend', n: '5' };
  const cases: [string, boolean][] = [
    ['', true],
    ['env=prod', true],
    ['env==prod', true],
    ['env=dev', false],
    ['env!=dev', true],
    ['missing=', false],
    ['env=', false],
    ['missing!=x', true],
    ['env in (prod,dev)', true],
    ['env in (dev)', false],
    ['env notin (dev)', true],
    ['missing notin (a)', true],
    ['env', true],
    ['missing', false],
    ['!missing', true],
    ['!env', false],
    ['env=prod,tier=backend', true],
    ['env=prod,tier=frontend', false],
    ['  env = prod , tier in ( backend ) ', true],
    ['n>4', true],
    ['n<5', false],
    ['example.com/key=x', false],
  ];
  for (const [sel, want] of cases) it(`"${sel}" → ${want}`, () => assert.equal(parseLabelSelector(sel).matches(labels), want));

  for (const bad of ['env in (a', '=x', 'a b', 'env in a', 'n>x', 'bad key!=v', 'k=v!', 'env in ()', 'env notin ()']) {
    it(`rejects "${bad}" with 400`, () =>
      assert.throws(
        () => parseLabelSelector(bad),
        (e) => isApiError(e, 'BadRequest'),
      ));
  }
  // Every case above: a text of an object with those labels never fails the needles of a selector its labels match,
  // searched as the stores search them (ListOptions.containing: one string of each group).
  const mayMatchText = (needles: string[][], text: string): boolean => needles.every((group) => group.some((n) => text.includes(n)));
  const text = JSON.stringify({ metadata: { name: 'x', labels } });
  for (const [sel, want] of cases)
    if (want)
      it(`"${sel}": its object's text holds what the selector needs`, () => assert.equal(mayMatchText(labelNeedles(parseLabelSelector(sel)), text), true));
  it('asks the text for what a matching label writes, and nothing for what an absent label meets', () => {
    assert.deepEqual(labelNeedles(parseLabelSelector('env=prod,tier in (a,b),n>4,x,y!=z,!w,v notin (a)')), [
      ['"env":"prod"'],
      ['"n":'],
      ['"tier":"a"', '"tier":"b"'],
      ['"x":'],
    ]);
    assert.equal(mayMatchText(labelNeedles(parseLabelSelector('env=dev')), text), false);
  });
  it('prints a canonical, sorted form', () => assert.equal(parseLabelSelector('tier in (a,b),env=prod,!x').toString(), 'env=prod,tier in (a,b),!x'));
});
