/**
 * The helper process behind HelperLauncher: a small Node process that starts the sandbox's processes for FleetOps.
 * fork() costs in proportion to the forking process's memory, and here that is a few tens of MB rather than
 * FleetOps' hundreds; it also runs on the other core while FleetOps' event loop goes on. When FleetOps goes away
 * (even killed with -9) the IPC channel closes and every running process group is killed before the helper exits.
 */
import { errorCode, errorMessage } from '../../api/errors.ts';
import { LocalLauncher } from './LocalLauncher.ts';
import { ToolMissingError, toolRunner } from '../../lib/runTool.ts';
import { TOOL_MISSING, type HelperReply, type HelperRequest } from './HelperLauncher.ts';

const launcher = new LocalLauncher();
const runTool = toolRunner();
const running = new Map<number, AbortController>();
const send = (m: HelperReply): void => {
  if (process.connected) process.send?.(m);
};

/** Runs one request's work, abortable by the request's id, and sends its answer or its failure. */
async function serve(id: number, work: (signal: AbortSignal) => Promise<HelperReply>): Promise<void> {
  const controller = new AbortController();
  running.set(id, controller);
  try {
    send(await work(controller.signal));
  } catch (err) {
    send(failure(id, err));
  } finally {
    running.delete(id);
  }
}

function failure(id: number, err: unknown): HelperReply {
  // A missing tool's own reason (ENOENT...) rather than the runner's sentence, which the caller words again.
  if (err instanceof ToolMissingError) return { t: 'fail', id, message: errorMessage(err.cause), code: TOOL_MISSING };
  const code = errorCode(err);
  return { t: 'fail', id, message: errorMessage(err), ...(code ? { code } : {}) };
}

/** A sandbox's process group, its output streamed when asked. */
function runProcess(m: Extract<HelperRequest, { t: 'run' }>): Promise<void> {
  return serve(m.id, async (signal) => {
    const result = await launcher.run(m.req, { signal, ...(m.stream ? { onOutput: (chunk: string) => send({ t: 'out', id: m.id, chunk }) } : {}) });
    return { t: 'done', id: m.id, result };
  });
}

/** A tool run (git for the state stores) with toolRunner's answers. */
function runToolOf(m: Extract<HelperRequest, { t: 'tool' }>): Promise<void> {
  const { file, args, env, cwd, timeoutMs, input } = m.req;
  return serve(m.id, async (signal) => {
    const r = await runTool(file, args, {
      timeoutMs,
      signal,
      ...(env ? { env } : {}),
      ...(cwd ? { cwd } : {}),
      ...(input !== undefined ? { input: Buffer.from(input, 'base64') } : {}),
    });
    return { t: 'tooldone', id: m.id, code: r.code, stdout: r.stdout.toString('base64'), stderr: r.stderr, timedOut: r.timedOut };
  });
}

process.on('message', (m: HelperRequest) => {
  if (m.t === 'abort') running.get(m.id)?.abort();
  else
    (m.t === 'tool' ? runToolOf(m) : runProcess(m)).catch((err: unknown) => {
      // Only a broken channel gets here; FleetOps sees the helper go and fails its runs.
      process.stderr.write(`fleetops sandbox helper: ${String(err)}\n`);
      process.exit(1);
    });
});

process.on('disconnect', () => {
  for (const c of running.values()) c.abort(); // kills each process group, synchronously
  process.exit(0);
});
