/**
 * Records core v1 Events about objects so `kubectl describe` shows what happened. Repeats of the same
 * (object, reason, message) increase `count` instead of adding events. Failures to record are logged, never thrown:
 * events are informational.
 */
import { createHash } from 'node:crypto';
import type { Logger } from 'pino';
import type { KubeObject } from '../../api/types.ts';
import { createUnlessExists, type Client } from '../../client/Client.ts';
import { rfc3339Seconds } from '../../api/time.ts';

export type EventType = 'Normal' | 'Warning';

export interface EventRecorderOptions {
  client: Client;
  component: string;
  logger: Logger;
  now?: () => Date;
}

export class EventRecorder {
  private readonly opts: EventRecorderOptions;

  constructor(options: EventRecorderOptions) {
    this.opts = options;
  }

  /**
   * `options.likelyNew`: the caller knows this is the first such event about the object (its first run, say): it is
   * created without a read first (a read of an event that does not exist misses every cache); a repeat after all is
   * counted as usual.
   */
  async record(obj: KubeObject, type: EventType, reason: string, message: string, options: { likelyNew?: boolean } = {}): Promise<void> {
    const { client, component, logger } = this.opts;
    const now = rfc3339Seconds((this.opts.now ?? (() => new Date()))());
    const namespace = obj.metadata.namespace || 'default';
    const digest = createHash('sha1').update(`${obj.metadata.uid}|${reason}|${message}`).digest('hex').slice(0, 10);
    const name = `${obj.metadata.name}.${digest}`;
    // Made anew for each create: a shared write's body becomes the store's, even when the create is refused.
    const event = (): KubeObject => ({
      apiVersion: 'v1',
      kind: 'Event',
      metadata: { name, namespace },
      involvedObject: {
        apiVersion: obj.apiVersion,
        kind: obj.kind,
        name: obj.metadata.name,
        namespace: obj.metadata.namespace ?? '',
        uid: obj.metadata.uid,
      },
      reason,
      message,
      type,
      count: 1,
      firstTimestamp: now,
      lastTimestamp: now,
      source: { component },
      reportingComponent: component,
    });
    try {
      if (options.likelyNew && (await createUnlessExists(client, event(), { shared: true }))) return;
      const existing = await client.get({ apiVersion: 'v1', kind: 'Event', namespace, name }, { shared: true });
      if (existing) {
        // An update of what was just read (not a patch, which reads it again); a lost race only loses a count.
        await client.update({ ...existing, count: (typeof existing.count === 'number' ? existing.count : 1) + 1, lastTimestamp: now }, { shared: true });
        return;
      }
      await client.create(event(), { shared: true });
    } catch (err) {
      logger.debug({ err, reason }, 'event not recorded');
    }
  }
}
