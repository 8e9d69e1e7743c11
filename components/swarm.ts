/**
 * The one mapping from a ServicePlan to the Docker provider's Swarm service arguments. Every
 * component uses these helpers, so resources, update/rollback policy, restart policy, placement
 * and health checks are spelled once. Unit conversions happen here, at the provider's edge.
 */
import { createHash } from "crypto";
import * as docker from "@pulumi/docker";
import * as pulumiSdk from "@pulumi/pulumi";
import type { HealthPlan, RestartPlan, ServicePlan, UpdatePlan } from "../model/plan";
import { cpusToNanoCpus, mibToBytes } from "../model/units";

import In = docker.types.input;

const seconds = (s: number) => `${s}s`;

/** What the helpers read of a service plan (monitoring plans have their own name type). */
type PlanSlice = Omit<ServicePlan, "name">;

export function resources(plan: PlanSlice): In.ServiceTaskSpecResources {
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

export function placement(plan: PlanSlice): In.ServiceTaskSpecPlacement {
  return {
    constraints: [...plan.placement.constraints],
    // Swarm's SpreadDescriptor is the label itself (`node.labels.advwell.node`); the provider passes
    // the string through verbatim, and the scheduler skips a descriptor that does not start with
    // `node.labels.` or `engine.labels.` (the `spread=` prefix belongs to the docker CLI's flag).
    prefs: [...plan.placement.spreadByLabels],
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
export function labelList(labels: Record<string, pulumiSdk.Input<string>>): In.ServiceLabel[] {
  return Object.keys(labels)
    .sort()
    .map((label) => ({ label, value: labels[label] }));
}

/** Everything of a Swarm service that comes from its plan slice, shared by every component. */
export function serviceSpecFromPlan(plan: PlanSlice) {
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

export interface SwarmServiceOptions {
  /** The Docker service name, which is also its DNS name on the overlay networks. */
  readonly name: pulumiSdk.Input<string>;
  /** Value of the `advwell.component` label, for `docker service ls --filter`. */
  readonly component: string;
  readonly labels?: Record<string, pulumiSdk.Input<string>>;
  readonly containerSpec: In.ServiceTaskSpecContainerSpec;
  readonly networks: readonly { readonly id: pulumiSdk.Input<string>; readonly aliases?: string[] }[];
  readonly endpointSpec?: In.ServiceEndpointSpec;
  /** Global mode: one task per node instead of the plan's replica count. */
  readonly global?: boolean;
}

/** The whole docker.Service argument set for a plan slice: every Swarm service is built with this. */
export function swarmServiceArgs(plan: PlanSlice, o: SwarmServiceOptions): docker.ServiceArgs {
  const spec = serviceSpecFromPlan(plan);
  return {
    name: o.name,
    mode: o.global ? { global: true } : spec.mode,
    updateConfig: spec.updateConfig,
    rollbackConfig: spec.rollbackConfig,
    labels: labelList({ ...o.labels, "advwell.component": o.component }),
    endpointSpec: { mode: plan.endpointMode, ...o.endpointSpec },
    taskSpec: {
      containerSpec: { ...o.containerSpec, stopGracePeriod: seconds(plan.stopGraceSeconds) },
      networksAdvanceds: o.networks.map((n) => ({ id: n.id, ...(n.aliases ? { aliases: n.aliases } : {}) })),
      resources: spec.resources,
      restartPolicy: spec.restartPolicy,
      placement: spec.placement,
    },
  };
}

/** A Swarm config holding rendered text, named by its content (see contentName). */
export function textConfig(resourceName: string, text: string, parent: pulumiSdk.Resource): docker.ServiceConfig {
  return new docker.ServiceConfig(resourceName, { name: contentName(resourceName, text), dataRaw: text }, { parent });
}

/**
 * A Swarm secret from a value that stays a Pulumi secret all the way. Swarm secrets are immutable,
 * so a changed value (a database URL after a tier change moves it to PgBouncer) replaces the
 * secret: the Docker name is left to Pulumi's auto-naming (resource name plus a random suffix), so
 * the new secret can exist beside the old one while the service moves over.
 */
export function secretFile(resourceName: string, value: pulumiSdk.Input<string>, parent: pulumiSdk.Resource): docker.Secret {
  const data = pulumiSdk.secret(pulumiSdk.output(value).apply((text) => Buffer.from(text, "utf8").toString("base64")));
  return new docker.Secret(resourceName, { data, labels: [{ label: "advwell.secret", value: resourceName }] }, { parent });
}
