/**
 * The portal in a real Chromium (Debian's, driven by playwright-core), against a running FleetOps: sign in, request
 * an App through the form generated from the Promise's schema (a field error first), watch it become ready, roll a
 * v2 Promise out and undo it from the platform page, and a team that sees only its own namespace. Every page runs
 * under the portal's real Content-Security-Policy, and a violation fails the test; axe-core checks each page (under the
 * same policy); screenshots go to test-artifacts/portal/.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { chromium, type Browser, type Page } from 'playwright-core';
import { parse } from 'yaml';
import { eventually, fleetopsCli, startTestFleet, type TestFleet } from '../helpers/fleet.ts';
import { kubectlFor, type Kubectl } from '../helpers/kubectl.ts';

const root = join(import.meta.dirname, '..', '..');
const ARTIFACTS = join(root, 'test-artifacts', 'portal');
const AXE = readFileSync(createRequire(import.meta.url).resolve('axe-core/axe.min.js'), 'utf8');
const CHROMIUM = process.env.CHROMIUM ?? '/usr/bin/chromium';

/**
 * Serious or critical accessibility violations of what `page` shows, under the portal's real policy: axe-core is
 * evaluated through the browser's DevTools protocol (as a debugger would), which the page's Content-Security-Policy
 * does not govern, and a violation axe itself caused would fail the test like any other.
 */
async function axeViolations(page: Page): Promise<string[]> {
  await page.evaluate(AXE);
  const result = (await page.evaluate(
    `axe.run().then((r) => r.violations.map((v) => ({ id: v.id, impact: v.impact, targets: v.nodes.map((n) => n.target.join(' ')) })))`,
  )) as { id: string; impact: string; targets: string[] }[];
  return result.filter((v) => v.impact === 'serious' || v.impact === 'critical').map((v) => `${v.id}: ${v.targets.join(', ')}`);
}

/** The page at 1280 px and at 375 px (a phone), into test-artifacts/portal/; the viewport is put back. */
async function screenshots(page: Page, name: string): Promise<void> {
  const size = page.viewportSize() ?? { width: 1280, height: 900 };
  await page.setViewportSize({ width: 1280, height: 900 });
  await page.screenshot({ path: join(ARTIFACTS, `${name}.png`), fullPage: true });
  await page.setViewportSize({ width: 375, height: 800 });
  await page.screenshot({ path: join(ARTIFACTS, `${name}-375.png`), fullPage: true });
  await page.setViewportSize(size);
}

/** What the browser reports against the portal's Content-Security-Policy, on every page the tests open. */
const cspViolations: string[] = [];

function tokenOf(kubeconfigPath: string): string {
  const doc = parse(readFileSync(kubeconfigPath, 'utf8')) as { users: { user: { token: string } }[] };
  return doc.users[0]!.user.token;
}

describe('the portal in Chromium', () => {
  let fleet: TestFleet;
  let kubectl: Kubectl;
  let browser: Browser;
  let scratch: string;

  before(async () => {
    mkdirSync(ARTIFACTS, { recursive: true });
    scratch = mkdtempSync(join(tmpdir(), 'fleetops-portal-'));
    fleet = await startTestFleet({ exampleImage: true, stateStoreBatchMs: 50 });
    kubectl = kubectlFor(fleet.kubeconfigPath);
    // A worker Destination on the embedded Git repository, where the Apps' outputs go.
    const repo = join(fleet.dataDir, 'git', 'state.git');
    const destinations = `apiVersion: platform.kratix.io/v1alpha1
kind: GitStateStore
metadata: { name: default }
spec: { url: "file://${repo}", branch: main }
---
apiVersion: platform.kratix.io/v1alpha1
kind: Destination
metadata: { name: worker, labels: { environment: worker } }
spec: { path: worker, stateStoreRef: { kind: GitStateStore, name: default } }
`;
    const applied = await kubectl(['apply', '-f', '-'], { input: destinations });
    assert.equal(applied.code, 0, applied.stderr);
    browser = await chromium.launch({ executablePath: CHROMIUM, args: ['--no-sandbox', '--disable-dev-shm-usage'] });
  });
  after(async () => {
    await browser?.close();
    await fleet?.cleanup();
  });

  /** A page as a user has it: the portal's own headers, its Content-Security-Policy enforced and its violations recorded. */
  async function signedIn(token: string, width = 1280): Promise<Page> {
    const context = await browser.newContext({ ignoreHTTPSErrors: true, viewport: { width, height: 900 } });
    const page = await context.newPage();
    page.on('console', (m) => {
      if (/Content Security Policy|Refused to/i.test(m.text())) cspViolations.push(`${page.url()}: ${m.text()}`);
    });
    await page.addInitScript(
      `document.addEventListener('securitypolicyviolation', (e) => console.error('Refused to: Content Security Policy ' + e.violatedDirective))`,
    );
    await page.goto(`${fleet.url}/portal/`);
    await page.getByLabel('Token').fill(token);
    await page.getByRole('button', { name: 'Sign in' }).click();
    await page.getByRole('navigation', { name: 'Main' }).waitFor();
    return page;
  }

  it('requests an App through the generated form, shows a field error, and follows the App to ready', async () => {
    const r = await kubectl(['apply', '-f', join(root, 'examples/app-as-a-service/promise.yaml')]);
    assert.equal(r.code, 0, r.stderr);
    await eventually(
      async () => (await kubectl(['get', 'promise', 'app', '-o', 'jsonpath={.status.status}'])).stdout === 'Available',
      30_000,
      'Promise available',
    );

    const page = await signedIn(tokenOf(fleet.kubeconfigPath));
    await page.getByRole('heading', { name: 'Catalog' }).waitFor();
    await page.getByRole('heading', { name: 'App' }).waitFor();
    assert.deepEqual(await axeViolations(page), [], 'catalog: no serious accessibility violations');
    await screenshots(page, 'catalog');

    await page.getByRole('link', { name: 'Request an App' }).click();
    await page.getByRole('heading', { name: 'Request an App' }).waitFor();
    const fillForm = async (p: Page, replicas: string): Promise<void> => {
      await p.getByLabel('Request name').fill('todoer');
      await p.locator('#root_name').fill('todoer');
      await p.locator('#root_image').fill('syntasso/sample-todo-app:v1.0.0');
      await p.locator('#root_replicas').fill(replicas);
    };
    // Fields labelled as people read them: the schema's title, else the name made readable; the request's own name marked required.
    await page.getByLabel('Image').first().waitFor();
    assert.equal(await page.locator('.meta-fields .required').count(), 2);
    await fillForm(page, '99');
    // The schema's maximum (50), said on the field by the server's dry run as the user types: nothing is created.
    const tooMany = 'spec.replicas in body should be <= 50';
    await page.getByText(tooMany).first().waitFor();
    assert.notEqual((await kubectl(['get', 'app', 'todoer', '-n', 'default'])).code, 0, 'a dry run creates nothing');
    await page.getByRole('button', { name: 'Request' }).click();
    await page.getByRole('alert').filter({ hasText: tooMany }).waitFor();
    assert.deepEqual(await axeViolations(page), [], 'form: no serious accessibility violations');
    await screenshots(page, 'request-form-error');

    await page.locator('#root_replicas').fill('3');
    await page.getByRole('button', { name: 'Request' }).click();
    await page.getByRole('heading', { name: 'App default/todoer' }).waitFor();
    // Live: the workflow's replicas (printer column) and the Reconciled condition arrive without a reload.
    await page.locator('.columns dd', { hasText: /^3$/ }).waitFor({ timeout: 60_000 });
    await page.getByRole('row', { name: /^Reconciled True/ }).waitFor({ timeout: 60_000 });
    await page.getByRole('cell', { name: 'PipelineStarted' }).first().waitFor(); // its events, live
    // Where the outputs went follows the scheduler and the state store, live.
    await page.getByText(/to worker \(written\)/).waitFor({ timeout: 60_000 });
    assert.deepEqual(await axeViolations(page), [], 'resource page: no serious accessibility violations');
    await screenshots(page, 'resource');

    // Edit: the form again, prefilled; saved by server-side apply, and the page follows the new run.
    await page.getByRole('button', { name: 'Edit' }).click();
    await page.locator('#root_replicas').fill('4');
    await page.getByRole('button', { name: 'Save' }).click();
    await page.locator('.columns dd', { hasText: /^4$/ }).waitFor({ timeout: 60_000 });

    await page.goto(`${fleet.url}/portal/#/resources/app`);
    await page.getByRole('row', { name: /todoer/ }).waitFor();
    assert.deepEqual(await axeViolations(page), [], 'resource list: no serious accessibility violations');
    await page.screenshot({ path: join(ARTIFACTS, 'resources.png'), fullPage: true });
    await page.setViewportSize({ width: 375, height: 800 });
    await page.getByRole('row', { name: /todoer/ }).waitFor();
    assert.equal(await page.evaluate('document.documentElement.scrollWidth <= window.innerWidth + 1'), true, 'no sideways scroll of the page at 375 px');
    await page.screenshot({ path: join(ARTIFACTS, 'resources-375.png'), fullPage: true });
    await page.context().close();
  });

  it('shows a v2 rollout progressing to completion live, and undoes it from the page', async () => {
    const page = await signedIn(tokenOf(fleet.kubeconfigPath));
    // The platform view lists the replicas (here one, on its embedded store, running the controllers).
    await page.goto(`${fleet.url}/portal/#/platform`);
    await page.getByRole('heading', { name: 'Replicas' }).waitFor();
    const replicaRow = page.getByRole('row').filter({ hasText: 'embedded' });
    assert.match((await replicaRow.textContent()) ?? '', /embedded\s*all\s*leader/);
    await page.goto(`${fleet.url}/portal/#/platform/app`);
    await page.getByRole('heading', { name: 'Promise app' }).waitFor();
    const r = await kubectl(['apply', '-f', join(root, 'examples/app-as-a-service/promise-v2.yaml')]);
    assert.equal(r.code, 0, r.stderr);
    const v2 = page.getByRole('article', { name: 'rollout of revision 2' });
    await v2.waitFor({ timeout: 30_000 });
    await v2.getByTestId('rollout-phase').filter({ hasText: 'Complete' }).waitFor({ timeout: 90_000 });
    assert.match((await v2.getByTestId('rollout-counts').textContent()) ?? '', /^1\/1 updated/);
    // A finished rollout has nothing to pause, resume or abort: those buttons are gone; Undo is there.
    for (const name of ['Pause', 'Resume', 'Abort']) assert.equal(await page.getByRole('button', { name }).count(), 0, `no ${name} on a finished rollout`);
    await screenshots(page, 'rollout');

    await page.getByRole('button', { name: 'Undo' }).click();
    await page.getByRole('button', { name: 'Yes, undo' }).click();
    await page.getByRole('status').filter({ hasText: 'rolled back to the spec of revision 1' }).waitFor();
    const v3 = page.getByRole('article', { name: 'rollout of revision 3' });
    await v3.getByTestId('rollout-phase').filter({ hasText: 'Complete' }).waitFor({ timeout: 90_000 });
    const replicas = await kubectl(['get', 'app', 'todoer', '-n', 'default', '-o', 'jsonpath={.status.replicas}']);
    assert.equal(replicas.stdout, '4', 'the App keeps its 4 replicas through v2 (minimum 2) and back');
    assert.deepEqual(await axeViolations(page), [], 'platform page: no serious accessibility violations');

    // The plan of a proposed change, from the page: the fleet summary of what v2 would do.
    await page.getByLabel('The changed Promise (YAML)').fill(readFileSync(join(root, 'examples/app-as-a-service/promise-v2.yaml'), 'utf8'));
    await page.getByRole('button', { name: 'Plan' }).click();
    await page.getByText(/1 apps: \d would change, \d unchanged, 0 failed/).waitFor({ timeout: 90_000 });
    await page.screenshot({ path: join(ARTIFACTS, 'plan.png'), fullPage: true });

    // Delete, after confirming.
    await page.goto(`${fleet.url}/portal/#/resources/app/default/todoer`);
    await page.getByRole('button', { name: 'Delete' }).click();
    await page.getByRole('button', { name: 'Yes, delete' }).click();
    await page.getByRole('heading', { name: 'App resources' }).waitFor();
    await eventually(async () => (await kubectl(['get', 'app', 'todoer', '-n', 'default'])).code !== 0, 60_000, 'the App deleted');
    await page.context().close();
  });

  it("gives a team's token its own namespace and nothing of another's", async () => {
    const cli = fleetopsCli(fleet.kubeconfigPath, scratch);
    const added = await cli(['team', 'add', 'team-a']);
    assert.equal(added.code, 0, added.stderr);
    const page = await signedIn(tokenOf(join(scratch, 'team-a.kubeconfig')));
    // A team is shown no action it may not take: no platform view, no rollout controls, no Undo.
    await page.goto(`${fleet.url}/portal/#/platform/app`);
    await page.getByRole('heading', { name: 'Promise app' }).waitFor();
    await page.getByText('Read only: the platform team steers rollouts').waitFor(); // the access reviews have answered
    assert.equal((await page.locator('header .user').textContent())?.trim(), 'team team-a', 'the team shown by its name');
    assert.equal(await page.getByRole('link', { name: 'Platform' }).count(), 0, 'no platform view for a team');
    for (const name of ['Undo', 'Pause', 'Resume', 'Abort']) assert.equal(await page.getByRole('button', { name }).count(), 0, `no ${name} for a team`);
    await page.goto(`${fleet.url}/portal/#/resources/app`);
    await page.getByRole('heading', { name: 'App resources in team-a' }).waitFor();
    await page.getByText('No apps yet.').waitFor();
    assert.equal(await page.getByText('todoer').count(), 0, "team-a does not see default's App");
    await page.goto(`${fleet.url}/portal/#/resources/app/default/todoer`);
    await page
      .getByRole('alert')
      .filter({ hasText: /forbidden/ })
      .waitFor();
    await page.screenshot({ path: join(ARTIFACTS, 'team-forbidden.png'), fullPage: true });
    await page.context().close();
  });

  it('lets a team bound in several namespaces pick one for its request', async () => {
    // team-a (made by the previous test) is also bound in a staging namespace, as an administrator grants it.
    const staging = [
      'apiVersion: v1\nkind: Namespace\nmetadata: {name: team-a-staging}',
      'apiVersion: rbac.authorization.k8s.io/v1\nkind: RoleBinding\nmetadata: {name: team-a, namespace: team-a-staging}\n' +
        'roleRef: {apiGroup: rbac.authorization.k8s.io, kind: ClusterRole, name: edit}\n' +
        'subjects: [{kind: ServiceAccount, name: team-a, namespace: team-a}]',
    ].join('\n---\n');
    const applied = await kubectl(['apply', '-f', '-'], { input: staging });
    assert.equal(applied.code, 0, applied.stderr);
    const page = await signedIn(tokenOf(join(scratch, 'team-a.kubeconfig')));
    await page.goto(`${fleet.url}/portal/#/request/app`);
    await page.getByRole('heading', { name: 'Request an App' }).waitFor();
    const picker = page.getByLabel('Namespace');
    assert.deepEqual(await picker.locator('option').allTextContents(), ['team-a', 'team-a-staging']);
    assert.equal(await picker.inputValue(), 'team-a', "the team's own namespace first");
    await picker.selectOption('team-a-staging');
    await page.getByLabel('Request name').fill('staged');
    await page.locator('#root_name').fill('staged');
    await page.locator('#root_image').fill('syntasso/sample-todo-app:v1.0.0');
    await page.getByRole('button', { name: 'Request' }).click();
    await eventually(async () => (await kubectl(['get', 'app', 'staged', '-n', 'team-a-staging'])).code === 0, 30_000, 'the App requested in team-a-staging');
    // The list offers the same choice.
    await page.goto(`${fleet.url}/portal/#/resources/app`);
    await page.getByRole('heading', { name: 'App resources in team-a' }).waitFor();
    await page.getByLabel('Namespace').selectOption('team-a-staging');
    await page.getByRole('heading', { name: 'App resources in team-a-staging' }).waitFor();
    await page.getByText('staged').first().waitFor();
    await page.context().close();
  });

  it('reported no Content-Security-Policy violation on any page the tests opened', () => {
    assert.deepEqual(cspViolations, []);
  });
});
