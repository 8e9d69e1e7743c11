/**
 * The files monitoring's software reads, rendered from the monitoring plan: prometheus.yml,
 * alertmanager.yml, Grafana's provisioning and dashboard; and the exporter's environment and
 * Grafana's Traefik labels. Pure.
 */
import { alertReceiverKind } from "../config/settings";
import { MONITORING_ROLE } from "../plan/connections";
import { CERT_RESOLVER, routeLabels } from "../render/traefik";
import { ALERT_THRESHOLDS, runningTasksExpr } from "./alerts";
import { HEALTH_SLACK_SECONDS } from "../backup/plan";
import { BACKUP_METRIC, MonitoringPlan, MONITORING_PORTS, PITR_METRICS } from "./plan";
import { renderYaml as yaml } from "./yaml";

const dnsTargets = (dockerName: string, port: number) => [{ names: [`tasks.${dockerName}`], type: "A", port, refresh_interval: "30s" }];

export interface PrometheusFileOptions {
  /** Rule files as Prometheus resolves them (relative paths are relative to the config file). */
  readonly ruleFiles?: readonly string[];
}

export const PROMETHEUS_CONFIG_PATH = "/etc/prometheus/prometheus.yml";
export const PROMETHEUS_RULES_PATH = "/etc/prometheus/rules/advwell.yml";

/**
 * prometheus.yml. Swarm tasks are found through Docker's DNS: `tasks.<service>` returns one A
 * record per running task, so each replica and each node's exporter is its own target.
 */
export function renderPrometheusConfig(mplan: MonitoringPlan, options: PrometheusFileOptions = {}): string {
  const p = mplan.prometheus;
  const doc = {
    global: {
      scrape_interval: `${p.scrapeIntervalSeconds}s`,
      evaluation_interval: `${p.evaluationIntervalSeconds}s`,
      external_labels: { stack: mplan.stack, tier: mplan.tier },
    },
    rule_files: [...(options.ruleFiles ?? [PROMETHEUS_RULES_PATH])],
    alerting: {
      alertmanagers: [{ dns_sd_configs: dnsTargets("alertmanager", MONITORING_PORTS.alertmanager) }],
    },
    scrape_configs: [
      { job_name: "prometheus", static_configs: [{ targets: [`localhost:${MONITORING_PORTS.prometheus}`] }] },
      ...mplan.scrapeJobs.map((j) => ({
        job_name: j.job,
        metrics_path: j.metricsPath,
        dns_sd_configs: dnsTargets(j.dockerName, j.port),
      })),
    ],
  };
  return yaml(doc, `Prometheus configuration for stack ${mplan.stack} (${mplan.tier} tier)`);
}

/**
 * alertmanager.yml. The URL is a credential, so the file is delivered as a Swarm secret. Slack
 * hooks get slack_configs, Discord hooks discord_configs (Discord rejects Alertmanager's generic
 * payload), anything else webhook_configs. No URL: alerts stay in Alertmanager's UI.
 */
export function renderAlertmanagerConfig(webhookUrl: string): string {
  const kind = alertReceiverKind(webhookUrl);
  if (kind === undefined) throw new Error("alertWebhookUrl is not an https:// URL (value not shown: it is a credential)");
  const title = '[{{ .Status | toUpper }}] {{ .CommonLabels.alertname }} ({{ .CommonLabels.stack }})';
  const text = "{{ range .Alerts }}{{ .Annotations.summary }}\nRunbook: {{ .Annotations.runbook }}\n{{ end }}";
  const receiver: Record<string, unknown> = { name: "advwell" };
  if (kind === "slack") receiver.slack_configs = [{ api_url: webhookUrl, send_resolved: true, title, text }];
  if (kind === "discord") receiver.discord_configs = [{ webhook_url: webhookUrl, send_resolved: true, title, message: text }];
  if (kind === "webhook") receiver.webhook_configs = [{ url: webhookUrl, send_resolved: true }];
  const doc = {
    route: {
      receiver: "advwell",
      group_by: ["alertname", "service"],
      group_wait: "30s",
      group_interval: "5m",
      repeat_interval: "4h",
    },
    receivers: [receiver],
  };
  return yaml(doc, "Alertmanager configuration");
}

/** Grafana datasource provisioning: the stack's Prometheus, read-only in the UI. */
export function renderGrafanaDatasource(mplan: MonitoringPlan): string {
  const doc = {
    apiVersion: 1,
    datasources: [{
      name: "Prometheus",
      uid: GRAFANA_DATASOURCE_UID,
      type: "prometheus",
      access: "proxy",
      url: `http://${"prometheus"}:${MONITORING_PORTS.prometheus}`,
      isDefault: true,
      editable: false,
      jsonData: { timeInterval: `${mplan.prometheus.scrapeIntervalSeconds}s` },
    }],
  };
  return yaml(doc, "Grafana datasources");
}

export const GRAFANA_DATASOURCE_UID = "advwell-prometheus";
export const GRAFANA_DASHBOARD_DIR = "/etc/grafana/dashboards";

/** Grafana dashboard provider: loads the dashboard files from the mounted configs, not editable. */
export function renderGrafanaDashboardProvider(): string {
  const doc = {
    apiVersion: 1,
    providers: [{
      name: "advwell",
      folder: "AdvWell",
      type: "file",
      disableDeletion: true,
      allowUiUpdates: false,
      updateIntervalSeconds: 60,
      options: { path: GRAFANA_DASHBOARD_DIR },
    }],
  };
  return yaml(doc, "Grafana dashboard provider");
}

interface PanelTarget { readonly expr: string; readonly legendFormat: string }

/** The stack overview: traffic, latency and errors per Traefik service, replicas, connections, backup age. */
export function renderGrafanaDashboard(mplan: MonitoringPlan): string {
  const datasource = { type: "prometheus", uid: GRAFANA_DATASOURCE_UID };
  let id = 0;
  const panel = (type: string, title: string, gridPos: { x: number; y: number; w: number; h: number }, targets: PanelTarget[], defaults: Record<string, unknown> = {}) => ({
    id: ++id,
    type,
    title,
    datasource,
    gridPos,
    targets: targets.map((t, i) => ({ refId: String.fromCharCode(65 + i), datasource, expr: t.expr, legendFormat: t.legendFormat })),
    fieldConfig: { defaults, overrides: [] },
    options: {},
  });
  const threshold = (steps: { color: string; value: number | null }[]) => ({ mode: "absolute", steps });
  const replicaTargets = mplan.expectedTasks.map((e) => ({ expr: runningTasksExpr(e.dockerName), legendFormat: `${e.dockerName} (plan ${e.tasks})` }));
  const maxAge = mplan.backup.maxAgeHours * 3600;
  const panels = [
    panel("timeseries", "Requests per second by service", { x: 0, y: 0, w: 8, h: 8 }, [
      { expr: "sum by (service) (rate(traefik_service_requests_total[5m]))", legendFormat: "{{service}}" },
    ], { unit: "reqps" }),
    panel("timeseries", "Latency p95 by service", { x: 8, y: 0, w: 8, h: 8 }, [
      { expr: "histogram_quantile(0.95, sum by (service, le) (rate(traefik_service_request_duration_seconds_bucket[5m])))", legendFormat: "{{service}}" },
    ], { unit: "s" }),
    panel("timeseries", "5xx ratio by service", { x: 16, y: 0, w: 8, h: 8 }, [
      { expr: 'sum by (service) (rate(traefik_service_requests_total{code=~"5.."}[5m])) / sum by (service) (rate(traefik_service_requests_total[5m]))', legendFormat: "{{service}}" },
    ], { unit: "percentunit", max: 1, min: 0 }),
    panel("bargauge", "Running tasks (planned in the legend)", { x: 0, y: 8, w: 12, h: 8 }, replicaTargets, { unit: "none", min: 0 }),
    panel("timeseries", "PostgreSQL connections vs max_connections", { x: 12, y: 8, w: 12, h: 8 }, [
      { expr: "sum(pg_stat_activity_count)", legendFormat: "connections" },
      { expr: "max(pg_settings_max_connections)", legendFormat: "max_connections" },
      { expr: `max(pg_settings_max_connections) * ${ALERT_THRESHOLDS.postgresConnectionsRatio}`, legendFormat: "alert threshold" },
    ], { unit: "none", min: 0 }),
    panel("stat", "Age of the last successful backup", { x: 0, y: 16, w: 8, h: 6 }, [
      { expr: `time() - max(${BACKUP_METRIC})`, legendFormat: "age" },
    ], { unit: "s", thresholds: threshold([{ color: "green", value: null }, { color: "red", value: maxAge }]) }),
    // Point-in-time recovery: how far behind the bucket is, and how old the last base backup.
    ...(mplan.pitr
      ? [
          panel("stat", "Since the last archived WAL segment", { x: 8, y: 16, w: 8, h: 6 }, [
            { expr: `time() - max(${PITR_METRICS.lastArchived})`, legendFormat: "age" },
            { expr: `max(${PITR_METRICS.readySegments})`, legendFormat: "segments waiting" },
          ], { unit: "s", thresholds: threshold([{ color: "green", value: null }, { color: "red", value: Math.max(300, 2 * mplan.pitr.archiveTimeoutSeconds) }]) }),
          panel("stat", "Age of the last full base backup", { x: 16, y: 16, w: 8, h: 6 }, [
            { expr: `time() - max(${PITR_METRICS.lastFull})`, legendFormat: "age" },
          ], { unit: "s", thresholds: threshold([{ color: "green", value: null }, { color: "red", value: mplan.pitr.fullMaxGapSeconds + HEALTH_SLACK_SECONDS }]) }),
        ]
      : []),
  ];
  const dashboard = {
    uid: "advwell-overview",
    title: `AdvWell ${mplan.stack} overview`,
    tags: ["advwell", mplan.stack],
    timezone: "utc",
    schemaVersion: 39,
    version: 1,
    editable: false,
    refresh: "30s",
    time: { from: "now-6h", to: "now" },
    panels,
  };
  return `${JSON.stringify(dashboard, null, 2)}\n`;
}

export interface ExporterTarget {
  /** PostgreSQL as the exporter reaches it: the server itself, never PgBouncer (its statistics are the server's). */
  readonly host: string;
  readonly port: number;
  readonly database: string;
}

/**
 * postgres-exporter's environment: the URI without credentials, the role, and the password as a
 * file (a Swarm secret), so the password is in no environment variable and no `docker inspect`.
 */
export function postgresExporterEnv(target: ExporterTarget, passwordFile: string, role = MONITORING_ROLE): Record<string, string> {
  return {
    DATA_SOURCE_URI: `${target.host}:${target.port}/${target.database}?sslmode=disable`,
    DATA_SOURCE_USER: role,
    DATA_SOURCE_PASS_FILE: passwordFile,
  };
}

/**
 * Traefik labels for Grafana on its own host name: the shared route helper (TLS from the ACME
 * resolver, per-IP rate limit, Traefik's health check on Grafana's /api/health).
 */
export function grafanaRouteLabels(domain: string, network: string, rateLimit?: { readonly average: number; readonly burst: number }, certResolver: string | undefined = CERT_RESOLVER): Record<string, string> {
  return routeLabels({ name: "grafana", host: domain, port: MONITORING_PORTS.grafana, network, healthPath: "/api/health", healthIntervalSeconds: 30, rateLimit, certResolver });
}
