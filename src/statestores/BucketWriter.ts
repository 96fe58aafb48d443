/**
 * Writes a state store's desired files to an S3-compatible bucket (Kratix's BucketStateStore): list what is under
 * each managed folder, upload the files whose content differs (compared by MD5 against the object's ETag), delete
 * the objects no longer desired. Like the Git writer it keeps nothing between calls that the bucket does not hold,
 * so after a crash or an outage the next call converges from scratch, and an unchanged set writes nothing.
 */
import { createHash } from 'node:crypto';
import { DeleteObjectsCommand, ListObjectsV2Command, PutObjectCommand, S3Client, type _Object } from '@aws-sdk/client-s3';
import type { SyncRequest, SyncResult } from './GitWriter.ts';
import { eachConcurrently } from '../lib/eachConcurrently.ts';

export interface BucketWriterOptions {
  /** `host:port` or a URL; without a scheme, https unless `insecure`. */
  endpoint: string;
  bucket: string;
  insecure?: boolean;
  /** Access key credentials; absent: the SDK's default chain (IAM). */
  credentials?: { accessKeyId: string; secretAccessKey: string };
  region?: string;
  /** Objects uploaded at once. */
  parallelism?: number;
}

export class BucketWriteError extends Error {
  constructor(message: string, options?: ErrorOptions) {
    super(message, options);
    this.name = 'BucketWriteError';
  }
}

const md5 = (b: Buffer): string => createHash('md5').update(b).digest('hex');

export function endpointUrl(endpoint: string, insecure = false): string {
  return /^[a-z]+:\/\//i.test(endpoint) ? endpoint : `${insecure ? 'http' : 'https'}://${endpoint}`;
}

export class BucketWriter {
  private readonly opts: BucketWriterOptions;
  private readonly s3: S3Client;

  constructor(opts: BucketWriterOptions) {
    this.opts = opts;
    this.s3 = new S3Client({
      endpoint: endpointUrl(opts.endpoint, opts.insecure),
      region: opts.region ?? 'us-east-1',
      forcePathStyle: true, // MinIO and most S3-compatible servers
      ...(opts.credentials ? { credentials: opts.credentials } : {}),
      maxAttempts: 3,
    });
  }

  private async listUnder(prefix: string): Promise<_Object[]> {
    const out: _Object[] = [];
    let token: string | undefined;
    do {
      const page = await this.s3.send(
        new ListObjectsV2Command({ Bucket: this.opts.bucket, ...(prefix ? { Prefix: prefix } : {}), ...(token ? { ContinuationToken: token } : {}) }),
      );
      out.push(...(page.Contents ?? []));
      token = page.IsTruncated ? page.NextContinuationToken : undefined;
    } while (token);
    return out;
  }

  async sync(request: SyncRequest): Promise<SyncResult> {
    try {
      const existing = new Map<string, string>();
      for (const root of request.roots) {
        for (const o of await this.listUnder(root ? `${root.replace(/\/$/, '')}/` : '')) if (o.Key) existing.set(o.Key, (o.ETag ?? '').replace(/"/g, ''));
      }
      const uploads = [...request.files].filter(([key, content]) => existing.get(key) !== md5(content));
      const removals = [...existing.keys()].filter((key) => !request.files.has(key));
      await eachConcurrently(uploads, this.opts.parallelism ?? 16, async ([key, body]) => {
        await this.s3.send(
          new PutObjectCommand({
            Bucket: this.opts.bucket,
            Key: key,
            Body: body,
            ContentType: key.endsWith('.json') ? 'application/json' : 'application/yaml',
          }),
        );
      });
      for (let i = 0; i < removals.length; i += 1000) {
        await this.s3.send(
          new DeleteObjectsCommand({ Bucket: this.opts.bucket, Delete: { Objects: removals.slice(i, i + 1000).map((Key) => ({ Key })), Quiet: true } }),
        );
      }
      // The version is the content: the same desired set always reports the same version.
      const version = createHash('sha1')
        .update(
          [...request.files]
            .sort(([a], [b]) => a.localeCompare(b))
            .map(([k, v]) => `${k}\0${md5(v)}`)
            .join('\n'),
        )
        .digest('hex');
      return { version, changed: uploads.length + removals.length };
    } catch (err) {
      const e = err as { name?: string; message?: string; $metadata?: { httpStatusCode?: number } };
      const why =
        e.name === 'NoSuchBucket'
          ? `bucket ${this.opts.bucket} does not exist`
          : e.$metadata?.httpStatusCode === 403
            ? 'access denied: check the accessKeyID and secretAccessKey in the secretRef'
            : (e.message ?? String(err));
      throw new BucketWriteError(`bucket ${this.opts.bucket} at ${endpointUrl(this.opts.endpoint, this.opts.insecure)}: ${why}`, { cause: err });
    }
  }
}
