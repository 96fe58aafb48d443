/** State-store commits say what changed, as a GitOps user reads history. */
import { it } from 'node:test';
import assert from 'node:assert/strict';
import { commitMessage } from '../../src/controllers/statestore/commitMessage.ts';

const layouts = [
  { name: 'worker-1', root: 'worker-1' },
  { name: 'platform', root: 'platform' },
];

it('names the requests and Promises whose files changed, and where', () => {
  assert.equal(
    commitMessage(
      [
        'worker-1/resources/default/app/todoer/instance-configure/5058f/deployment.yaml',
        'worker-1/resources/default/app/todoer/instance-configure/5058f/service.yaml',
        'worker-1/resources/team-a/app/shop/instance-configure/5058f/deployment.yaml',
        'platform/dependencies/app/promise-configure/5058f/crd.yaml',
      ],
      layouts,
    ),
    'FleetOps: 2 requests and dependencies of app on platform, worker-1\n\n- app default/todoer\n- app team-a/shop',
  );
  assert.equal(commitMessage(['worker-1/kratix-canary-configmap.yaml'], layouts), 'FleetOps: 1 file on worker-1');
  const many = Array.from({ length: 25 }, (_, i) => `worker-1/resources/ns/app/a${String(i).padStart(2, '0')}/p/x/f.yaml`);
  const text = commitMessage(many, layouts);
  assert.match(text, /^FleetOps: 25 requests on worker-1\n\n- app ns\/a00\n/);
  assert.match(text, /- and 5 more$/);
});
