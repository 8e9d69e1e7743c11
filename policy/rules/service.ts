/**
 * Every Swarm service carries what Swarm needs to place, watch and undo it: CPU and memory limits
 * and reservations, a health check, an update config that rolls back on failure, a rollback config
 * and a pinned image. Properties as the Docker provider (v4/v5) names them.
 */
import { TYPES } from "./common";
import { imagePinViolations } from "./image";

const positive = (v: unknown) => typeof v === "number" && v > 0;

export function swarmServiceViolations(type: string, props: Record<string, any>): string[] {
  if (type !== TYPES.service) return [];
  const out: string[] = [];
  const task = props.taskSpec ?? {};
  const container = task.containerSpec ?? {};
  const resources = task.resources ?? {};
  const name = typeof props.name === "string" ? props.name : "service";
  for (const [field, label] of [["limits", "limit"], ["reservation", "reservation"]] as const) {
    const r = resources[field] ?? {};
    if (!positive(r.nanoCpus)) out.push(`${name}: no CPU ${label} (taskSpec.resources.${field}.nanoCpus)`);
    if (!positive(r.memoryBytes)) out.push(`${name}: no memory ${label} (taskSpec.resources.${field}.memoryBytes)`);
  }
  const health = container.healthcheck;
  const tests: unknown[] = Array.isArray(health?.tests) ? health.tests : [];
  if (tests.length === 0 || tests[0] === "NONE") out.push(`${name}: no health check (taskSpec.containerSpec.healthcheck.tests)`);
  if (props.updateConfig?.failureAction !== "rollback") {
    out.push(`${name}: updateConfig.failureAction is ${JSON.stringify(props.updateConfig?.failureAction ?? null)}, not "rollback": a failed update would be left half done`);
  }
  if (!props.rollbackConfig || typeof props.rollbackConfig !== "object" || Object.keys(props.rollbackConfig).length === 0) {
    out.push(`${name}: no rollbackConfig: a rollback would run with Swarm's defaults (all tasks at once)`);
  }
  out.push(...imagePinViolations(container.image).map((m) => `${name}: ${m}`));
  return out;
}
