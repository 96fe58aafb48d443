/**
 * A request form generated from the Promise's own schema (required fields, defaults, enums, patterns, bounds and
 * descriptions as help), checked by the server itself: a dry run as the user types (`?dryRun=All`, nothing stored)
 * and the request on submit; the server's field errors (422 causes) are shown on their fields. Also edits an existing
 * request (server-side apply). No schema is compiled in the page (the Content-Security-Policy forbids it).
 */
import { useEffect, useMemo, useState, type ReactNode } from 'react';
import Form from '@rjsf/core';
import type { RJSFSchema } from '@rjsf/utils';
import { ApiError, apply, pathOf, request, type Obj } from '../api.ts';
import { serverValidator } from '../serverValidator.ts';
import { fieldErrors } from '../fieldErrors.ts';
import { formSchema, promiseKind, type PromiseKind } from '../promises.ts';
import { ErrorBox, Loading, useApi } from '../components/ui.tsx';
import { navigate } from '../router.ts';
import { defaultNamespace, namespaces } from '../session.ts';

/** How long the form waits after a change before the server's dry run checks it. */
const CHECK_AFTER_MS = 400;

/** Writes the request (or, with `dryRun`, only checks it): created with POST, edited by server-side apply. */
function write(kind: PromiseKind, object: Obj, existing: boolean, dryRun: boolean): Promise<Obj> {
  const path = pathOf(kind.group, kind.version, kind.plural, object.metadata.namespace);
  if (existing) {
    const target = `${path}/${encodeURIComponent(object.metadata.name ?? '')}`;
    return dryRun
      ? request<Obj>('PATCH', `${target}?fieldManager=fleetops-portal&force=true&dryRun=All`, object, 'application/apply-patch+yaml')
      : apply(target, object);
  }
  return request<Obj>('POST', dryRun ? `${path}?dryRun=All` : path, object);
}

export function RequestForm({ promise, existing, onDone }: { promise: string; existing?: Obj; onDone?: () => void }): ReactNode {
  const kind = useApi(() => promiseKind(promise), [promise]);
  if (kind.loading) return <Loading what="the form" />;
  if (kind.error || !kind.data) return <ErrorBox error={kind.error} />;
  return <KindForm kind={kind.data} {...(existing ? { existing } : {})} {...(onDone ? { onDone } : {})} />;
}

function KindForm({ kind, existing, onDone }: { kind: PromiseKind; existing?: Obj; onDone?: () => void }): ReactNode {
  const schema = useMemo(() => formSchema(kind.specSchema) as RJSFSchema, [kind]);
  const [name, setName] = useState(existing?.metadata.name ?? '');
  const [namespace, setNamespace] = useState(existing?.metadata.namespace ?? defaultNamespace());
  const choices = namespaces();
  const [spec, setSpec] = useState<Record<string, unknown>>(existing?.spec ?? {});
  const [error, setError] = useState<unknown>();
  const [checked, setChecked] = useState<unknown>();
  const [busy, setBusy] = useState(false);
  const extraErrors = fieldErrors(error) ?? fieldErrors(checked);
  const objectOf = (data: Record<string, unknown>): Obj => ({
    apiVersion: `${kind.group}/${kind.version}`,
    kind: kind.kind,
    metadata: { name, namespace },
    spec: data,
  });
  // The server checks what is typed, a moment after the typing stops; only its field errors are shown meanwhile.
  useEffect(() => {
    if (!name || !namespace) return undefined;
    let current = true;
    const timer = setTimeout(() => {
      write(kind, objectOf(spec), !!existing, true).then(
        () => current && setChecked(undefined),
        (err: unknown) => current && setChecked(err instanceof ApiError && err.code === 422 ? err : undefined),
      );
    }, CHECK_AFTER_MS);
    return () => {
      current = false;
      clearTimeout(timer);
    };
  }, [kind, spec, name, namespace, existing]);
  const submit = (data: Record<string, unknown>): void => {
    setBusy(true);
    setError(undefined);
    write(kind, objectOf(data), !!existing, false).then(
      () => (onDone ? onDone() : navigate('resources', kind.promise, namespace, name)),
      (err: unknown) => {
        setError(err);
        setBusy(false);
      },
    );
  };
  return (
    <section>
      <h1>{existing ? `Edit ${kind.kind} ${name}` : `Request ${kind.kind === 'App' ? 'an' : 'a'} ${kind.kind}`}</h1>
      {kind.description && <p className="muted">{kind.description}</p>}
      <div className="meta-fields">
        <label>
          Request name<span className="required">*</span>
          <input
            name="name"
            required
            aria-required="true"
            pattern="[a-z0-9]([-a-z0-9]*[a-z0-9])?"
            value={name}
            disabled={!!existing}
            onChange={(e) => setName(e.target.value)}
          />
          <span className="help">lowercase letters, digits and dashes</span>
        </label>
        <label>
          Namespace<span className="required">*</span>
          {!existing && choices.length > 1 ? (
            // A team bound in several namespaces picks one of them (the server refuses any other anyway).
            <select name="namespace" required aria-required="true" value={namespace} onChange={(e) => setNamespace(e.target.value)}>
              {choices.map((ns) => (
                <option key={ns} value={ns}>
                  {ns}
                </option>
              ))}
            </select>
          ) : (
            <input name="namespace" required aria-required="true" value={namespace} disabled={!!existing} onChange={(e) => setNamespace(e.target.value)} />
          )}
        </label>
      </div>
      <Form
        schema={schema}
        validator={serverValidator}
        formData={spec}
        onChange={(e) => setSpec((e.formData ?? {}) as Record<string, unknown>)}
        onSubmit={(e) => submit((e.formData ?? {}) as Record<string, unknown>)}
        {...(extraErrors ? { extraErrors } : {})}
        showErrorList="top"
        noHtml5Validate
        disabled={busy}
      >
        <p className="actions">
          <button type="submit" disabled={busy || !name || !namespace}>
            {existing ? 'Save' : 'Request'}
          </button>
          {onDone && (
            <button type="button" onClick={onDone}>
              Cancel
            </button>
          )}
        </p>
      </Form>
      {error !== undefined && <ErrorBox error={error} />}
    </section>
  );
}
