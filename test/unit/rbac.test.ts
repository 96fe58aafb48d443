/**
 * RBAC rule semantics against Kubernetes' documented meaning, by a second formulation: each rule is expanded into
 * the set of concrete (verb, group, resource[/subresource], name) it grants over a small universe, and a randomized
 * matrix of rules and requests must agree with ruleAllows. Then bindings: subjects and namespaces.
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import {
  escalationMessage,
  labelSelectorMatches,
  ruleAllows,
  ruleAllowsNonResource,
  subjectMatches,
  uncoveredRules,
  type PolicyRule,
  type ResourceAttributes,
} from '../../src/api/rbac.ts';

const VERBS = ['get', 'list', 'watch', 'create', 'update', 'patch', 'delete'];
const GROUPS = ['', 'apps.example.com', 'platform.kratix.io'];
const RESOURCES = ['apps', 'secrets', 'promises'];
const SUBRESOURCES = [undefined, 'status', 'token'];
const NAMES = [undefined, 'a', 'b'];

/** Seeded, so a failure names a reproducible case. */
function random(seed: number): () => number {
  let s = seed;
  return () => {
    s = (s * 1103515245 + 12345) % 2 ** 31;
    return s / 2 ** 31;
  };
}

function pickSome<T>(rand: () => number, values: T[], wildcard?: T): T[] {
  if (wildcard !== undefined && rand() < 0.15) return [wildcard];
  return values.filter(() => rand() < 0.4);
}

/** The documented meaning, spelled out as a set: what the rule grants, one tuple per concrete request. */
function grants(rule: PolicyRule, symbolic = false): Set<string> {
  const out = new Set<string>();
  // Symbolic: "*" is also a value of its own, granted only by "*" (what a Role that lists "*" asks for).
  const star = symbolic ? ['*'] : [];
  const verbs = rule.verbs.includes('*') ? [...VERBS, ...star] : rule.verbs;
  const groups = rule.apiGroups?.includes('*') ? [...GROUPS, ...star] : (rule.apiGroups ?? []);
  for (const v of verbs)
    for (const g of groups)
      for (const r of [...RESOURCES, ...star])
        for (const sub of SUBRESOURCES) {
          const full = sub ? `${r}/${sub}` : r;
          // "*" is every resource and subresource; "*/status" is the status of every resource; else exact.
          const resourceListed = (rule.resources ?? []).some((x) => x === '*' || x === full || (sub !== undefined && x === `*/${sub}`));
          if (!resourceListed) continue;
          for (const n of NAMES) {
            // resourceNames restricts to named requests of those names; empty means any (and unnamed) request.
            if (rule.resourceNames?.length && (n === undefined || !rule.resourceNames.includes(n))) continue;
            out.add(`${v}|${g}|${full}|${n ?? ''}`);
          }
        }
  return out;
}

describe('RBAC rules', () => {
  it('agree with the documented semantics over a randomized matrix', () => {
    const rand = random(20261202);
    let allowed = 0;
    for (let i = 0; i < 400; i++) {
      const rule: PolicyRule = {
        verbs: pickSome(rand, VERBS, '*'),
        apiGroups: pickSome(rand, GROUPS, '*'),
        resources: [
          ...pickSome(rand, RESOURCES, '*'),
          ...(rand() < 0.3 ? [`${RESOURCES[Math.floor(rand() * 3)]}/status`] : []),
          ...(rand() < 0.1 ? ['*/status'] : []),
        ],
        ...(rand() < 0.3 ? { resourceNames: pickSome(rand, ['a', 'b']) } : {}),
      };
      const expected = grants(rule);
      for (const v of VERBS)
        for (const g of GROUPS)
          for (const r of RESOURCES)
            for (const sub of SUBRESOURCES)
              for (const n of NAMES) {
                const attrs: ResourceAttributes = { verb: v, group: g, resource: r, ...(sub ? { subresource: sub } : {}), ...(n ? { name: n } : {}) };
                const want = expected.has(`${v}|${g}|${sub ? `${r}/${sub}` : r}|${n ?? ''}`);
                if (want) allowed++;
                assert.equal(ruleAllows(rule, attrs), want, `rule ${JSON.stringify(rule)} request ${JSON.stringify(attrs)}`);
              }
    }
    assert.ok(allowed > 1000, 'the matrix exercises allowed requests too');
  });

  it("refuse to grant what the granter does not hold (Kubernetes' escalation check), over a randomized matrix", () => {
    const rand = random(20261204);
    const randomRule = (): PolicyRule => ({
      verbs: pickSome(rand, VERBS.slice(0, 4), '*'),
      apiGroups: pickSome(rand, GROUPS, '*'),
      resources: [...pickSome(rand, RESOURCES, '*'), ...(rand() < 0.2 ? ['apps/status'] : []), ...(rand() < 0.1 ? ['*/status'] : [])],
      ...(rand() < 0.3 ? { resourceNames: pickSome(rand, ['a', 'b']) } : {}),
    });
    const union = (rules: PolicyRule[]): Set<string> => new Set(rules.flatMap((r) => [...grants(r, true)]));
    let covered = 0;
    let refused = 0;
    for (let i = 0; i < 600; i++) {
      const owner = Array.from({ length: 1 + Math.floor(rand() * 3) }, randomRule);
      const requested = Array.from({ length: 1 + Math.floor(rand() * 2) }, randomRule);
      const held = union(owner);
      const want = [...union(requested)].every((t) => held.has(t));
      const missing = uncoveredRules(owner, requested);
      assert.equal(missing.length === 0, want, `owner ${JSON.stringify(owner)} requested ${JSON.stringify(requested)} missing ${JSON.stringify(missing)}`);
      // What is reported missing is indeed not held, and is part of what was asked.
      for (const m of missing)
        assert.ok(
          [...grants(m, true)].some((t) => !held.has(t)),
          `reported ${JSON.stringify(m)} is held`,
        );
      if (want) covered++;
      else refused++;
    }
    assert.ok(covered > 50 && refused > 50, `the matrix exercises both outcomes (${covered} covered, ${refused} refused)`);
  });

  it('word an escalation refusal as Kubernetes does', () => {
    const user = { username: 'system:serviceaccount:team-a:team-a', groups: ['system:serviceaccounts', 'system:authenticated'] };
    const missing = uncoveredRules([{ verbs: ['get'], apiGroups: [''], resources: ['configmaps'] }], [{ verbs: ['*'], apiGroups: ['*'], resources: ['*'] }]);
    assert.deepEqual(missing, [{ verbs: ['*'], apiGroups: ['*'], resources: ['*'] }]);
    assert.equal(
      escalationMessage(user, missing),
      'user "system:serviceaccount:team-a:team-a" (groups=["system:serviceaccounts" "system:authenticated"]) is attempting to grant RBAC permissions not currently held:\n{APIGroups:["*"], Resources:["*"], Verbs:["*"]}',
    );
    assert.deepEqual(uncoveredRules([{ verbs: ['get'], nonResourceURLs: ['/api/*'] }], [{ verbs: ['get'], nonResourceURLs: ['/api/v1', '/metrics'] }]), [
      { verbs: ['get'], nonResourceURLs: ['/metrics'] },
    ]);
  });

  it('match non-resource URLs exactly or by a trailing *', () => {
    const rule = { verbs: ['get'], nonResourceURLs: ['/healthz', '/apis/*'] };
    assert.equal(ruleAllowsNonResource(rule, { verb: 'get', path: '/healthz' }), true);
    assert.equal(ruleAllowsNonResource(rule, { verb: 'get', path: '/healthz/x' }), false);
    assert.equal(ruleAllowsNonResource(rule, { verb: 'get', path: '/apis/platform.kratix.io' }), true);
    assert.equal(ruleAllowsNonResource(rule, { verb: 'post', path: '/healthz' }), false);
  });

  it("bind users, groups and service accounts (a service account without a namespace is in the binding's)", () => {
    const sa = { username: 'system:serviceaccount:team-a:ci', groups: ['system:serviceaccounts', 'system:authenticated'] };
    assert.equal(subjectMatches({ kind: 'ServiceAccount', name: 'ci' }, sa, 'team-a'), true);
    assert.equal(subjectMatches({ kind: 'ServiceAccount', name: 'ci' }, sa, 'team-b'), false);
    assert.equal(subjectMatches({ kind: 'ServiceAccount', name: 'ci', namespace: 'team-a' }, sa, 'team-b'), true);
    assert.equal(subjectMatches({ kind: 'Group', name: 'system:authenticated' }, sa, ''), true);
    assert.equal(subjectMatches({ kind: 'User', name: 'ci' }, sa, 'team-a'), false);
  });

  it('select aggregated roles by label selectors with expressions', () => {
    assert.equal(labelSelectorMatches({ matchLabels: { a: 'true' } }, { a: 'true', b: 'x' }), true);
    assert.equal(labelSelectorMatches({ matchExpressions: [{ key: 'b', operator: 'In', values: ['y'] }] }, { b: 'x' }), false);
    assert.equal(labelSelectorMatches({ matchExpressions: [{ key: 'b', operator: 'DoesNotExist' }] }, {}), true);
    assert.equal(labelSelectorMatches({}, { any: 'thing' }), true);
  });
});
