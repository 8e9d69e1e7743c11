/**
 * The resolved plan of every tier, built the way `pulumi up` builds it: the production stack's
 * config, the tier switched with `advwell:tier=<tier>`, validated, then resolved.
 *
 * Some tiers carry node-fit error findings on the production stack's single node; they are
 * about Swarm placement and change nothing in the PostgreSQL or PgBouncer slices tested here.
 */
import { applySet, loadStackConfig } from "../../../config/stackConfig";
import { Plan, PROJECT, resolvePlan, Settings, TIER_NAMES, TierName, validateSettings } from "../../../model";

export interface TierPlan {
  readonly tier: TierName;
  readonly settings: Settings;
  readonly plan: Plan;
}

export function tierPlan(tier: TierName, stack = "production"): TierPlan {
  const { config } = loadStackConfig(stack);
  const flat = { ...config };
  applySet(flat, `${PROJECT}:tier=${tier}`, PROJECT);
  const { settings, findings } = validateSettings(flat, stack);
  if (!settings) throw new Error(`stack ${stack} with tier ${tier} does not validate: ${findings.map((f) => `${f.key}: ${f.message}`).join("; ")}`);
  return { tier, settings, plan: resolvePlan(settings) };
}

/** Every tier, smallest first, as `[tier, TierPlan]` rows for `describe.each` / `test.each`. */
export function allTierPlans(stack = "production"): [TierName, TierPlan][] {
  return TIER_NAMES.map((tier) => [tier, tierPlan(tier, stack)]);
}
