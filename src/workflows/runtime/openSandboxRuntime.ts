/**
 * The bubblewrap sandbox as FleetOps runs steps in it, started through a helper process (fork() from a big process
 * would cost the event loop several ms per step), or, when it cannot run here, a runtime that fails every step with
 * the fix. One place for `fleetops up` and `fleetops promise test`, so a Promise's tests run its steps as production does.
 */
import { dirname } from 'node:path';
import type { Logger } from 'pino';
import { INSTALL_DIR } from '../../lib/installation.ts';
import type { StepRuntime } from '../StepRuntime.ts';
import { BwrapRuntime } from './BwrapRuntime.ts';
import type { Cgroups } from './cgroups.ts';
import type { HelperLauncher } from './HelperLauncher.ts';
import { findRelayBinaries } from './relayBinaries.ts';
import { claimUidRange } from './uidRange.ts';
import { UnavailableRuntime } from './UnavailableRuntime.ts';

export interface SandboxRuntimeOptions {
  /** The data directory: hidden from steps; runs' uids are claimed for it. */
  dataDir: string;
  logger: Logger;
  launcher: HelperLauncher;
  cgroups?: Cgroups;
}

export async function openSandboxRuntime(options: SandboxRuntimeOptions): Promise<StepRuntime> {
  const { dataDir, logger } = options;
  const relay = findRelayBinaries();
  if (!relay) logger.warn('no dynamic loader found for the API relay (ldd): pipelines with spec.rbac will fail');
  // The data directory holds the tokens and the store: hidden, also where it lies inside the install bound at /fleetops.
  const hidden = [dataDir, ...(dataDir.startsWith(`${INSTALL_DIR}/`) ? [`/fleetops${dataDir.slice(INSTALL_DIR.length)}`] : [])];
  // Runs' uids (and cgroups) are this data directory's own: another FleetOps on the host never shares them.
  const runUids = process.getuid?.() === 0 ? claimUidRange(dataDir) : undefined;
  const bwrap = new BwrapRuntime({
    ...(options.cgroups ? { cgroups: options.cgroups } : {}),
    ...(runUids ? { runUids } : {}),
    hiddenPaths: hidden,
    binds: [{ host: INSTALL_DIR, sandbox: '/fleetops' }],
    pathPrefix: [dirname(process.execPath)],
    launcher: options.launcher,
    ...(relay ? { relay } : {}),
  });
  const problem = await bwrap.check();
  if (!problem) return bwrap;
  logger.error({ problem }, 'pipeline sandbox unavailable: workflows will fail until it is fixed');
  return new UnavailableRuntime(problem);
}
