/** Where FleetOps is installed and where it keeps its state by default (for the server and the CLI alike). */
import { homedir } from 'node:os';
import { join, resolve } from 'node:path';

/** The FleetOps install (this repository): bound read-only at /fleetops in host-tool sandboxes; the step SDK's home. */
export const INSTALL_DIR = resolve(import.meta.dirname, '..', '..');

/** `$FLEETOPS_HOME`, else `~/.fleetops`. */
export function defaultDataDir(): string {
  return resolve(process.env.FLEETOPS_HOME ?? join(homedir(), '.fleetops'));
}
