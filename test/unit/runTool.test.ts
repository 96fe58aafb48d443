/**
 * Tools FleetOps starts (git, skopeo, umoci) die with it: a process that runs one through toolRunner is killed with
 * SIGKILL, and the tool goes too (the kernel's parent-death signal), instead of working on for nobody.
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync, spawn } from 'node:child_process';
import { eventually } from '../helpers/fleet.ts';
import { ToolMissingError, toolRunner } from '../../src/lib/runTool.ts';

const running = (marker: string): number =>
  execFileSync('ps', ['-eo', 'args'], { encoding: 'utf8' })
    .split('\n')
    .filter((l) => l.includes(marker) && !l.includes('ps -eo') && !l.includes('--input-type')).length;

describe('toolRunner', () => {
  it('takes its tools down when its process is killed', async () => {
    const marker = `fleetops-tool-${process.pid}`;
    const script = `
      const { toolRunner } = await import(${JSON.stringify(new URL('../../src/lib/runTool.ts', import.meta.url).pathname)});
      void toolRunner()('/bin/sh', ['-c', 'sleep 300', '${marker}'], { timeoutMs: 600000 });
      setTimeout(() => console.log('started'), 300);
      setInterval(() => {}, 1000);`;
    const child = spawn(process.execPath, ['--input-type=module', '-e', script], { stdio: ['ignore', 'pipe', 'inherit'] });
    await new Promise<void>((resolve) => child.stdout.on('data', (d: Buffer) => d.toString().includes('started') && resolve()));
    assert.equal(running(marker), 1, 'the tool runs');
    child.kill('SIGKILL');
    await eventually(() => running(marker) === 0, 10_000, 'the tool gone with its parent');
  });

  it('says a tool is missing as before', async () => {
    await assert.rejects(toolRunner()('fleetops-no-such-tool', [], { timeoutMs: 5000 }), ToolMissingError);
  });
});
