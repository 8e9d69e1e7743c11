/**
 * The resolved plan of every tier, built the way `pulumi up` builds it: the production stack's
 * config with `advwell:tier=<tier>` set on top, validated, then resolved (test/support/stacks.ts).
 *
 * Some tiers carry node-fit error findings on the production stack's single node; they are
 * about Swarm placement and change nothing in the PostgreSQL or PgBouncer slices tested here.
 */
import { Plan, PROJECT, Settings, TIER_NAMES, TierName } from "../../../model";
import { resolve } from "../../support/stacks";

export interface TierPlan {
  readonly tier: TierName;
  readonly settings: Settings;
  readonly plan: Plan;
}

export function tierPlan(tier: TierName, stack = "production"): TierPlan {
  const { settings, plan, findings } = resolve(stack, [`${PROJECT}:tier=${tier}`]);
  if (!settings || !plan) throw new Error(`stack ${stack} with tier ${tier} does not validate: ${findings.map((f) => `${f.key}: ${f.message}`).join("; ")}`);
  return { tier, settings, plan };
}

/** Every tier, smallest first, as `[tier, TierPlan]` rows for `describe.each`. */
export function allTierPlans(stack = "production"): [TierName, TierPlan][] {
  return TIER_NAMES.map((tier) => [tier, tierPlan(tier, stack)]);
}
