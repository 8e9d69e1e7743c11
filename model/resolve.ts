/** Config map -> settings -> plan, in one call. What the program, the plan command and the tests all use. */
import { Finding } from "./findings";
import { Plan, resolvePlan } from "./plan";
import { MonitoringSettings, parseMonitoringSettings } from "./monitoring";
import { replicationFindings } from "./replication";
import { RawConfig, Settings, validateSettings } from "./settings";

export interface Resolved {
  readonly settings?: Settings;
  readonly plan?: Plan;
  readonly monitoringSettings?: MonitoringSettings;
  /** Validation errors when settings are invalid, else the plan's findings. */
  readonly findings: readonly Finding[];
}

export function resolveStack(config: RawConfig, stack: string, secureKeys: readonly string[] = []): Resolved {
  const { settings, findings } = validateSettings(config, stack);
  const monitoring = parseMonitoringSettings(config, secureKeys);
  if (!settings || !monitoring.settings) return { findings: [...findings, ...monitoring.findings] };
  const resolved = resolvePlan(settings, monitoring.settings);
  const plan: Plan = { ...resolved, findings: [...resolved.findings, ...replicationFindings(resolved)] };
  return { settings, plan, monitoringSettings: monitoring.settings, findings: plan.findings };
}
