#!/usr/bin/env node
// Thin launcher: the CLI is TypeScript run natively by Node 24 (type stripping).
const { runCli } = await import('../src/cli/main.ts');
await runCli(process.argv);
