import { parse as parseYaml } from "yaml";
import { readContainerFile } from "../../components/containerFiles";
import { spawnSync } from "child_process";
import {
  ALERT_THRESHOLDS,
  alertReceiverKind,
  alertRuleGroups,
  BACKUP_METRIC,
  configDefaults,
  GRAFANA_DATASOURCE_UID,
  grafanaRouteLabels,
  MonitoringPlan,
  nodeLabels,
  NodeSpec,
  placeTasks,
  Plan,
  PROJECT,
  promDurationHours,
  renderAlertmanagerConfig,
  renderAlertRules,
  renderGrafanaDashboard,
  renderGrafanaDatasource,
  renderPrometheusConfig,
  SERVICE_TABLE,
  ServiceName,
  ServicePlan,
  taskRequests,
  TaskRequest,
  TIER_NAMES,
  TierName,
  validateSettings,
} from "../../model";
import { planFor } from "../support/stacks";

const KEY = (k: string) => `${PROJECT}:${k}`;

/** The monitoring rows of the one service table. */
const MONITORING_SERVICE_NAMES = (Object.keys(SERVICE_TABLE) as ServiceName[]).filter((n) => SERVICE_TABLE[n].group === "monitoring");

/** The plan of a production tier, with `--set` style changes, and its monitoring slice. */
function monitoringFor(tier: TierName, sets: string[] = [], secrets: string[] = []): { plan: Plan; mplan: MonitoringPlan } {
  const plan = planFor("production", [`${KEY("tier")}=${tier}`, ...sets], secrets);
  return { plan, mplan: plan.monitoring! };
}

/** What the monitoring services ask of the scheduler, from the plan. */
function monitoringRequests(plan: Plan, nodes: readonly NodeSpec[]): TaskRequest[] {
  return taskRequests(nodes, plan.services, nodeLabels(nodes, plan.postgres.readReplicas)).filter((r) => MONITORING_SERVICE_NAMES.includes(r.service));
}

const settingsNodes = (plan: Plan): NodeSpec[] => plan.nodes.map((n) => ({ name: n.name, role: n.role, cpus: n.cpus, memoryMiB: n.memoryMiB }));
const service = (plan: Plan, name: ServiceName): ServicePlan => plan.services[name]!;

const tiers = TIER_NAMES.map((t) => [t] as [TierName]);

interface PromConfig {
  rule_files: string[];
  alerting: { alertmanagers: { dns_sd_configs: { names: string[]; port: number }[] }[] };
  scrape_configs: { job_name: string; metrics_path?: string; static_configs?: { targets: string[] }[]; dns_sd_configs?: { names: string[]; type: string; port: number }[] }[];
}

/** Every Docker service name a rendered Prometheus config resolves through `tasks.<name>`. */
function dnsNames(config: PromConfig): string[] {
  const fromJobs = config.scrape_configs.flatMap((j) => (j.dns_sd_configs ?? []).flatMap((d) => d.names));
  const fromAlerting = config.alerting.alertmanagers.flatMap((a) => a.dns_sd_configs.flatMap((d) => d.names));
  return [...fromJobs, ...fromAlerting].map((n) => {
    expect(n).toMatch(/^tasks\./);
    return n.slice("tasks.".length);
  });
}

/** Validates a full config map (the defaults, with changes) and returns the monitoring settings or the findings. */
function parseMonitoring(config: Record<string, string | undefined>, secureKeys: string[] = []) {
  const { settings, findings } = validateSettings(config, "new", secureKeys);
  return { settings: settings?.monitoring, findings };
}

describe("monitoring settings", () => {
  // A new stack: the project's defaults, and the region the backup bucket needs.
  const defaults: Record<string, string> = { ...configDefaults(), "aws:region": "sa-east-1" };

  test("the declared defaults parse without findings", () => {
    const { settings, findings } = parseMonitoring(defaults);
    expect(findings).toEqual([]);
    expect(settings).toMatchObject({ enabled: true, retention: "15d", retentionHours: 360, retentionSizeMiB: 10240, grafanaDomain: "grafana.advwell.pro", alertReceiver: "none" });
    expect(settings!.backendMetricsPath).toBeUndefined();
  });

  test.each([
    ["monitoringEnabled", "yes", "true or false"],
    ["prometheusRetention", "15 days", "a Prometheus duration"],
    ["prometheusRetention", "1h", "at least 2h"],
    ["prometheusStorage", "10 potatoes", "a size of at least 512MiB"],
    ["prometheusStorage", "100MiB", "a size of at least 512MiB"],
    ["grafanaDomain", "Grafana.AdvWell.pro", "a lower-case DNS name"],
    ["backendMetricsPath", "metrics", "a URL path such as /metrics"],
    ["prometheusImage", "prom/prometheus", "pinned tag or digest"],
    ["grafanaImage", "grafana/grafana:latest", "pinned tag or digest"],
    ["cadvisorImage", "gcr.io/cadvisor/cadvisor", "pinned tag or digest"],
  ])("%s=%j is refused, naming the key, the value and what is allowed", (name, value, allowed) => {
    const { settings, findings } = parseMonitoring({ ...defaults, [KEY(name)]: value });
    expect(settings).toBeUndefined();
    expect(findings).toHaveLength(1);
    expect(findings[0]).toMatchObject({ level: "error", key: KEY(name) });
    expect(findings[0].message).toContain(JSON.stringify(value));
    expect(findings[0].message).toContain(allowed);
  });

  test("a missing key is an error that points at Pulumi.yaml", () => {
    const config = { ...defaults };
    delete config[KEY("prometheusRetention")];
    const { findings } = parseMonitoring(config);
    expect(findings).toEqual([expect.objectContaining({ key: KEY("prometheusRetention"), message: expect.stringContaining("Pulumi.yaml declares its default") })]);
  });

  test("a malformed webhook URL is refused without repeating it (it is a credential)", () => {
    const leaked = "http://hooks.slack.com/services/T000/B000/very-secret-token";
    // Set with --secret (a plaintext one is refused before its form is looked at).
    const { settings, findings } = parseMonitoring({ ...defaults, [KEY("alertWebhookUrl")]: leaked }, [KEY("alertWebhookUrl")]);
    expect(settings).toBeUndefined();
    expect(findings[0].key).toBe(KEY("alertWebhookUrl"));
    expect(findings[0].message).toContain("https://");
    expect(findings[0].message).not.toContain("very-secret-token");
  });

  test.each([
    ["https://hooks.slack.com/services/T000/B000/XXXX", "slack"],
    ["https://discord.com/api/webhooks/123/abc", "discord"],
    ["https://alerts.example.com/hook", "webhook"],
    ["", "none"],
  ])("webhook %j is sent to a %s receiver", (url, kind) => {
    expect(alertReceiverKind(url)).toBe(kind);
    expect(parseMonitoring({ ...defaults, [KEY("alertWebhookUrl")]: url }, [KEY("alertWebhookUrl")]).settings?.alertReceiver).toBe(kind);
  });

  test("a webhook set with --secret that the offline loader cannot decrypt still counts as configured", () => {
    const config = { ...defaults };
    delete config[KEY("alertWebhookUrl")];
    expect(parseMonitoring(config).findings[0].key).toBe(KEY("alertWebhookUrl"));
    expect(parseMonitoring(config, [KEY("alertWebhookUrl")]).settings?.alertReceiver).toBe("webhook");
  });

  test.each([["15d", 360], ["36h", 36], ["8w", 1344], ["1d12h", 36], ["1y", 8760]])("Prometheus duration %s is %d hours", (text, hours) => {
    expect(promDurationHours(text)).toBe(hours);
  });

  test("Prometheus durations with units out of order or no number are rejected", () => {
    expect(promDurationHours("12h1d")).toBeUndefined();
    expect(promDurationHours("d")).toBeUndefined();
    expect(promDurationHours("")).toBeUndefined();
  });
});

describe("monitoring plan", () => {
  test.each(tiers)("%s: the alert rules expect every planned service at its planned task count", (tier) => {
    const { plan, mplan } = monitoringFor(tier);
    for (const service of Object.values(plan.services)) {
      expect(mplan.expectedTasks).toContainEqual(expect.objectContaining({ service: service!.name, tasks: service!.replicas }));
    }
    for (const name of MONITORING_SERVICE_NAMES) {
      expect(mplan.expectedTasks.find((e) => e.service === name)?.tasks).toBe(service(plan, name).replicas);
    }
    expect(mplan.expectedTasks).toHaveLength(Object.keys(plan.services).length);
  });

  test("growth runs 3 backend and 2 frontend replicas, and the rules say so in numbers", () => {
    const { mplan } = monitoringFor("growth");
    const rules = alertRuleGroups(mplan).flatMap((g) => g.rules).filter((r) => r.alert === "ServiceBelowPlannedReplicas");
    expect(rules.find((r) => r.labels.service === "backend")!.expr).toBe('(count(container_last_seen{container_label_com_docker_swarm_service_name="backend"}) or vector(0)) < 3');
    expect(rules.find((r) => r.labels.service === "frontend")!.expr).toMatch(/\) < 2$/);
  });

  test("an override of backend replicas moves the number in the rule", () => {
    const { mplan } = monitoringFor("growth", [`${KEY("overrides")}=["backend.replicas=6"]`]);
    const rule = alertRuleGroups(mplan).flatMap((g) => g.rules).find((r) => r.labels.service === "backend")!;
    expect(rule.expr).toMatch(/\) < 6$/);
    expect(rule.annotations.summary).toContain("6 task(s)");
  });

  test("node-exporter and cAdvisor run one task per node; the stateful services sit on the first manager", () => {
    const { plan, mplan } = monitoringFor("enterprise", [
      `${KEY("nodes")}=["name=db-1,cpus=8,memory=32GiB,role=worker","name=mgr-1,cpus=4,memory=16GiB,role=manager","name=app-1,cpus=8,memory=16GiB,role=worker"]`,
    ]);
    for (const name of ["node-exporter", "cadvisor"] as const) {
      expect(service(plan, name)).toMatchObject({ global: true, replicas: 3 });
    }
    expect(mplan.dataNode).toBe("mgr-1");
    for (const name of ["prometheus", "grafana", "alertmanager"] as const) {
      expect(service(plan, name).placement.constraints).toEqual(["node.labels.advwell.node==mgr-1"]);
      expect(service(plan, name).update.order).toBe("stop-first");
    }
    const requests = monitoringRequests(plan, settingsNodes(plan));
    const perNode = requests.filter((r) => r.service === "cadvisor");
    expect(perNode.map((r) => [r.eligible, r.replicas])).toEqual([[["db-1"], 1], [["mgr-1"], 1], [["app-1"], 1]]);
    expect(requests.find((r) => r.service === "postgres-exporter")).toMatchObject({ replicas: 1, eligible: ["db-1", "mgr-1", "app-1"], surge: 1 });
  });

  test("the monitoring services are rows of the one service table, planned with the rest", () => {
    const plan = planFor("production", [`${KEY("tier")}=business`]);
    for (const name of MONITORING_SERVICE_NAMES) {
      expect(service(plan, name)).toMatchObject({ name, group: "monitoring", stopGraceSeconds: SERVICE_TABLE[name].stopGraceSeconds, health: SERVICE_TABLE[name].health });
    }
    expect(Object.keys(plan.services).slice(-MONITORING_SERVICE_NAMES.length)).toEqual(MONITORING_SERVICE_NAMES);
  });

  test("reservations are small: all monitoring together reserves under 0.25 CPU and 600 MiB on one node", () => {
    const { plan } = monitoringFor("growth");
    const requests = monitoringRequests(plan, settingsNodes(plan));
    const cpus = requests.reduce((sum, r) => sum + r.cpus * r.replicas, 0);
    const mib = requests.reduce((sum, r) => sum + r.memoryMiB * r.replicas, 0);
    expect(cpus).toBeCloseTo(0.23, 5);
    expect(mib).toBe(528);
    for (const name of MONITORING_SERVICE_NAMES) {
      const s = service(plan, name);
      expect(s.cpuReservation).toBeLessThanOrEqual(s.cpuLimit);
      expect(s.memoryReservationMiB).toBeLessThanOrEqual(s.memoryLimitMiB);
    }
  });

  test("the seed's node (growth on one 4 CPU / 16 GiB VPS) still places every task with monitoring added", () => {
    const { plan } = monitoringFor("growth");
    const appRequests: TaskRequest[] = Object.values(plan.services).filter((s) => s!.group === "application").map((s) => ({
      service: s!.name, replicas: s!.replicas, cpus: s!.cpuReservation, memoryMiB: s!.memoryReservationMiB, eligible: ["vps-1"],
      surge: s!.update.order === "start-first" ? s!.update.parallelism : 0,
    }));
    const nodes: NodeSpec[] = [{ name: "vps-1", role: "manager", cpus: 4, memoryMiB: 16384 }];
    const all = [...appRequests, ...monitoringRequests(plan, nodes)];
    const placed = placeTasks(nodes, all);
    expect(placed.unplaced).toEqual([]);
    // 3.39: the application (with the 0.01 CPU reconciler) and monitoring's 0.23.
    expect(placed.nodes[0].cpuReserved).toBeCloseTo(3.39, 5);
    expect(placed.nodes[0].cpuReserved).toBeLessThan(4);
  });

  test("a node without room for a global exporter is reported for that node", () => {
    const { plan } = monitoringFor("starter", [`${KEY("nodes")}=["name=a,cpus=4,memory=16GiB,role=manager","name=tiny,cpus=1,memory=1GiB,role=worker"]`]);
    const filler = { service: "backend", replicas: 1, cpus: 1, memoryMiB: 1000, eligible: ["tiny"], surge: 0 } as TaskRequest;
    const nodes: NodeSpec[] = [{ name: "a", role: "manager", cpus: 4, memoryMiB: 16384 }, { name: "tiny", role: "worker", cpus: 1, memoryMiB: 1024 }];
    const placed = placeTasks(nodes, [filler, ...monitoringRequests(plan, nodes)]);
    expect(placed.unplaced.map((u) => u.service).sort()).toEqual(["cadvisor", "node-exporter"]);
    expect(placed.unplaced.every((u) => u.freeDescription.startsWith("tiny has"))).toBe(true);
  });

  test("resource overrides apply to monitoring services, and a replica count for a global one is refused", () => {
    expect(service(planFor("production", [`${KEY("overrides")}=["prometheus.memoryLimit=2GiB"]`]), "prometheus").memoryLimitMiB).toBe(2048);
    const refused = planFor("production", [`${KEY("overrides")}=["cadvisor.replicas=2"]`]);
    expect(refused.findings).toContainEqual(expect.objectContaining({ level: "error", key: `${KEY("overrides")}[cadvisor.replicas]` }));
  });

  test("production without a webhook warns that alerts notify nobody; with one it does not", () => {
    expect(monitoringFor("growth").mplan.findings).toContainEqual(expect.objectContaining({ level: "warning", key: KEY("alertWebhookUrl") }));
    expect(monitoringFor("growth", [`${KEY("alertWebhookUrl")}=https://hooks.slack.com/services/A/B/C`], [KEY("alertWebhookUrl")]).mplan.findings).toEqual([]);
  });

  test("production with monitoring disabled warns; nothing asks for nodes", () => {
    const { plan, mplan } = monitoringFor("growth", [`${KEY("monitoringEnabled")}=false`]);
    expect(mplan).toBeUndefined();
    expect(plan.findings).toContainEqual(expect.objectContaining({ level: "warning", key: KEY("monitoringEnabled") }));
    expect(monitoringRequests(plan, settingsNodes(plan))).toEqual([]);
    expect(plan.connections.clients.filter((c) => c.name === "postgres-exporter")).toEqual([]);
  });

  test("postgres-exporter adds its connections to the budget, capped by the role's connection limit", () => {
    expect(monitoringFor("growth").plan.connections.clients.filter((c) => c.name === "postgres-exporter")).toEqual([
      expect.objectContaining({ name: "postgres-exporter", instances: 2, connectionsEach: 1, total: 2 }),
    ]);
  });
});

describe("rendered Prometheus configuration", () => {
  test.each(tiers)("%s: every scrape and alerting target names a service the stack runs", (tier) => {
    const { plan, mplan } = monitoringFor(tier);
    const stackServices = new Set<string>(Object.keys(plan.services));
    const config = parseYaml(renderPrometheusConfig(mplan)) as PromConfig;
    const names = dnsNames(config);
    expect(names.length).toBeGreaterThanOrEqual(6);
    for (const name of names) expect(stackServices).toContain(name);
  });

  test("targets and rules use the plan's service names, which are the Docker service names", () => {
    const { mplan } = monitoringFor("growth", [`${KEY("backendMetricsPath")}=/metrics`]);
    for (const job of mplan.scrapeJobs) expect(job.dockerName).toBe(job.service);
    expect(renderAlertRules(mplan)).toContain('container_label_com_docker_swarm_service_name="backend"');
    expect(renderGrafanaDatasource(mplan)).toContain("url: http://prometheus:9090");
  });

  test("Traefik is scraped on its metrics entrypoint, 8082", () => {
    const config = parseYaml(renderPrometheusConfig(monitoringFor("growth").mplan)) as PromConfig;
    expect(config.scrape_configs.find((j) => j.job_name === "traefik")).toMatchObject({ metrics_path: "/metrics", dns_sd_configs: [{ names: ["tasks.traefik"], type: "A", port: 8082 }] });
  });

  test("the backend is scraped on its port only when it has a metrics path", () => {
    const without = parseYaml(renderPrometheusConfig(monitoringFor("growth").mplan)) as PromConfig;
    expect(without.scrape_configs.map((j) => j.job_name)).not.toContain("backend");
    const withPath = parseYaml(renderPrometheusConfig(monitoringFor("growth", [`${KEY("backendMetricsPath")}=/api/metrics`]).mplan)) as PromConfig;
    expect(withPath.scrape_configs.find((j) => j.job_name === "backend")).toMatchObject({ metrics_path: "/api/metrics", dns_sd_configs: [{ names: ["tasks.backend"], port: 3000 }] });
  });
});

describe("alert rules", () => {
  test.each(tiers)("%s: every alert has a summary and a runbook", (tier) => {
    const doc = parseYaml(renderAlertRules(monitoringFor(tier).mplan)) as { groups: { name: string; rules: { alert: string; annotations?: Record<string, string> }[] }[] };
    const rules = doc.groups.flatMap((g) => g.rules);
    expect(rules.length).toBeGreaterThan(10);
    for (const rule of rules) {
      expect(rule.annotations?.summary?.trim()).toBeTruthy();
      expect(rule.annotations?.runbook?.trim()).toBeTruthy();
    }
  });

  test("the connection, disk and backup alerts use the stated thresholds", () => {
    const rules = alertRuleGroups(monitoringFor("growth").mplan).flatMap((g) => g.rules);
    expect(rules.find((r) => r.alert === "PostgresConnectionsHigh")!.expr).toBe(`sum(pg_stat_activity_count) / max(pg_settings_max_connections) > ${ALERT_THRESHOLDS.postgresConnectionsRatio}`);
    expect(rules.find((r) => r.alert === "HostDiskSpaceLow")!.expr).toContain("< 0.1");
    expect(rules.find((r) => r.alert === "BackupTooOld")!.expr).toBe(`time() - max(${BACKUP_METRIC}) > ${26 * 3600}`);
  });

  test("without a backup service there is no backup alert", () => {
    const rules = alertRuleGroups(monitoringFor("growth", [`${KEY("backupEnabled")}=false`]).mplan).flatMap((g) => g.rules);
    expect(rules.map((r) => r.alert)).not.toContain("BackupTooOld");
    expect(rules.find((r) => r.labels.service === "backup")).toBeUndefined();
  });
});

describe("Alertmanager, Grafana and the monitoring role", () => {
  test.each([
    ["https://hooks.slack.com/services/T/B/X", "slack_configs", "api_url"],
    ["https://discord.com/api/webhooks/1/abc", "discord_configs", "webhook_url"],
    ["https://alerts.example.com/in", "webhook_configs", "url"],
  ])("%s goes to %s", (url, field, urlField) => {
    const doc = parseYaml(renderAlertmanagerConfig(url)) as { route: { receiver: string }; receivers: Record<string, unknown>[] };
    expect(doc.route.receiver).toBe("advwell");
    expect(Object.keys(doc.receivers[0]).sort()).toEqual(["name", field].sort());
    expect((doc.receivers[0][field] as Record<string, unknown>[])[0][urlField]).toBe(url);
  });

  test("no webhook: a receiver that sends nothing", () => {
    const doc = parseYaml(renderAlertmanagerConfig("")) as { receivers: Record<string, unknown>[] };
    expect(doc.receivers).toEqual([{ name: "advwell" }]);
  });

  test("an invalid webhook throws without echoing it", () => {
    expect(() => renderAlertmanagerConfig("ftp://secret-token@x")).toThrow(/not an https:\/\/ URL/);
    expect(() => renderAlertmanagerConfig("ftp://secret-token@x")).not.toThrow(/secret-token/);
  });

  test("the dashboard queries the datasource Grafana provisions, with the panels the overview needs", () => {
    const { mplan } = monitoringFor("growth");
    const dashboard = JSON.parse(renderGrafanaDashboard(mplan)) as { panels: { title: string; targets: { expr: string; datasource: { uid: string } }[] }[] };
    const datasource = parseYaml(renderGrafanaDatasource(mplan)) as { datasources: { uid: string; url: string }[] };
    const exprs = dashboard.panels.flatMap((p) => p.targets.map((t) => t.expr));
    for (const p of dashboard.panels) for (const t of p.targets) expect(t.datasource.uid).toBe(datasource.datasources[0].uid);
    expect(datasource.datasources[0].uid).toBe(GRAFANA_DATASOURCE_UID);
    expect(exprs.some((e) => e.includes("rate(traefik_service_requests_total[5m])"))).toBe(true);
    expect(exprs.some((e) => e.includes("traefik_service_request_duration_seconds_bucket"))).toBe(true);
    expect(exprs.some((e) => e.includes('code=~"5.."'))).toBe(true);
    expect(exprs).toContain("max(pg_settings_max_connections)");
    expect(exprs).toContain(`time() - max(${BACKUP_METRIC})`);
    const replicas = dashboard.panels.find((p) => p.title.startsWith("Running tasks"))!;
    expect(replicas.targets).toHaveLength(mplan.expectedTasks.length);
  });

  test("Grafana's Traefik labels route its own host with TLS to port 3000, health-checked on /api/health", () => {
    expect(grafanaRouteLabels("grafana.advwell.pro", "advwell-edge")).toEqual({
      "traefik.enable": "true",
      "traefik.swarm.network": "advwell-edge",
      "traefik.http.routers.grafana.rule": "Host(`grafana.advwell.pro`)",
      "traefik.http.routers.grafana.entrypoints": "websecure",
      "traefik.http.routers.grafana.tls": "true",
      "traefik.http.routers.grafana.tls.certresolver": "letsencrypt",
      "traefik.http.routers.grafana.service": "grafana",
      "traefik.http.services.grafana.loadbalancer.server.port": "3000",
      "traefik.http.services.grafana.loadbalancer.healthcheck.path": "/api/health",
      "traefik.http.services.grafana.loadbalancer.healthcheck.interval": "30s",
      "traefik.http.services.grafana.loadbalancer.healthcheck.timeout": "5s",
    });
  });

  test("the reconciler grants the monitoring role pg_monitor, caps its connections and takes its password from a psql variable", () => {
    const script = readContainerFile("reconcile");
    expect(script).toContain("SELECT pg_catalog.format('GRANT pg_monitor TO %I', :'monitor') \\gexec");
    expect(script).toContain("CONNECTION LIMIT %s PASSWORD %L', :'monitor', :'monitor_limit', :'password'");
    expect(script).toContain("default_transaction_read_only = on");
    const bad = spawnSync("bash", ["-c", script, "reconcile.sh", "once"], {
      env: { PATH: process.env.PATH, PGHOST: "x", PGPORT: "1", SUPERUSER: "postgres", SUPERUSER_PASSWORD_FILE: __filename, APP_DB_NAME: "advtom", APP_DB_USER: "advwell", APP_DB_PASSWORD_FILE: __filename, MONITORING_ROLE: "bad-name" },
      encoding: "utf8",
    });
    expect(bad.status).toBe(1);
    expect(bad.stderr).toMatch(/identifier/);
  });
});
