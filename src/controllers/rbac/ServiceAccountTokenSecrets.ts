/**
 * Long-lived service account tokens, as Kubernetes' token controller makes them: a Secret of type
 * `kubernetes.io/service-account-token` annotated with `kubernetes.io/service-account.name` gets `token`,
 * `ca.crt` and `namespace` in its data. The token is bound to the Secret and the account (by uid): deleting either
 * revokes it, and a Secret whose account is gone is deleted.
 */
import type { Logger } from 'pino';
import type { KubeObject } from '../../api/types.ts';
import type { Client } from '../../client/Client.ts';
import { getOf } from '../../client/typed.ts';
import { secretType, serviceAccountType } from '../../registry/builtin/coreKinds.ts';
import { Controller } from '../../controller/Controller.ts';
import type { ServiceAccountClaims } from '../../lib/serviceAccountToken.ts';

export const SERVICE_ACCOUNT_TOKEN_TYPE = 'kubernetes.io/service-account-token';
export const ANNOTATION_SA_NAME = 'kubernetes.io/service-account.name';
export const ANNOTATION_SA_UID = 'kubernetes.io/service-account.uid';

export interface ServiceAccountTokenSecretsOptions {
  client: Client;
  logger: Logger;
  /** Signs a token with the installation's key. */
  sign(claims: ServiceAccountClaims): string;
  /** The API server's CA certificate (PEM), written as `ca.crt` for in-cluster clients. */
  caCert: string;
  now?: () => Date;
}

const b64 = (s: string): string => Buffer.from(s).toString('base64');

export class ServiceAccountTokenSecrets {
  readonly controller: Controller;
  private readonly opts: ServiceAccountTokenSecretsOptions;
  private watches: { stop(): void }[] = [];

  constructor(options: ServiceAccountTokenSecretsOptions) {
    this.opts = options;
    this.controller = new Controller({ name: 'serviceaccount-tokens', reconciler: { reconcile: (key) => this.reconcile(key) }, logger: options.logger });
  }

  async start(): Promise<void> {
    this.controller.start();
    const keyOf = (o: KubeObject): string => `${o.metadata.namespace ?? ''}/${o.metadata.name}`;
    this.watches.push(
      await this.opts.client.watch('v1', 'Secret', {}, (e) => {
        if (e.object.type === SERVICE_ACCOUNT_TOKEN_TYPE && e.type !== 'DELETED') this.controller.enqueue(keyOf(e.object));
      }),
      await this.opts.client.watch('v1', 'ServiceAccount', {}, (e) => {
        if (e.type === 'DELETED') this.controller.enqueue(`${e.object.metadata.namespace ?? ''}/*`);
      }),
    );
  }

  async stop(): Promise<void> {
    for (const w of this.watches) w.stop();
    this.watches = [];
    await this.controller.stop();
  }

  async reconcile(key: string): Promise<void> {
    const { client } = this.opts;
    const [namespace = '', name = ''] = key.split('/');
    if (name === '*') {
      // An account went: its token Secrets go too.
      for (const s of await client.list('v1', 'Secret', { namespace }))
        if (s.type === SERVICE_ACCOUNT_TOKEN_TYPE) this.controller.enqueue(`${namespace}/${s.metadata.name}`);
      return;
    }
    const secret = await getOf(client, secretType, name, namespace);
    if (!secret || secret.type !== SERVICE_ACCOUNT_TOKEN_TYPE || secret.metadata.deletionTimestamp) return;
    const account = secret.metadata.annotations?.[ANNOTATION_SA_NAME];
    const sa = account ? await getOf(client, serviceAccountType, account, namespace) : undefined;
    const boundUid = secret.metadata.annotations?.[ANNOTATION_SA_UID];
    if (!account || !sa || (boundUid && boundUid !== sa.metadata.uid)) {
      await client.delete({ apiVersion: 'v1', kind: 'Secret', namespace, name });
      return;
    }
    const data = secret.data ?? {};
    if (data.token && boundUid === sa.metadata.uid) return;
    const token = this.opts.sign({
      namespace,
      serviceAccount: { name: account, uid: sa.metadata.uid },
      secret: { name, uid: secret.metadata.uid },
      issuedAt: Math.floor((this.opts.now?.() ?? new Date()).getTime() / 1000),
    });
    await client.update({
      ...secret,
      metadata: { ...secret.metadata, annotations: { ...secret.metadata.annotations, [ANNOTATION_SA_UID]: sa.metadata.uid } },
      data: { ...data, token: b64(token), 'ca.crt': b64(this.opts.caCert), namespace: b64(namespace) },
    });
  }
}
