/**
 * Images for tests, built by FleetOps' own builder into a fleet's image cache: a plain busybox for shell steps, and
 * the app-as-a-service example's pipeline image (under the marketplace name its Promise uses).
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { ImageCache } from '../../src/workflows/images/ImageCache.ts';
import { buildInto, INSTALL_DIR } from './registry.ts';

/** A static busybox with the usual applets: the image of the tests' shell steps. */
export const TEST_IMAGE = 'fleetops.local/test/busybox:1';
export const EXAMPLE_IMAGE = 'ghcr.io/syntasso/kratix-marketplace/app-as-a-service-configure-pipeline:v0.1.0';

export async function buildTestImage(cache: ImageCache, ref = TEST_IMAGE): Promise<string> {
  const empty = mkdtempSync(join(tmpdir(), 'fleetops-empty-'));
  try {
    return await buildInto(cache, empty, ref, { base: 'busybox', workingDir: '/' });
  } finally {
    rmSync(empty, { recursive: true, force: true });
  }
}

export function buildExampleImage(cache: ImageCache): Promise<string> {
  return buildInto(cache, join(INSTALL_DIR, 'examples', 'app-as-a-service', 'pipeline'), EXAMPLE_IMAGE);
}
