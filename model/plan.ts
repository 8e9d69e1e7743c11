/**
 * Validated settings -> one fully resolved deployment plan. Pure: no Pulumi, no I/O.
 * Every number a component needs is decided here, and every problem is raised here as a finding.
 */
import { error, Finding, warning } from "./findings";
import { derivePostgresSettings, settingKiB, shmSizeMiB, SUPERUSER_RESERVED_CONNECTIONS, worstCaseMemory } from "./postgres";
import { placeTasks, NodeUsage, TaskRequest, updateHeadroom } from "./placement";
import { BackupPlan, planBackup } from "./backup";
import { MONITORING_SERVICE_NAMES, MonitoringPlan, MonitoringServices, MonitoringSettings, monitoringConnectionClients, monitoringTaskRequests, planMonitoring, planMonitoringServices } from "./monitoring";
import { EndpointMode, Environment, NodeSpec, postgresMajor, PROJECT, ServiceName, Settings } from "./settings";
import { BACKUP, companiesLabel, PGBOUNCER, Resources, SEED_BACKEND, SEED_FRONTEND, TIERS, TierName, TRAEFIK } from "./tiers";
import { formatMiB } from "./units";

export type UpdateOrder = "start-first" | "stop-first";

export interface UpdatePlan {
  /** Tasks replaced at once; derived from the replica count so `minHealthyReplicas` always holds. */
  readonly parallelism: number;
  readonly delaySeconds: number;
  readonly order: UpdateOrder;
  readonly failureAction: "rollback" | "pause";
  /** How long Swarm watches each new task before it counts the update as good. */
  readonly monitorSeconds: number;
  readonly maxFailureRatio: number;
  /** Replicas still running while a batch is replaced, even if the order were stop-first. */
  readonly minHealthyReplicas: number;
  /** Rough wall time of a full rollout: batches x (monitor + delay). */
  readonly rolloutSeconds: number;
}

export interface HealthPlan {
  readonly intervalSeconds: number;
  readonly timeoutSeconds: number;
  readonly retries: number;
  readonly startPeriodSeconds: number;
}

export interface RestartPlan {
  readonly condition: "on-failure" | "any";
  readonly delaySeconds: number;
  /** 0 means unlimited. */
  readonly maxAttempts: number;
  readonly windowSeconds: number;
}

export interface PlacementPlan {
  /** Swarm constraint expressions, e.g. `node.labels.advwell.postgres==primary`. */
  readonly constraints: readonly string[];
  /** Swarm spread preferences by node label, e.g. `node.labels.advwell.node`. */
  readonly spreadByLabels: readonly string[];
}

export interface ServicePlan extends Resources {
  readonly name: ServiceName;
  readonly replicas: number;
  /**
   * Seconds Swarm waits after the stop signal before it kills the task. Never left unset: the
   * docker provider sends an unset value as 0, and Swarm then kills right after the signal.
   */
  readonly stopGraceSeconds: number;
  /** `vip` or `dnsrr` (advwell:endpointMode): how the service name resolves on the overlay. */
  readonly endpointMode: EndpointMode;
  readonly update: UpdatePlan;
  readonly rollback: UpdatePlan;
  readonly restart: RestartPlan;
  readonly health: HealthPlan;
  readonly placement: PlacementPlan;
}

export interface ConnectionClient {
  readonly name: string;
  readonly instances: number;
  readonly connectionsEach: number;
  readonly total: number;
  readonly why: string;
}

export interface ConnectionPlan {
  readonly maxConnections: number;
  readonly superuserReserved: number;
  /** Slots ordinary roles can use: max_connections - superuser_reserved_connections. */
  readonly available: number;
  /** Every client the plan counts, at its peak (a start-first rollout runs extra replicas). */
  readonly budget: number;
  readonly clients: readonly ConnectionClient[];
}

export interface BackendPlan {
  /** V8 old space per replica: 75% of the container limit, leaving room for buffers and native memory. */
  readonly nodeHeapMiB: number;
  /** Prisma `connection_limit` per replica. */
  readonly connectionLimit: number;
  /** Prisma `pool_timeout`: seconds a query waits for a free pooled connection. */
  readonly poolTimeoutSeconds: number;
  /** Where DATABASE_URL points; migrations always use the direct URL. */
  readonly databaseHost: "pgbouncer" | "postgres";
  readonly port: number;
}

export interface PgBouncerPlan {
  readonly poolMode: "transaction";
  readonly listenPort: number;
  readonly defaultPoolSize: number;
  readonly reservePoolSize: number;
  readonly maxClientConn: number;
  readonly maxDbConnections: number;
}

export interface PostgresPlan {
  readonly majorVersion: number;
  readonly settings: Readonly<Record<string, string>>;
  readonly memoryLimitMiB: number;
  readonly worstCaseMemoryMiB: number;
  readonly readReplicas: number;
  /** Size of the tmpfs at /dev/shm: Docker's 64 MiB default is too small for parallel query. */
  readonly shmSizeMiB: number;
}

export interface NodePlan extends NodeUsage {
  readonly labels: Readonly<Record<string, string>>;
}

export interface Plan {
  readonly project: string;
  readonly stack: string;
  readonly tier: TierName;
  readonly companies: string;
  readonly environment: Environment;
  readonly services: Readonly<Partial<Record<ServiceName, ServicePlan>>>;
  readonly backend: BackendPlan;
  readonly postgres: PostgresPlan;
  readonly pgbouncer?: PgBouncerPlan;
  readonly connections: ConnectionPlan;
  readonly nodes: readonly NodePlan[];
  /** Scheduled pg_dump to S3: bucket, lifecycle, schedule, image; when backups are enabled. */
  readonly backup?: BackupPlan;
  /** Prometheus, Grafana, Alertmanager and exporters, when monitoring is enabled. */
  readonly monitoring?: MonitoringPlan;
  readonly findings: readonly Finding[];
}

const OVERRIDES = `${PROJECT}:overrides`;
const TIER_KEY = `${PROJECT}:tier`;
const NODES_KEY = `${PROJECT}:nodes`;
const overrideKey = (path: string) => `${OVERRIDES}[${path}]`;

/** Node labels the plan relies on; the README tells operators to set them with `docker node update --label-add`. */
export const NODE_LABEL = "advwell.node";
export const POSTGRES_LABEL = "advwell.postgres";

/** Seed: health checks every 10 s. Start periods give Prisma and nginx time to boot. */
const HEALTH: Record<ServiceName, HealthPlan> = {
  backend: { intervalSeconds: 10, timeoutSeconds: 5, retries: 3, startPeriodSeconds: 30 },
  frontend: { intervalSeconds: 10, timeoutSeconds: 5, retries: 3, startPeriodSeconds: 10 },
  postgres: { intervalSeconds: 10, timeoutSeconds: 5, retries: 5, startPeriodSeconds: 60 },
  "postgres-replica": { intervalSeconds: 10, timeoutSeconds: 5, retries: 5, startPeriodSeconds: 300 },
  pgbouncer: { intervalSeconds: 10, timeoutSeconds: 5, retries: 3, startPeriodSeconds: 10 },
  traefik: { intervalSeconds: 10, timeoutSeconds: 5, retries: 3, startPeriodSeconds: 10 },
  backup: { intervalSeconds: 60, timeoutSeconds: 10, retries: 3, startPeriodSeconds: 30 },
};

/**
 * Stop grace periods. PostgreSQL's fast shutdown writes a checkpoint (a kill forces crash
 * recovery); the web services and Traefik drain in-flight requests (Traefik's own graceTimeOut is
 * 10 s); the backup job finishes a dump it has started rather than losing it.
 */
const STOP_GRACE_SECONDS: Record<ServiceName, number> = {
  postgres: 120,
  "postgres-replica": 120,
  backend: 30,
  frontend: 30,
  traefik: 30,
  pgbouncer: 30,
  backup: 600,
};

/**
 * Services that must never run two tasks at once: two postmasters on one data volume corrupt it,
 * and a second Traefik cannot bind the host-mode ports. They update stop-first.
 */
const STOP_FIRST: ReadonlySet<ServiceName> = new Set(["postgres", "postgres-replica", "traefik", "backup"]);
/** Services that run exactly one task (Postgres scales reads with postgres-replica instead). */
const SINGLETONS: ReadonlySet<ServiceName> = new Set(["postgres", "traefik", "pgbouncer", "backup"]);

/** Parallelism from the replica count: at most a third of the replicas are replaced at once. */
export function updateParallelism(replicas: number): number {
  return Math.max(1, Math.floor(replicas / 3));
}

export function updatePlan(name: ServiceName, replicas: number, kind: "update" | "rollback"): UpdatePlan {
  return updatePlanFor(HEALTH[name], STOP_FIRST.has(name), replicas, kind);
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

function restartPlan(name: ServiceName): RestartPlan {
  // Seed: on-failure, 3 attempts, 5 s delay for Postgres. The 120 s window makes that "3 per
  // 2 minutes" rather than "3 ever", so a database that crashed three times in a month still restarts.
  if (name === "postgres" || name === "postgres-replica") return { condition: "on-failure", delaySeconds: 5, maxAttempts: 3, windowSeconds: 120 };
  return { condition: "any", delaySeconds: 5, maxAttempts: 0, windowSeconds: 0 };
}

function placementFor(name: ServiceName): PlacementPlan {
  switch (name) {
    case "postgres":
      return { constraints: [`node.labels.${POSTGRES_LABEL}==primary`], spreadByLabels: [] };
    case "postgres-replica":
      return { constraints: [`node.labels.${POSTGRES_LABEL}==replica`], spreadByLabels: [] };
    case "traefik":
      return { constraints: ["node.role==manager"], spreadByLabels: [] };
    case "backup":
      // Beside the primary: the dump stays on the node, and the job writes its last-success
      // metric into the textfile volume that the stack declares on that node.
      return { constraints: [`node.labels.${POSTGRES_LABEL}==primary`], spreadByLabels: [] };
    default:
      return { constraints: [], spreadByLabels: [`node.labels.${NODE_LABEL}`] };
  }
}

/** Prisma's default pool is `num_physical_cpus * 2 + 1`, counted on the host; we count the container's limit. */
export function prismaConnectionLimit(cpuLimit: number): number {
  return Math.ceil(cpuLimit) * 2 + 1;
}

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

function nodeMatches(constraints: readonly string[], node: NodeSpec, labels: Record<string, string>): boolean {
  return constraints.every((constraint) => {
    const [lhs, rhs] = constraint.split("==");
    if (lhs === "node.role") return node.role === rhs;
    if (lhs.startsWith("node.labels.")) return labels[lhs.slice("node.labels.".length)] === rhs;
    return false;
  });
}

/** A planning stage's result: what it decided, and what it found wrong or risky. */
interface Staged<T> {
  readonly value: T;
  readonly findings: Finding[];
}

/** Which services the tier runs, each with its resources (tier values, then overrides) and policies. */
export function planServices(settings: Settings, monitoringEnabled: boolean): Staged<Partial<Record<ServiceName, ServicePlan>>> {
  const tier = TIERS[settings.tier];
  const o = settings.overrides;
  const findings: Finding[] = [];
  const base: Partial<Record<ServiceName, Resources & { replicas: number }>> = {
    postgres: { ...tier.postgres, replicas: 1 },
    backend: { ...SEED_BACKEND, replicas: tier.backendReplicas },
    frontend: { ...SEED_FRONTEND, replicas: tier.frontendReplicas },
    traefik: { ...TRAEFIK, replicas: 1 },
  };
  if (tier.pgbouncer) base.pgbouncer = { ...PGBOUNCER, replicas: 1 };
  if (tier.readReplicas > 0) base["postgres-replica"] = { ...tier.postgres, replicas: tier.readReplicas };
  if (settings.backup.enabled) base.backup = { ...BACKUP, replicas: 1 };

  for (const name of Object.keys(o.services) as ServiceName[]) {
    const monitoringService = monitoringEnabled && (MONITORING_SERVICE_NAMES as readonly string[]).includes(name);
    if (!base[name] && !monitoringService) {
      findings.push(error(overrideKey(`${name}.*`), `the ${settings.tier} tier has no ${name} service to override; it has ${Object.keys(base).join(", ")}`));
    }
  }

  const services: Partial<Record<ServiceName, ServicePlan>> = {};
  for (const [name, spec] of Object.entries(base) as [ServiceName, Resources & { replicas: number }][]) {
    const merged = { ...spec, ...o.services[name] };
    const replicas = merged.replicas;
    if (SINGLETONS.has(name) && replicas !== 1) {
      findings.push(error(overrideKey(`${name}.replicas`), `got ${replicas}; ${name} runs exactly 1 replica (scale reads with postgres-replica)`));
    }
    if (merged.cpuReservation > merged.cpuLimit) {
      findings.push(error(overrideKey(`${name}.cpuReservation`), `${name} reserves ${merged.cpuReservation} CPU but is limited to ${merged.cpuLimit}; a reservation cannot exceed its limit`));
    }
    if (merged.memoryReservationMiB > merged.memoryLimitMiB) {
      findings.push(error(overrideKey(`${name}.memoryReservation`), `${name} reserves ${formatMiB(merged.memoryReservationMiB)} but is limited to ${formatMiB(merged.memoryLimitMiB)}; a reservation cannot exceed its limit`));
    }
    services[name] = {
      name,
      replicas,
      stopGraceSeconds: STOP_GRACE_SECONDS[name],
      endpointMode: settings.endpointMode,
      cpuLimit: merged.cpuLimit,
      memoryLimitMiB: merged.memoryLimitMiB,
      cpuReservation: merged.cpuReservation,
      memoryReservationMiB: merged.memoryReservationMiB,
      update: updatePlan(name, replicas, "update"),
      rollback: updatePlan(name, replicas, "rollback"),
      restart: restartPlan(name),
      health: HEALTH[name],
      placement: placementFor(name),
    };
  }

  if (settings.environment === "production") {
    for (const name of ["backend", "frontend"] as const) {
      if (services[name]!.replicas === 1) {
        findings.push(warning(o.services[name]?.replicas ? overrideKey(`${name}.replicas`) : TIER_KEY, `${name} runs a single replica in production: any crash or update is an outage`));
      }
    }
  }
  return { value: services, findings };
}

/** Node heap and Prisma pool per backend replica. */
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

/** Every client of PostgreSQL at its peak (a start-first rollout runs extra tasks), and PgBouncer's pools. */
export function planConnections(
  settings: Settings,
  services: Partial<Record<ServiceName, ServicePlan>>,
  backend: BackendPlan,
  monitoringServices: MonitoringServices | undefined,
): Staged<{ connections: ConnectionPlan; pgbouncer?: PgBouncerPlan }> {
  const o = settings.overrides;
  const findings: Finding[] = [];
  const backendService = services.backend!;
  const maxConnections = o.maxConnections ?? TIERS[settings.tier].maxConnections;
  const backendPeak = backendService.replicas + backendService.update.parallelism;
  const clients: ConnectionClient[] = [];
  let pgbouncer: PgBouncerPlan | undefined;
  if (services.pgbouncer) {
    // Five server connections per Postgres CPU keep every core busy in transaction mode.
    const defaultPoolSize = o.pgbouncerPoolSize ?? 5 * Math.ceil(services.postgres!.cpuLimit);
    const reservePoolSize = Math.ceil(defaultPoolSize / 4);
    pgbouncer = {
      poolMode: "transaction",
      listenPort: 6432,
      defaultPoolSize,
      reservePoolSize,
      maxDbConnections: defaultPoolSize + reservePoolSize,
      maxClientConn: backendPeak * backend.connectionLimit + 20,
    };
    const pgbPeak = services.pgbouncer.replicas + services.pgbouncer.update.parallelism;
    clients.push({ name: "pgbouncer", instances: pgbPeak, connectionsEach: pgbouncer.maxDbConnections, total: pgbPeak * pgbouncer.maxDbConnections, why: "server pool + reserve pool, per PgBouncer task" });
  } else {
    clients.push({ name: "backend", instances: backendPeak, connectionsEach: backend.connectionLimit, total: backendPeak * backend.connectionLimit, why: `Prisma connection_limit x (${backendService.replicas} replicas + ${backendService.update.parallelism} started first during an update)` });
  }
  clients.push({ name: "migrations", instances: 1, connectionsEach: 1, total: 1, why: "prisma migrate deploy over the direct URL (advisory lock: one at a time)" });
  if (services.backup) clients.push({ name: "backup", instances: 1, connectionsEach: 1, total: 1, why: "pg_dump" });
  if (monitoringServices) clients.push(...monitoringConnectionClients(monitoringServices));
  clients.push({ name: "operators", instances: 1, connectionsEach: 2, total: 2, why: "psql sessions and health probes" });
  const budget = clients.reduce((sum, c) => sum + c.total, 0);
  const available = maxConnections - SUPERUSER_RESERVED_CONNECTIONS;
  if (budget > available) {
    const key = o.maxConnections ? overrideKey("postgres.maxConnections") : o.connectionLimit ? overrideKey("backend.connectionLimit") : o.services.backend?.replicas ? overrideKey("backend.replicas") : TIER_KEY;
    findings.push(error(key, `the connection budget is ${budget} but max_connections ${maxConnections} minus ${SUPERUSER_RESERVED_CONNECTIONS} superuser slots leaves ${available}; raise postgres.maxConnections or lower backend.connectionLimit`));
  } else if (maxConnections > 8 * (budget + SUPERUSER_RESERVED_CONNECTIONS)) {
    findings.push(warning(o.maxConnections ? overrideKey("postgres.maxConnections") : TIER_KEY, `max_connections ${maxConnections} is ${Math.floor(maxConnections / (budget + SUPERUSER_RESERVED_CONNECTIONS))}x what the stack can open (${budget} + ${SUPERUSER_RESERVED_CONNECTIONS} reserved); every slot must be able to hold work_mem, so idle slots shrink work_mem (set postgres.maxConnections to trade them for memory)`));
  }
  return { value: { connections: { maxConnections, superuserReserved: SUPERUSER_RESERVED_CONNECTIONS, available, budget, clients }, pgbouncer }, findings };
}

/** PostgreSQL settings: derived from the container, overrides on top, then checked against the container. */
export function planPostgres(settings: Settings, services: Partial<Record<ServiceName, ServicePlan>>, maxConnections: number): Staged<PostgresPlan> {
  const o = settings.overrides;
  const findings: Finding[] = [];
  const postgresService = services.postgres!;
  const derived = derivePostgresSettings({
    memoryLimitMiB: postgresService.memoryLimitMiB,
    cpuLimit: postgresService.cpuLimit,
    maxConnections,
    replicationSlots: services["postgres-replica"]?.replicas ?? 0,
  });
  const pgSettings = { ...derived, ...o.postgresSettings };
  if (o.postgresSettings.max_connections !== undefined) {
    findings.push(error(overrideKey("postgres.settings.max_connections"), `got "${o.postgresSettings.max_connections}"; set postgres.maxConnections instead so the connection budget uses it`));
  }
  const worst = worstCaseMemory(pgSettings);
  const settingsKey = Object.keys(o.postgresSettings).length > 0 ? overrideKey(`postgres.settings.${Object.keys(o.postgresSettings)[0]}`) : undefined;
  if (!worst) {
    findings.push(error(settingsKey ?? TIER_KEY, "a PostgreSQL memory setting is not a size PostgreSQL accepts (e.g. 16MB, 2621kB, 1GB)"));
  } else if (worst.totalMiB > postgresService.memoryLimitMiB) {
    const key = settingsKey ?? (o.maxConnections ? overrideKey("postgres.maxConnections") : o.services.postgres?.memoryLimitMiB ? overrideKey("postgres.memoryLimit") : TIER_KEY);
    const parts = Object.entries(worst.parts).map(([k, v]) => `${k} ${Math.round(v)} MiB`).join(" + ");
    findings.push(error(key, `PostgreSQL can use ${worst.totalMiB} MiB at worst (${parts}) but its container is limited to ${postgresService.memoryLimitMiB} MiB: the kernel would OOM-kill the database under load`));
  }
  const cacheKiB = settingKiB(pgSettings, "effective_cache_size", 4 * 1024 * 1024);
  if (cacheKiB !== undefined && cacheKiB / 1024 > postgresService.memoryLimitMiB) {
    findings.push(warning(overrideKey("postgres.settings.effective_cache_size"), `effective_cache_size ${pgSettings.effective_cache_size} is more than the container's ${formatMiB(postgresService.memoryLimitMiB)}: the cgroup charges page cache to the container, so the planner would count on cache that cannot exist (the seed's 4GB in 3 GB)`));
  }
  return {
    value: {
      majorVersion: postgresMajor(settings.images.postgres) ?? 0,
      settings: pgSettings,
      memoryLimitMiB: postgresService.memoryLimitMiB,
      worstCaseMemoryMiB: worst?.totalMiB ?? 0,
      readReplicas: services["postgres-replica"]?.replicas ?? 0,
      shmSizeMiB: shmSizeMiB(pgSettings),
    },
    findings,
  };
}

/** Placement: every task's reservation must land on a node, as Swarm schedules whole tasks. */
export function planNodes(
  settings: Settings,
  services: Partial<Record<ServiceName, ServicePlan>>,
  readReplicas: number,
  monitoringServices: MonitoringServices | undefined,
): Staged<NodePlan[]> {
  const findings: Finding[] = [];
  const labels = nodeLabels(settings.nodes, readReplicas);
  if (readReplicas > 0 && settings.nodes.length < 2) {
    findings.push(error(NODES_KEY, `the ${settings.tier} tier runs a read replica, which must live on a second node; advwell:nodes lists ${settings.nodes.length}`));
  }
  const requests: TaskRequest[] = Object.values(services).map((s) => ({
    service: s!.name,
    replicas: s!.replicas,
    cpus: s!.cpuReservation,
    memoryMiB: s!.memoryReservationMiB,
    eligible: settings.nodes.filter((n) => nodeMatches(s!.placement.constraints, n, labels[n.name])).map((n) => n.name),
    surge: s!.update.order === "start-first" ? s!.update.parallelism : 0,
  }));
  if (monitoringServices) requests.push(...monitoringTaskRequests(monitoringServices));
  const placed = placeTasks(settings.nodes, requests);
  for (const miss of placed.unplaced) {
    findings.push(error(NODES_KEY, `${miss.service} task ${miss.index} of ${miss.of} (reserves ${miss.cpus} CPU, ${formatMiB(miss.memoryMiB)}) fits on no node: ${miss.freeDescription}. Add a node to advwell:nodes or lower reservations with advwell:overrides`));
  }
  if (placed.unplaced.length === 0) {
    for (const short of updateHeadroom(placed.nodes, requests)) {
      findings.push(warning(NODES_KEY, `no headroom for a start-first update of ${short.service}: it briefly runs ${short.surge} extra task(s) reserving ${short.cpus} CPU / ${formatMiB(short.memoryMiB)} each, and no eligible node has that free; the update would wait or fail`));
    }
  }
  if (readReplicas > 0 && !settings.replicaDockerHost) {
    findings.push(warning(`${PROJECT}:replicaDockerHost`, "the read replica's volume lives on the second node, but Pulumi only reaches the manager (docker:host): without this key Docker creates the volume on first start, unprotected and untracked; set it to the replica node's Docker endpoint"));
  }
  return { value: placed.nodes.map((n) => ({ ...n, labels: labels[n.name] })), findings };
}

/** Settings -> the whole plan, stage by stage; every stage's findings are kept, errors first. */
export function resolvePlan(settings: Settings, monitoringSettings?: MonitoringSettings): Plan {
  const findings: Finding[] = [];
  const keep = <T>(stage: Staged<T>): T => {
    findings.push(...stage.findings);
    return stage.value;
  };
  const monitoringServices = monitoringSettings?.enabled ? planMonitoringServices(monitoringSettings, settings.nodes, settings.overrides.services, settings.endpointMode) : undefined;
  const services = keep(planServices(settings, monitoringServices !== undefined));
  const backend = keep(planBackend(settings, services.backend!, services.pgbouncer !== undefined));
  const { connections, pgbouncer } = keep(planConnections(settings, services, backend, monitoringServices));
  const postgres = keep(planPostgres(settings, services, connections.maxConnections));
  const nodes = keep(planNodes(settings, services, postgres.readReplicas, monitoringServices));
  const backup = settings.backup.enabled ? planBackup(settings) : undefined;
  if (backup) findings.push(...backup.findings);
  const plan: Plan = {
    project: PROJECT,
    stack: settings.stack,
    tier: settings.tier,
    companies: companiesLabel(TIERS[settings.tier]),
    environment: settings.environment,
    services,
    backend,
    postgres,
    pgbouncer,
    connections,
    nodes,
    backup,
    findings: [],
  };
  // The monitoring plan reads the rest of the plan (scrape targets, planned replica counts).
  const monitoring = monitoringSettings?.enabled ? planMonitoring(monitoringSettings, plan, { overrides: settings.overrides.services, endpointMode: settings.endpointMode }) : undefined;
  if (monitoring) findings.push(...monitoring.findings);
  return { ...plan, monitoring, findings: [...findings].sort((a, b) => (a.level === b.level ? 0 : a.level === "error" ? -1 : 1)) };
}
