/**
 * Plain-text and JSON views of a plan, for the plan command and the README. Pure.
 */
import type { NodeSpec } from "../config/nodes";
import type { Finding } from "../findings";
import { Plan, resolveStack } from "../plan/resolve";
import type { ServicePlan } from "../plan/types";
import { companiesLabel, TIER_NAMES, TIERS, TierName } from "../tiers";
import { formatMiB } from "../units";
import { PGTUNE_REFERENCE } from "../postgres/pgtune";

export function table(headers: string[], rows: (string | number)[][]): string {
  const cells = [headers, ...rows.map((r) => r.map(String))];
  const widths = headers.map((_, i) => Math.max(...cells.map((r) => r[i].length)));
  const line = (r: string[]) => r.map((c, i) => c.padEnd(widths[i])).join("  ").trimEnd();
  return [line(headers), widths.map((w) => "-".repeat(w)).join("  "), ...cells.slice(1).map(line)].join("\n");
}

/** One service's decisions, as the JSON view shows them. */
function serviceJson(s: ServicePlan) {
  return {
    replicas: s.replicas,
    cpuLimit: s.cpuLimit,
    memoryLimitMiB: s.memoryLimitMiB,
    cpuReservation: s.cpuReservation,
    memoryReservationMiB: s.memoryReservationMiB,
    update: s.update,
    rollback: s.rollback,
    restart: s.restart,
    health: s.health,
    placement: s.placement,
    image: s.image,
    ...(s.port !== undefined ? { port: s.port } : {}),
    stopGraceSeconds: s.stopGraceSeconds,
    endpointMode: s.endpointMode,
    converge: s.converge ?? null,
  };
}

/** The stable JSON shape other tools read (see the README), plus the rest of the plan. */
export function planJson(plan: Plan): unknown {
  const all = Object.values(plan.services) as ServicePlan[];
  const services = Object.fromEntries(all.filter((s) => s.group === "application").map((s) => [s.name, serviceJson(s)]));
  const m = plan.monitoring;
  const monitoring = m && {
    enabled: m.enabled,
    stack: m.stack,
    tier: m.tier,
    services: Object.fromEntries(
      all
        .filter((s) => s.group === "monitoring")
        .map((s) => [s.name, { name: s.name, global: s.global, ...serviceJson(s) }]),
    ),
    dataNode: m.dataNode,
    nodeNames: m.nodeNames,
    prometheus: m.prometheus,
    grafanaDomain: m.grafanaDomain,
    alertReceiver: m.alertReceiver,
    scrapeJobs: m.scrapeJobs,
    expectedTasks: m.expectedTasks,
    postgresMaxConnections: m.postgresMaxConnections,
    backup: m.backup,
    // Docker service names by stack service: every service is named after its row.
    dockerNames: Object.fromEntries(all.map((s) => [s.name, s.name])),
    findings: m.findings,
  };
  return {
    stack: plan.stack,
    tier: plan.tier,
    companies: plan.companies,
    environment: plan.environment,
    services,
    backend: plan.backend,
    postgres: plan.postgres,
    pgbouncer: plan.pgbouncer ?? null,
    connections: plan.connections,
    nodes: plan.nodes,
    backup: plan.backup ?? null,
    monitoring: monitoring ?? null,
    findings: plan.findings,
  };
}

export function formatFindingsTable(findings: readonly Finding[]): string {
  if (findings.length === 0) return "none";
  return findings.map((f) => [`${f.level.toUpperCase()} ${f.key}`, `  ${f.message}`, ...(f.details ?? []).map((d) => `    - ${d}`)].join("\n")).join("\n");
}

export function formatPlan(plan: Plan): string {
  const out: string[] = [];
  out.push(`AdvWell plan: stack ${plan.stack}, tier ${plan.tier} (${plan.companies} companies), ${plan.environment}`);
  out.push("", "Services (per replica)");
  out.push(
    table(
      ["service", "replicas", "cpu limit", "mem limit", "cpu res", "mem res", "update", "rollout"],
      (Object.values(plan.services) as ServicePlan[]).map((s) => [
        s!.name,
        s!.global ? `${s!.replicas} (global)` : s!.replicas,
        s!.cpuLimit,
        formatMiB(s!.memoryLimitMiB),
        s!.cpuReservation,
        formatMiB(s!.memoryReservationMiB),
        `${s!.update.order} x${s!.update.parallelism}, ${s!.update.delaySeconds}s`,
        `~${s!.update.rolloutSeconds}s`,
      ]),
    ),
  );
  out.push("", "Nodes (reservations)");
  out.push(
    table(
      ["node", "role", "cpus", "memory", "cpu reserved", "memory reserved", "tasks", "labels"],
      plan.nodes.map((n) => [
        n.name,
        n.role,
        n.cpus,
        formatMiB(n.memoryMiB),
        `${n.cpuReserved} (${n.cpuPercent}%)`,
        `${formatMiB(n.memoryReservedMiB)} (${n.memoryPercent}%)`,
        Object.entries(n.tasks).map(([k, v]) => `${k}=${v}`).join(" "),
        Object.entries(n.labels).map(([k, v]) => `${k}=${v}`).join(" "),
      ]),
    ),
  );
  out.push("", `Backend: NODE_OPTIONS=--max-old-space-size=${plan.backend.nodeHeapMiB}, Prisma connection_limit=${plan.backend.connectionLimit}, pool_timeout=${plan.backend.poolTimeoutSeconds}s, DATABASE_URL via ${plan.backend.databaseHost}`);
  if (plan.backup) {
    const b = plan.backup;
    out.push(`Backups: pg_dump (${b.image}) at "${b.schedule}" UTC to s3://<bucket>/${b.prefix}/${b.stack}/<timestamp>.dump; unhealthy after ${Math.round(b.maxAgeSeconds / 3600)} h without a success`);
  }
  if (plan.pgbouncer) {
    const p = plan.pgbouncer;
    out.push(`PgBouncer: ${p.poolMode} pooling, default_pool_size=${p.defaultPoolSize}, reserve_pool_size=${p.reservePoolSize}, max_db_connections=${p.maxDbConnections}, max_client_conn=${p.maxClientConn}`);
  }
  const pg = plan.postgres;
  out.push("", `PostgreSQL ${pg.majorVersion} settings (PGTune ${PGTUNE_REFERENCE.commit.slice(0, 7)} for the container; container ${formatMiB(pg.memoryLimitMiB)}, worst case ${formatMiB(pg.worstCaseMemoryMiB)})`);
  out.push(table(["setting", "value"], Object.entries(pg.settings).map(([k, v]) => [k, v])));
  out.push("", `Worst case: ${Object.entries(pg.worstCase).filter(([, v]) => v > 0).map(([k, v]) => `${k} ${Math.round(v)} MiB`).join(" + ")}`);
  if (pg.departures.length > 0) {
    out.push("", "Departures from PGTune");
    out.push(table(["setting", "PGTune", "plan", "why"], pg.departures.map((d) => [d.setting, d.pgtune ?? "(not set)", d.plan, d.why])));
  }
  const c = plan.connections;
  out.push("", `Connections: budget ${c.budget} + headroom ${c.headroom} + ${c.superuserReserved} superuser slots = max_connections ${c.maxConnections} (${c.available} usable by roles)`);
  out.push(table(["client", "instances", "each", "total", "why"], c.clients.map((x) => [x.name, x.instances, x.connectionsEach, x.total, x.why])));
  out.push("", "Findings");
  out.push(formatFindingsTable(plan.findings));
  return out.join("\n");
}

export interface TierSummary {
  readonly name: TierName;
  readonly companies: string;
  readonly backendReplicas: number;
  readonly frontendReplicas: number;
  /** The plan's max_connections on the seed's nodes (from its connection budget). */
  readonly maxConnections: number;
  /** The seed's figure for the tier. */
  readonly seedMaxConnections: number;
  readonly pgbouncer: boolean;
  readonly readReplicas: number;
  readonly postgresCpuLimit: number;
  readonly postgresMemoryLimitMiB: number;
  readonly cpuReserved: number;
  readonly memoryReservedMiB: number;
  /** Smallest number of the seed's 4 CPU / 16 GiB nodes on which the tier has no error findings. */
  readonly seedNodesNeeded: number | null;
  readonly fitsOneSeedNode: boolean;
  readonly seedNote: string;
}

export const SEED_NODE: Omit<NodeSpec, "name" | "role"> = { cpus: 4, memoryMiB: 16384 };

/** Every tier, smallest first, resolved on the seed's node size with the project's defaults. */
export function tierSummaries(baseConfig: Readonly<Record<string, string>>): TierSummary[] {
  return TIER_NAMES.map((name) => {
    const spec = TIERS[name];
    let seedNodesNeeded: number | null = null;
    let onOne: Plan | undefined;
    for (let count = 1; count <= 8 && seedNodesNeeded === null; count++) {
      const nodes = Array.from({ length: count }, (_, i) => `name=node-${i + 1},cpus=${SEED_NODE.cpus},memory=${SEED_NODE.memoryMiB}MiB,role=${i === 0 ? "manager" : "worker"}`);
      const { plan } = resolveStack({ ...baseConfig, "advwell:tier": name, "advwell:nodes": JSON.stringify(nodes) }, "tiers");
      if (count === 1) onOne = plan;
      if (plan && !plan.findings.some((f) => f.level === "error")) seedNodesNeeded = count;
    }
    // Everything the tier runs on one node, monitoring included (global services once).
    const all = onOne ? (Object.values(onOne.services) as ServicePlan[]) : [];
    const cpuReserved = all.reduce((sum, s) => sum + s!.replicas * s!.cpuReservation, 0);
    const memoryReservedMiB = all.reduce((sum, s) => sum + s!.replicas * s!.memoryReservationMiB, 0);
    return {
      name,
      companies: companiesLabel(spec),
      backendReplicas: spec.backendReplicas,
      frontendReplicas: spec.frontendReplicas,
      maxConnections: onOne?.connections.maxConnections ?? 0,
      seedMaxConnections: spec.seedMaxConnections,
      pgbouncer: spec.pgbouncer,
      readReplicas: spec.readReplicas,
      postgresCpuLimit: spec.postgres.cpuLimit,
      postgresMemoryLimitMiB: spec.postgres.memoryLimitMiB,
      cpuReserved: Math.round(cpuReserved * 100) / 100,
      memoryReservedMiB,
      seedNodesNeeded,
      fitsOneSeedNode: seedNodesNeeded === 1,
      seedNote: spec.seedNote,
    };
  });
}

/** The README's tier table (a test holds the README equal to this). */
export function tierTableMarkdown(tiers: readonly TierSummary[]): string {
  const header = "| tier | companies | backend | frontend | max_connections (seed's) | PgBouncer | read replicas | Postgres container | reserved CPU / memory | 4 CPU / 16 GiB nodes needed |";
  const rule = "|---|---|---|---|---|---|---|---|---|---|";
  const rows = tiers.map(
    (t) =>
      `| \`${t.name}\` | ${t.companies} | ${t.backendReplicas} | ${t.frontendReplicas} | ${t.maxConnections} (${t.seedMaxConnections}) | ${t.pgbouncer ? "yes" : "no"} | ${t.readReplicas} | ${t.postgresCpuLimit} CPU / ${formatMiB(t.postgresMemoryLimitMiB)} | ${t.cpuReserved} / ${formatMiB(t.memoryReservedMiB)} | ${t.seedNodesNeeded ?? "more than 8"}${t.fitsOneSeedNode ? " (fits the seed's VPS)" : ""} |`,
  );
  return [header, rule, ...rows].join("\n");
}

const BLOCKED = "This change cannot be deployed: the plan has errors";

/** The errors that keep a change from deploying, as the text forms print them. */
export function formatBlockedText(errors: readonly Finding[]): string {
  return `${BLOCKED}\n${formatFindingsTable(errors)}\n`;
}

/** The same for a PR comment, where it comes first: a reviewer reads that before any property. */
export function formatBlockedMarkdown(errors: readonly Finding[]): string {
  const item = (f: Finding) => [`- \`${f.key}\`: ${f.message}`, ...(f.details ?? []).map((d) => `  - ${d}`)].join("\n");
  return `> **${BLOCKED}.**\n\n${errors.map(item).join("\n")}\n`;
}
