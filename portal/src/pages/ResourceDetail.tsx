/**
 * One resource, live: its printer columns, conditions and message, events, the outputs its workflows wrote and the
 * destinations they were scheduled to, and its workflow runs with each step's log. Edit (server-side apply) and
 * delete (after confirmation) from here.
 */
import { useEffect, useState, type ReactNode } from 'react';
import { conditionsOf, get, pathOf, request, TABLE_ACCEPT, watch, type Obj, type Table } from '../api.ts';
import { promiseKind, type PromiseKind } from '../promises.ts';
import { age, Conditions, ConfirmButton, DataTable, Empty, ErrorBox, Loading, useApi } from '../components/ui.tsx';
import { href, navigate } from '../router.ts';
import { RequestForm } from './RequestForm.tsx';

interface Step {
  name: string;
  image?: string;
  exitCode?: number | null;
  durationMs?: number;
  log?: string;
}

export function ResourceDetail({ promise, namespace, name }: { promise: string; namespace: string; name: string }): ReactNode {
  const kind = useApi(() => promiseKind(promise), [promise]);
  if (kind.loading) return <Loading what={name} />;
  if (kind.error || !kind.data) return <ErrorBox error={kind.error} />;
  return <Live kind={kind.data} namespace={namespace} name={name} />;
}

function Live({ kind, namespace, name }: { kind: PromiseKind; namespace: string; name: string }): ReactNode {
  const path = pathOf(kind.group, kind.version, kind.plural, namespace, name);
  const [obj, setObj] = useState<Obj>();
  const [gone, setGone] = useState(false);
  const [error, setError] = useState<unknown>();
  const [editing, setEditing] = useState(false);
  useEffect(() => {
    const abort = new AbortController();
    const collection = pathOf(kind.group, kind.version, kind.plural, namespace);
    get<Obj>(path)
      .then((o) => {
        setObj(o);
        return watch<Obj>(
          `${collection}?fieldSelector=${encodeURIComponent(`metadata.name=${name}`)}`,
          o.metadata.resourceVersion,
          (e) => {
            if (e.type === 'DELETED') setGone(true);
            else if (e.type === 'ADDED' || e.type === 'MODIFIED') setObj(e.object);
          },
          abort.signal,
        );
      })
      .catch((err: unknown) => !abort.signal.aborted && setError(err));
    return () => abort.abort();
  }, [kind, namespace, name, path]);
  if (error) return <ErrorBox error={error} />;
  if (gone)
    return (
      <Empty>
        {kind.kind} {name} was deleted. <a href={href('resources', kind.promise)}>Back to the list</a>
      </Empty>
    );
  if (!obj) return <Loading what={name} />;
  if (editing) return <RequestForm promise={kind.promise} existing={obj} onDone={() => setEditing(false)} />;
  const status = (obj.status ?? {}) as { message?: string };
  return (
    <section>
      <p>
        <a href={href('resources', kind.promise)}>← {kind.plural}</a>
      </p>
      <h1>
        {kind.kind} {namespace}/{name}
      </h1>
      <p className="status-line" aria-live="polite">
        {status.message ?? 'No status yet'}
      </p>
      <p className="actions">
        <button type="button" onClick={() => setEditing(true)}>
          Edit
        </button>
        <ConfirmButton
          label="Delete"
          danger
          question={`Delete ${kind.kind} ${name}? Its workflows' outputs are removed from every destination.`}
          onConfirm={async () => {
            await request('DELETE', path);
            navigate('resources', kind.promise);
          }}
        />
      </p>
      <Columns path={path} resourceVersion={obj.metadata.resourceVersion} />
      <h2>Conditions</h2>
      <Conditions conditions={conditionsOf(obj)} />
      <h2>Outputs</h2>
      <Outputs namespace={namespace} name={name} promise={kind.promise} resourceVersion={obj.metadata.resourceVersion} />
      <h2>Workflow runs</h2>
      <Runs namespace={namespace} name={name} resourceVersion={obj.metadata.resourceVersion} />
      <h2>Events</h2>
      <Events namespace={namespace} uid={obj.metadata.uid ?? ''} />
      <h2>Request</h2>
      <pre className="yaml">{JSON.stringify(obj.spec ?? {}, null, 2)}</pre>
    </section>
  );
}

/** The kind's printer columns for this object, as `kubectl get` shows them. */
function Columns({ path, resourceVersion }: { path: string; resourceVersion: string | undefined }): ReactNode {
  const table = useApi(() => get<Table>(path, TABLE_ACCEPT), [path, resourceVersion]);
  const row = table.data?.rows[0];
  if (!table.data || !row) return null;
  return (
    <dl className="columns">
      {table.data.columnDefinitions.map((c, i) => (
        <div key={c.name}>
          <dt>{c.name}</dt>
          <dd>{String(row.cells[i] ?? '')}</dd>
        </div>
      ))}
    </dl>
  );
}

function Outputs({
  namespace,
  name,
  promise,
  resourceVersion,
}: {
  namespace: string;
  name: string;
  promise: string;
  resourceVersion: string | undefined;
}): ReactNode {
  const selector = encodeURIComponent(`kratix.io/resource-name=${name},kratix.io/promise-name=${promise}`);
  const placementsPath = pathOf('platform.kratix.io', 'v1alpha1', 'workplacements', namespace);
  const works = useApi(async () => {
    const ws = (await get<{ items: Obj[] }>(`${pathOf('platform.kratix.io', 'v1alpha1', 'works', namespace)}?labelSelector=${selector}`)).items;
    // Only this resource's placements: a namespace may hold thousands.
    const query = ws.length ? `?labelSelector=${encodeURIComponent(`kratix.io/work in (${ws.map((w) => w.metadata.name).join(',')})`)}` : '';
    const placements = query ? await get<{ items: Obj[]; metadata: { resourceVersion?: string } }>(`${placementsPath}${query}`) : undefined;
    const items = placements?.items ?? [];
    return {
      query,
      resourceVersion: placements?.metadata.resourceVersion,
      outputs: ws.map((w) => ({ work: w, placements: items.filter((p) => p.metadata.labels?.['kratix.io/work'] === w.metadata.name) })),
    };
  }, [namespace, name, promise, resourceVersion]);
  const { reload } = works;
  const query = works.data?.query;
  const since = works.data?.resourceVersion;
  // Placements are made and written after the run: follow them, so "where to" is live too.
  useEffect(() => {
    if (!query) return;
    const abort = new AbortController();
    void watch(`${placementsPath}${query}`, since, () => reload(), abort.signal);
    return () => abort.abort();
  }, [placementsPath, query, since, reload]);
  if (works.loading && !works.data) return <Loading what="outputs" />;
  if (works.error) return <ErrorBox error={works.error} />;
  if (!works.data?.outputs.length) return <p className="muted">No outputs yet.</p>;
  return (
    <ul className="outputs">
      {works.data.outputs.map(({ work, placements }) => {
        const groups = ((work.spec?.workloadGroups ?? []) as { workloads?: { filepath: string }[] }[]).flatMap((g) => g.workloads ?? []);
        return (
          <li key={work.metadata.name}>
            <strong>{work.metadata.labels?.['kratix.io/pipeline-name'] ?? work.metadata.name}</strong>: {groups.map((g) => g.filepath).join(', ') || 'no files'}
            <br />
            <span className="muted">
              to{' '}
              {placements.length
                ? placements
                    .map(
                      (p) =>
                        `${String(p.spec?.targetDestinationName ?? '')} (${conditionsOf(p).find((c) => c.type === 'Ready')?.status === 'True' ? 'written' : 'pending'})`,
                    )
                    .join(', ')
                : 'no destination yet'}
            </span>
          </li>
        );
      })}
    </ul>
  );
}

function Runs({ namespace, name, resourceVersion }: { namespace: string; name: string; resourceVersion: string | undefined }): ReactNode {
  const runs = useApi(
    async () =>
      (
        await get<{ items: Obj[] }>(
          `${pathOf('fleetops.dev', 'v1alpha1', 'workflowruns', namespace)}?labelSelector=${encodeURIComponent(`kratix.io/resource-name=${name}`)}`,
        )
      ).items.sort((a, b) => (b.metadata.creationTimestamp ?? '').localeCompare(a.metadata.creationTimestamp ?? '')),
    [namespace, name, resourceVersion],
  );
  if (runs.loading && !runs.data) return <Loading what="workflow runs" />;
  if (runs.error) return <ErrorBox error={runs.error} />;
  if (!runs.data?.length) return <p className="muted">No workflow has run yet.</p>;
  return (
    <ul className="runs">
      {runs.data.map((r) => {
        const st = (r.status ?? {}) as { phase?: string; message?: string; steps?: Step[] };
        return (
          <li key={r.metadata.name}>
            <details>
              <summary>
                <span className={`pill ${st.phase === 'Succeeded' ? 'ok' : st.phase === 'Failed' ? 'bad' : ''}`}>{st.phase ?? 'Pending'}</span>{' '}
                {String(r.spec?.pipeline ?? '')} · {age(r.metadata.creationTimestamp)} ago · {st.message ?? ''}
              </summary>
              {(st.steps ?? []).map((s) => (
                <div key={s.name} className="step">
                  <p>
                    Step <strong>{s.name}</strong> ({s.image ?? ''}) exited {s.exitCode ?? '—'} in {s.durationMs ?? 0} ms
                  </p>
                  <pre className="log">{s.log || '(no output)'}</pre>
                </div>
              ))}
            </details>
          </li>
        );
      })}
    </ul>
  );
}

function Events({ namespace, uid }: { namespace: string; uid: string }): ReactNode {
  const path = `${pathOf('', 'v1', 'events', namespace)}?fieldSelector=${encodeURIComponent(`involvedObject.uid=${uid}`)}`;
  const [list, setList] = useState<Obj[]>();
  const [error, setError] = useState<unknown>();
  // The resource's events, live: a watch on them alone (a field selector on its uid).
  useEffect(() => {
    const abort = new AbortController();
    get<{ items: Obj[]; metadata: { resourceVersion?: string } }>(path)
      .then((first) => {
        const byName = new Map(first.items.map((e) => [e.metadata.name, e]));
        setList([...byName.values()]);
        return watch<Obj>(
          path,
          first.metadata.resourceVersion,
          (e) => {
            if (e.type === 'BOOKMARK' || e.type === 'ERROR') return;
            if (e.type === 'DELETED') byName.delete(e.object.metadata.name);
            else byName.set(e.object.metadata.name, e.object);
            setList([...byName.values()]);
          },
          abort.signal,
        );
      })
      .catch((err: unknown) => !abort.signal.aborted && setError(err));
    return () => abort.abort();
  }, [path]);
  const events = { data: list, error };
  if (events.error) return <ErrorBox error={events.error} />;
  if (!events.data?.length) return <p className="muted">No events.</p>;
  return (
    <DataTable
      headers={['Type', 'Reason', 'Age', 'Message']}
      keys={events.data.map((e) => e.metadata.name)}
      rows={events.data.map((e) => [
        String(e.type ?? ''),
        String(e.reason ?? ''),
        age(String(e.lastTimestamp ?? e.metadata.creationTimestamp ?? '')),
        String(e.message ?? ''),
      ])}
    />
  );
}
