/** The state-store objects tests create through the API: a GitStateStore and the Destinations that write to it. */
import type { HttpClient } from '../../src/client/HttpClient.ts';

const KRATIX = '/apis/platform.kratix.io/v1alpha1';

/** Creates the GitStateStore `name` with `spec` (url, branch, authMethod, secretRef…). */
export async function createGitStateStore(client: HttpClient, name: string, spec: Record<string, unknown>): Promise<void> {
  await client.request('POST', `${KRATIX}/gitstatestores`, {
    body: { apiVersion: 'platform.kratix.io/v1alpha1', kind: 'GitStateStore', metadata: { name }, spec },
  });
}

/** Creates the Destination `name`, labelled, writing to the GitStateStore `store` (spec's other fields as given). */
export async function createDestination(
  client: HttpClient,
  name: string,
  options: { labels?: Record<string, string>; store: string; spec?: Record<string, unknown> },
): Promise<void> {
  await client.request('POST', `${KRATIX}/destinations`, {
    body: {
      apiVersion: 'platform.kratix.io/v1alpha1',
      kind: 'Destination',
      metadata: { name, ...(options.labels ? { labels: options.labels } : {}) },
      spec: { path: name, stateStoreRef: { kind: 'GitStateStore', name: options.store }, ...options.spec },
    },
  });
}
