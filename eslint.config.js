// Lint rules that catch real bugs: floating promises, type-only imports, no `any` leaking out.
import js from '@eslint/js';
import tseslint from 'typescript-eslint';

/**
 * The layers (see docs/architecture.md): each folder of src/ may import only the folders below it. A folder's rule
 * lists the folders above it or beside it; `import type` is allowed across (types carry no code at run time).
 */
const ALL = [
  'api',
  'lib',
  'telemetry',
  'workers',
  'store',
  'registry',
  'workflows',
  'statestores',
  'gitserver',
  'client',
  'controller',
  'controllers',
  'apiserver',
  'cli',
];
const BELOW = {
  api: [],
  lib: ['api'],
  telemetry: ['api', 'lib'],
  workers: ['api', 'lib'],
  store: ['api', 'lib', 'telemetry'],
  registry: ['api', 'lib', 'telemetry', 'store'],
  workflows: ['api', 'lib', 'telemetry', 'workers'],
  statestores: ['api', 'lib', 'telemetry'],
  gitserver: ['api', 'lib'],
  client: ['api', 'lib', 'telemetry', 'registry'],
  controller: ['api', 'lib', 'telemetry'],
  controllers: ['api', 'lib', 'telemetry', 'client', 'controller', 'registry', 'workflows', 'statestores'],
  apiserver: ['api', 'lib', 'telemetry', 'workers', 'store', 'registry'],
  cli: ['api', 'lib', 'client'],
};
const layerRules = Object.entries(BELOW).map(([layer, below]) => {
  const forbidden = ALL.filter((l) => l !== layer && !below.includes(l));
  return {
    files: [`src/${layer}/**/*.ts`],
    rules: {
      '@typescript-eslint/no-restricted-imports': [
        'error',
        {
          patterns: [
            {
              group: [...forbidden.map((l) => `**/${l}/**`), '**/main.ts', '**/dataDir.ts']
                .filter((g) => !(layer === 'cli' && g === '**/main.ts'))
                .concat(layer === 'cli' ? ['../main.ts', '../../main.ts'] : []),
              allowTypeImports: true,
              message: `src/${layer}/ may import only ${below.length ? below.map((b) => `src/${b}/`).join(', ') : 'nothing else of src/'} (layers point downward; see docs/architecture.md)`,
            },
          ],
        },
      ],
    },
  };
});

export default tseslint.config(
  { ignores: ['node_modules/**', 'dist/**', 'tmp/**', 'portal/dist/**', 'bin/**'] },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  {
    files: ['**/*.ts', '**/*.tsx'],
    languageOptions: { parserOptions: { projectService: true, tsconfigRootDir: import.meta.dirname } },
    rules: {
      '@typescript-eslint/no-floating-promises': [
        'error',
        { allowForKnownSafeCalls: [{ from: 'package', package: 'node:test', name: ['describe', 'it', 'test', 'suite', 'before', 'after'] }] },
      ],
      '@typescript-eslint/consistent-type-imports': 'error',
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_', destructuredArrayIgnorePattern: '^_' }],
      '@typescript-eslint/no-explicit-any': 'error',
      'no-constant-condition': ['error', { checkLoops: false }],
    },
  },
  ...layerRules,
  {
    // `fleetops image build|list` and `fleetops promise test` work on this machine's image cache and sandbox, not
    // through the API: the commands that use the workflows layer (loaded only when they run, so others start fast).
    files: ['src/cli/commands/image.ts', 'src/cli/commands/promiseTest.ts'],
    rules: { '@typescript-eslint/no-restricted-imports': 'off' },
  },
);
