import { parseEgressRule, type AgentEgress, type EgressRule } from '@drover/contracts';
import { EgressPolicy, liftedCategories, withinCeiling, type Logger, type Profile } from '@drover/runtime';

/** The run-profile's egress settings, compiled once per session agent. */
export interface ProfileEgress {
  /** The profile's `egress.allow` on top of the default refusals: every agent's policy starts here. */
  base: EgressPolicy;
  /** `egress.agentsMayAllow`: what an agent's own `egress.allow` may add. */
  agentsMayAllow: readonly EgressRule[];
}

export function profileEgress(profile: Profile, logger: Logger): ProfileEgress {
  const base = EgressPolicy.fromRules(profile.egress.allow);
  const lifted = liftedCategories(base);
  // Loud on purpose: an operator running the dev profile elsewhere should see what it opens.
  if (lifted.length > 0) logger.warn(`egress: ${lifted.join(', ')} allowed by the ${profile.name} profile`);
  return {
    base,
    agentsMayAllow: profile.egress.agentsMayAllow.map((text) => parseEgressRule(text) as EgressRule),
  };
}

/**
 * One agent's policy: the profile's, extended by the agent's own rules when each lies within
 * `agentsMayAllow`. Otherwise the reason, naming the rule: the session fails with it, since an
 * agent may never grant itself what the operator did not delegate (the metadata address, say).
 */
export function agentEgressPolicy(egress: ProfileEgress, own: AgentEgress | undefined): EgressPolicy | string {
  if (!own || own.allow.length === 0) return egress.base;
  for (const text of own.allow) {
    const rule = parseEgressRule(text);
    if (typeof rule === 'string') return `egress.allow: ${rule}`;
    if (!withinCeiling(rule, egress.agentsMayAllow)) {
      return `egress.allow "${text}" is not within the run-profile's egress.agentsMayAllow`;
    }
  }
  return egress.base.extend(own.allow);
}
