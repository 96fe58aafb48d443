/** Small shared pieces: loading, error and empty states, conditions, confirmation, and a hook for API reads. */
import { useCallback, useEffect, useRef, useState, type ReactNode } from 'react';
import { ApiError, type Condition } from '../api.ts';

export function Loading({ what }: { what: string }): ReactNode {
  return (
    <p className="muted" role="status" aria-live="polite">
      Loading {what}…
    </p>
  );
}

export function ErrorBox({ error }: { error: unknown }): ReactNode {
  const message = error instanceof Error ? error.message : String(error);
  const hint =
    error instanceof ApiError && error.code === 401
      ? ' Your token was not accepted: sign in again.'
      : error instanceof ApiError && error.code === 403
        ? ' Your token does not allow this.'
        : '';
  return (
    <div className="error" role="alert">
      {message}
      {hint}
    </div>
  );
}

export function Empty({ children }: { children: ReactNode }): ReactNode {
  return <div className="empty">{children}</div>;
}

/** A small table (not virtualized): headers, and rows keyed by their first cell unless keys are given. */
export function DataTable({ headers, rows, keys }: { headers: string[]; rows: ReactNode[][]; keys?: string[] }): ReactNode {
  return (
    <table className="grid">
      <thead>
        <tr>
          {headers.map((h) => (
            <th key={h} scope="col">
              {h}
            </th>
          ))}
        </tr>
      </thead>
      <tbody>
        {rows.map((cells, i) => (
          <tr key={keys?.[i] ?? i}>
            {cells.map((c, j) => (
              <td key={j} className={j === cells.length - 1 ? 'wrap' : undefined}>
                {c}
              </td>
            ))}
          </tr>
        ))}
      </tbody>
    </table>
  );
}

export function Pill({ text, tone }: { text: string; tone?: 'ok' | 'bad' | undefined }): ReactNode {
  return <span className={`pill ${tone ?? ''}`}>{text}</span>;
}

export function Conditions({ conditions }: { conditions: Condition[] }): ReactNode {
  if (!conditions.length) return <p className="muted">No conditions yet.</p>;
  return (
    <DataTable
      headers={['Type', 'Status', 'Reason', 'Message']}
      keys={conditions.map((c) => c.type)}
      rows={conditions.map((c) => [
        c.type,
        <Pill text={c.status} tone={c.status === 'True' ? 'ok' : c.status === 'False' ? 'bad' : undefined} />,
        c.reason,
        c.message,
      ])}
    />
  );
}

/** A value read from the API, with its loading and error state, re-read on `reload()`. */
export function useApi<T>(load: () => Promise<T>, deps: unknown[]): { data: T | undefined; error: unknown; loading: boolean; reload: () => void } {
  const [state, setState] = useState<{ data: T | undefined; error: unknown; loading: boolean }>({ data: undefined, error: undefined, loading: true });
  const [tick, setTick] = useState(0);
  const loadRef = useRef(load);
  loadRef.current = load;
  useEffect(() => {
    let live = true;
    setState((s) => ({ ...s, loading: true }));
    loadRef.current().then(
      (data) => live && setState({ data, error: undefined, loading: false }),
      (error: unknown) => live && setState({ data: undefined, error, loading: false }),
    );
    return () => {
      live = false;
    };
  }, [...deps, tick]);
  const reload = useCallback(() => setTick((t) => t + 1), []);
  return { ...state, reload };
}

/** A button that asks before it acts (delete, abort, undo). */
export function ConfirmButton({
  label,
  question,
  onConfirm,
  danger,
}: {
  label: string;
  question: string;
  onConfirm: () => Promise<void>;
  danger?: boolean;
}): ReactNode {
  const [asking, setAsking] = useState(false);
  const [error, setError] = useState<unknown>();
  const [busy, setBusy] = useState(false);
  if (!asking)
    return (
      <button type="button" className={danger ? 'danger' : ''} onClick={() => setAsking(true)}>
        {label}
      </button>
    );
  return (
    <span className="confirm" role="group" aria-label={question}>
      <span>{question}</span>
      <button
        type="button"
        className={danger ? 'danger' : ''}
        disabled={busy}
        autoFocus
        onClick={() => {
          setBusy(true);
          onConfirm()
            .then(
              () => setAsking(false),
              (err: unknown) => setError(err),
            )
            .finally(() => setBusy(false));
        }}
      >
        Yes, {label.toLowerCase()}
      </button>
      <button type="button" onClick={() => setAsking(false)}>
        Cancel
      </button>
      {error !== undefined && <ErrorBox error={error} />}
    </span>
  );
}

export function age(timestamp: string | undefined, now = Date.now()): string {
  if (!timestamp) return '';
  const s = Math.max(0, Math.round((now - Date.parse(timestamp)) / 1000));
  if (s < 120) return `${s}s`;
  if (s < 7200) return `${Math.round(s / 60)}m`;
  if (s < 172_800) return `${Math.round(s / 3600)}h`;
  return `${Math.round(s / 86_400)}d`;
}
