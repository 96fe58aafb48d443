/**
 * What the signed-in identity may do, asked of the API (SelfSubjectAccessReview), so the portal shows the actions a
 * user may take and only those. Answers are kept for the session (a sign-out clears them).
 */
import { useEffect, useState } from 'react';
import { request } from './api.ts';

export interface Access {
  verb: string;
  group: string;
  resource: string;
  namespace?: string;
  name?: string;
}

const answers = new Map<string, Promise<boolean>>();

/** Whether the API allows it (false when the question itself fails). */
export function can(a: Access): Promise<boolean> {
  const key = JSON.stringify(a);
  let answer = answers.get(key);
  if (!answer) {
    answer = request<{ status?: { allowed?: boolean } }>('POST', '/apis/authorization.k8s.io/v1/selfsubjectaccessreviews', {
      apiVersion: 'authorization.k8s.io/v1',
      kind: 'SelfSubjectAccessReview',
      spec: { resourceAttributes: a },
    }).then(
      (r) => r.status?.allowed === true,
      () => false,
    );
    answers.set(key, answer);
  }
  return answer;
}

export function forgetAccess(): void {
  answers.clear();
}

/** `can` as a hook: undefined until the API has answered (show nothing meanwhile). */
export function useCan(a: Access): boolean | undefined {
  const key = JSON.stringify(a);
  const [allowed, setAllowed] = useState<boolean | undefined>(undefined);
  useEffect(() => {
    let live = true;
    setAllowed(undefined);
    void can(a).then((ok) => live && setAllowed(ok));
    return () => {
      live = false;
    };
    // `a` is keyed by its JSON
  }, [key]);
  return allowed;
}
