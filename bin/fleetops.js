#!/usr/bin/env node
// Thin launcher: the CLI is TypeScript run natively by Node 24 (type stripping). On an older Node that fails with a
// syntax error that says nothing useful, so the version is checked first.
const [major] = process.versions.node.split('.').map(Number);
if (major < 24) {
  process.stderr.write(
    `error: fleetops needs Node.js 24 or later and this is Node.js ${process.versions.node}; run it as "npx fleetops" in the FleetOps checkout (npm ci brings Node 24), or install Node.js 24\n`,
  );
  process.exit(1);
}
const { runCli } = await import('../src/cli/main.ts');
await runCli(process.argv);
