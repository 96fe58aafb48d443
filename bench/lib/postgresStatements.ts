/**
 * What PostgreSQL did during a measured phase, from its own statistics: the statements that took its time
 * (pg_stat_statements, nested ones inside functions too) and each FleetOps table's row changes, vacuums and size.
 * The cluster must load the extension at start: `STATEMENT_SETTINGS` for startPostgres.
 */
import pg from 'pg';

export const STATEMENT_SETTINGS = ["shared_preload_libraries = 'pg_stat_statements'", 'pg_stat_statements.track = all'];

async function withClient<T>(url: string, fn: (c: pg.Client) => Promise<T>): Promise<T> {
  const c = new pg.Client({ connectionString: url });
  await c.connect();
  try {
    return await fn(c);
  } finally {
    await c.end();
  }
}

/** Starts the phase: the statistics so far are cleared. */
export async function resetStatements(url: string): Promise<void> {
  await withClient(url, async (c) => {
    await c.query('CREATE EXTENSION IF NOT EXISTS pg_stat_statements');
    await c.query('SELECT pg_stat_statements_reset()');
    await c.query('SELECT pg_stat_reset()');
  });
}

/** The phase's statements by time spent, and the tables' activity, per resource of `n`: lines to print. */
export async function statementLines(url: string, n: number): Promise<string[]> {
  const lines: string[] = [];
  await withClient(url, async (c) => {
    const statements = await c.query<{ calls: string; ms: number; rows: string; top: boolean; query: string }>(
      `SELECT calls, total_exec_time AS ms, rows, toplevel AS top, regexp_replace(query, '\\s+', ' ', 'g') AS query
       FROM pg_stat_statements WHERE calls > 0 ORDER BY total_exec_time DESC LIMIT 12`,
    );
    lines.push(`  PostgreSQL's statements by execution time (nested ones, inside fleetops_write, marked ›):`);
    for (const s of statements.rows) {
      const calls = Number(s.calls);
      lines.push(
        `    ${(s.ms / n).toFixed(3).padStart(7)} ms/resource  ${(calls / n).toFixed(2).padStart(6)} calls/resource  ${((1000 * s.ms) / calls).toFixed(0).padStart(6)} µs each  ${s.top ? ' ' : '›'} ${s.query.slice(0, 90)}`,
      );
    }
    const tables = await c.query<{ name: string; ins: string; upd: string; hot: string; del: string; vacuums: string; size: string }>(
      `SELECT relname AS name, n_tup_ins AS ins, n_tup_upd AS upd, n_tup_hot_upd AS hot, n_tup_del AS del,
         autovacuum_count AS vacuums, pg_size_pretty(pg_total_relation_size(relid)) AS size
       FROM pg_stat_user_tables WHERE relname LIKE 'fleetops%' ORDER BY relname`,
    );
    for (const t of tables.rows)
      lines.push(
        `    ${t.name}: ${t.ins} inserted, ${t.upd} updated (${t.hot} in place), ${t.del} deleted, ${t.vacuums} autovacuums, ${t.size} with its TOAST and indexes`,
      );
  });
  return lines;
}
