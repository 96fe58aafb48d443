/**
 * The WAL checkpointer's worker thread: a connection of its own to the database, checkpointing when asked. It imports
 * nothing of FleetOps: every module loaded here is loaded again in this thread's memory.
 */
import { DatabaseSync } from 'node:sqlite';
import { parentPort, workerData } from 'node:worker_threads';

const given: unknown = workerData;
if (typeof given !== 'object' || given === null || !('path' in given) || typeof given.path !== 'string') throw new Error('no database path given');
const db = new DatabaseSync(given.path);
db.exec('PRAGMA busy_timeout = 5000');
const checkpoint = db.prepare('PRAGMA wal_checkpoint(PASSIVE)');

parentPort?.on('message', (m: 'checkpoint' | 'stop') => {
  if (m === 'stop') {
    db.close();
    parentPort?.postMessage({ stopped: true });
    parentPort?.close();
    return;
  }
  try {
    const row = checkpoint.get() ?? {};
    parentPort?.postMessage({ ok: true, log: Number(row.log ?? 0), checkpointed: Number(row.checkpointed ?? 0) });
  } catch (err) {
    parentPort?.postMessage({ ok: false, message: err instanceof Error ? err.message : String(err) });
  }
});
