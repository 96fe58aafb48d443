/** The YAML parser's worker thread: parses what the main thread sends, under the limits it sends. */
import { errorMessage } from '../api/errors.ts';
import { parentPort } from 'node:worker_threads';
import { ParseLimitError, parseYamlBounded, parseYamlStreamBounded, type ParseLimits } from '../api/boundedYaml.ts';

interface Request {
  id: number;
  text: string;
  stream: boolean;
  limits: ParseLimits;
}

parentPort?.on('message', (m: Request) => {
  try {
    const value = m.stream ? parseYamlStreamBounded(m.text, m.limits) : parseYamlBounded(m.text, m.limits);
    parentPort?.postMessage({ id: m.id, ok: true, value });
  } catch (err) {
    parentPort?.postMessage({ id: m.id, ok: false, kind: err instanceof ParseLimitError ? err.kind : 'syntax', message: errorMessage(err) });
  }
});
