/**
 * The portal with 10,000 Apps, in Chromium: how long until the first page paints (sign-in screen, catalog) and until
 * the resource list shows its first rows and then all 10,000, and how smoothly it scrolls. Compared with the floor
 * measured in the same run: Chromium loading an empty page, and the API answering the first page of the list.
 * Figures only. Usage: node bench/portal.bench.ts [--apps 10000]
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { chromium } from 'playwright-core';
import { pino } from 'pino';
import { startFleetOps } from '../src/main.ts';
import { HttpClient } from '../src/client/HttpClient.ts';
import { loadKubeconfig } from '../src/client/kubeconfig.ts';
import { testPromise } from '../test/helpers/promises.ts';
import { arg } from './lib/figures.ts';

const APPS = arg('apps', 10_000);
const RUNS = 3;
const median = (xs: number[]): number => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)] ?? NaN;
const ms = (n: number): string => `${Math.round(n)} ms`;

async function main(): Promise<void> {
  const dir = mkdtempSync(join(tmpdir(), 'fleetops-portalbench-'));
  const fleet = await startFleetOps({ dataDir: dir, port: 0, logger: pino({ level: 'silent' }), defaultDestinations: false, idleMemory: false });
  const browser = await chromium.launch({ executablePath: process.env.CHROMIUM ?? '/usr/bin/chromium', args: ['--no-sandbox', '--disable-dev-shm-usage'] });
  try {
    const client = new HttpClient(loadKubeconfig(fleet.kubeconfigPath));
    const promise = testPromise({ kind: 'App', plural: 'apps', group: 'marketplace.kratix.io' });
    await client.request('POST', '/apis/platform.kratix.io/v1alpha1/promises', { body: promise });
    const type = await waitFor(() => fleet.registry.byKind('marketplace.kratix.io', 'App'));
    const started = performance.now();
    for (let i = 0; i < APPS; i += 250) {
      await Promise.all(
        Array.from({ length: Math.min(250, APPS - i) }, (_, j) =>
          fleet.objects.create(type, 'default', {
            apiVersion: 'marketplace.kratix.io/v1',
            kind: 'App',
            metadata: { name: `app-${String(i + j).padStart(5, '0')}` },
            spec: { image: 'nginx', replicas: 1 },
          }),
        ),
      );
    }
    console.log(`${APPS} Apps stored in ${ms(performance.now() - started)}; waiting for the controllers to settle`);
    const queue = fleet.controllers.resources.controller.queue;
    await waitFor(() => queue.length === 0 || undefined);
    await sleep(2000);
    await waitFor(() => queue.length === 0 || undefined);

    const context = await browser.newContext({ ignoreHTTPSErrors: true, viewport: { width: 1280, height: 900 } });
    await context.addInitScript(
      `sessionStorage.setItem('fleetops.token', ${JSON.stringify(fleet.adminToken)}); sessionStorage.setItem('fleetops.user', 'admin');`,
    );
    const page = await context.newPage();
    const floor: number[] = [];
    const apiFirstPage: number[] = [];
    const catalog: number[] = [];
    const firstRows: number[] = [];
    const allRows: number[] = [];
    for (let run = 0; run < RUNS; run++) {
      let t = performance.now();
      await page.goto('about:blank');
      await page.setContent('<p>empty</p>');
      floor.push(performance.now() - t);

      t = performance.now();
      await client.get('/apis/marketplace.kratix.io/v1/apps?limit=500', { accept: 'application/json;as=Table;v=v1;g=meta.k8s.io,application/json' });
      apiFirstPage.push(performance.now() - t);

      t = performance.now();
      await page.goto(`${fleet.url}/portal/#/`);
      await page.getByRole('heading', { name: 'Catalog' }).waitFor();
      catalog.push(performance.now() - t);

      await page.goto('about:blank');
      t = performance.now();
      await page.goto(`${fleet.url}/portal/#/resources/app`);
      await page.getByRole('row', { name: /app-00000/ }).waitFor();
      firstRows.push(performance.now() - t);
      await page.getByText(`${APPS} rows`).waitFor({ timeout: 120_000 });
      allRows.push(performance.now() - t);
    }
    // Scrolling: frames rendered while the list scrolls through all rows in 2 s.
    const frames = (await page.evaluate(`new Promise((resolve) => {
      const body = document.querySelector('.vbody'); let frames = 0; const start = performance.now();
      const step = () => { frames++; const f = (performance.now() - start) / 2000; body.scrollTop = f * body.scrollHeight; if (f < 1) requestAnimationFrame(step); else resolve(frames); };
      requestAnimationFrame(step);
    })`)) as number;
    const rendered = (await page.evaluate(`document.querySelectorAll('.vbody a.vrow').length`)) as number;

    console.log(`\nPortal with ${APPS} Apps (median of ${RUNS}, Chromium ${browser.version()}):`);
    console.log(`  floor: empty page in Chromium           ${ms(median(floor))}`);
    console.log(`  floor: API first page (500 rows, Table) ${ms(median(apiFirstPage))}`);
    console.log(`  portal first paint (catalog)            ${ms(median(catalog))}`);
    console.log(`  resource list: first rows painted       ${ms(median(firstRows))}`);
    console.log(`  resource list: all ${APPS} rows loaded   ${ms(median(allRows))}`);
    console.log(`  scrolling all rows in 2 s: ${frames} frames (${Math.round(frames / 2)} fps); rows in the DOM: ${rendered}`);
  } finally {
    await browser.close();
    await fleet.stop();
    rmSync(dir, { recursive: true, force: true });
  }
}

const sleep = (n: number): Promise<true> => new Promise((r) => setTimeout(() => r(true), n));

async function waitFor<T>(fn: () => T | undefined | Promise<T | undefined>, timeoutMs = 600_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const v = await fn();
    if (v !== undefined && v !== false) return v;
    if (Date.now() > deadline) throw new Error('timed out');
    await sleep(200);
  }
}

await main();
