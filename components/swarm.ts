/**
 * The one mapping from a ServicePlan to the Docker provider's Swarm service arguments. Every
 * component uses these helpers, so resources, update/rollback policy, restart policy, placement
 * and health checks are spelled once. Unit conversions happen here, at the provider's edge.
 */
import { createHash } from "crypto";
import * as docker from "@pulumi/docker";
import type * as pulumi from "@pulumi/pulumi";
import type { HealthPlan, RestartPlan, ServicePlan, UpdatePlan } from "../model/plan";
import { cpusToNanoCpus, mibToBytes } from "../model/units";

import In = docker.types.input;

const seconds = (s: number) => `${s}s`;

export function resources(plan: ServicePlan): In.ServiceTaskSpecResources {
  return {
    limits: { nanoCpus: cpusToNanoCpus(plan.cpuLimit), memoryBytes: mibToBytes(plan.memoryLimitMiB) },
    reservation: { nanoCpus: cpusToNanoCpus(plan.cpuReservation), memoryBytes: mibToBytes(plan.memoryReservationMiB) },
  };
}

export function updateConfig(update: UpdatePlan): In.ServiceUpdateConfig {
  return {
    parallelism: update.parallelism,
    delay: seconds(update.delaySeconds),
    order: update.order,
    failureAction: update.failureAction,
    monitor: seconds(update.monitorSeconds),
    maxFailureRatio: String(update.maxFailureRatio),
  };
}

export function rollbackConfig(rollback: UpdatePlan): In.ServiceRollbackConfig {
  return {
    parallelism: rollback.parallelism,
    delay: seconds(rollback.delaySeconds),
    order: rollback.order,
    failureAction: rollback.failureAction,
    monitor: seconds(rollback.monitorSeconds),
    maxFailureRatio: String(rollback.maxFailureRatio),
  };
}

export function restartPolicy(restart: RestartPlan): In.ServiceTaskSpecRestartPolicy {
  return {
    condition: restart.condition,
    delay: seconds(restart.delaySeconds),
    maxAttempts: restart.maxAttempts,
    ...(restart.windowSeconds > 0 ? { window: seconds(restart.windowSeconds) } : {}),
  };
}

export function placement(plan: ServicePlan): In.ServiceTaskSpecPlacement {
  return {
    constraints: [...plan.placement.constraints],
    prefs: plan.placement.spreadByLabels.map((label) => `spread=${label}`),
  };
}

/** A container health check; `test` is the exec form, e.g. ["CMD", "pg_isready", ...]. */
export function healthcheck(test: string[], health: HealthPlan): In.ServiceTaskSpecContainerSpecHealthcheck {
  return {
    tests: test,
    interval: seconds(health.intervalSeconds),
    timeout: seconds(health.timeoutSeconds),
    retries: health.retries,
    startPeriod: seconds(health.startPeriodSeconds),
  };
}

/** Docker's label list from a plain map (Traefik reads service labels in Swarm mode). */
export function labelList(labels: Record<string, pulumi.Input<string>>): In.ServiceLabel[] {
  return Object.keys(labels)
    .sort()
    .map((label) => ({ label, value: labels[label] }));
}

/** Everything of a Swarm service that comes from its plan slice, shared by every component. */
export function serviceSpecFromPlan(plan: ServicePlan) {
  return {
    mode: { replicated: { replicas: plan.replicas } },
    updateConfig: updateConfig(plan.update),
    rollbackConfig: rollbackConfig(plan.rollback),
    resources: resources(plan),
    restartPolicy: restartPolicy(plan.restart),
    placement: placement(plan),
  };
}

/**
 * Swarm configs are immutable, so a config whose content changes must get a new name: the name
 * carries a hash of the content, and Pulumi creates the new config before it swaps the service.
 */
export function contentName(base: string, content: string): string {
  return `${base}-${createHash("sha256").update(content).digest("hex").slice(0, 10)}`;
}
