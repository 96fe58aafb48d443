/**
 * app-as-a-service configure step: an App becomes a Deployment, a Service and an Ingress (host <name>.local.gd),
 * as the marketplace's app-as-a-service pipeline renders them. Reports the endpoint and replicas in the status.
 */
import { readInput, setStatus, writeOutput } from '/fleetops/src/sdk/kratix.ts';

interface App {
  metadata: { name: string; namespace: string };
  spec: { name: string; image: string; replicas?: number; service?: { port?: number } };
}

const app = readInput<App>();
const { name, image } = app.spec;
const namespace = app.metadata.namespace;
const port = app.spec.service?.port ?? 8080;
const replicas = app.spec.replicas ?? 1;
const labels = { app: name, 'app.kubernetes.io/managed-by': 'fleetops' };

writeOutput('deployment.yaml', {
  apiVersion: 'apps/v1',
  kind: 'Deployment',
  metadata: { name, namespace, labels },
  spec: {
    replicas,
    selector: { matchLabels: { app: name } },
    template: { metadata: { labels }, spec: { containers: [{ name: 'app', image, ports: [{ containerPort: 8080 }] }] } },
  },
});
writeOutput('service.yaml', {
  apiVersion: 'v1',
  kind: 'Service',
  metadata: { name, namespace, labels },
  spec: { type: 'NodePort', selector: { app: name }, ports: [{ port, targetPort: 8080, protocol: 'TCP' }] },
});
writeOutput('ingress.yaml', {
  apiVersion: 'networking.k8s.io/v1',
  kind: 'Ingress',
  metadata: { name, namespace, labels },
  spec: {
    ingressClassName: 'nginx',
    rules: [{ host: `${name}.local.gd`, http: { paths: [{ path: '/', pathType: 'Prefix', backend: { service: { name, port: { number: port } } } }] } }],
  },
});
const endpoint = `http://${name}.local.gd:31338`;
setStatus({ message: `deployed to ${endpoint}`, endpoint, replicas });
