/** Opens a data directory's image cache with the platform's registry configuration (FleetOps and the CLI). */
import { errorMessage } from '../../api/errors.ts';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Logger } from 'pino';
import { defaultImageCacheDir } from './cacheDir.ts';
import { ImageCache, type RegistryAuths } from './ImageCache.ts';
import { SkopeoFetcher } from './SkopeoFetcher.ts';
import { defaultStepUser } from '../runtime/BwrapRuntime.ts';

export interface ImagesOptions {
  /**
   * A containers `registries.conf` (mirrors, prefix rewrites, insecure registries). Default
   * `<data dir>/registries.conf` when it exists, else the machine's (/etc/containers/registries.conf).
   */
  registriesConf?: string;
  /** PEM CA certificates trusted for registries. Default `<data dir>/registry-ca.pem` when it exists. */
  caBundle?: string;
  /**
   * Registry credentials for every pull (a Docker config.json / containers auth.json, `{"auths": …}`), e.g. for the
   * platform's mirror. Default `<data dir>/registry-auth.json` when it exists. Pipelines' imagePullSecrets win.
   */
  authFile?: string;
  /** Where unpacked roots live (default: see defaultImageCacheDir). */
  cacheDir?: string;
  /** Bytes of unpacked roots kept (default 10 GiB). */
  maxBytes?: number;
  /** First back-off after a failed pull (default 10 s). */
  backoffBaseMs?: number;
}

/** The tools behind the cache (skopeo, umoci) with the registry configuration, alone (pushes use it too). */
export function openFetcher(dataDir: string, options: ImagesOptions = {}): SkopeoFetcher {
  const inDataDir = (file: string): string | undefined => (existsSync(join(dataDir, file)) ? join(dataDir, file) : undefined);
  // The data directory's file is named even when absent: it is read at each pull, so adding or editing it needs no restart.
  const registriesConf = options.registriesConf ?? join(dataDir, 'registries.conf');
  const caBundle = options.caBundle ?? inDataDir('registry-ca.pem');
  return new SkopeoFetcher({ workDir: join(dataDir, 'image-fetch'), ...(registriesConf ? { registriesConf } : {}), ...(caBundle ? { caBundle } : {}) });
}

export function openImageCache(dataDir: string, options: ImagesOptions = {}, logger?: Logger): ImageCache {
  const authFile = options.authFile ?? (existsSync(join(dataDir, 'registry-auth.json')) ? join(dataDir, 'registry-auth.json') : undefined);
  let defaultAuths: RegistryAuths | undefined;
  if (authFile) {
    try {
      defaultAuths = (JSON.parse(readFileSync(authFile, 'utf8')) as { auths?: RegistryAuths }).auths;
    } catch (err) {
      throw new Error(`registry credentials ${authFile} are not a Docker config.json ({"auths": {...}}): ${errorMessage(err)}`, { cause: err });
    }
  }
  return new ImageCache({
    ...(defaultAuths ? { defaultAuths } : {}),
    dir: options.cacheDir ?? defaultImageCacheDir(dataDir, defaultStepUser()),
    fetcher: openFetcher(dataDir, options),
    ...(options.maxBytes !== undefined ? { maxBytes: options.maxBytes } : {}),
    ...(options.backoffBaseMs !== undefined ? { backoffBaseMs: options.backoffBaseMs } : {}),
    ...(logger ? { logger } : {}),
  });
}
