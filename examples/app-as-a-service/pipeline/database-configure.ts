/**
 * app-as-a-service database step (after resource-configure, as in the marketplace pipeline): an App with
 * `dbDriver: postgresql` requests a Postgresql of the postgresql Promise — written under platform/ and scheduled to
 * the platform destination, so FleetOps applies it and the postgresql Promise's own workflow runs — and its
 * Deployment gets the connection settings. The database gets one instance per App replica, up to 3.
 */
import { readInput, setDestinationSelectors, setStatus, updateOutput, writeOutput } from '/fleetops/src/sdk/kratix.ts';

interface App {
  metadata: { name: string; namespace: string };
  spec: { name: string; dbDriver?: string; replicas?: number };
}

interface Deployment {
  spec: { template: { spec: { containers: { env?: { name: string; value?: string; valueFrom?: unknown }[] }[] } } };
}

const app = readInput<App>();
const driver = app.spec.dbDriver ?? 'none';
if (driver === 'none') {
  setStatus({ database: null });
  process.exit(0);
}
if (driver !== 'postgresql') {
  process.stderr.write(`dbDriver "${driver}" is not supported: use postgresql or none\n`);
  process.exit(1);
}
const teamId = `${app.metadata.name}team`.slice(0, 21);
const dbName = `${app.metadata.name}db`;
const cluster = `${teamId}-${app.metadata.name}`;
writeOutput('platform/postgresql.yaml', {
  apiVersion: 'marketplace.kratix.io/v1alpha1',
  kind: 'Postgresql',
  metadata: { name: app.metadata.name, namespace: app.metadata.namespace },
  spec: { teamId, dbName, instances: Math.min(Math.max(app.spec.replicas ?? 1, 1), 3) },
});
setDestinationSelectors([{ directory: 'platform', matchLabels: { environment: 'platform' } }]);
updateOutput<Deployment>('deployment.yaml', (d) => {
  const secret = `${dbName}-owner-user.${cluster}.credentials.postgresql.acid.zalan.do`;
  for (const c of d.spec.template.spec.containers) {
    c.env = [
      ...(c.env ?? []),
      { name: 'PGHOST', value: `${cluster}.${app.metadata.namespace}.svc.cluster.local` },
      { name: 'DBNAME', value: dbName },
      { name: 'PGUSER', valueFrom: { secretKeyRef: { name: secret, key: 'username' } } },
      { name: 'PGPASSWORD', valueFrom: { secretKeyRef: { name: secret, key: 'password' } } },
    ];
  }
});
setStatus({ database: { driver, teamId, dbName } });
