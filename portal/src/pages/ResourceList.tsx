/**
 * A kind's resources with the printer columns its Promise defines, kept live by a watch (no polling): the first page
 * is shown as soon as it arrives, the rest streams in, and a team whose token cannot list every namespace sees its
 * own. Only the rows in view are rendered.
 */
import { useEffect, useState, type ReactNode } from 'react';
import { ApiError, get, pathOf, TABLE_ACCEPT, watch, type Table, type TableColumn, type TableRow } from '../api.ts';
import { promiseKind, type PromiseKind } from '../promises.ts';
import { Empty, ErrorBox, Loading, useApi } from '../components/ui.tsx';
import { VirtualTable } from '../components/VirtualTable.tsx';
import { href } from '../router.ts';
import { defaultNamespace, namespaces } from '../session.ts';

const PAGE = 500;

const rowKey = (r: TableRow): string => `${r.object?.metadata?.namespace ?? ''}/${r.object?.metadata?.name ?? ''}`;

export function ResourceList({ promise }: { promise: string }): ReactNode {
  const kind = useApi(() => promiseKind(promise), [promise]);
  if (kind.loading) return <Loading what={`${promise} resources`} />;
  if (kind.error || !kind.data) return <ErrorBox error={kind.error} />;
  return <LiveTable kind={kind.data} />;
}

function LiveTable({ kind }: { kind: PromiseKind }): ReactNode {
  /** The columns shown (priority 0, as kubectl shows without -o wide) and where their cells are in a row. */
  const [columns, setColumns] = useState<{ name: string; index: number }[]>();
  const [rows, setRows] = useState<Map<string, TableRow>>(new Map());
  const [error, setError] = useState<unknown>();
  const [scope, setScope] = useState<string | undefined>();
  /** The namespace shown to an identity that may not list every namespace (a team picks among its own). */
  const [own, setOwn] = useState(defaultNamespace);
  const choices = namespaces();
  useEffect(() => {
    const abort = new AbortController();
    const load = async (): Promise<void> => {
      // Every namespace when the token may list them, else the user's own.
      let namespace: string | undefined;
      let path = pathOf(kind.group, kind.version, kind.plural);
      let page: Table;
      try {
        page = await get<Table>(`${path}?limit=${PAGE}`, TABLE_ACCEPT);
      } catch (err) {
        if (!(err instanceof ApiError && err.code === 403)) throw err;
        namespace = own;
        path = pathOf(kind.group, kind.version, kind.plural, namespace);
        page = await get<Table>(`${path}?limit=${PAGE}`, TABLE_ACCEPT);
      }
      if (abort.signal.aborted) return;
      setScope(namespace);
      setColumns(page.columnDefinitions.map((c: TableColumn, index) => ({ name: c.name, index, shown: !c.priority })).filter((c) => c.shown));
      const all = new Map(page.rows.map((r) => [rowKey(r), r]));
      setRows(new Map(all));
      let rv = page.metadata.resourceVersion;
      while (page.metadata.continue && !abort.signal.aborted) {
        page = await get<Table>(`${path}?limit=${PAGE}&continue=${encodeURIComponent(page.metadata.continue)}`, TABLE_ACCEPT);
        for (const r of page.rows) all.set(rowKey(r), r);
        setRows(new Map(all));
        rv = page.metadata.resourceVersion ?? rv;
      }
      await watch<Table>(
        path,
        rv,
        (e) => {
          if (e.type === 'BOOKMARK' || e.type === 'ERROR') return;
          setRows((current) => {
            const next = new Map(current);
            for (const r of e.object.rows ?? []) {
              if (e.type === 'DELETED') next.delete(rowKey(r));
              else next.set(rowKey(r), r);
            }
            return next;
          });
        },
        abort.signal,
        TABLE_ACCEPT,
      );
    };
    load().catch((err: unknown) => !abort.signal.aborted && setError(err));
    return () => abort.abort();
  }, [kind, own]);
  if (error) return <ErrorBox error={error} />;
  if (!columns) return <Loading what={kind.plural} />;
  const sorted = [...rows.values()].sort((a, b) => rowKey(a).localeCompare(rowKey(b)));
  return (
    <section>
      <h1>
        {kind.kind} resources{scope ? ` in ${scope}` : ''}
      </h1>
      {scope && choices.length > 1 && (
        <label className="namespace-pick">
          Namespace{' '}
          <select
            value={own}
            onChange={(e) => {
              setRows(new Map());
              setOwn(e.target.value);
            }}
          >
            {choices.map((ns) => (
              <option key={ns} value={ns}>
                {ns}
              </option>
            ))}
          </select>
        </label>
      )}
      <p className="actions">
        <a className="button" href={href('request', kind.promise)}>
          Request {kind.kind === 'App' ? 'an' : 'a'} {kind.kind}
        </a>
      </p>
      {sorted.length === 0 ? (
        <Empty>No {kind.plural} yet.</Empty>
      ) : (
        <VirtualTable
          label={`${kind.plural}`}
          columns={['Namespace', ...columns.map((c) => c.name)]}
          rows={sorted.map((r) => {
            const ns = r.object?.metadata?.namespace ?? '';
            const name = r.object?.metadata?.name ?? '';
            return { key: rowKey(r), href: href('resources', kind.promise, ns, name), cells: [ns, ...columns.map((c) => String(r.cells[c.index] ?? ''))] };
          })}
        />
      )}
    </section>
  );
}
