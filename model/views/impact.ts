/**
 * What a diff means for the running stack, beyond its properties: a change to PostgreSQL's task
 * spec restarts it. Pure: the plan's timings in, a sentence out.
 */
import type { ServicePlan } from "../plan/types";
import type { ResourceDiff } from "./diff";

/**
 * Swarm takes a stopping task out of DNS and the load balancer, then waits this long before the
 * stop signal (moby daemon/cluster/executor/container/controller.go, Shutdown:
 * `defaultGossipConvergeDelay = 2 * time.Second`, hard-coded).
 */
export const SWARM_GOSSIP_DELAY_SECONDS = 2;

/**
 * PostgreSQL's fast shutdown (0.02 s) and the new container's start (0.4 s), as the forced-update
 * drill measured them from its log timestamps (docs/rehearsal.md, "Where a planned restart's 3.5 s
 * goes"). They depend on the machine, not on the plan.
 */
export const CONTAINER_STOP_START_SECONDS = 0.42;

export interface RestartEstimate {
  /** Seconds the service is unavailable in a planned (stop-first) restart, to the nearest half second. */
  readonly seconds: number;
  /** The same when the shutdown takes all of its stop grace period (a long shutdown checkpoint). */
  readonly worstSeconds: number;
}

/**
 * A stop-first restart as the drills measure it, from the first refused connection to the first
 * answered one: Swarm's gossip delay, the shutdown and start, then Docker's first health check one
 * `interval` after the start (the provider has no start_interval), after which Swarm publishes the
 * task in DNS again. With the plan's 1 s interval: 2 + 0.42 + 1 = 3.5 s, the drills' figure.
 */
export function plannedRestart(service: Pick<ServicePlan, "health" | "stopGraceSeconds">): RestartEstimate {
  const halves = (s: number) => Math.round(s * 2) / 2;
  return {
    seconds: halves(SWARM_GOSSIP_DELAY_SECONDS + CONTAINER_STOP_START_SECONDS + service.health.intervalSeconds),
    worstSeconds: halves(SWARM_GOSSIP_DELAY_SECONDS + service.stopGraceSeconds + CONTAINER_STOP_START_SECONDS + service.health.intervalSeconds),
  };
}

/**
 * Swarm replaces a service's tasks when their spec changes (swarmkit
 * manager/orchestrator/task.go, IsTaskDirty compares the task spec; the service's own labels,
 * update and rollback config and replica count are not part of it).
 */
export function restartsTasks(path: string): boolean {
  return path.startsWith("taskSpec.");
}

/** The part of a task spec a path is in, in a reader's words: `taskSpec.containerSpec.args[work_mem]` -> "settings". */
function describeSpecPath(path: string): string {
  const part = path.replace(/^taskSpec\.(containerSpec\.)?/, "").replace(/[.[].*$/, "");
  const words: Record<string, string> = { args: "settings", resources: "CPU and memory", image: "image", env: "environment", configs: "config files", secrets: "secrets", mounts: "mounts", healthcheck: "health check" };
  return words[part] ?? part;
}

/** The note a diff carries when it restarts PostgreSQL's primary: which properties, and for how long. */
export function postgresRestartNote(diff: ResourceDiff, postgres: Pick<ServicePlan, "name" | "health" | "stopGraceSeconds">): string | undefined {
  const changed = diff.changed.find((r) => r.type === "docker:index/service:Service" && r.service === postgres.name);
  const paths = changed?.changes.map((c) => c.path).filter(restartsTasks) ?? [];
  if (paths.length === 0) return undefined;
  const { seconds, worstSeconds } = plannedRestart(postgres);
  const what = [...new Set(paths.map(describeSpecPath))].join(", ");
  return `PostgreSQL restarts (about ${seconds} s unavailable; up to ${worstSeconds} s if its shutdown takes the whole ${postgres.stopGraceSeconds} s stop grace): its task spec changes (${what})`;
}
