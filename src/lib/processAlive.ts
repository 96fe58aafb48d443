/** Whether a process with this id exists (another user's counts: kill answers EPERM for it). */
import { errorCode } from '../api/errors.ts';

export function processAlive(pid: number): boolean {
  if (!Number.isInteger(pid) || pid <= 0) return false;
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return errorCode(err) === 'EPERM';
  }
}
