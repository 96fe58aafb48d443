/**
 * Metrics as a platform team reads them: Debian's real Prometheus scrapes FleetOps over HTTPS with the token of a
 * `fleetops team add --monitoring` identity, a Promise serves 20 requests (one of which fails its step), and the
 * series are queried through Prometheus' HTTP API: runs by result, step-duration buckets, reconciles, API requests.
 * `promtool check metrics` lints the scrape and `promtool check rules` the shipped alert rules, which Prometheus
 * also loads. A team's own token and no token at all are refused /metrics.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parse } from 'yaml';
import { eventually, installPromise, fleetopsCli, startTestFleet, type TestFleet } from '../helpers/fleet.ts';
import { connectStateStore, startGitServer, type TestGitServer } from '../helpers/gitServer.ts';
import { freePort } from '../helpers/ports.ts';
import { testPromise } from '../helpers/promises.ts';
import { TEST_IMAGE } from '../helpers/images.ts';
import { httpsGet } from '../helpers/https.ts';

const root = join(import.meta.dirname, '..', '..');
const RULES = join(root, 'docs', 'observability', 'prometheus-rules.yaml');
const DASHBOARD = join(root, 'docs', 'observability', 'grafana-dashboard.json');
const NAMES = Array.from({ length: 20 }, (_, i) => `w-${String(i + 1).padStart(2, '0')}`);
const FAILING = 'w-07';

const promise = testPromise({
  kind: 'Gauge',
  plural: 'gauges',
  destinationSelectors: { environment: 'worker' },
  pipeline: {
    name: 'render',
    spec: {
      containers: [
        {
          name: 'render',
          image: TEST_IMAGE,
          command: [
            'sh',
            '-c',
            'if grep -q "fail: true" /kratix/input/object.yaml; then echo "refused" >&2; exit 3; fi; echo "a: 1" > /kratix/output/out.yaml',
          ],
        },
      ],
    },
  },
});

/** The token of a kubeconfig written by `fleetops team add`. */
function tokenOf(kubeconfigFile: string): string {
  const config = parse(readFileSync(kubeconfigFile, 'utf8')) as { users: { user: { token: string } }[] };
  return config.users[0]?.user.token ?? '';
}

function promtool(args: string[], input?: string): { code: number; out: string } {
  const r = spawnSync('promtool', args, { input, encoding: 'utf8' });
  return { code: r.status ?? -1, out: `${r.stdout}${r.stderr}` };
}

describe('metrics scraped by Prometheus', () => {
  let fleet: TestFleet;
  let git: TestGitServer;
  let dir: string;
  let prometheus: ChildProcess;
  let promUrl: string;
  let scraperToken: string;
  let teamToken: string;

  /** One instant query's samples: labels and value. */
  const query = async (q: string): Promise<{ metric: Record<string, string>; value: number }[]> => {
    const res = await fetch(`${promUrl}/api/v1/query?query=${encodeURIComponent(q)}`);
    const body = (await res.json()) as { status: string; data: { result: { metric: Record<string, string>; value: [number, string] }[] } };
    assert.equal(body.status, 'success', JSON.stringify(body));
    return body.data.result.map((r) => ({ metric: r.metric, value: Number(r.value[1]) }));
  };
  const scalar = async (q: string): Promise<number | undefined> => (await query(q))[0]?.value;
  const scrape = (token?: string): Promise<{ status: number; body: string }> => httpsGet(`${fleet.url}/metrics`, fleet.caCert, token);

  before(async () => {
    dir = mkdtempSync(join(tmpdir(), 'fleetops-prom-'));
    git = await startGitServer();
    await git.createRepo('platform');
    fleet = await startTestFleet({ stateStoreBatchMs: 50 });
    await connectStateStore(fleet.client, git, 'platform');
    const cli = fleetopsCli(fleet.kubeconfigPath, dir);
    let r = await cli(['team', 'add', 'prometheus', '--monitoring']);
    assert.equal(r.code, 0, r.stderr);
    scraperToken = tokenOf(join(dir, 'prometheus.kubeconfig'));
    r = await cli(['team', 'add', 'dev']);
    assert.equal(r.code, 0, r.stderr);
    teamToken = tokenOf(join(dir, 'dev.kubeconfig'));

    writeFileSync(join(dir, 'token'), scraperToken);
    writeFileSync(join(dir, 'ca.crt'), fleet.caCert);
    const promPort = await freePort();
    promUrl = `http://127.0.0.1:${promPort}`;
    writeFileSync(
      join(dir, 'prometheus.yml'),
      [
        'global: {scrape_interval: 1s, evaluation_interval: 1s}',
        `rule_files: [${JSON.stringify(RULES)}]`,
        'scrape_configs:',
        '  - job_name: fleetops',
        '    scheme: https',
        `    authorization: {credentials_file: ${JSON.stringify(join(dir, 'token'))}}`,
        `    tls_config: {ca_file: ${JSON.stringify(join(dir, 'ca.crt'))}}`,
        `    static_configs: [{targets: ["127.0.0.1:${fleet.port}"]}]`,
        '',
      ].join('\n'),
    );
    prometheus = spawn(
      'prometheus',
      [`--config.file=${join(dir, 'prometheus.yml')}`, `--storage.tsdb.path=${join(dir, 'data')}`, `--web.listen-address=127.0.0.1:${promPort}`],
      { stdio: ['ignore', 'ignore', 'pipe'] },
    );
    let log = '';
    prometheus.stderr?.on('data', (c: Buffer) => (log = (log + c.toString()).slice(-4000)));
    await eventually(async () => (await fetch(`${promUrl}/-/ready`).catch(() => undefined))?.ok, 60_000, `prometheus ready (its log: ${log})`);
  });

  after(async () => {
    prometheus?.kill('SIGTERM');
    await fleet?.cleanup();
    await git?.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('refuses /metrics without a token and to a team not granted it', async () => {
    assert.equal((await scrape()).status, 401);
    const denied = await scrape(teamToken);
    assert.equal(denied.status, 403);
    const status = JSON.parse(denied.body) as { kind: string; reason: string; message: string };
    assert.equal(status.kind, 'Status');
    assert.equal(status.reason, 'Forbidden');
    assert.match(status.message, /cannot get path "\/metrics"/);
    assert.equal((await scrape(scraperToken)).status, 200);
  });

  it('counts 20 requests with one failing step, as Prometheus scraped them', async () => {
    await installPromise(fleet, promise);
    for (const name of NAMES) {
      await fleet.client.request('POST', '/apis/test.fleetops.dev/v1/namespaces/default/gauges', {
        body: { apiVersion: 'test.fleetops.dev/v1', kind: 'Gauge', metadata: { name }, spec: { fail: name === FAILING } },
      });
    }
    const runs = (result: string): Promise<number | undefined> =>
      scalar(`sum(fleetops_pipeline_runs_total{promise="gauge",pipeline="render",result="${result}"})`);
    await eventually(
      async () => (await runs('succeeded')) === 19 && ((await runs('failed')) ?? 0) >= 1,
      90_000,
      '19 runs succeeded and 1 failed in Prometheus',
    );

    // Every run of the step is in its histogram: the +Inf bucket equals the count, and a finite bucket holds them too.
    const count = await scalar('sum(fleetops_pipeline_step_duration_seconds_count{promise="gauge",step="render"})');
    assert.ok(count !== undefined && count >= 20, `step count ${count}`);
    assert.equal(await scalar('sum(fleetops_pipeline_step_duration_seconds_bucket{promise="gauge",step="render",le="+Inf"})'), count);
    assert.equal(await scalar('sum(fleetops_pipeline_step_duration_seconds_bucket{promise="gauge",step="render",le="600"})'), count);

    // Reconciles of the resource controller, by result; the failed workflow is not a reconcile error (it is retried by its status).
    const reconciles = await query('controller_runtime_reconcile_total{controller="resource"}');
    const byResult = new Map(reconciles.map((s) => [s.metric.result, s.value]));
    assert.ok((byResult.get('success') ?? 0) + (byResult.get('requeue_after') ?? 0) >= 20, JSON.stringify([...byResult]));
    assert.ok(((await scalar('sum(controller_runtime_reconcile_time_seconds_count{controller="resource"})')) ?? 0) >= 20);
    assert.ok((await query('workqueue_depth{name="resource"}')).length === 1, 'the resource queue has a depth series');

    // The API server's view: 20 creates of gauges answered 201.
    assert.equal(await scalar('sum(apiserver_request_total{verb="POST",group="test.fleetops.dev",resource="gauges",code="201"})'), 20);
    assert.ok(((await scalar('sum(apiserver_request_duration_seconds_count{verb="POST",resource="gauges"})')) ?? 0) >= 20);

    // The state store was written for worker-1, and nothing failed.
    await eventually(
      async () => ((await scalar('sum(fleetops_statestore_write_duration_seconds_count{destination="worker-1"})')) ?? 0) >= 1,
      30_000,
      'a write',
    );
    assert.equal((await query('fleetops_statestore_write_errors_total')).length, 0);

    // Process and store levels.
    assert.ok(((await scalar('sum(fleetops_store_commits_total)')) ?? 0) > 0);
    assert.ok(((await scalar('sum(fleetops_watchers)')) ?? 0) > 0);
    // The read cache holds the objects of the fleet's resources, within its budget.
    const held = await scalar('sum(fleetops_store_read_cache_characters{of="held"})');
    const budget = await scalar('sum(fleetops_store_read_cache_characters{of="budget"})');
    assert.ok(held !== undefined && budget !== undefined && held > 20 * 1000 && held < budget, `read cache: ${held} characters of ${budget}`);
    assert.ok(((await scalar('sum(process_resident_memory_bytes{job="fleetops"})')) ?? 0) > 0);
    // No series carries a resource's name.
    assert.equal(
      (await query(`{job="fleetops", __name__=~"fleetops_.*|controller_.*|workqueue_.*|apiserver_.*"} and on() vector(1)`)).filter((s) =>
        Object.values(s.metric).some((v) => NAMES.includes(v)),
      ).length,
      0,
    );
  });

  it('serves a scrape promtool accepts, and alert rules Prometheus loads', async () => {
    const text = (await scrape(scraperToken)).body;
    const lint = promtool(['check', 'metrics'], text);
    assert.equal(lint.code, 0, lint.out);
    const rules = promtool(['check', 'rules', RULES]);
    assert.equal(rules.code, 0, rules.out);
    const loaded = (await (await fetch(`${promUrl}/api/v1/rules`)).json()) as { data: { groups: { rules: { name: string; health: string }[] }[] } };
    const all = loaded.data.groups.flatMap((g) => g.rules);
    assert.ok(all.length >= 5, JSON.stringify(all));
    assert.deepEqual(
      all.filter((r) => r.health === 'err'),
      [],
    );
    assert.ok(all.some((r) => r.name === 'FleetOpsRolloutHalted'));
  });

  it('ships a Grafana dashboard whose every query Prometheus evaluates over series FleetOps serves', async () => {
    const dashboard = JSON.parse(readFileSync(DASHBOARD, 'utf8')) as { panels: { title: string; targets?: { expr: string }[] }[] };
    const exprs = dashboard.panels.flatMap((p) => (p.targets ?? []).map((t) => ({ panel: p.title, expr: t.expr })));
    assert.ok(exprs.length >= 20, `${exprs.length} queries`);
    const served = new Set((await scrape(scraperToken)).body.split('\n').flatMap((l) => /^# TYPE (\S+) /.exec(l)?.[1] ?? []));
    for (const { panel, expr } of exprs) {
      // Grafana's variables as a dashboard user would have them set.
      await query(expr.replaceAll('$__rate_interval', '1m').replaceAll('$job', 'fleetops'));
      for (const metric of expr.match(/\b(?:fleetops|controller_runtime|workqueue|apiserver|process|nodejs)_[a-z0-9_]+/g) ?? []) {
        const family = metric.replace(/_(bucket|count|sum)$/, '');
        assert.ok(served.has(family) || served.has(metric), `panel "${panel}" reads ${metric}, which /metrics does not serve`);
      }
    }
  });
});
