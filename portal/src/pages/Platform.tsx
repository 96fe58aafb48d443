/**
 * The platform team's view: every Promise with its latest revision and rollout; one Promise's revisions, its
 * rollouts live (counts, steps, failures, where each resource stands) with pause / resume / abort / undo doing what
 * `fleetops rollout …` does, and the plan of a proposed change.
 */
import { useCan } from '../access.ts';
import { useEffect, useState, type ReactNode } from 'react';
import { parse } from 'yaml';
import { get, mergePatch, pathOf, request, watch, type Obj } from '../api.ts';
import { rolloutControl, undoneTo, undoTarget, type RolloutAction } from '../../../src/api/rolloutControls.ts';
import { revisionName } from '../../../src/api/fleetopsNames.ts';
import { REPLICA_HEADERS, REPLICA_LEASES, replicaRows, type Lease } from '../../../src/api/replicas.ts';
import type { RolloutStatus } from '../../../src/registry/builtin/fleetopsKinds.ts';
import { kindOf, listPromises } from '../promises.ts';
import { age, ConfirmButton, DataTable, Empty, ErrorBox, Loading, Pill, useApi } from '../components/ui.tsx';
import { href } from '../router.ts';

interface Rollout extends Obj {
  spec: { promiseName: string; revision: number; paused?: boolean; aborted?: boolean; approvedStep?: number };
  status?: RolloutStatus;
}

const ROLLOUTS = pathOf('fleetops.dev', 'v1alpha1', 'rollouts');
const REVISIONS = pathOf('fleetops.dev', 'v1alpha1', 'revisions');
const PLANS = pathOf('fleetops.dev', 'v1alpha1', 'rolloutplans');
const promisePath = (name: string): string => pathOf('platform.kratix.io', 'v1alpha1', 'promises', undefined, name);
const byPromise = (name: string): string => `labelSelector=${encodeURIComponent(`kratix.io/promise-name=${name}`)}`;

export function Platform(): ReactNode {
  const promises = useApi(listPromises, []);
  const rollouts = useApi(async () => (await get<{ items: Rollout[] }>(ROLLOUTS)).items, []);
  if (promises.loading) return <Loading what="Promises" />;
  if (promises.error) return <ErrorBox error={promises.error} />;
  if (!promises.data?.length)
    return (
      <>
        <Empty>
          No Promise is installed. Install one with <code>kubectl apply -f promise.yaml</code>.
        </Empty>
        <Replicas />
      </>
    );
  return (
    <section>
      <h1>Promises</h1>
      <DataTable
        headers={['Promise', 'Kind', 'Version', 'Status', 'Revision', 'Latest rollout']}
        keys={promises.data.map((p) => p.metadata.name)}
        rows={promises.data.map((p) => {
          const st = (p.status ?? {}) as { status?: string; latestRevision?: number };
          const latest = (rollouts.data ?? []).filter((r) => r.spec.promiseName === p.metadata.name).sort((a, b) => b.spec.revision - a.spec.revision)[0];
          return [
            <a href={href('platform', p.metadata.name)}>{p.metadata.name}</a>,
            kindOf(p)?.kind ?? '—',
            p.metadata.labels?.['kratix.io/promise-version'] ?? '',
            <Pill text={st.status ?? 'Pending'} tone={st.status === 'Available' ? 'ok' : 'bad'} />,
            String(st.latestRevision ?? ''),
            latest ? `r${latest.spec.revision} ${latest.status?.phase ?? 'Pending'} ${latest.status?.updated ?? 0}/${latest.status?.total ?? 0}` : '—',
          ];
        })}
      />
      <Replicas />
    </section>
  );
}

/** The replicas serving the platform and which one runs the controllers (`fleetops status`), for those who may read Leases. */
function Replicas(): ReactNode {
  const allowed = useCan({ verb: 'list', group: 'coordination.k8s.io', resource: 'leases', namespace: 'fleetops-system' });
  const leases = useApi(async () => (allowed ? (await get<{ items: Lease[] }>(REPLICA_LEASES)).items : []), [allowed]);
  if (!allowed || !leases.data) return null;
  const rows = replicaRows(leases.data, new Date());
  return (
    <>
      <h2>Replicas</h2>
      {rows.length ? <DataTable headers={REPLICA_HEADERS} keys={rows.map((r) => r[0] ?? '')} rows={rows} /> : <Empty>No replica has reported itself.</Empty>}
    </>
  );
}

export function PromiseDetail({ promise }: { promise: string }): ReactNode {
  const p = useApi(() => get<Obj>(promisePath(promise)), [promise]);
  const revisions = useApi(async () => (await get<{ items: Obj[] }>(`${REVISIONS}?${byPromise(promise)}`)).items, [promise]);
  const [rollouts, setRollouts] = useState<Map<string, Rollout>>(new Map());
  const [error, setError] = useState<unknown>();
  // A notice about a rollout's state is shown while that state holds (no stale banner); one about the Promise stays.
  const [notice, setNoticeState] = useState<{ text: string; about?: string }>({ text: '' });
  useEffect(() => {
    const abort = new AbortController();
    get<{ items: Rollout[]; metadata: { resourceVersion?: string } }>(`${ROLLOUTS}?${byPromise(promise)}`)
      .then((list) => {
        setRollouts(new Map(list.items.map((r) => [r.metadata.name, r])));
        return watch<Rollout>(
          `${ROLLOUTS}?${byPromise(promise)}`,
          list.metadata.resourceVersion,
          (e) => {
            if (e.type === 'BOOKMARK' || e.type === 'ERROR') return;
            setRollouts((m) => {
              const next = new Map(m);
              if (e.type === 'DELETED') next.delete(e.object.metadata.name);
              else next.set(e.object.metadata.name, e.object);
              return next;
            });
            if (e.type === 'ADDED') revisions.reload();
          },
          abort.signal,
        );
      })
      .catch((err: unknown) => !abort.signal.aborted && setError(err));
    return () => abort.abort();
    // revisions.reload is stable
  }, [promise, revisions.reload]);
  const sorted = [...rollouts.values()].sort((a, b) => b.spec.revision - a.spec.revision);
  const latest = sorted[0];
  const latestState = latest ? `${latest.metadata.name}/${latest.status?.phase ?? ''}/${String(latest.spec.paused ?? false)}` : '';
  const mayControl = useCan({ verb: 'patch', group: 'fleetops.dev', resource: 'rollouts' });
  const mayUndo = useCan({ verb: 'update', group: 'platform.kratix.io', resource: 'promises', name: promise });
  if (p.loading) return <Loading what={promise} />;
  if (p.error || !p.data) return <ErrorBox error={p.error} />;
  // Each control only where it applies to the rollout's state, and only for those allowed to use it.
  const applies = (action: RolloutAction): boolean => !!latest && 'patch' in rolloutControl(action, latest) && !(action === 'pause' && latest.spec.paused);
  // The live rollouts know a newer revision than the Promise read when the page opened.
  const latestRevision = Math.max((p.data.status as { latestRevision?: number } | undefined)?.latestRevision ?? 0, latest?.spec.revision ?? 0);
  const control = async (action: RolloutAction): Promise<void> => {
    if (!latest) return;
    const c = rolloutControl(action, latest);
    if ('nothing' in c) {
      setNoticeState({ text: `rollout r${latest.spec.revision}: ${c.nothing}`, about: latestState });
      return;
    }
    await mergePatch(pathOf('fleetops.dev', 'v1alpha1', 'rollouts', undefined, latest.metadata.name), { spec: c.patch });
    setNoticeState({
      text: `rollout r${latest.spec.revision}: ${action === 'resume' ? 'resumed' : action === 'pause' ? 'paused' : 'aborted'}`,
      about: latestState,
    });
  };
  const undo = async (): Promise<void> => {
    const current = await get<Obj>(promisePath(promise));
    const to = undoTarget(promise, (current.status as { latestRevision?: number } | undefined)?.latestRevision);
    const rev = await get<Obj>(pathOf('fleetops.dev', 'v1alpha1', 'revisions', undefined, revisionName(promise, to)));
    await request('PUT', promisePath(promise), undoneTo(current, to, (rev.spec ?? {}) as { version?: string; promiseSpec?: unknown }));
    setNoticeState({ text: `Promise ${promise} rolled back to the spec of revision ${to}: a new rollout takes it to the fleet` });
  };
  return (
    <section>
      <p>
        <a href={href('platform')}>← Promises</a>
      </p>
      <h1>Promise {promise}</h1>
      {error !== undefined && <ErrorBox error={error} />}
      <h2>Rollouts</h2>
      {latest && mayControl && (
        <p className="actions">
          {applies('pause') && (
            <button type="button" onClick={() => void control('pause').catch(setError)}>
              Pause
            </button>
          )}
          {applies('resume') && (
            <button type="button" onClick={() => void control('resume').catch(setError)}>
              {latest.status?.phase === 'WaitingForApproval' ? 'Approve next step' : 'Resume'}
            </button>
          )}
          {applies('abort') && (
            <ConfirmButton label="Abort" danger question={`Abort the rollout of revision ${latest.spec.revision}?`} onConfirm={() => control('abort')} />
          )}
        </p>
      )}
      {mayControl === false && mayUndo === false && <p className="muted">Read only: the platform team steers rollouts and undoes changes.</p>}
      {mayUndo && latestRevision >= 2 && (
        <p className="actions">
          <ConfirmButton label="Undo" question="Put the Promise back to its previous revision and roll that out?" onConfirm={undo} />
        </p>
      )}
      {notice.text && (notice.about === undefined || notice.about === latestState) && (
        <p role="status" className="notice">
          {notice.text}
        </p>
      )}
      {sorted.length === 0 ? (
        <p className="muted">No rollout yet: the first revision is installed as it is; later changes roll out.</p>
      ) : (
        sorted.map((r) => <RolloutCard key={r.metadata.name} rollout={r} />)
      )}
      <ResourceStates promise={p.data} tick={sorted.map((r) => `${r.status?.updated ?? 0}/${r.status?.inProgress ?? 0}`).join(',')} />
      <h2>Revisions</h2>
      {revisions.data && (
        <DataTable
          headers={['Revision', 'Version', 'Age', 'Change']}
          rows={[...revisions.data]
            .sort((a, b) => Number(b.spec?.revision) - Number(a.spec?.revision))
            .map((rev) => [
              String(rev.spec?.revision ?? ''),
              String(rev.spec?.version ?? ''),
              age(rev.metadata.creationTimestamp),
              String(rev.spec?.change ?? ''),
            ])}
        />
      )}
      <h2>Plan a change</h2>
      <Plan promise={p.data} />
    </section>
  );
}

/** Where each resource stands (the first 200): the revision it runs, the one a rollout gave it, its last run. */
function ResourceStates({ promise, tick }: { promise: Obj; tick: string }): ReactNode {
  const kind = kindOf(promise);
  const list = useApi(
    async () => (kind ? (await get<{ items: Obj[] }>(`${pathOf(kind.group, kind.version, kind.plural)}?limit=200`)).items : []),
    [promise.metadata.name, tick],
  );
  if (!kind || !list.data?.length) return null;
  return (
    <details>
      <summary>Resources ({list.data.length === 200 ? 'the first 200' : list.data.length})</summary>
      <DataTable
        headers={['Resource', 'Runs revision', 'Handed revision', 'Last run']}
        keys={list.data.map((o) => `${o.metadata.namespace ?? ''}/${o.metadata.name}`)}
        rows={list.data.map((o) => {
          const wf = (o.status?.kratix as { workflows?: { revision?: number; phase?: string } } | undefined)?.workflows ?? {};
          return [
            <a href={href('resources', kind.promise, o.metadata.namespace ?? '', o.metadata.name)}>
              {o.metadata.namespace}/{o.metadata.name}
            </a>,
            String(wf.revision ?? ''),
            o.metadata.labels?.['fleetops.dev/revision'] ?? '',
            wf.phase ?? 'Pending',
          ];
        })}
      />
    </details>
  );
}

function RolloutCard({ rollout }: { rollout: Rollout }): ReactNode {
  const st = rollout.status ?? {};
  const total = st.total ?? 0;
  return (
    <article className="rollout" aria-label={`rollout of revision ${rollout.spec.revision}`}>
      <h3>
        Revision {rollout.spec.revision}{' '}
        <span className={`pill ${st.phase === 'Complete' ? 'ok' : st.phase === 'Halted' || st.phase === 'Aborted' ? 'bad' : ''}`} data-testid="rollout-phase">
          {st.phase ?? 'Pending'}
        </span>
      </h3>
      <progress max={Math.max(total, 1)} value={st.updated ?? 0} aria-label={`${st.updated ?? 0} of ${total} updated`} />
      <p data-testid="rollout-counts">
        {st.updated ?? 0}/{total} updated · {st.inProgress ?? 0} in progress · {st.pending ?? 0} pending · {st.failed ?? 0} failed
      </p>
      {(st.steps ?? []).length > 1 && (
        <ol className="steps">
          {(st.steps ?? []).map((s, i) => (
            <li key={i} className={i === st.currentStep ? 'current' : ''}>
              step {i + 1}: {s.reached}/{s.target}
            </li>
          ))}
        </ol>
      )}
      {st.message && <p className="muted">{st.message}</p>}
    </article>
  );
}

/** A dry run of a changed Promise (YAML or JSON pasted here): what would change, fleet-wide and per resource. */
function Plan({ promise }: { promise: Obj }): ReactNode {
  const [text, setText] = useState('');
  const [plan, setPlan] = useState<Obj>();
  const [error, setError] = useState<unknown>();
  const run = async (): Promise<void> => {
    setError(undefined);
    const proposed = parse(text) as Obj;
    let current = await request<Obj>('POST', PLANS, {
      apiVersion: 'fleetops.dev/v1alpha1',
      kind: 'RolloutPlan',
      metadata: { generateName: `${promise.metadata.name}-plan-` },
      spec: { promise: proposed },
    });
    setPlan(current);
    for (let i = 0; i < 1800; i++) {
      const phase = (current.status as { phase?: string } | undefined)?.phase;
      if (phase === 'Complete' || phase === 'Failed') break;
      await new Promise((r) => setTimeout(r, 300));
      current = await get<Obj>(`${PLANS}/${encodeURIComponent(current.metadata.name)}`);
      setPlan(current);
    }
  };
  const st = (plan?.status ?? {}) as {
    phase?: string;
    message?: string;
    summary?: string[];
    resources?: { namespace: string; name: string; outcome: string; changes: string[]; error?: string }[];
  };
  return (
    <div>
      <label htmlFor="plan-yaml">The changed Promise (YAML)</label>
      <textarea
        id="plan-yaml"
        rows={8}
        value={text}
        onChange={(e) => setText(e.target.value)}
        placeholder="apiVersion: platform.kratix.io/v1alpha1&#10;kind: Promise&#10;…"
      />
      <p className="actions">
        <button type="button" disabled={!text.trim()} onClick={() => void run().catch(setError)}>
          Plan
        </button>
      </p>
      {error !== undefined && <ErrorBox error={error} />}
      {plan && (
        <div className="plan" aria-live="polite">
          <p>
            <span className="pill">{st.phase ?? 'Pending'}</span> {st.message}
          </p>
          {(st.summary ?? []).length > 0 && (
            <ul>
              {(st.summary ?? []).map((s) => (
                <li key={s}>{s}</li>
              ))}
            </ul>
          )}
          {(st.resources ?? [])
            .filter((r) => r.outcome !== 'unchanged')
            .slice(0, 50)
            .map((r) => (
              <details key={`${r.namespace}/${r.name}`}>
                <summary>
                  {r.namespace}/{r.name}: {r.outcome}
                </summary>
                <pre className="log">{r.error ?? r.changes.join('\n')}</pre>
              </details>
            ))}
        </div>
      )}
    </div>
  );
}
