/**
 * The layer rule of the linter fails on an upward import (the kinds this code base had: workflows importing
 * controllers, statestores importing workflows, the CLI importing the composition root, a controller importing the
 * SQLite store) and lets downward and type-only imports through.
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { ESLint } from 'eslint';

const root = join(import.meta.dirname, '..', '..');
const eslint = new ESLint({ cwd: root });

/** Lints an existing file with one import added at its top; returns the layer rule's messages. */
async function layerErrors(file: string, importLine: string): Promise<string[]> {
  const text = `${importLine}\n${readFileSync(join(root, file), 'utf8')}`;
  const [result] = await eslint.lintText(text, { filePath: join(root, file) });
  return (result?.messages ?? []).filter((m) => m.ruleId === '@typescript-eslint/no-restricted-imports').map((m) => m.message);
}

describe('the layer rule', () => {
  for (const [file, line] of [
    ['src/workflows/outputs.ts', "import { ensureObject } from '../controllers/shared/ensure.ts';"],
    ['src/statestores/layout.ts', "import { collectOutputs } from '../workflows/outputs.ts';"],
    ['src/cli/context.ts', "import { startFleetOps } from '../main.ts';"],
    ['src/controllers/shared/ensure.ts', "import { SqliteStore } from '../../store/SqliteStore.ts';"],
    ['src/api/types.ts', "import { Registry } from '../registry/Registry.ts';"],
    ['src/gitserver/gitHttpBackend.ts', "import { GitWriter } from '../statestores/GitWriter.ts';"],
  ] as const) {
    it(`refuses ${line} in ${file}`, async () => {
      const errors = await layerErrors(file, line);
      assert.equal(errors.length, 1, errors.join('\n'));
      assert.match(errors[0]!, /may import only/);
    });
  }
  it('allows downward imports and type-only imports', async () => {
    assert.deepEqual(await layerErrors('src/controllers/shared/ensure.ts', "import { rfc3339Seconds } from '../../api/time.ts';"), []);
    assert.deepEqual(await layerErrors('src/workflows/outputs.ts', "import type { Client } from '../client/Client.ts';"), []);
  });
});
