/** Stage 5: placement. Every task's reservation must land on a node, as Swarm schedules whole tasks. */
import { configKey, overrideKey } from "../config/keys";
import type { NodeSpec } from "../config/nodes";
import type { Settings } from "../config/settings";
import { error, Finding, warning } from "../findings";
import { placeTasks, TaskRequest, updateHeadroom } from "../placement";
import { formatMiB } from "../units";
import { NODE_LABEL, POSTGRES_LABEL, surge } from "./services";
import type { NodePlan, ServicePlans, Staged } from "./types";

/** Labels each node must carry: its name everywhere, the Postgres roles on the first two nodes. */
export function nodeLabels(nodes: readonly NodeSpec[], readReplicas: number): Record<string, Record<string, string>> {
  const labels: Record<string, Record<string, string>> = {};
  nodes.forEach((node, index) => {
    labels[node.name] = { [NODE_LABEL]: node.name };
    if (index === 0) labels[node.name][POSTGRES_LABEL] = "primary";
    if (index === 1 && readReplicas > 0) labels[node.name][POSTGRES_LABEL] = "replica";
  });
  return labels;
}

/** Whether a node satisfies `node.role==x` and `node.labels.k==v` constraints. */
export function nodeMatches(constraints: readonly string[], node: NodeSpec, labels: Readonly<Record<string, string>>): boolean {
  return constraints.every((constraint) => {
    const [lhs, rhs] = constraint.split("==");
    if (lhs === "node.role") return node.role === rhs;
    if (lhs.startsWith("node.labels.")) return labels[lhs.slice("node.labels.".length)] === rhs;
    return false;
  });
}

/**
 * What each service asks of the scheduler. A global service is one single-task request per node,
 * pinned to it: Swarm runs it on every node, so every node must have room for its reservation.
 */
export function taskRequests(nodes: readonly NodeSpec[], services: ServicePlans, labels: Record<string, Record<string, string>>): TaskRequest[] {
  return Object.values(services).flatMap((s): TaskRequest[] => {
    const base = { service: s!.name, cpus: s!.cpuReservation, memoryMiB: s!.memoryReservationMiB };
    if (s!.global) return nodes.map((node) => ({ ...base, replicas: 1, eligible: [node.name], surge: 0 }));
    const eligible = nodes.filter((n) => nodeMatches(s!.placement.constraints, n, labels[n.name])).map((n) => n.name);
    return [{ ...base, replicas: s!.replicas, eligible, surge: surge(s!.update) }];
  });
}

/**
 * How many nodes like the largest listed one the plan needs: the same placement model, run again
 * with copies of that node added as workers, up to this many extra nodes.
 */
const MAX_EXTRA_NODES = 16;

export function nodesNeeded(nodes: readonly NodeSpec[], services: ServicePlans, readReplicas: number): { count: number; like: NodeSpec } | undefined {
  if (nodes.length === 0) return undefined;
  const like = [...nodes].sort((a, b) => b.cpus - a.cpus || b.memoryMiB - a.memoryMiB)[0];
  for (let extra = 1; extra <= MAX_EXTRA_NODES; extra++) {
    const more = [...nodes, ...Array.from({ length: extra }, (_, i): NodeSpec => ({ ...like, name: `${like.name}-copy-${i + 1}`, role: "worker" }))];
    if (placeTasks(more, taskRequests(more, services, nodeLabels(more, readReplicas))).unplaced.length === 0) return { count: more.length, like };
  }
  return undefined;
}

/** The one sentence a refused placement leads with: nodes needed, and how much CPU and memory is short. */
function shortfall(settings: Settings, services: ServicePlans, readReplicas: number, placed: ReturnType<typeof placeTasks>): string {
  const round = (n: number) => Math.round(n * 100) / 100;
  const missingCpus = round(placed.unplaced.reduce((sum, t) => sum + t.cpus, 0));
  const missingMiB = placed.unplaced.reduce((sum, t) => sum + t.memoryMiB, 0);
  const freeCpus = round(placed.nodes.reduce((sum, n) => sum + n.cpus - n.cpuReserved, 0));
  const freeMiB = placed.nodes.reduce((sum, n) => sum + n.memoryMiB - n.memoryReservedMiB, 0);
  const short = [
    missingCpus > freeCpus ? `${round(missingCpus - freeCpus)} CPU` : undefined,
    missingMiB > freeMiB ? `${formatMiB(missingMiB - freeMiB)} of memory` : undefined,
  ].filter((x) => x !== undefined);
  const listed = settings.nodes.length;
  const needed = nodesNeeded(settings.nodes, services, readReplicas);
  const need = needed
    ? `needs ${needed.count} nodes like ${needed.like.name} (${needed.like.cpus} CPU, ${formatMiB(needed.like.memoryMiB)}); advwell:nodes lists ${listed}`
    : `needs more than ${listed + MAX_EXTRA_NODES} nodes like the largest listed; advwell:nodes lists ${listed}`;
  const gap = short.length > 0
    ? `the tasks that fit nowhere reserve ${missingCpus} CPU and ${formatMiB(missingMiB)}: ${short.join(" and ")} short of what the listed nodes have unreserved`
    : `the tasks that fit nowhere reserve ${missingCpus} CPU and ${formatMiB(missingMiB)}, which the listed nodes have unreserved in total but not on any one node`;
  return `the ${settings.tier} tier ${need}: ${gap}. Add ${needed ? needed.count - listed : "more"} node${needed?.count === listed + 1 ? "" : "s"} to advwell:nodes, or lower reservations with advwell:overrides. Per service:`;
}

export function planNodes(settings: Settings, services: ServicePlans, readReplicas: number): Staged<NodePlan[]> {
  const findings: Finding[] = [];
  const nodesKey = configKey("nodes");
  const labels = nodeLabels(settings.nodes, readReplicas);
  if (readReplicas > 0 && settings.nodes.length < 2) {
    findings.push(error(nodesKey, `the ${settings.tier} tier runs a read replica, which must live on a second node; advwell:nodes lists ${settings.nodes.length}`));
  }
  const requests = taskRequests(settings.nodes, services, labels);
  const placed = placeTasks(settings.nodes, requests);
  // One line per service, however many of its tasks miss: a count, not a line per task. Misses
  // that an override caused are their own findings (they name the key to change); the rest are
  // the details of one finding that says how many nodes the plan needs and what is short.
  const perService: string[] = [];
  const missed = new Map<string, typeof placed.unplaced>();
  for (const miss of placed.unplaced) missed.set(miss.service, [...(missed.get(miss.service) ?? []), miss]);
  for (const [service, misses] of missed) {
    const first = misses[0];
    const which = first.of === 1 ? "its task" : misses.length === 1 ? `task ${first.index} of ${first.of}` : misses.length === first.of ? `all ${first.of} of its tasks` : `${misses.length} of its ${first.of} tasks`;
    const override = settings.overrides.services[first.service];
    const key = override?.cpuReservation !== undefined ? overrideKey(`${service}.cpuReservation`) : override?.memoryReservationMiB !== undefined ? overrideKey(`${service}.memoryReservation`) : override?.replicas !== undefined ? overrideKey(`${service}.replicas`) : nodesKey;
    const line = `${service}: ${which} (${misses.length === 1 ? "reserving" : "each reserving"} ${first.cpus} CPU, ${formatMiB(first.memoryMiB)}) ${misses.length === 1 ? "fits" : "fit"} on no node: ${misses[misses.length - 1].freeDescription}`;
    if (key === nodesKey) perService.push(line);
    else findings.push(error(key, `${line}. Add a node to advwell:nodes or lower reservations with advwell:overrides`));
  }
  if (perService.length > 0) findings.unshift(error(nodesKey, shortfall(settings, services, readReplicas, placed), perService));
  if (placed.unplaced.length === 0) {
    for (const short of updateHeadroom(placed.nodes, requests)) {
      findings.push(warning(nodesKey, `no headroom for a start-first update of ${short.service}: it briefly runs ${short.surge} extra task(s) reserving ${short.cpus} CPU / ${formatMiB(short.memoryMiB)} each, and no eligible node has that free; the update would wait or fail`));
    }
  }
  if (readReplicas > 0 && !settings.replicaDockerHost) {
    findings.push(warning(configKey("replicaDockerHost"), "the read replica's volume lives on the second node, but Pulumi only reaches the manager (docker:host): without this key Docker creates the volume on first start, unprotected and untracked; set it to the replica node's Docker endpoint"));
  }
  return { value: placed.nodes.map((n) => ({ ...n, labels: labels[n.name] })), findings };
}
