/** Stage 2: the Node heap and Prisma pool of each backend replica. */
import { overrideKey } from "../config/keys";
import type { Settings } from "../config/settings";
import { error, Finding } from "../findings";
import type { BackendPlan, ServicePlan, Staged } from "./types";

/** Prisma's default pool is `num_physical_cpus * 2 + 1`, counted on the host; we count the container's limit. */
export function prismaConnectionLimit(cpuLimit: number): number {
  return Math.ceil(cpuLimit) * 2 + 1;
}

export function planBackend(settings: Settings, backendService: ServicePlan, pooled: boolean): Staged<BackendPlan> {
  const o = settings.overrides;
  const findings: Finding[] = [];
  // 75% of the limit leaves room for buffers, native memory and the stack outside V8's heap.
  const nodeHeapMiB = o.nodeHeapMiB ?? Math.floor(backendService.memoryLimitMiB * 0.75);
  if (nodeHeapMiB >= backendService.memoryLimitMiB) {
    findings.push(error(o.nodeHeapMiB ? overrideKey("backend.nodeHeap") : overrideKey("backend.memoryLimit"), `NODE_OPTIONS --max-old-space-size=${nodeHeapMiB} is at or above the backend's ${backendService.memoryLimitMiB} MiB memory limit: the kernel kills the task before V8 collects (the seed's 1024 MB heap in a 1 GB container); keep it below ${backendService.memoryLimitMiB}`));
  }
  return {
    value: {
      nodeHeapMiB,
      connectionLimit: o.connectionLimit ?? prismaConnectionLimit(backendService.cpuLimit),
      poolTimeoutSeconds: 10,
      databaseHost: pooled ? "pgbouncer" : "postgres",
      port: settings.backendPort,
    },
    findings,
  };
}
