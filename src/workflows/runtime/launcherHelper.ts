/**
 * The helper process behind HelperLauncher: a small Node process that starts the sandbox's processes for FleetOps.
 * fork() costs in proportion to the forking process's memory, and here that is a few tens of MB rather than
 * FleetOps' hundreds; it also runs on the other core while FleetOps' event loop goes on. When FleetOps goes away
 * (even killed with -9) the IPC channel closes and every running process group is killed before the helper exits.
 */
import { errorCode, errorMessage } from '../../api/errors.ts';
import { LocalLauncher } from './LocalLauncher.ts';
import type { HelperReply, HelperRequest } from './HelperLauncher.ts';

const launcher = new LocalLauncher();
const running = new Map<number, AbortController>();
const send = (m: HelperReply): void => {
  if (process.connected) process.send?.(m);
};

async function serve(m: Extract<HelperRequest, { t: 'run' }>): Promise<void> {
  const controller = new AbortController();
  running.set(m.id, controller);
  try {
    const result = await launcher.run(m.req, {
      signal: controller.signal,
      ...(m.stream ? { onOutput: (chunk: string) => send({ t: 'out', id: m.id, chunk }) } : {}),
    });
    send({ t: 'done', id: m.id, result });
  } catch (err) {
    const code = errorCode(err);
    send({ t: 'fail', id: m.id, message: errorMessage(err), ...(code ? { code } : {}) });
  } finally {
    running.delete(m.id);
  }
}

process.on('message', (m: HelperRequest) => {
  if (m.t === 'abort') running.get(m.id)?.abort();
  else
    serve(m).catch((err: unknown) => {
      // Only a broken channel gets here; FleetOps sees the helper go and fails its runs.
      process.stderr.write(`fleetops sandbox helper: ${String(err)}\n`);
      process.exit(1);
    });
});

process.on('disconnect', () => {
  for (const c of running.values()) c.abort(); // kills each process group, synchronously
  process.exit(0);
});
