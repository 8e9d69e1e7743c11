/**
 * The one mapping from a ServicePlan to the Docker provider's Swarm service arguments, and the
 * helpers every component uses for mounts, configs and secrets. Resources, update/rollback
 * policy, restart policy, placement, health checks, stop grace periods and endpoint modes are
 * spelled once, here. Unit conversions happen here, at the provider's edge.
 */
import { createHash } from "crypto";
import * as docker from "@pulumi/docker";
import * as pulumi from "@pulumi/pulumi";
import type { NetworkName } from "../model/networks";
import type { HealthPlan, RestartPlan, ServicePlan, UpdatePlan } from "../model/plan/types";
import { cpusToNanoCpus, mibToBytes, textToBase64 } from "../model/units";

import In = docker.types.input;

const seconds = (s: number) => `${s}s`;

/** A network a service joins, by the id Pulumi knows and the name Traefik and Swarm DNS use. */
export interface NetworkRef {
  /** The network resource's id. */
  readonly id: pulumi.Input<string>;
  /** Its Docker name (Traefik's `swarm.network` label names it). */
  readonly name: string;
  /** Which of the plan's networks it is; absent for a component's own network (the backup's egress). */
  readonly plan?: NetworkName;
}

/** The stack's networks, by the plan's name (components/advwell.ts creates them). */
export type StackNetworks = Readonly<Partial<Record<NetworkName, NetworkRef>>>;

/** The refs of the networks a service's plan names, in the plan's order (the first is Traefik's). */
export function networksOf(plan: ServicePlan, stack: StackNetworks): NetworkRef[] {
  return plan.networks.map((n) => {
    const ref = stack[n];
    if (!ref) throw new Error(`${plan.name} joins the ${n} network, which the stack did not create`);
    return ref;
  });
}

/**
 * The networks a component attaches, checked against the plan: the plan's networks are the only
 * stack networks a service joins (a component's own, such as the backup's egress, come on top).
 */
function plannedNetworks(plan: ServicePlan, given: readonly NetworkRef[]): readonly NetworkRef[] {
  const stackNetworks = given.filter((n) => n.plan !== undefined).map((n) => n.plan);
  // Refs that name no plan network (a component built alone in its test) cannot be checked.
  if (stackNetworks.length > 0 && JSON.stringify(stackNetworks) !== JSON.stringify(plan.networks)) {
    throw new Error(`${plan.name} was given the networks ${JSON.stringify(stackNetworks)} but its plan says ${JSON.stringify(plan.networks)}`);
  }
  return given;
}

/** PostgreSQL (or PgBouncer in front of it) as a client reaches it on the overlay network. */
export interface DatabaseRef {
  /** The service's DNS name on the overlay network. */
  readonly host: string;
  readonly port: number;
  /** The database name. */
  readonly name: string;
  /** The role the client logs in as, where it matters. */
  readonly user?: string;
}

export function resources(plan: ServicePlan): In.ServiceTaskSpecResources {
  return {
    limits: { nanoCpus: cpusToNanoCpus(plan.cpuLimit), memoryBytes: mibToBytes(plan.memoryLimitMiB) },
    reservation: { nanoCpus: cpusToNanoCpus(plan.cpuReservation), memoryBytes: mibToBytes(plan.memoryReservationMiB) },
  };
}

/** Update or rollback policy: same fields in the provider, one mapping. */
export function updateConfig(update: UpdatePlan): In.ServiceUpdateConfig & In.ServiceRollbackConfig {
  return {
    parallelism: update.parallelism,
    delay: seconds(update.delaySeconds),
    order: update.order,
    failureAction: update.failureAction,
    monitor: seconds(update.monitorSeconds),
    maxFailureRatio: String(update.maxFailureRatio),
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
    // Swarm's SpreadDescriptor is the label itself (`node.labels.advwell.node`); the provider passes
    // the string through verbatim, and the scheduler skips a descriptor that does not start with
    // `node.labels.` or `engine.labels.` (the `spread=` prefix belongs to the docker CLI's flag).
    prefs: [...plan.placement.spreadByLabels],
  };
}

/** A container health check; `test` is the exec form, e.g. ["CMD", "pg_isready", ...]. */
export function healthcheck(test: readonly string[], health: HealthPlan): In.ServiceTaskSpecContainerSpecHealthcheck {
  return {
    tests: [...test],
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

/**
 * A Swarm secret as a file in the container. Its owner and mode are not chosen here: every
 * service's secret files get the owner and mode its plan decides (`secretFiles`, from the service
 * table's `secretReader`), in swarmServiceArgs.
 */
export function secretMount(secret: docker.Secret, fileName: string): In.ServiceTaskSpecContainerSpecSecret {
  return { secretId: secret.id, secretName: secret.name, fileName };
}

/**
 * Every secret file owned by the plan's reader and readable by it alone. Swarm's default is
 * root-owned 0444 (swarmkit api/specs.proto SecretReference.File: mode defaults to 0444), which
 * every user of the container can read.
 */
export function ownedSecrets(plan: ServicePlan, secrets: In.ServiceTaskSpecContainerSpec["secrets"]): In.ServiceTaskSpecContainerSpec["secrets"] {
  if (secrets === undefined) return undefined;
  const files = plan.secretFiles;
  const own = (s: In.ServiceTaskSpecContainerSpecSecret): In.ServiceTaskSpecContainerSpecSecret => {
    if (!files) throw new Error(`${plan.name} mounts the secret file ${JSON.stringify(s.fileName)} but its row in model/services.ts names no secretReader`);
    return { ...s, fileUid: String(files.uid), fileGid: String(files.gid), fileMode: files.mode };
  };
  return pulumi.output(secrets).apply((list) => (list ?? []).map(own));
}

/** A Swarm config as a file in the container; scripts are mounted 0555, other files 0444. */
export function configMount(config: docker.ServiceConfig, fileName: string, mode: number = 0o444): In.ServiceTaskSpecContainerSpecConfig {
  return { configId: config.id, configName: config.name, fileName, fileMode: mode };
}

/** A named volume (a `docker.Volume` of the stack, by its name output) at `target`. */
export function volumeMount(source: pulumi.Input<string>, target: string, readOnly = false): In.ServiceTaskSpecContainerSpecMount {
  return { type: "volume", source, target, ...(readOnly ? { readOnly: true } : {}) };
}

/** A read-only bind mount of a host path (the Docker socket, /proc, /sys). */
export function bindMount(source: string, target: string, propagation?: string): In.ServiceTaskSpecContainerSpecMount {
  return { type: "bind", source, target, readOnly: true, ...(propagation ? { bindOptions: { propagation } } : {}) };
}

/** A tmpfs of a planned size (PostgreSQL's /dev/shm). */
export function tmpfsMount(target: string, sizeMiB: number): In.ServiceTaskSpecContainerSpecMount {
  return { type: "tmpfs", target, tmpfsOptions: { sizeBytes: mibToBytes(sizeMiB) } };
}

export interface SwarmServiceOptions {
  /** Value of the `advwell.component` label, for `docker service ls --filter`. */
  readonly component: string;
  readonly labels?: Record<string, pulumi.Input<string>>;
  /** Everything of the container the plan does not decide (image and stop grace period come from the plan). */
  readonly containerSpec: Omit<In.ServiceTaskSpecContainerSpec, "image" | "stopGracePeriod">;
  /** Networks the tasks join; on each, Swarm DNS resolves the service's name (the plan's). */
  readonly networks: readonly NetworkRef[];
  /** Published ports (Traefik's host-mode ports); the endpoint mode itself comes from the plan. */
  readonly ports?: In.ServiceEndpointSpecPort[];
}

/** The whole docker.Service argument set for a service's plan: every Swarm service is built with this. */
export function swarmServiceArgs(plan: ServicePlan, o: SwarmServiceOptions): docker.ServiceArgs {
  return {
    name: plan.name,
    mode: plan.global ? { global: true } : { replicated: { replicas: plan.replicas } },
    updateConfig: updateConfig(plan.update),
    rollbackConfig: updateConfig(plan.rollback),
    labels: labelList({ ...o.labels, "advwell.component": o.component }),
    endpointSpec: { mode: plan.endpointMode, ...(o.ports ? { ports: o.ports } : {}) },
    // `pulumi up` waits for the rollout and fails when Swarm rolls it back (model/plan/services.ts convergePlan).
    ...(plan.converge ? { convergeConfig: { timeout: seconds(plan.converge.timeoutSeconds), delay: seconds(plan.converge.pollSeconds) } } : {}),
    taskSpec: {
      containerSpec: {
        ...o.containerSpec,
        ...(o.containerSpec.secrets !== undefined ? { secrets: ownedSecrets(plan, o.containerSpec.secrets) } : {}),
        image: plan.image,
        stopGracePeriod: seconds(plan.stopGraceSeconds),
      },
      networksAdvanceds: plannedNetworks(plan, o.networks).map((n) => ({ id: n.id })),
      resources: resources(plan),
      restartPolicy: restartPolicy(plan.restart),
      placement: placement(plan),
    },
  };
}

/**
 * Swarm configs are immutable, so a config whose content changes must get a new name: the name
 * carries a hash of the content, and Pulumi creates the new config before it swaps the service.
 */
export function contentName(base: string, content: string): string {
  return `${base}-${createHash("sha256").update(content).digest("hex").slice(0, 10)}`;
}

/**
 * A Swarm config holding rendered text, named by its content (see contentName). The text goes as
 * base64 `data`, never `dataRaw`: the built provider refuses `dataRaw` (model/units.ts textToBase64).
 */
export function textConfig(resourceName: string, text: string, parent: pulumi.Resource): docker.ServiceConfig {
  return new docker.ServiceConfig(resourceName, { name: contentName(resourceName, text), data: textToBase64(text) }, { parent });
}

/**
 * A Swarm secret from a value that stays a Pulumi secret all the way. Swarm secrets are immutable,
 * so a changed value (a database URL after a tier change moves it to PgBouncer) replaces the
 * secret: the Docker name is left to Pulumi's auto-naming (resource name plus a random suffix), so
 * the new secret can exist beside the old one while the service moves over.
 */
export function secretFile(resourceName: string, value: pulumi.Input<string>, parent: pulumi.Resource): docker.Secret {
  const data = pulumi.secret(pulumi.output(value).apply(textToBase64));
  return new docker.Secret(resourceName, { data, labels: [{ label: "advwell.secret", value: resourceName }] }, { parent });
}
