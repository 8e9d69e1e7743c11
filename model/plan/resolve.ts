/**
 * Validated settings -> one fully resolved deployment plan, stage by stage. Pure: no Pulumi, no
 * I/O. Every number a component needs is decided here, and every problem is raised here as a
 * finding; components read the plan and decide nothing.
 */
import { PROJECT } from "../config/keys";
import { RawConfig, Settings, validateSettings } from "../config/settings";
import { BackupPlan, planBackup, resolveBackupImage } from "../backup/plan";
import { PitrPlan, planPitr } from "../backup/pitr";
import type { Finding } from "../findings";
import { MonitoringPlan, monitoringOffFinding, planMonitoring } from "../monitoring/plan";
import { planReplication, replicationFindings, ReplicationPlan } from "../replication";
import { companiesLabel, TIERS, TierName } from "../tiers";
import type { Environment } from "../config/settings";
import { planBackend } from "./backend";
import { planConnections } from "./connections";
import { planNodes } from "./nodes";
import { planPostgres } from "./postgres";
import { planNetworks } from "./networks";
import { dataNode, planServices } from "./services";
import { CERT_RESOLVER } from "../render/traefik";
import type { BackendPlan, ConnectionPlan, EdgePlan, NetworkPlan, NodePlan, PgBouncerPlan, PostgresPlan, ServicePlans, Staged } from "./types";

export interface Plan {
  readonly project: string;
  readonly stack: string;
  readonly tier: TierName;
  readonly companies: string;
  readonly environment: Environment;
  /** Every service the stack runs, in the service table's order (model/services.ts). */
  readonly services: ServicePlans;
  /** The overlay networks, each with the services that join it (model/plan/networks.ts). */
  readonly networks: readonly NetworkPlan[];
  /** Traefik's hosts and certificates. */
  readonly edge: EdgePlan;
  readonly backend: BackendPlan;
  readonly postgres: PostgresPlan;
  readonly pgbouncer?: PgBouncerPlan;
  /** Streaming replication to the read replicas, on tiers that have them. */
  readonly replication?: ReplicationPlan;
  readonly connections: ConnectionPlan;
  readonly nodes: readonly NodePlan[];
  /** Scheduled pg_dump to S3: bucket, lifecycle, schedule, image; when backups are enabled. */
  readonly backup?: BackupPlan;
  /** Continuous WAL archiving and base backups with pgBackRest; when backups and PITR are enabled. */
  readonly pitr?: PitrPlan;
  /** Prometheus configuration, scrape targets, alert expectations and Grafana; when monitoring is enabled. */
  readonly monitoring?: MonitoringPlan;
  /** Every stage's findings, errors first. */
  readonly findings: readonly Finding[];
}

/** Settings -> the whole plan, stage by stage; every stage's findings are kept, errors first. */
export function resolvePlan(settings: Settings): Plan {
  const findings: Finding[] = [];
  const keep = <T>(stage: Staged<T>): T => {
    findings.push(...stage.findings);
    return stage.value;
  };
  const services = keep(planServices(settings, resolveBackupImage(settings)));
  const backend = keep(planBackend(settings, services.backend!, services.pgbouncer !== undefined));
  const { connections, pgbouncer } = keep(planConnections(settings, services, backend));
  const postgres = keep(planPostgres(settings, services, connections.maxConnections));
  const nodes = keep(planNodes(settings, services, postgres.readReplicas));
  let backup: BackupPlan | undefined;
  if (settings.backup.enabled) {
    backup = planBackup(settings);
    findings.push(...backup.findings);
  }
  const pitr = planPitr(settings);
  if (pitr) findings.push(...pitr.findings);
  let monitoring: MonitoringPlan | undefined;
  if (settings.monitoring.enabled) {
    monitoring = planMonitoring(settings.monitoring, {
      stack: settings.stack,
      tier: settings.tier,
      environment: settings.environment,
      services,
      nodeNames: settings.nodes.map((n) => n.name),
      dataNode: dataNode(settings.nodes),
      backendPort: backend.port,
      maxConnections: connections.maxConnections,
      ...(pitr ? { pitr: { archiveTimeoutSeconds: pitr.archiveTimeoutSeconds, fullMaxGapSeconds: pitr.fullMaxGapSeconds } } : {}),
    });
    findings.push(...monitoring.findings);
  } else {
    const off = monitoringOffFinding(settings.environment);
    if (off) findings.push(off);
  }
  const edge = planEdge(settings, services);
  const networked = planNetworks(services, monitoring, { routesGrafana: edge.hosts.grafana !== undefined, encrypt: settings.dataNetworkEncrypted, nodeCount: settings.nodes.length });
  findings.push(...networked.findings);
  const replication = planReplication(services, postgres.settings);
  findings.push(...replicationFindings(replication, postgres.settings));
  return {
    project: PROJECT,
    stack: settings.stack,
    tier: settings.tier,
    companies: companiesLabel(TIERS[settings.tier]),
    environment: settings.environment,
    services: networked.services,
    networks: networked.networks,
    edge,
    backend,
    postgres,
    pgbouncer,
    replication,
    connections,
    nodes,
    backup,
    ...(pitr ? { pitr } : {}),
    monitoring,
    findings: [...findings].sort((a, b) => (a.level === b.level ? 0 : a.level === "error" ? -1 : 1)),
  };
}

/** Traefik's routers: one host each (validated unique), certificates from Let's Encrypt or Traefik's default. */
export function planEdge(settings: Settings, services: ServicePlans): EdgePlan {
  const acme = settings.certificates === "letsencrypt";
  const proxy = services["docker-socket-proxy"]!;
  return {
    hosts: {
      api: settings.apiDomain,
      app: settings.appDomain,
      dashboard: settings.dashboardDomain,
      ...(settings.monitoring.enabled ? { grafana: settings.monitoring.grafanaDomain } : {}),
    },
    ...(acme
      ? {
          certResolver: CERT_RESOLVER,
          acmeEmail: settings.acmeEmail,
          acmeServer: settings.acmeServer,
          ...(settings.acmeCaCertificate ? { acmeCaCertificate: settings.acmeCaCertificate } : {}),
        }
      : {}),
    // Its service name resolves on the proxy's own network (a VIP, or its task with dnsrr).
    dockerEndpoint: `tcp://${proxy.name}:${proxy.port}`,
  };
}

export interface Resolved {
  readonly settings?: Settings;
  readonly plan?: Plan;
  /** Validation errors when settings are invalid, else the plan's findings. */
  readonly findings: readonly Finding[];
}

/** Config map -> settings -> plan, in one call: what the program, the plan command and the tests all use. */
export function resolveStack(config: RawConfig, stack: string, secureKeys: readonly string[] = []): Resolved {
  const { settings, findings } = validateSettings(config, stack, secureKeys);
  if (!settings) return { findings };
  const plan = resolvePlan(settings);
  return { settings, plan, findings: plan.findings };
}
