/**
 * A model of Swarm's scheduler, to check that the plan's reservations fit the node inventory.
 * Swarm places whole tasks: a task goes to a node whose free (unreserved) CPU and memory cover
 * its reservation and that satisfies its constraints; among those it spreads, preferring the node
 * running the fewest tasks of that service. Totals can fit while no single node does, so the
 * check is per node, task by task.
 */
import type { ServiceName } from "./services";
import type { NodeSpec } from "./config/nodes";
import { percent, roundCpus } from "./units";

export interface TaskRequest {
  readonly service: ServiceName;
  readonly replicas: number;
  /** Reservation per task. */
  readonly cpus: number;
  readonly memoryMiB: number;
  /** Names of the nodes the service's constraints allow. */
  readonly eligible: readonly string[];
  /** Extra tasks a start-first update runs next to the old ones (0 for stop-first). */
  readonly surge: number;
}

export interface NodeUsage {
  readonly name: string;
  readonly role: NodeSpec["role"];
  readonly cpus: number;
  readonly memoryMiB: number;
  readonly cpuReserved: number;
  readonly memoryReservedMiB: number;
  readonly cpuPercent: number;
  readonly memoryPercent: number;
  /** Tasks per service placed on this node. */
  readonly tasks: Readonly<Partial<Record<ServiceName, number>>>;
}

export interface Unplaced {
  readonly service: ServiceName;
  readonly index: number;
  readonly of: number;
  readonly cpus: number;
  readonly memoryMiB: number;
  readonly freeDescription: string;
}

interface MutableNode {
  spec: NodeSpec;
  cpu: number;
  mem: number;
  tasks: Partial<Record<ServiceName, number>>;
}

const EPSILON = 1e-9;

function fits(node: MutableNode, cpus: number, memoryMiB: number): boolean {
  return node.spec.cpus - node.cpu + EPSILON >= cpus && node.spec.memoryMiB - node.mem >= memoryMiB;
}

export function placeTasks(nodes: readonly NodeSpec[], requests: readonly TaskRequest[]): { nodes: NodeUsage[]; unplaced: Unplaced[] } {
  const state: MutableNode[] = nodes.map((spec) => ({ spec, cpu: 0, mem: 0, tasks: {} }));
  const unplaced: Unplaced[] = [];
  // Pinned services first (they have no choice), then larger reservations first.
  const ordered = [...requests].sort(
    (a, b) => a.eligible.length - b.eligible.length || b.cpus - a.cpus || b.memoryMiB - a.memoryMiB || a.service.localeCompare(b.service),
  );
  for (const request of ordered) {
    for (let i = 1; i <= request.replicas; i++) {
      const candidates = state
        .filter((n) => request.eligible.includes(n.spec.name) && fits(n, request.cpus, request.memoryMiB))
        .sort((a, b) => (a.tasks[request.service] ?? 0) - (b.tasks[request.service] ?? 0) || a.cpu / a.spec.cpus - b.cpu / b.spec.cpus);
      const target = candidates[0];
      if (!target) {
        const free = state
          .filter((n) => request.eligible.includes(n.spec.name))
          .map((n) => `${n.spec.name} has ${roundCpus(n.spec.cpus - n.cpu)} CPU / ${Math.round(n.spec.memoryMiB - n.mem)} MiB unreserved`);
        unplaced.push({
          service: request.service,
          index: i,
          of: request.replicas,
          cpus: request.cpus,
          memoryMiB: request.memoryMiB,
          freeDescription: free.length > 0 ? free.join(", ") : "no node satisfies its placement constraints",
        });
        continue;
      }
      target.cpu += request.cpus;
      target.mem += request.memoryMiB;
      target.tasks[request.service] = (target.tasks[request.service] ?? 0) + 1;
    }
  }
  return {
    nodes: state.map((n) => ({
      name: n.spec.name,
      role: n.spec.role,
      cpus: n.spec.cpus,
      memoryMiB: n.spec.memoryMiB,
      cpuReserved: roundCpus(n.cpu),
      memoryReservedMiB: Math.round(n.mem),
      cpuPercent: percent(n.cpu, n.spec.cpus),
      memoryPercent: percent(n.mem, n.spec.memoryMiB),
      tasks: n.tasks,
    })),
    unplaced,
  };
}

/**
 * Services whose start-first update cannot place its extra tasks. Updates run one service at a
 * time, so each service's surge is checked alone against what the steady state leaves free.
 */
export function updateHeadroom(nodes: readonly NodeUsage[], requests: readonly TaskRequest[]): TaskRequest[] {
  return requests.filter((request) => {
    if (request.surge === 0) return false;
    const room = nodes
      .filter((n) => request.eligible.includes(n.name))
      .reduce((sum, n) => {
        const byCpu = request.cpus > 0 ? Math.floor((n.cpus - n.cpuReserved + EPSILON) / request.cpus) : Infinity;
        const byMem = request.memoryMiB > 0 ? Math.floor((n.memoryMiB - n.memoryReservedMiB) / request.memoryMiB) : Infinity;
        return sum + Math.min(byCpu, byMem);
      }, 0);
    return room < request.surge;
  });
}
