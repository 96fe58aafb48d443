/**
 * Fills aggregated ClusterRoles (`aggregationRule.clusterRoleSelectors`) with the rules of every ClusterRole their
 * selectors match, as Kubernetes' clusterrole-aggregation controller does. Level-based: every change re-derives all
 * aggregated roles; chains (`view` into `edit` into `admin`) settle as each write triggers the next pass.
 */
import type { Logger } from 'pino';
import { labelSelectorMatches, type PolicyRule } from '../../api/rbac.ts';
import { jsonEqual } from '../../api/types.ts';
import type { Client } from '../../client/Client.ts';
import { listOf } from '../../client/typed.ts';
import type { Static } from '../../registry/builtin/defineType.ts';
import { TypeController } from '../shared/TypeController.ts';
import { clusterRoleType, type ClusterRole } from '../../registry/builtin/rbacKinds.ts';

export interface ClusterRoleAggregatorOptions {
  client: Client;
  logger: Logger;
}

const ALL = 'all';

/** The union of the matching roles' rules (by name, duplicates once), or undefined for a role without aggregation. */
export function aggregatedRules(role: ClusterRole, roles: ClusterRole[]): PolicyRule[] | undefined {
  const selectors = role.aggregationRule?.clusterRoleSelectors;
  if (!selectors) return undefined;
  const rules: PolicyRule[] = [];
  const seen = new Set<string>();
  const sources = roles
    .filter((r) => r.metadata.name !== role.metadata.name && selectors.some((s) => labelSelectorMatches(s, r.metadata.labels)))
    .sort((a, b) => String(a.metadata.name).localeCompare(String(b.metadata.name)));
  for (const source of sources) {
    for (const rule of source.rules ?? []) {
      const key = JSON.stringify(rule);
      if (seen.has(key)) continue;
      seen.add(key);
      rules.push(rule);
    }
  }
  return rules;
}

export class ClusterRoleAggregator {
  private readonly opts: ClusterRoleAggregatorOptions;
  private readonly runner: TypeController<Static<typeof clusterRoleType>>;

  constructor(options: ClusterRoleAggregatorOptions) {
    this.opts = options;
    this.runner = new TypeController({
      name: 'clusterrole-aggregation',
      client: options.client,
      type: clusterRoleType,
      logger: options.logger,
      reconciler: { reconcile: () => this.reconcile() },
      onEvent: (_e, enqueue) => enqueue(ALL),
    });
  }

  start(): Promise<void> {
    return this.runner.start();
  }

  stop(): Promise<void> {
    return this.runner.stop();
  }

  async reconcile(): Promise<void> {
    const roles = await listOf(this.opts.client, clusterRoleType);
    for (const role of roles) {
      const rules = aggregatedRules(role, roles);
      if (!rules || jsonEqual(rules, role.rules ?? [])) continue;
      await this.opts.client.update({ ...role, rules });
    }
  }
}
