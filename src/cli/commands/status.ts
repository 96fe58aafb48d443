/**
 * `fleetops status`: the replicas serving this platform (each keeps a Lease in fleetops-system while it runs), which
 * one runs the controllers, and which have stopped renewing (killed, or cut off from the store).
 */
import { REPLICA_HEADERS, REPLICA_LEASES, replicaRows, type Lease } from '../../api/replicas.ts';
import type { CliContext } from '../context.ts';
import { formatColumns } from '../printers.ts';

export async function statusCommand(ctx: CliContext, out: (text: string) => void, now = new Date()): Promise<number> {
  const leases = (await ctx.client.get<{ items: Lease[] }>(REPLICA_LEASES)).items;
  const rows = replicaRows(leases, now);
  if (!rows.length) {
    out('no replica has reported itself (a FleetOps older than this command, or none running)');
    return 1;
  }
  out(
    formatColumns(
      REPLICA_HEADERS.map((h) => h.toUpperCase()),
      rows,
    ),
  );
  const live = rows.filter((r) => !r[4]?.startsWith('gone')).length;
  const leader = rows.some((r) => r[3] === 'leader');
  out(
    `${live} of ${rows.length} replicas live; ${leader ? 'controllers running' : 'no replica runs the controllers now (a new leader takes over within 15 s)'}`,
  );
  return 0;
}
