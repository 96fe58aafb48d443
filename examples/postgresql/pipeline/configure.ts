/**
 * postgresql configure step: a request becomes a `postgresql` object of the Zalando postgres-operator (cluster name
 * `<teamId>-<request name>`, as the operator wants the team as prefix), with the database, its owner, the storage
 * size, the instance count and, when asked, a logical backup schedule. The status says where to connect.
 */
import { readInput, setStatus, writeOutput } from '/fleetops/src/sdk/kratix.ts';

interface Postgresql {
  metadata: { name: string; namespace: string };
  spec: { teamId: string; dbName?: string; version?: string; size?: string; instances?: number; backups?: { enabled?: boolean; schedule?: string } };
}

const request = readInput<Postgresql>();
const { teamId } = request.spec;
const dbName = request.spec.dbName ?? 'app';
const cluster = `${teamId}-${request.metadata.name}`;
const namespace = request.metadata.namespace;
const owner = `${dbName}_owner`;

writeOutput('postgresql.yaml', {
  apiVersion: 'acid.zalan.do/v1',
  kind: 'postgresql',
  metadata: { name: cluster, namespace, labels: { 'app.kubernetes.io/managed-by': 'fleetops' } },
  spec: {
    teamId,
    numberOfInstances: request.spec.instances ?? 1,
    postgresql: { version: request.spec.version ?? '16' },
    volume: { size: request.spec.size ?? '1Gi' },
    users: { [owner]: ['createdb'] },
    databases: { [dbName]: owner },
    ...(request.spec.backups?.enabled ? { enableLogicalBackup: true, logicalBackupSchedule: request.spec.backups.schedule ?? '0 2 * * *' } : {}),
  },
});
const host = `${cluster}.${namespace}.svc.cluster.local`;
setStatus({
  message: `database ${dbName} on ${cluster}`,
  connectionDetails: {
    host,
    port: 5432,
    database: dbName,
    user: owner,
    passwordSecret: `${owner.replace(/_/g, '-')}.${cluster}.credentials.postgresql.acid.zalan.do`,
  },
});
