/**
 * Stage 1: every row of the service table (model/services.ts) that the stack runs, planned the
 * same way: resources (tier, then overrides), tasks, image, update and rollback policy, restart,
 * health, placement and stop grace period.
 */
import { configKey, overrideKey } from "../config/keys";
import type { NodeSpec } from "../config/nodes";
import type { ImageKey, Settings } from "../config/settings";
import { error, Finding, warning } from "../findings";
import { isServiceName, PlacementKind, SERVICE_NAMES, SERVICE_TABLE, ServiceName, ServiceRow } from "../services";
import { TIERS } from "../tiers";
import { formatMiB } from "../units";
import type { ConvergePlan, HealthPlan, PlacementPlan, ServicePlan, Staged, UpdatePlan } from "./types";

/** Secret files are read by their owner only (Swarm's default, 0444, lets every user of the container read them). */
export const SECRET_FILE_MODE = 0o400;

/** Node labels the plan relies on; the README tells operators to set them with `docker node update --label-add`. */
export const NODE_LABEL = "advwell.node";
export const POSTGRES_LABEL = "advwell.postgres";

/** Parallelism from the replica count: at most a third of the replicas are replaced at once. */
export function updateParallelism(replicas: number): number {
  return Math.max(1, Math.floor(replicas / 3));
}

/** The update/rollback policy of any service, from its health check and whether it may run twice. */
export function updatePlanFor(health: HealthPlan, stopFirst: boolean, replicas: number, kind: "update" | "rollback"): UpdatePlan {
  const parallelism = stopFirst ? 1 : updateParallelism(replicas);
  const monitorSeconds = health.startPeriodSeconds + health.intervalSeconds * health.retries;
  // Seed: 10 s between update batches, 5 s between rollback batches.
  const delaySeconds = kind === "update" ? 10 : 5;
  return {
    parallelism,
    delaySeconds,
    order: stopFirst ? "stop-first" : "start-first",
    failureAction: kind === "update" ? "rollback" : "pause",
    monitorSeconds,
    maxFailureRatio: 0,
    minHealthyReplicas: replicas - parallelism,
    rolloutSeconds: Math.ceil(replicas / parallelism) * (monitorSeconds + delaySeconds),
  };
}

/** Seconds for scheduling, pulling an image and the provider's polling, on top of the rollout. */
export const CONVERGE_MARGIN_SECONDS = 60;

/**
 * convergeConfig's timeout, from the plan. The docker provider waits after each create or update
 * until every replica's task is running (terraform-provider-docker, resource_docker_service_funcs.go:
 * resourceDockerServiceUpdateRefreshFunc), and Swarm reports a task running only once its health
 * check passes; it fails the deploy as soon as Swarm reports `rollback_completed` or `paused`.
 * A batch takes at most the health check's start period plus interval x retries to come up
 * (monitorSeconds), then Swarm watches it for monitorSeconds more and waits delaySeconds:
 *   timeout = batches x (2 x monitor + delay)            the rollout
 *           + rollbackBatches x (monitor + delay)        a rollback, so its error is the one reported
 *           + 60 s                                        scheduling, image pull, polling
 */
export function convergePlan(replicas: number, update: UpdatePlan, rollback: UpdatePlan, health: HealthPlan, database: boolean): ConvergePlan {
  const batches = Math.ceil(replicas / update.parallelism);
  const rollbackBatches = Math.ceil(replicas / rollback.parallelism);
  return {
    timeoutSeconds: batches * (2 * update.monitorSeconds + update.delaySeconds) + rollbackBatches * (rollback.monitorSeconds + rollback.delaySeconds) + CONVERGE_MARGIN_SECONDS,
    pollSeconds: firstLookSeconds(health, database),
  };
}

/**
 * convergeConfig.delay: when the provider first looks after a create. Its wait is a
 * retry.StateChangeConf whose first refresh comes after Delay and whose next ones 5 s, then 10 s
 * apart (terraform-provider-docker resource_docker_service_funcs.go, resourceDockerServiceCreate),
 * so a first look before the task is healthy costs 5 s more. A task is healthy at the earliest at
 * its first health check, one interval after the container started: the first look comes two
 * seconds after that (container start and the check itself), and never later than the 5 s it was.
 * A database also starts its server on the data directory first (and, on a fresh overlay network,
 * the network's first container): in the cutover drill PostgreSQL was not healthy 3 s after the
 * create in two runs of two, so a database is first looked at after 5 s. The reconciler (1 s
 * checks) is looked at after 3 s and the backend (2 s checks) after 4 s: the takeover's window
 * waits on both (docs/cutover.md, "Rehearsed").
 */
export function firstLookSeconds(health: HealthPlan, database: boolean): number {
  return database ? 5 : Math.min(5, health.intervalSeconds + 2);
}

/** The extra tasks a start-first update runs beside the old ones (0 for stop-first). */
export function surge(update: UpdatePlan): number {
  return update.order === "start-first" ? update.parallelism : 0;
}

/** The first manager: where the provider creates volumes, so stateful monitoring lives there. */
export function dataNode(nodes: readonly NodeSpec[]): string {
  return nodes.find((n) => n.role === "manager")?.name ?? nodes[0]?.name ?? "";
}

export function placementFor(kind: PlacementKind, nodes: readonly NodeSpec[]): PlacementPlan {
  switch (kind) {
    case "primary":
      return { constraints: [`node.labels.${POSTGRES_LABEL}==primary`], spreadByLabels: [] };
    case "replica":
      return { constraints: [`node.labels.${POSTGRES_LABEL}==replica`], spreadByLabels: [] };
    case "managers":
      return { constraints: ["node.role==manager"], spreadByLabels: [] };
    case "data-node":
      return { constraints: [`node.labels.${NODE_LABEL}==${dataNode(nodes)}`], spreadByLabels: [] };
    case "every-node":
      return { constraints: [], spreadByLabels: [] };
    case "spread":
      return { constraints: [], spreadByLabels: [`node.labels.${NODE_LABEL}`] };
  }
}

/** The image a row runs; the backup job's default follows PostgreSQL's major (model/backup/plan.ts). */
function imageOf(name: ServiceName, row: ServiceRow, settings: Settings, backupImage: string): string {
  // Point-in-time recovery: the primary's archive_command and the base backups run pgBackRest,
  // so the primary and the backup job run the PostgreSQL + pgBackRest image (containers/pitr/Dockerfile).
  const pitr = settings.backup.enabled && settings.backup.pitr.enabled ? settings.backup.pitr.image : undefined;
  if (pitr && (name === "postgres" || row.imageKey === "backupImage")) return pitr;
  if (row.imageKey === "backupImage") return backupImage;
  return settings.images[row.imageKey as Exclude<ImageKey, "backupImage">];
}

/** Which services the stack runs, each with its resources (tier values, then overrides) and policies. */
export function planServices(settings: Settings, backupImage: string): Staged<Partial<Record<ServiceName, ServicePlan>>> {
  const tier = TIERS[settings.tier];
  const o = settings.overrides;
  const findings: Finding[] = [];
  const context = { tier, backupEnabled: settings.backup.enabled, monitoringEnabled: settings.monitoring.enabled };
  const running = SERVICE_NAMES.filter((name) => SERVICE_TABLE[name].enabled(context));

  for (const name of Object.keys(o.services)) {
    if (isServiceName(name) && !running.includes(name)) {
      findings.push(error(overrideKey(`${name}.*`), `the ${settings.tier} tier has no ${name} service to override; it has ${running.join(", ")}`));
    }
  }

  const services: Partial<Record<ServiceName, ServicePlan>> = {};
  for (const name of running) {
    const row = SERVICE_TABLE[name];
    const override = o.services[name] ?? {};
    const merged = { ...row.resources(tier), ...override };
    let replicas: number;
    if (row.mode.kind === "global") {
      replicas = settings.nodes.length;
      if (override.replicas !== undefined) {
        findings.push(error(overrideKey(`${name}.replicas`), `got ${override.replicas}; ${name} runs one task on every node (global mode), so it has no replica count`));
      }
    } else if (row.mode.kind === "singleton") {
      replicas = 1;
      if (override.replicas !== undefined && override.replicas !== 1) {
        findings.push(error(overrideKey(`${name}.replicas`), `got ${override.replicas}; ${name} runs exactly 1 replica: ${row.mode.reason}`));
      }
    } else {
      replicas = override.replicas ?? row.mode.replicas(tier);
    }
    // Docker refuses a CPU limit above the node's CPUs, and a memory limit no node has is no limit.
    const largest = { cpus: Math.max(...settings.nodes.map((n) => n.cpus)), memoryMiB: Math.max(...settings.nodes.map((n) => n.memoryMiB)) };
    // The override that asked for more than a node has, or else the inventory that has too little.
    const resourceKey = (field: "cpuLimit" | "memoryLimit") =>
      override[field === "cpuLimit" ? "cpuLimit" : "memoryLimitMiB"] !== undefined ? overrideKey(`${name}.${field}`) : configKey("nodes");
    if (merged.cpuLimit > largest.cpus) {
      findings.push(error(resourceKey("cpuLimit"), `${name} is limited to ${merged.cpuLimit} CPUs but the largest node in advwell:nodes has ${largest.cpus}; Docker refuses a CPU limit above the node's CPUs`));
    }
    if (merged.memoryLimitMiB > largest.memoryMiB) {
      findings.push(error(resourceKey("memoryLimit"), `${name} is limited to ${formatMiB(merged.memoryLimitMiB)} but the largest node in advwell:nodes has ${formatMiB(largest.memoryMiB)}; a limit above the node's memory is no limit, and everything sized from it (PostgreSQL's buffers, Node's heap) would be sized for memory that does not exist`));
    }
    if (merged.cpuReservation > merged.cpuLimit) {
      findings.push(error(overrideKey(`${name}.cpuReservation`), `${name} reserves ${merged.cpuReservation} CPU but is limited to ${merged.cpuLimit}; a reservation cannot exceed its limit`));
    }
    if (merged.memoryReservationMiB > merged.memoryLimitMiB) {
      findings.push(error(overrideKey(`${name}.memoryReservation`), `${name} reserves ${formatMiB(merged.memoryReservationMiB)} but is limited to ${formatMiB(merged.memoryLimitMiB)}; a reservation cannot exceed its limit`));
    }
    const stopFirst = row.order === "stop-first";
    const update = updatePlanFor(row.health, stopFirst, replicas, "update");
    const rollback = updatePlanFor(row.health, stopFirst, replicas, "rollback");
    services[name] = {
      name,
      group: row.group,
      global: row.mode.kind === "global",
      replicas,
      image: imageOf(name, row, settings, backupImage),
      ...(row.portKey ? { port: settings[row.portKey] } : row.port !== undefined ? { port: row.port } : {}),
      stopGraceSeconds: row.stopGraceSeconds,
      endpointMode: settings.endpointMode,
      cpuLimit: merged.cpuLimit,
      memoryLimitMiB: merged.memoryLimitMiB,
      cpuReservation: merged.cpuReservation,
      memoryReservationMiB: merged.memoryReservationMiB,
      update,
      rollback,
      restart: row.restart,
      health: row.health,
      placement: placementFor(row.placement, settings.nodes),
      ...(row.mode.kind === "global" ? {} : { converge: convergePlan(replicas, update, rollback, row.health, row.placement === "primary" || row.placement === "replica") }),
      networks: row.networks,
      ...(row.secretReader ? { secretFiles: { uid: row.secretReader.uid, gid: row.secretReader.gid, mode: SECRET_FILE_MODE, user: row.secretReader.user } } : {}),
    };
  }

  if (settings.environment === "production") {
    for (const name of ["backend", "frontend"] as const) {
      if (services[name]!.replicas === 1) {
        findings.push(warning(o.services[name]?.replicas ? overrideKey(`${name}.replicas`) : configKey("tier"), `${name} runs a single replica in production: any crash or update is an outage`));
      }
    }
  }
  return { value: services, findings };
}
