/**
 * The seed's replica-migration step, in TypeScript: after the configure step, raise the Deployment's replicas to at
 * least 2 and report the resulting count in the App's status. Idempotent: an App already at 2 or more is left alone.
 */
import { readOutput, setStatus, updateOutput } from '/fleetops/src/sdk/kratix.ts';

const MIN_REPLICAS = Number(process.env.MIN_REPLICAS ?? 2);

interface Deployment {
  kind: string;
  spec: { replicas?: number };
}

const [deployment] = readOutput<Deployment>('deployment.yaml');
if (!deployment) throw new Error('deployment.yaml not found in /kratix/output: run this step after the configure step');
if ((deployment.spec.replicas ?? 1) < MIN_REPLICAS) {
  updateOutput<Deployment>('deployment.yaml', (d) => {
    if (d.kind === 'Deployment') d.spec.replicas = MIN_REPLICAS;
  });
  console.log(`replicas raised to ${MIN_REPLICAS}`);
}
setStatus({ replicas: Math.max(deployment.spec.replicas ?? 1, MIN_REPLICAS) });
