/** Config map -> settings -> plan, in one call. What the program, the plan command and the tests all use. */
import { Finding } from "./findings";
import { Plan, resolvePlan } from "./plan";
import { replicationFindings } from "./replication";
import { RawConfig, Settings, validateSettings } from "./settings";

export interface Resolved {
  readonly settings?: Settings;
  readonly plan?: Plan;
  /** Validation errors when settings are invalid, else the plan's findings. */
  readonly findings: readonly Finding[];
}

export function resolveStack(config: RawConfig, stack: string): Resolved {
  const { settings, findings } = validateSettings(config, stack);
  if (!settings) return { findings };
  const resolved = resolvePlan(settings);
  const plan: Plan = { ...resolved, findings: [...resolved.findings, ...replicationFindings(resolved)] };
  return { settings, plan, findings: plan.findings };
}
