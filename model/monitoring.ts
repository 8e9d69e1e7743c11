/**
 * Monitoring that ships with the stack: Prometheus, Alertmanager, Grafana and the exporters, sized
 * and placed like every other service, and the files they read rendered from the same plan.
 * Pure: no Pulumi, no I/O. The seed ran Prometheus and Grafana beside the stack and listed
 * "Slack/Discord webhooks - Alert notifications" and disk/health checks as unfinished; the alert
 * rules here are those checks, with the planned replica counts written into them as numbers.
 */
import { stringify } from "yaml";
import { error, Finding, warning } from "./findings";
import type { TaskRequest } from "./placement";
import type { ConnectionClient, HealthPlan, PlacementPlan, Plan, RestartPlan, ServicePlan, UpdatePlan } from "./plan";
import { NODE_LABEL, updatePlanFor } from "./plan";
import type { EndpointMode, NodeSpec, RawConfig, ResourceOverride, ServiceName } from "./settings";
import { PROJECT } from "./settings";
import type { Resources } from "./tiers";
import { ENTRYPOINTS, routeLabels } from "./traefik";
import { formatMiB, parseSizeMiB } from "./units";

// ---------------------------------------------------------------------------------------------
// Settings
// ---------------------------------------------------------------------------------------------

export const MONITORING_SERVICE_NAMES = ["prometheus", "grafana", "alertmanager", "postgres-exporter", "node-exporter", "cadvisor"] as const;
export type MonitoringServiceName = (typeof MONITORING_SERVICE_NAMES)[number];

/** Every service the stack may run: the application's and monitoring's. */
export type StackServiceName = ServiceName | MonitoringServiceName;

export interface MonitoringImages {
  readonly prometheus: string;
  readonly grafana: string;
  readonly alertmanager: string;
  readonly postgresExporter: string;
  readonly nodeExporter: string;
  readonly cadvisor: string;
}

/** Where Alertmanager sends notifications, decided from the webhook URL's host. */
export type AlertReceiverKind = "none" | "slack" | "discord" | "webhook";

export interface MonitoringSettings {
  readonly enabled: boolean;
  /** Prometheus `--storage.tsdb.retention.time`, a Prometheus duration such as 15d. */
  readonly retention: string;
  readonly retentionHours: number;
  /** Prometheus `--storage.tsdb.retention.size`: the oldest blocks go first beyond this. */
  readonly retentionSizeMiB: number;
  readonly grafanaDomain: string;
  /**
   * The kind of receiver only. The URL is a credential: it never enters the settings or the plan
   * (which the offline plan command prints); the component receives it as a secret input.
   */
  readonly alertReceiver: AlertReceiverKind;
  /** Path of the backend's Prometheus endpoint; undefined when the backend exposes none. */
  readonly backendMetricsPath?: string;
  readonly images: MonitoringImages;
}

interface ConfigKeySpec {
  readonly type: "string" | "boolean";
  readonly default: string | boolean;
  readonly description: string;
  readonly secret?: true;
}

/** The monitoring keys with the type, default and description Pulumi.yaml declares for them. */
export const MONITORING_CONFIG = {
  monitoringEnabled: { type: "boolean", default: true, description: "Run Prometheus, Alertmanager, Grafana, postgres-exporter, node-exporter and cAdvisor with the stack." },
  prometheusRetention: { type: "string", default: "15d", description: "How long Prometheus keeps samples (a Prometheus duration: 12h, 15d, 8w)." },
  prometheusStorage: { type: "string", default: "10GiB", description: "Size at which Prometheus deletes its oldest blocks, whatever their age (retention size)." },
  grafanaDomain: { type: "string", default: "grafana.advwell.pro", description: "Host name Traefik routes to Grafana (TLS, Grafana login, no anonymous access)." },
  alertWebhookUrl: { type: "string", default: "", secret: true, description: "Slack, Discord or generic webhook URL for alerts; a credential: set it with `pulumi config set --secret`. Empty: alerts only show in Alertmanager and Grafana." },
  backendMetricsPath: { type: "string", default: "", description: "Path of the backend's Prometheus metrics (e.g. /metrics); empty when the backend exposes none." },
  prometheusImage: { type: "string", default: "prom/prometheus:v2.55.1", description: "Prometheus image with a pinned tag or digest." },
  grafanaImage: { type: "string", default: "grafana/grafana:11.3.1", description: "Grafana image with a pinned tag or digest." },
  alertmanagerImage: { type: "string", default: "prom/alertmanager:v0.27.0", description: "Alertmanager image with a pinned tag or digest." },
  postgresExporterImage: { type: "string", default: "prometheuscommunity/postgres-exporter:v0.16.0", description: "postgres-exporter image with a pinned tag or digest." },
  nodeExporterImage: { type: "string", default: "prom/node-exporter:v1.8.2", description: "node-exporter image with a pinned tag or digest (runs on every node)." },
  cadvisorImage: { type: "string", default: "gcr.io/cadvisor/cadvisor:v0.49.1", description: "cAdvisor image with a pinned tag or digest (runs on every node)." },
} as const satisfies Record<string, ConfigKeySpec>;

export type MonitoringConfigKey = keyof typeof MONITORING_CONFIG;
export const MONITORING_CONFIG_KEYS = Object.keys(MONITORING_CONFIG) as MonitoringConfigKey[];

/** The defaults as the flat `advwell:<key>` map the engine hands a program. */
export function monitoringConfigDefaults(): Record<string, string> {
  return Object.fromEntries(MONITORING_CONFIG_KEYS.map((k) => [`${PROJECT}:${k}`, String(MONITORING_CONFIG[k].default)]));
}

const DOMAIN = /^(?=.{1,253}$)([a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?\.)+[a-z]{2,63}$/;
/** Same rule as the application's images: a tag that is not `latest`, or a digest. */
const IMAGE = /^[a-z0-9]+([._\/-][a-z0-9]+)*(:[A-Za-z0-9_][A-Za-z0-9_.-]{0,127})?(@sha256:[a-f0-9]{64})?$/;
/** Prometheus' duration syntax (prometheus/common model.ParseDuration), units largest first. */
const PROM_DURATION = /^(?:(\d+)y)?(?:(\d+)w)?(?:(\d+)d)?(?:(\d+)h)?(?:(\d+)m)?(?:(\d+)s)?(?:(\d+)ms)?$/;
const METRICS_PATH = /^\/[A-Za-z0-9._~\/-]*$/;

/** Hours in a Prometheus duration ("15d" -> 360), or undefined when Prometheus would reject it. */
export function promDurationHours(text: string): number | undefined {
  const m = PROM_DURATION.exec(text);
  if (!m || text === "") return undefined;
  const [y, w, d, h, min, s, ms] = m.slice(1).map((v) => Number(v ?? 0));
  return y * 365 * 24 + w * 7 * 24 + d * 24 + h + min / 60 + s / 3600 + ms / 3_600_000;
}

function pinnedImage(value: string): boolean {
  if (!IMAGE.test(value)) return false;
  const lastSegment = value.split("@")[0].split("/").pop() ?? "";
  const tag = lastSegment.includes(":") ? lastSegment.split(":")[1] : undefined;
  return (tag !== undefined && tag !== "latest") || value.includes("@sha256:");
}

/** Slack incoming webhooks, Discord webhooks, or anything else Alertmanager can POST JSON to. */
export function alertReceiverKind(url: string): AlertReceiverKind | undefined {
  if (url === "") return "none";
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    return undefined;
  }
  if (parsed.protocol !== "https:" || parsed.hostname === "") return undefined;
  if (parsed.hostname === "hooks.slack.com") return "slack";
  if (/^(discord|discordapp)\.com$/.test(parsed.hostname) && parsed.pathname.startsWith("/api/webhooks/")) return "discord";
  return "webhook";
}

/**
 * Validates the monitoring keys of the flat config map. Errors name the key, the value and what
 * is allowed, except for the webhook URL, whose value is a secret and is never repeated.
 * `secureKeys` are keys the offline loader saw as `secure:` ciphertext and could not read.
 */
export function parseMonitoringSettings(config: RawConfig, secureKeys: readonly string[] = []): { settings?: MonitoringSettings; findings: Finding[] } {
  const findings: Finding[] = [];
  const key = (name: MonitoringConfigKey) => `${PROJECT}:${name}`;
  const fail = (name: MonitoringConfigKey, got: unknown, allowed: string): undefined => {
    findings.push(error(key(name), `got ${JSON.stringify(got)}; allowed: ${allowed}`));
    return undefined;
  };
  const read = (name: MonitoringConfigKey): string | undefined => config[key(name)];
  const missing = " (the key is missing: Pulumi.yaml declares its default)";

  const enabledText = read("monitoringEnabled");
  const enabled = enabledText === "true" ? true : enabledText === "false" ? false : fail("monitoringEnabled", enabledText, "true or false");

  const retention = read("prometheusRetention");
  const retentionHours = retention === undefined ? undefined : promDurationHours(retention);
  const durationHelp = "a Prometheus duration of at least 2h (the length of one TSDB block), e.g. 36h, 15d, 8w";
  if (retentionHours === undefined || retentionHours < 2) fail("prometheusRetention", retention, durationHelp + (retention === undefined ? missing : ""));

  const storage = read("prometheusStorage");
  const retentionSizeMiB = storage === undefined ? undefined : parseSizeMiB(storage);
  // Below ~512 MiB the size limit would delete blocks faster than Prometheus compacts them.
  if (retentionSizeMiB === undefined || retentionSizeMiB < 512) fail("prometheusStorage", storage, "a size of at least 512MiB, e.g. 10GiB" + (storage === undefined ? missing : ""));

  const grafanaDomain = read("grafanaDomain");
  if (grafanaDomain === undefined || !DOMAIN.test(grafanaDomain)) fail("grafanaDomain", grafanaDomain, "a lower-case DNS name such as grafana.advwell.pro");

  let alertReceiver: AlertReceiverKind | undefined;
  const webhook = read("alertWebhookUrl");
  if (webhook === undefined && secureKeys.includes(key("alertWebhookUrl"))) {
    // Set with --secret and not decrypted offline: it is there, its kind is known at deploy time.
    alertReceiver = "webhook";
  } else if (webhook === undefined) {
    fail("alertWebhookUrl", webhook, `empty, or an https:// webhook URL${missing}`);
  } else {
    alertReceiver = alertReceiverKind(webhook);
    if (alertReceiver === undefined) {
      findings.push(error(key("alertWebhookUrl"), "got a value that is not an https:// URL (not shown: the key holds a credential); allowed: empty, or an https:// Slack (hooks.slack.com), Discord (discord.com/api/webhooks/...) or other webhook URL"));
    }
  }

  const metricsPath = read("backendMetricsPath");
  if (metricsPath === undefined || (metricsPath !== "" && !METRICS_PATH.test(metricsPath))) fail("backendMetricsPath", metricsPath, "empty, or a URL path such as /metrics");

  const images: Partial<Record<keyof MonitoringImages, string>> = {};
  const imageKeys: [keyof MonitoringImages, MonitoringConfigKey][] = [
    ["prometheus", "prometheusImage"],
    ["grafana", "grafanaImage"],
    ["alertmanager", "alertmanagerImage"],
    ["postgresExporter", "postgresExporterImage"],
    ["nodeExporter", "nodeExporterImage"],
    ["cadvisor", "cadvisorImage"],
  ];
  for (const [field, name] of imageKeys) {
    const value = read(name);
    if (value === undefined || !pinnedImage(value)) fail(name, value, `an image with a pinned tag or digest, e.g. ${MONITORING_CONFIG[name].default} (never :latest, never untagged)`);
    else images[field] = value;
  }

  if (findings.length > 0) return { findings };
  return {
    settings: {
      enabled: enabled!,
      retention: retention!,
      retentionHours: retentionHours!,
      retentionSizeMiB: retentionSizeMiB!,
      grafanaDomain: grafanaDomain!,
      alertReceiver: alertReceiver!,
      backendMetricsPath: metricsPath === "" ? undefined : metricsPath,
      images: images as MonitoringImages,
    },
    findings: [],
  };
}

// ---------------------------------------------------------------------------------------------
// Plan
// ---------------------------------------------------------------------------------------------

/** A ServicePlan for a monitoring service; `global` services run one task on every node. */
export interface MonitoringServicePlan extends Omit<ServicePlan, "name"> {
  readonly name: MonitoringServiceName;
  /** Swarm `mode: global`; `replicas` is then the node count (what the alerts expect). */
  readonly global: boolean;
}

/** Ports the software listens on inside the overlay network (their defaults). */
export const MONITORING_PORTS = {
  prometheus: 9090,
  grafana: 3000,
  alertmanager: 9093,
  "postgres-exporter": 9187,
  "node-exporter": 9100,
  cadvisor: 8080,
} as const satisfies Record<MonitoringServiceName, number>;


/** Metric the backup job writes after every successful upload (node-exporter textfile collector). */
export const BACKUP_METRIC = "advwell_backup_last_success_timestamp_seconds";
/**
 * Named volume shared, on each node, by node-exporter (reads `*.prom`) and the backup job (writes
 * `advwell_backup.prom`). A named volume rather than a host path: Swarm refuses a bind mount whose
 * source is missing, and Docker creates a named volume on whichever node the task lands.
 */
export const TEXTFILE_VOLUME = "advwell-node-textfile";
export const TEXTFILE_DIR = "/var/lib/node-exporter/textfile";
/** Daily backup (02:00 UTC) plus two hours for a slow dump and upload. */
export const BACKUP_MAX_AGE_HOURS = 26;
/** Role postgres-exporter logs in as: member of pg_monitor, read-only, at most a few connections. */
export const MONITORING_ROLE = "advwell_monitor";
export const MONITORING_ROLE_CONNECTION_LIMIT = 3;

/**
 * Limits sized from the software's usual footprint at this scale (about 20 scrape targets, some
 * 30k series); reservations near their idle use, so the node-fit check counts what they hold.
 * Prometheus: ~3 KiB per head series plus query buffers. cAdvisor: ~50-150 MiB with a few dozen
 * containers. The exporters and Alertmanager idle under 30 MiB.
 */
export const MONITORING_RESOURCES: Record<MonitoringServiceName, Resources> = {
  prometheus: { cpuLimit: 1, memoryLimitMiB: 1024, cpuReservation: 0.1, memoryReservationMiB: 256 },
  grafana: { cpuLimit: 0.5, memoryLimitMiB: 256, cpuReservation: 0.05, memoryReservationMiB: 96 },
  alertmanager: { cpuLimit: 0.2, memoryLimitMiB: 128, cpuReservation: 0.01, memoryReservationMiB: 32 },
  "postgres-exporter": { cpuLimit: 0.2, memoryLimitMiB: 64, cpuReservation: 0.01, memoryReservationMiB: 24 },
  "node-exporter": { cpuLimit: 0.2, memoryLimitMiB: 64, cpuReservation: 0.01, memoryReservationMiB: 24 },
  cadvisor: { cpuLimit: 0.5, memoryLimitMiB: 256, cpuReservation: 0.05, memoryReservationMiB: 96 },
};

/** Monitoring checks every 30 s; Prometheus may replay a large WAL before it is ready. */
const MONITORING_HEALTH: Record<MonitoringServiceName, HealthPlan> = {
  prometheus: { intervalSeconds: 30, timeoutSeconds: 5, retries: 3, startPeriodSeconds: 120 },
  grafana: { intervalSeconds: 30, timeoutSeconds: 5, retries: 3, startPeriodSeconds: 60 },
  alertmanager: { intervalSeconds: 30, timeoutSeconds: 5, retries: 3, startPeriodSeconds: 20 },
  "postgres-exporter": { intervalSeconds: 30, timeoutSeconds: 5, retries: 3, startPeriodSeconds: 10 },
  "node-exporter": { intervalSeconds: 30, timeoutSeconds: 5, retries: 3, startPeriodSeconds: 10 },
  cadvisor: { intervalSeconds: 30, timeoutSeconds: 5, retries: 3, startPeriodSeconds: 30 },
};

/**
 * Stop-first: Prometheus, Grafana and Alertmanager lock their data directory (two tasks on one
 * volume fail or corrupt it); the global exporters would only double-count during an update.
 * postgres-exporter is stateless and starts first.
 */
const MONITORING_STOP_FIRST: ReadonlySet<MonitoringServiceName> = new Set(["prometheus", "grafana", "alertmanager", "node-exporter", "cadvisor"]);

/** Prometheus flushes its head block on shutdown; the rest stop in seconds. */
const MONITORING_STOP_GRACE_SECONDS: Record<MonitoringServiceName, number> = {
  prometheus: 120,
  grafana: 30,
  alertmanager: 30,
  "postgres-exporter": 10,
  "node-exporter": 10,
  cadvisor: 10,
};

const GLOBAL: ReadonlySet<MonitoringServiceName> = new Set(["node-exporter", "cadvisor"]);
/** Services with a data volume: pinned to one node so a rescheduled task finds its data. */
const STATEFUL: ReadonlySet<MonitoringServiceName> = new Set(["prometheus", "grafana", "alertmanager"]);

export function monitoringUpdatePlan(name: MonitoringServiceName, replicas: number, kind: "update" | "rollback"): UpdatePlan {
  return updatePlanFor(MONITORING_HEALTH[name], MONITORING_STOP_FIRST.has(name), replicas, kind);
}

const RESTART: RestartPlan = { condition: "any", delaySeconds: 5, maxAttempts: 0, windowSeconds: 0 };

/** The monitoring services alone: what node fit and the connection budget need, from settings and nodes only. */
export interface MonitoringServices {
  readonly enabled: boolean;
  readonly services: Readonly<Record<MonitoringServiceName, MonitoringServicePlan>>;
  /** Node the stateful services are pinned to: the first manager, where the provider creates volumes. */
  readonly dataNode: string;
  readonly nodeNames: readonly string[];
  readonly findings: readonly Finding[];
}

/** One service the alert rules and the dashboard expect to see running. */
export interface ExpectedTasks {
  readonly service: StackServiceName;
  /** The Docker service name: what cAdvisor reports as `com.docker.swarm.service.name`. */
  readonly dockerName: string;
  readonly tasks: number;
  /** How long a shortfall must last before it alerts: a planned rollout is not an outage. */
  readonly forSeconds: number;
}

export interface ScrapeJob {
  readonly job: string;
  /** The stack service whose tasks are scraped, resolved through Swarm DNS `tasks.<dockerName>`. */
  readonly service: StackServiceName;
  readonly dockerName: string;
  readonly port: number;
  readonly metricsPath: string;
}

export interface MonitoringPlan extends MonitoringServices {
  readonly stack: string;
  readonly tier: string;
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
  /** Docker service names by stack service (for the component and the alert texts). */
  readonly dockerNames: Readonly<Partial<Record<StackServiceName, string>>>;
}

export interface MonitoringPlanOptions {
  /**
   * Docker service names by stack service, when they differ from the plan's names (e.g. the root
   * names them `advwell-backend`). Scrape targets and cAdvisor label matchers use these.
   */
  readonly dockerNames?: Readonly<Partial<Record<StackServiceName, string>>>;
  /** `advwell:overrides` resource entries for the monitoring services (same paths as the app's). */
  readonly overrides?: Readonly<Partial<Record<string, ResourceOverride>>>;
  readonly endpointMode?: EndpointMode;
}

const overrideKey = (path: string) => `${PROJECT}:overrides[${path}]`;

/**
 * Sizes, modes, update policy and placement of the monitoring services. Needs only the node
 * inventory, so `resolvePlan` can call it before its node-fit check and connection budget.
 */
export function planMonitoringServices(
  settings: Pick<MonitoringSettings, "enabled">,
  nodes: readonly Pick<NodeSpec, "name" | "role">[],
  overrides: Readonly<Partial<Record<string, ResourceOverride>>> = {},
  endpointMode: EndpointMode = "vip",
): MonitoringServices {
  const findings: Finding[] = [];
  const nodeNames = nodes.map((n) => n.name);
  const dataNode = nodes.find((n) => n.role === "manager")?.name ?? nodeNames[0];

  const services = {} as Record<MonitoringServiceName, MonitoringServicePlan>;
  for (const name of MONITORING_SERVICE_NAMES) {
    const global = GLOBAL.has(name);
    const override = overrides[name] ?? {};
    if (global && override.replicas !== undefined) {
      findings.push(error(overrideKey(`${name}.replicas`), `got ${override.replicas}; ${name} runs one task on every node (global mode), so it has no replica count`));
    } else if (!global && override.replicas !== undefined && override.replicas !== 1) {
      findings.push(error(overrideKey(`${name}.replicas`), `got ${override.replicas}; ${name} runs exactly 1 replica`));
    }
    const merged = { ...MONITORING_RESOURCES[name], ...override };
    if (merged.cpuReservation > merged.cpuLimit) {
      findings.push(error(overrideKey(`${name}.cpuReservation`), `${name} reserves ${merged.cpuReservation} CPU but is limited to ${merged.cpuLimit}; a reservation cannot exceed its limit`));
    }
    if (merged.memoryReservationMiB > merged.memoryLimitMiB) {
      findings.push(error(overrideKey(`${name}.memoryReservation`), `${name} reserves ${formatMiB(merged.memoryReservationMiB)} but is limited to ${formatMiB(merged.memoryLimitMiB)}; a reservation cannot exceed its limit`));
    }
    const replicas = global ? nodeNames.length : 1;
    const placement: PlacementPlan = STATEFUL.has(name)
      ? { constraints: [`node.labels.${NODE_LABEL}==${dataNode}`], spreadByLabels: [] }
      : global
        ? { constraints: [], spreadByLabels: [] }
        : { constraints: [], spreadByLabels: [`node.labels.${NODE_LABEL}`] };
    services[name] = {
      name,
      global,
      replicas,
      stopGraceSeconds: MONITORING_STOP_GRACE_SECONDS[name],
      endpointMode,
      cpuLimit: merged.cpuLimit,
      memoryLimitMiB: merged.memoryLimitMiB,
      cpuReservation: merged.cpuReservation,
      memoryReservationMiB: merged.memoryReservationMiB,
      update: monitoringUpdatePlan(name, replicas, "update"),
      rollback: monitoringUpdatePlan(name, replicas, "rollback"),
      restart: RESTART,
      health: MONITORING_HEALTH[name],
      placement,
    };
  }
  return { enabled: settings.enabled, services, dataNode, nodeNames, findings };
}

export function planMonitoring(settings: MonitoringSettings, plan: Plan, options: MonitoringPlanOptions = {}): MonitoringPlan {
  const dockerNames: Partial<Record<StackServiceName, string>> = {};
  const dockerName = (s: StackServiceName) => options.dockerNames?.[s] ?? s;
  const { services, dataNode, nodeNames, findings: serviceFindings } = planMonitoringServices(settings, plan.nodes, options.overrides, options.endpointMode);
  const findings: Finding[] = [...serviceFindings];

  // Every service the stack runs, with the task count the plan gives it. A monitoring service the
  // application plan already carries (should SERVICE_NAMES list them) is taken from there.
  const expected: ExpectedTasks[] = [];
  const planned: [StackServiceName, { replicas: number; update: UpdatePlan }][] = [
    ...(Object.values(plan.services) as ServicePlan[]).map((s) => [s.name, s] as [StackServiceName, ServicePlan]),
    ...(settings.enabled ? MONITORING_SERVICE_NAMES.filter((n) => !(n in plan.services)).map((n) => [n, services[n]] as [StackServiceName, MonitoringServicePlan]) : []),
  ];
  for (const [service, s] of planned) {
    dockerNames[service] = dockerName(service);
    expected.push({
      service,
      dockerName: dockerName(service),
      tasks: s.replicas,
      forSeconds: Math.max(300, s.update.monitorSeconds + s.update.delaySeconds),
    });
  }

  const scrapeJobs: ScrapeJob[] = [];
  const scrape = (job: string, service: StackServiceName, port: number, metricsPath = "/metrics") => {
    dockerNames[service] = dockerName(service);
    scrapeJobs.push({ job, service, dockerName: dockerName(service), port, metricsPath });
  };
  // Traefik serves Prometheus metrics on its own `metrics` entrypoint, which is never published.
  if (plan.services.traefik) scrape("traefik", "traefik", ENTRYPOINTS.metrics);
  if (plan.services.backend && settings.backendMetricsPath) scrape("backend", "backend", plan.backend.port, settings.backendMetricsPath);
  scrape("postgres", "postgres-exporter", MONITORING_PORTS["postgres-exporter"]);
  scrape("node", "node-exporter", MONITORING_PORTS["node-exporter"]);
  scrape("cadvisor", "cadvisor", MONITORING_PORTS.cadvisor);
  scrape("alertmanager", "alertmanager", MONITORING_PORTS.alertmanager);
  scrape("grafana", "grafana", MONITORING_PORTS.grafana);
  dockerNames.prometheus = dockerName("prometheus");

  if (!settings.enabled && plan.environment === "production") {
    findings.push(warning(`${PROJECT}:monitoringEnabled`, "production runs without monitoring: no alert fires when a replica, the disk, PostgreSQL connections or the nightly backup fail"));
  }
  if (settings.enabled && settings.alertReceiver === "none" && plan.environment === "production") {
    findings.push(warning(`${PROJECT}:alertWebhookUrl`, "alerts fire but notify nobody (they only show in Alertmanager and Grafana); set a Slack or Discord webhook with `pulumi config set --secret alertWebhookUrl <url>`"));
  }

  return {
    enabled: settings.enabled,
    stack: plan.stack,
    tier: plan.tier,
    services,
    dataNode,
    nodeNames,
    prometheus: { retention: settings.retention, retentionSizeMiB: settings.retentionSizeMiB, scrapeIntervalSeconds: 15, evaluationIntervalSeconds: 15 },
    grafanaDomain: settings.grafanaDomain,
    alertReceiver: settings.alertReceiver,
    scrapeJobs,
    expectedTasks: expected,
    postgresMaxConnections: plan.connections.maxConnections,
    backup: { enabled: plan.services.backup !== undefined, maxAgeHours: BACKUP_MAX_AGE_HOURS },
    dockerNames,
    findings,
  };
}

/** A TaskRequest for placement.ts, whose `service` type does not list the monitoring names yet. */
export type MonitoringTaskRequest = Omit<TaskRequest, "service"> & { readonly service: MonitoringServiceName };

/**
 * What monitoring asks of the node-fit check, in the shape `placeTasks` already takes. A global
 * service becomes one single-task request per node, pinned to that node: Swarm runs it on every
 * node, so every node must have room for its reservation, and a node without room leaves that
 * node's task pending (unmonitored) rather than moving it elsewhere.
 */
export function monitoringTaskRequests(mplan: MonitoringServices): MonitoringTaskRequest[] {
  if (!mplan.enabled) return [];
  return MONITORING_SERVICE_NAMES.flatMap((name): MonitoringTaskRequest[] => {
    const s = mplan.services[name];
    const base = { service: name, cpus: s.cpuReservation, memoryMiB: s.memoryReservationMiB };
    if (s.global) return mplan.nodeNames.map((node) => ({ ...base, replicas: 1, eligible: [node], surge: 0 }));
    return [{
      ...base,
      replicas: s.replicas,
      eligible: STATEFUL.has(name) ? [mplan.dataNode] : [...mplan.nodeNames],
      surge: s.update.order === "start-first" ? s.update.parallelism : 0,
    }];
  });
}

/** postgres-exporter's connections, for the plan's connection budget (peak of a start-first update). */
export function monitoringConnectionClients(mplan: Pick<MonitoringServices, "enabled" | "services">): ConnectionClient[] {
  if (!mplan.enabled) return [];
  const s = mplan.services["postgres-exporter"];
  const instances = s.replicas + (s.update.order === "start-first" ? s.update.parallelism : 0);
  return [{
    name: "postgres-exporter",
    instances,
    connectionsEach: 1,
    total: Math.min(instances, MONITORING_ROLE_CONNECTION_LIMIT),
    why: `one connection per exporter task; the ${MONITORING_ROLE} role is capped at CONNECTION LIMIT ${MONITORING_ROLE_CONNECTION_LIMIT}`,
  }];
}

// ---------------------------------------------------------------------------------------------
// Renderers: the files the software reads
// ---------------------------------------------------------------------------------------------

const yaml = (doc: unknown, header: string) => `# ${header}\n# Rendered by the AdvWell plan; do not edit by hand.\n${stringify(doc, { lineWidth: 0 })}`;

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
      alertmanagers: [{ dns_sd_configs: dnsTargets(mplan.dockerNames.alertmanager ?? "alertmanager", MONITORING_PORTS.alertmanager) }],
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

export interface AlertRule {
  readonly alert: string;
  readonly expr: string;
  readonly for: string;
  readonly labels: Readonly<Record<string, string>>;
  readonly annotations: { readonly summary: string; readonly runbook: string; readonly [k: string]: string };
}

export interface RuleGroup {
  readonly name: string;
  readonly rules: readonly AlertRule[];
}

const seconds = (s: number) => `${s}s`;
const promString = (s: string) => JSON.stringify(s);
const SWARM_SERVICE_LABEL = "container_label_com_docker_swarm_service_name";

/** Running tasks of one service as cAdvisor sees them; `or vector(0)` so that none running is 0, not "no data". */
export function runningTasksExpr(dockerName: string): string {
  return `count(container_last_seen{${SWARM_SERVICE_LABEL}=${promString(dockerName)}}) or vector(0)`;
}

/** The thresholds, named once for rules, tests and docs. */
export const ALERT_THRESHOLDS = {
  postgresConnectionsRatio: 0.8,
  diskFreeRatio: 0.1,
  errorRatio: 0.05,
} as const;

/** The rule groups, as data; `renderAlertRules` writes them as a Prometheus rule file. */
export function alertRuleGroups(mplan: MonitoringPlan): RuleGroup[] {
  const name = (s: StackServiceName) => mplan.dockerNames[s] ?? s;
  const replicaRules: AlertRule[] = mplan.expectedTasks.map((e) => ({
    alert: "ServiceBelowPlannedReplicas",
    expr: `(${runningTasksExpr(e.dockerName)}) < ${e.tasks}`,
    for: seconds(e.forSeconds),
    labels: { severity: "critical", service: e.service },
    annotations: {
      summary: `${e.dockerName} runs {{ $value }} of the ${e.tasks} task(s) the ${mplan.tier} plan gives it`,
      runbook: `docker service ps ${e.dockerName} --no-trunc --filter desired-state=running; docker service logs ${e.dockerName} --tail 100. Tasks pending on "insufficient resources" mean the node inventory no longer fits the plan (run the plan command).`,
    },
  }));

  const availability: AlertRule[] = [
    ...replicaRules,
    {
      alert: "ScrapeTargetDown",
      expr: "up == 0",
      for: "5m",
      labels: { severity: "warning" },
      annotations: {
        summary: "Prometheus cannot scrape {{ $labels.job }} at {{ $labels.instance }}",
        runbook: "Check the task behind the address: docker service ps <service>; a target that stays down leaves its alerts blind.",
      },
    },
  ];
  if (mplan.scrapeJobs.some((j) => j.job === "traefik")) {
    availability.push(
      {
        alert: "BackendServerDown",
        expr: "traefik_service_server_up == 0",
        for: "2m",
        labels: { severity: "critical" },
        annotations: {
          summary: "Traefik health checks fail for {{ $labels.url }} of service {{ $labels.service }}",
          runbook: `docker service ps ${name("backend")} ${name("frontend")}; curl the service's health endpoint from a task on the network; docker service logs ${name("traefik")} --tail 100.`,
        },
      },
      {
        alert: "HighErrorRate",
        expr: `sum by (service) (rate(traefik_service_requests_total{code=~"5.."}[5m])) / sum by (service) (rate(traefik_service_requests_total[5m])) > ${ALERT_THRESHOLDS.errorRatio}`,
        for: "10m",
        labels: { severity: "warning" },
        annotations: {
          summary: `More than ${ALERT_THRESHOLDS.errorRatio * 100}% of requests to {{ $labels.service }} answer 5xx`,
          runbook: `docker service logs ${name("backend")} --since 15m | grep -i error; if it began with a deploy, docker service rollback ${name("backend")}.`,
        },
      },
    );
  }

  const postgres: AlertRule[] = [
    {
      alert: "PostgresDown",
      expr: "pg_up == 0",
      for: "1m",
      labels: { severity: "critical" },
      annotations: {
        summary: "postgres-exporter cannot reach PostgreSQL",
        runbook: `docker service ps ${name("postgres")} --no-trunc; docker service logs ${name("postgres")} --tail 200.`,
      },
    },
    {
      alert: "PostgresConnectionsHigh",
      expr: `sum(pg_stat_activity_count) / max(pg_settings_max_connections) > ${ALERT_THRESHOLDS.postgresConnectionsRatio}`,
      for: "5m",
      labels: { severity: "warning" },
      annotations: {
        summary: `PostgreSQL uses {{ $value | humanizePercentage }} of max_connections (plan: ${mplan.postgresMaxConnections})`,
        runbook: `SELECT usename, application_name, state, count(*) FROM pg_stat_activity GROUP BY 1,2,3 ORDER BY 4 DESC; then raise postgres.maxConnections, lower backend.connectionLimit, or move to a PgBouncer tier.`,
      },
    },
  ];

  const host: AlertRule[] = [
    {
      alert: "HostDiskSpaceLow",
      expr: `node_filesystem_avail_bytes{fstype!~"tmpfs|overlay|squashfs|ramfs|nsfs"} / node_filesystem_size_bytes{fstype!~"tmpfs|overlay|squashfs|ramfs|nsfs"} < ${ALERT_THRESHOLDS.diskFreeRatio}`,
      for: "15m",
      labels: { severity: "critical" },
      annotations: {
        summary: `Less than ${ALERT_THRESHOLDS.diskFreeRatio * 100}% free on {{ $labels.mountpoint }} ({{ $labels.instance }})`,
        runbook: "docker system df; docker system prune --filter until=168h (never volumes); du -xh /var/lib/docker --max-depth 2 | sort -h | tail.",
      },
    },
  ];

  const groups: RuleGroup[] = [
    { name: "advwell-availability", rules: availability },
    { name: "advwell-postgres", rules: postgres },
    { name: "advwell-host", rules: host },
  ];
  if (mplan.backup.enabled) {
    const maxAgeSeconds = mplan.backup.maxAgeHours * 3600;
    groups.push({
      name: "advwell-backup",
      rules: [
        {
          alert: "BackupTooOld",
          expr: `time() - max(${BACKUP_METRIC}) > ${maxAgeSeconds}`,
          for: "10m",
          labels: { severity: "critical" },
          annotations: {
            summary: `The last successful backup finished {{ $value | humanizeDuration }} ago (limit ${mplan.backup.maxAgeHours}h)`,
            runbook: `docker service logs ${name("backup")} --since 30h; check the AWS credentials and the bucket; run a backup by hand and confirm ${BACKUP_METRIC} moves.`,
          },
        },
        {
          alert: "BackupNeverReported",
          expr: `absent(${BACKUP_METRIC})`,
          for: `${mplan.backup.maxAgeHours}h`,
          labels: { severity: "critical" },
          annotations: {
            summary: `No backup has reported success for ${mplan.backup.maxAgeHours}h`,
            runbook: `The backup job must write ${BACKUP_METRIC} to ${TEXTFILE_DIR}/advwell_backup.prom in the ${TEXTFILE_VOLUME} volume; docker service logs ${name("backup")} --tail 100.`,
          },
        },
      ],
    });
  }
  return groups;
}

/** The rule file Prometheus loads (`rule_files`). */
export function renderAlertRules(mplan: MonitoringPlan): string {
  return renderRuleGroups(alertRuleGroups(mplan), `Alert rules for stack ${mplan.stack} (${mplan.tier} tier)`);
}

export function renderRuleGroups(groups: readonly RuleGroup[], header: string): string {
  return yaml({ groups: groups.map((g) => ({ name: g.name, rules: g.rules.map((r) => ({ ...r })) })) }, header);
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
      url: `http://${mplan.dockerNames.prometheus ?? "prometheus"}:${MONITORING_PORTS.prometheus}`,
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

/**
 * Idempotent SQL for the exporter's role, run by psql as the superuser with
 * `-v monitoring_password=...` (psql quotes `:'var'` as a literal). pg_monitor grants the
 * statistics views and settings; default_transaction_read_only and the connection limit keep a
 * leaked password from writing or from eating the application's connection budget.
 */
export function renderMonitoringRoleSql(role = MONITORING_ROLE, connectionLimit = MONITORING_ROLE_CONNECTION_LIMIT): string {
  if (!/^[a-z_][a-z0-9_]{0,62}$/.test(role)) throw new Error(`monitoring role "${role}" is not a lower-case PostgreSQL identifier`);
  return [
    "-- Rendered by the AdvWell plan; run with psql -v monitoring_password=<secret>.",
    `SELECT 'CREATE ROLE ${role} LOGIN' WHERE NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = '${role}') \\gexec`,
    `ALTER ROLE ${role} WITH LOGIN NOSUPERUSER NOCREATEDB NOCREATEROLE NOREPLICATION CONNECTION LIMIT ${connectionLimit} PASSWORD :'monitoring_password';`,
    `ALTER ROLE ${role} SET default_transaction_read_only = on;`,
    `ALTER ROLE ${role} SET statement_timeout = '10s';`,
    `GRANT pg_monitor TO ${role};`,
    "",
  ].join("\n");
}

/** Where the Postgres container finds the monitoring role's password (a Swarm secret). */
export const MONITORING_ROLE_PASSWORD_FILE = "/run/secrets/postgres-monitor-password";

/**
 * The role SQL as a docker-entrypoint-initdb.d script for the official image (first start of an
 * empty PGDATA). It is idempotent, so on a cluster that already exists an operator runs the same
 * script once: `docker exec <postgres task> bash /docker-entrypoint-initdb.d/<name>.sh`.
 */
export function renderMonitoringRoleInitScript(passwordFile = MONITORING_ROLE_PASSWORD_FILE): string {
  return [
    "#!/bin/bash",
    "# Creates or updates the read-only role postgres-exporter logs in as.",
    "set -euo pipefail",
    `monitoring_password="$(cat '${passwordFile}')"`,
    `psql -v ON_ERROR_STOP=1 --username "$POSTGRES_USER" --dbname "$POSTGRES_DB" --set=monitoring_password="$monitoring_password" <<'SQL'`,
    renderMonitoringRoleSql().trimEnd(),
    "SQL",
    "",
  ].join("\n");
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
export function grafanaRouteLabels(domain: string, network: string, rateLimit?: { readonly average: number; readonly burst: number }): Record<string, string> {
  return routeLabels({ name: "grafana", host: domain, port: MONITORING_PORTS.grafana, network, healthPath: "/api/health", healthIntervalSeconds: 30, rateLimit });
}
