/**
 * The monitoring plan: what Prometheus scrapes, which task counts the alert rules expect, how long
 * it keeps data and where Grafana answers. Its services (Prometheus, Alertmanager, Grafana and the
 * exporters) are rows of the service table like any other; this stage reads their plans. Pure.
 */
import { PROJECT } from "../config/keys";
import type { AlertReceiverKind, Environment, MonitoringSettings } from "../config/settings";
import { Finding, warning } from "../findings";
import type { ServicePlans } from "../plan/types";
import { SERVICE_TABLE, ServiceName } from "../services";
import { ENTRYPOINTS } from "../render/traefik";

/** Monitoring services' ports, from the service table. */
export const MONITORING_PORTS = {
  prometheus: SERVICE_TABLE.prometheus.port!,
  grafana: SERVICE_TABLE.grafana.port!,
  alertmanager: SERVICE_TABLE.alertmanager.port!,
  "postgres-exporter": SERVICE_TABLE["postgres-exporter"].port!,
  "node-exporter": SERVICE_TABLE["node-exporter"].port!,
  cadvisor: SERVICE_TABLE.cadvisor.port!,
} as const;

/** Metric the backup job writes after every successful upload (node-exporter textfile collector). */
export const BACKUP_METRIC = "advwell_backup_last_success_timestamp_seconds";
/**
 * Named volume shared, on the primary's node, by node-exporter (reads `*.prom`) and the backup job
 * (writes `advwell_backup.prom`). The stack declares it; the backup job is pinned beside it.
 */
export const TEXTFILE_VOLUME = "advwell-node-textfile";
export const TEXTFILE_DIR = "/var/lib/node-exporter/textfile";
/** Daily backup (02:00 UTC) plus two hours for a slow dump and upload. */
export const BACKUP_MAX_AGE_HOURS = 26;

/** One service the alert rules and the dashboard expect to see running. */
export interface ExpectedTasks {
  readonly service: ServiceName;
  /** The Docker service name: what cAdvisor reports as `com.docker.swarm.service.name`. */
  readonly dockerName: string;
  readonly tasks: number;
  /** How long a shortfall must last before it alerts: a planned rollout is not an outage. */
  readonly forSeconds: number;
}

export interface ScrapeJob {
  readonly job: string;
  /** The stack service whose tasks are scraped, resolved through Swarm DNS `tasks.<dockerName>`. */
  readonly service: ServiceName;
  readonly dockerName: string;
  readonly port: number;
  readonly metricsPath: string;
}

export interface MonitoringPlan {
  readonly enabled: boolean;
  readonly stack: string;
  readonly tier: string;
  /** Node the stateful monitoring services are pinned to: the first manager, where the provider creates volumes. */
  readonly dataNode: string;
  readonly nodeNames: readonly string[];
  readonly prometheus: {
    readonly retention: string;
    readonly retentionSizeMiB: number;
    readonly scrapeIntervalSeconds: number;
    readonly evaluationIntervalSeconds: number;
  };
  readonly grafanaDomain: string;
  readonly alertReceiver: AlertReceiverKind;
  readonly scrapeJobs: readonly ScrapeJob[];
  readonly expectedTasks: readonly ExpectedTasks[];
  /** max_connections the plan gives PostgreSQL (shown beside the live value). */
  readonly postgresMaxConnections: number;
  readonly backup: { readonly enabled: boolean; readonly maxAgeHours: number };
  readonly pitr?: PitrAlertInputs;
  /** This stage's own findings (they are in the plan's findings too). */
  readonly findings: readonly Finding[];
}

/** What the monitoring stage reads of the rest of the plan. */
export interface MonitoringInputs {
  readonly stack: string;
  readonly tier: string;
  readonly environment: Environment;
  readonly services: ServicePlans;
  readonly nodeNames: readonly string[];
  readonly dataNode: string;
  readonly backendPort: number;
  readonly maxConnections: number;
  /** Point-in-time recovery, when it runs: what the archiver alerts compare against. */
  readonly pitr?: PitrAlertInputs;
}

export interface PitrAlertInputs {
  readonly archiveTimeoutSeconds: number;
  readonly fullMaxGapSeconds: number;
}

/** Metrics containers/backup/pitr.sh writes (`metrics`, every minute; `full`, after each base backup). */
export const PITR_METRICS = {
  lastArchived: "advwell_pitr_last_archived_timestamp_seconds",
  lastFailed: "advwell_pitr_last_failed_timestamp_seconds",
  readySegments: "advwell_pitr_ready_segments",
  written: "advwell_pitr_metrics_timestamp_seconds",
  lastFull: "advwell_pitr_last_full_success_timestamp_seconds",
} as const;

export function planMonitoring(settings: MonitoringSettings, input: MonitoringInputs): MonitoringPlan {
  const findings: Finding[] = [];
  const services = Object.values(input.services);

  // Every service the stack runs, with the task count the plan gives it.
  const expectedTasks: ExpectedTasks[] = services.map((s) => ({
    service: s!.name,
    dockerName: s!.name,
    tasks: s!.replicas,
    forSeconds: Math.max(300, s!.update.monitorSeconds + s!.update.delaySeconds),
  }));

  const scrapeJobs: ScrapeJob[] = [];
  const scrape = (job: string, service: ServiceName, port: number, metricsPath = "/metrics") => {
    if (input.services[service]) scrapeJobs.push({ job, service, dockerName: service, port, metricsPath });
  };
  // Traefik serves Prometheus metrics on its own `metrics` entrypoint, which is never published.
  scrape("traefik", "traefik", ENTRYPOINTS.metrics);
  if (settings.backendMetricsPath) scrape("backend", "backend", input.backendPort, settings.backendMetricsPath);
  scrape("postgres", "postgres-exporter", MONITORING_PORTS["postgres-exporter"]);
  scrape("node", "node-exporter", MONITORING_PORTS["node-exporter"]);
  scrape("cadvisor", "cadvisor", MONITORING_PORTS.cadvisor);
  scrape("alertmanager", "alertmanager", MONITORING_PORTS.alertmanager);
  scrape("grafana", "grafana", MONITORING_PORTS.grafana);

  if (settings.enabled && settings.alertReceiver === "none" && input.environment === "production") {
    findings.push(warning(`${PROJECT}:alertWebhookUrl`, "alerts fire but notify nobody (they only show in Alertmanager and Grafana); set a Slack or Discord webhook with `pulumi config set --secret alertWebhookUrl <url>`"));
  }

  return {
    enabled: settings.enabled,
    stack: input.stack,
    tier: input.tier,
    dataNode: input.dataNode,
    nodeNames: input.nodeNames,
    prometheus: { retention: settings.retention, retentionSizeMiB: settings.retentionSizeMiB, scrapeIntervalSeconds: 15, evaluationIntervalSeconds: 15 },
    grafanaDomain: settings.grafanaDomain,
    alertReceiver: settings.alertReceiver,
    scrapeJobs,
    expectedTasks,
    postgresMaxConnections: input.maxConnections,
    backup: { enabled: input.services.backup !== undefined, maxAgeHours: BACKUP_MAX_AGE_HOURS },
    ...(input.pitr && input.services.backup ? { pitr: input.pitr } : {}),
    findings,
  };
}

/** The warning when production runs without monitoring at all (raised by resolvePlan). */
export function monitoringOffFinding(environment: Environment): Finding | undefined {
  return environment === "production"
    ? warning(`${PROJECT}:monitoringEnabled`, "production runs without monitoring: no alert fires when a replica, the disk, PostgreSQL connections or the nightly backup fail")
    : undefined;
}
