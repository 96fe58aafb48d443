/** Pipeline outputs are untrusted: paths must stay inside /kratix/output; grouping follows Kratix's rules. */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { buildWorkloadGroups, collectOutputs, OutputError, readDestinationSelectors, safeRelativePath } from '../../src/workflows/outputs.ts';
import { parseYamlBounded } from '../../src/api/boundedYaml.ts';
import { decodeWorkload, md5Hex, ROOT_GROUP_ID } from '../../src/lib/workloads.ts';

const limits = { maxFiles: 100, maxBytes: 1_000_000 };
const tmp = (): string => mkdtempSync(join(tmpdir(), 'fleetops-outputs-'));

describe('safeRelativePath', () => {
  it('normalises relative paths', () => {
    assert.equal(safeRelativePath('a/./b/../c.yaml'), 'a/c.yaml');
    assert.equal(safeRelativePath('deployment.yaml'), 'deployment.yaml');
  });
  for (const bad of ['../x.yaml', 'a/../../x', '/etc/passwd', '..', 'C:\\x', 'a\0b', '.']) {
    it(`refuses ${JSON.stringify(bad)}`, () => assert.throws(() => safeRelativePath(bad), OutputError));
  }
});

describe('collectOutputs', () => {
  it('reads nested files in a stable order', () => {
    const dir = tmp();
    mkdirSync(join(dir, 'platform'));
    writeFileSync(join(dir, 'b.yaml'), 'b');
    writeFileSync(join(dir, 'a.yaml'), 'a');
    writeFileSync(join(dir, 'platform', 'db.yaml'), 'db');
    assert.deepEqual(
      collectOutputs(dir, limits).map((f) => [f.path, f.content.toString()]),
      [
        ['a.yaml', 'a'],
        ['b.yaml', 'b'],
        ['platform/db.yaml', 'db'],
      ],
    );
  });
  it('refuses a symbolic link, even one pointing inside', () => {
    const dir = tmp();
    writeFileSync(join(dir, 'a.yaml'), 'a');
    symlinkSync('/etc/passwd', join(dir, 'leak.yaml'));
    assert.throws(() => collectOutputs(dir, limits), /leak\.yaml is a symbolic link/);
  });
  it('refuses a linked folder', () => {
    const dir = tmp();
    symlinkSync('/etc', join(dir, 'etc'));
    assert.throws(() => collectOutputs(dir, limits), /etc is a symbolic link/);
  });
  it('enforces the size and count limits', () => {
    const dir = tmp();
    writeFileSync(join(dir, 'big.yaml'), 'x'.repeat(2000));
    assert.throws(() => collectOutputs(dir, { maxFiles: 10, maxBytes: 1000 }), /exceed 1000 bytes/);
    for (let i = 0; i < 3; i++) writeFileSync(join(dir, `f${i}`), 'x');
    assert.throws(() => collectOutputs(dir, { maxFiles: 2, maxBytes: 1e6 }), /more than 2 output files/);
  });
});

describe('destination selectors and workload groups', () => {
  const parse = (text: string): Promise<unknown> => Promise.resolve(parseYamlBounded(text));
  it('parses selectors and refuses nested, duplicate or escaping directories', async () => {
    const dir = tmp();
    writeFileSync(join(dir, 'destination-selectors.yaml'), '- directory: platform\n  matchLabels: {environment: platform}\n- matchLabels: {env: dev}\n');
    assert.deepEqual(await readDestinationSelectors(dir, parse), [
      { directory: 'platform', matchLabels: { environment: 'platform' } },
      { matchLabels: { env: 'dev' } },
    ]);
    for (const [body, pattern] of [
      ['- directory: a/b\n  matchLabels: {x: y}\n', /top-level folder/],
      ['- directory: a\n  matchLabels: {x: y}\n- directory: a\n  matchLabels: {x: z}\n', /appears twice/],
      ['- directory: ../up\n  matchLabels: {x: y}\n', /escapes/],
      ['- matchLabels: {}\n', /non-empty/],
      ['{not: a list}\n', /must be a list/],
      ['- [unclosed\n', /not valid YAML/],
    ] as const) {
      writeFileSync(join(dir, 'destination-selectors.yaml'), body);
      await assert.rejects(readDestinationSelectors(dir, parse), pattern);
    }
  });
  it('groups files by selector directory, the rest in the root group with the Promise selectors', () => {
    const files = [
      { path: 'deployment.yaml', content: Buffer.from('d') },
      { path: 'platform/db.yaml', content: Buffer.from('db') },
    ];
    const groups = buildWorkloadGroups(
      files,
      [{ directory: 'platform', matchLabels: { environment: 'platform' } }],
      { environment: 'worker' },
      'resource-workflow',
    );
    assert.equal(groups.length, 2);
    assert.equal(groups[0]!.id, ROOT_GROUP_ID);
    assert.deepEqual(groups[0]!.destinationSelectors, [{ matchLabels: { environment: 'worker' }, source: 'promise' }]);
    assert.equal(decodeWorkload(groups[0]!.workloads[0]!.content).toString(), 'd');
    assert.equal(groups[1]!.id, md5Hex('platform'));
    assert.deepEqual(
      groups[1]!.workloads.map((w) => w.filepath),
      ['platform/db.yaml'],
    );
    assert.deepEqual(groups[1]!.destinationSelectors, [{ matchLabels: { environment: 'platform' }, source: 'resource-workflow' }]);
  });
});
