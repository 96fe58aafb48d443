/**
 * A request form generated from the Promise's own schema (required fields, defaults, enums, patterns, bounds and
 * descriptions as help), checked in the page as the server will check it; the server's answer decides, and its
 * field errors (422 causes) are shown on their fields. Also edits an existing request (server-side apply).
 */
import { useMemo, useState, type ReactNode } from 'react';
import Form from '@rjsf/core';
import type { RJSFSchema } from '@rjsf/utils';
import { customizeValidator } from '@rjsf/validator-ajv8';
import { apply, pathOf, request, type Obj } from '../api.ts';
import { fieldErrors } from '../fieldErrors.ts';
import { formSchema, promiseKind, type PromiseKind } from '../promises.ts';
import { ErrorBox, Loading, useApi } from '../components/ui.tsx';
import { navigate } from '../router.ts';
import { defaultNamespace } from '../session.ts';

// Kubernetes schemas use keywords and formats ajv does not know (int-or-string, quantities): not strict about them.
const validator = customizeValidator({ ajvOptionsOverrides: { strict: false, validateFormats: false } });

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
  const [spec, setSpec] = useState<Record<string, unknown>>(existing?.spec ?? {});
  const [error, setError] = useState<unknown>();
  const [busy, setBusy] = useState(false);
  const extraErrors = fieldErrors(error);
  const submit = (data: Record<string, unknown>): void => {
    setBusy(true);
    setError(undefined);
    const object: Obj = { apiVersion: `${kind.group}/${kind.version}`, kind: kind.kind, metadata: { name, namespace }, spec: data };
    const path = pathOf(kind.group, kind.version, kind.plural, namespace);
    const write = existing ? apply(`${path}/${encodeURIComponent(name)}`, object) : request<Obj>('POST', path, object);
    write.then(
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
          Name
          <input name="name" required pattern="[a-z0-9]([-a-z0-9]*[a-z0-9])?" value={name} disabled={!!existing} onChange={(e) => setName(e.target.value)} />
        </label>
        <label>
          Namespace
          <input name="namespace" required value={namespace} disabled={!!existing} onChange={(e) => setNamespace(e.target.value)} />
        </label>
      </div>
      <Form
        schema={schema}
        validator={validator}
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
