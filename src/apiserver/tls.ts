/** The API server's certificate: self-signed, made once with the system `openssl` and kept in the data dir. */
import { errorMessage } from '../api/errors.ts';
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';

export interface TlsMaterial {
  key: string;
  cert: string;
}

export function ensureSelfSignedCert(dir: string): TlsMaterial {
  const keyPath = join(dir, 'apiserver.key');
  const certPath = join(dir, 'apiserver.crt');
  if (!existsSync(keyPath) || !existsSync(certPath)) {
    mkdirSync(dir, { recursive: true, mode: 0o700 });
    try {
      execFileSync(
        'openssl',
        [
          'req',
          '-x509',
          '-newkey',
          'ec',
          '-pkeyopt',
          'ec_paramgen_curve:prime256v1',
          '-nodes',
          '-days',
          '3650',
          '-subj',
          '/CN=fleetops-apiserver',
          '-addext',
          'subjectAltName=IP:127.0.0.1,IP:::1,DNS:localhost',
          '-keyout',
          keyPath,
          '-out',
          certPath,
        ],
        { stdio: ['ignore', 'ignore', 'pipe'] },
      );
    } catch (err) {
      throw new Error(`could not create the API server certificate with openssl (install the "openssl" package): ${errorMessage(err)}`, { cause: err });
    }
  }
  return { key: readFileSync(keyPath, 'utf8'), cert: readFileSync(certPath, 'utf8') };
}
