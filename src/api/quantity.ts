/**
 * Kubernetes resource quantities as a container's `resources.limits` gives them: memory in bytes ("128Mi", "1G",
 * "500000000", "1.5Gi") and CPU in thousandths of a core ("500m", "1", "0.25").
 */

const BINARY: Record<string, number> = { Ki: 2 ** 10, Mi: 2 ** 20, Gi: 2 ** 30, Ti: 2 ** 40, Pi: 2 ** 50, Ei: 2 ** 60 };
const DECIMAL: Record<string, number> = { '': 1, m: 1e-3, k: 1e3, M: 1e6, G: 1e9, T: 1e12, P: 1e15, E: 1e18 };

export class QuantityError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'QuantityError';
  }
}

/** A quantity's value (in its base unit), or QuantityError naming the accepted forms. */
export function parseQuantity(value: string | number): number {
  if (typeof value === 'number') {
    if (!Number.isFinite(value) || value < 0) throw new QuantityError(`${value} is not a quantity: use a non-negative number`);
    return value;
  }
  const m = /^\s*(\d+(?:\.\d+)?|\.\d+)(?:e(\d+))?(Ki|Mi|Gi|Ti|Pi|Ei|m|k|M|G|T|P|E)?\s*$/.exec(value);
  if (!m) throw new QuantityError(`${JSON.stringify(value)} is not a quantity: use e.g. "512Mi", "1G", "500m" or "2"`);
  const number = Number(m[1]) * (m[2] ? 10 ** Number(m[2]) : 1);
  const suffix = m[3] ?? '';
  return number * (BINARY[suffix] ?? DECIMAL[suffix] ?? 1);
}

/** Bytes of a memory quantity (whole bytes, rounded up). */
export function memoryBytes(value: string | number): number {
  return Math.ceil(parseQuantity(value));
}

/** Thousandths of a core of a CPU quantity (at least 1 for any non-zero value). */
export function cpuMillis(value: string | number): number {
  const cores = parseQuantity(value);
  return cores === 0 ? 0 : Math.max(1, Math.ceil(cores * 1000));
}
