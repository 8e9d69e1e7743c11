/**
 * Prometheus, Alertmanager, Grafana, postgres-exporter, node-exporter and cAdvisor as Swarm
 * services. Every number and every file comes from the monitoring plan (model/monitoring.ts);
 * this component only maps them onto Docker resources.
 */
import * as docker from "@pulumi/docker";
import * as pulumi from "@pulumi/pulumi";
import * as random from "@pulumi/random";
import { postgresExporterEnv, ExporterTarget, GRAFANA_DASHBOARD_DIR, grafanaRouteLabels, PROMETHEUS_CONFIG_PATH, PROMETHEUS_RULES_PATH, renderAlertmanagerConfig, renderGrafanaDashboard, renderGrafanaDashboardProvider, renderGrafanaDatasource, renderPrometheusConfig } from "../model/monitoring/files";
import { renderAlertRules } from "../model/monitoring/alerts";
import { MONITORING_PORTS, MonitoringPlan, TEXTFILE_DIR, TEXTFILE_VOLUME } from "../model/monitoring/plan";
import type { ServicePlans } from "../model/plan/types";
import type { ServiceName } from "../model/services";
import { MonitoringUi, monitoringUiArgs, monitoringUiLabels } from "../model/render/traefik";
import { bindMount, configMount, healthcheck, networksOf, secretFile, secretMount, StackNetworks, swarmServiceArgs, textConfig, volumeMount } from "./swarm";

import In = docker.types.input;

export interface MonitoringArgs {
  /** The monitoring slice of the plan: scrape jobs, expected tasks, retention, Grafana's host. */
  readonly monitoring: MonitoringPlan;
  /** The plan's services; this component runs the monitoring rows among them. */
  readonly services: ServicePlans;
  /**
   * The stack's networks; each service joins those its plan names (model/plan/networks.ts):
   * `monitoring` for all of them (Prometheus reaches each target through `tasks.<service>`, Traefik
   * reaches Grafana), `data` for postgres-exporter.
   */
  readonly networks: StackNetworks;
  /** Traefik's per-IP rate limit, applied to Grafana's router as to the application's. */
  readonly rateLimit?: { readonly average: number; readonly burst: number };
  /** The ACME resolver for Grafana's certificate (the plan's edge); undefined: Traefik's default certificate. */
  readonly certResolver?: string;
  /** The dashboard's host: Prometheus' and Alertmanager's UIs are served under it, behind its password. */
  readonly dashboardHost: string;
  /** PostgreSQL as postgres-exporter reaches it (the server itself, never PgBouncer). */
  readonly database: ExporterTarget;
  /** Password of the read-only `advwell_monitor` role; the Postgres side creates the role. */
  readonly monitoringRolePassword: pulumi.Input<string>;
  /** Slack, Discord or generic webhook URL (a credential). Empty or absent: no notifications. */
  readonly alertWebhookUrl?: pulumi.Input<string>;
}

const PROMETHEUS_DATA = "/prometheus";
const GRAFANA_ADMIN_PASSWORD_FILE = "/run/secrets/grafana_admin_password";
const EXPORTER_PASSWORD_FILE = "/run/secrets/postgres_exporter_password";
const ALERTMANAGER_CONFIG_FILE = "/run/secrets/alertmanager.yml";

/**
 * The Docker API's socket on each node. A read-only bind does not limit the API (a unix socket
 * accepts POST /containers/create whatever the mount's mode); it goes once cAdvisor reads the API
 * through the filtering socket proxy.
 */
const DOCKER_SOCKET = "/var/run/docker.sock";

const wget = (url: string) => ["CMD", "wget", "-q", "--spider", url];

type MonitoringServiceName = "prometheus" | "grafana" | "alertmanager" | "postgres-exporter" | "node-exporter" | "cadvisor";

export class Monitoring extends pulumi.ComponentResource {
  /** Grafana's admin password (user `admin`), for `pulumi stack output --show-secrets`. */
  readonly grafanaAdminPassword: pulumi.Output<string>;
  /** https://<grafanaDomain>/. */
  readonly grafanaUrl: string;
  /** Prometheus' history: protected, kept on delete. */
  readonly prometheusData: docker.Volume;
  /** node-exporter's textfile directory (the backup job writes its last-success metric there). */
  readonly textfileVolume: docker.Volume;
  readonly services: Readonly<Record<MonitoringServiceName, docker.Service>>;

  constructor(name: string, args: MonitoringArgs, opts?: pulumi.ComponentResourceOptions) {
    super("advwell:monitoring:Monitoring", name, {}, opts);
    const plan = args.monitoring;
    const parent = { parent: this };
    const servicePlan = (svc: ServiceName) => {
      const p = args.services[svc];
      if (!p) throw new pulumi.ResourceError(`the plan has no ${svc} service, but monitoring is on`, this);
      return p;
    };

    // Configs are named by their content and secrets auto-named (components/swarm.ts), so a changed
    // file is created beside the old one, the service moves to it, and the old one is deleted.
    const config = (file: string, text: string): docker.ServiceConfig => textConfig(`${name}-${file}`, text, this);
    const secret = (file: string, text: pulumi.Input<string>): docker.Secret => secretFile(`${name}-${file}`, text, this);

    const prometheusYml = config("prometheus-yml", renderPrometheusConfig(plan));
    const rulesYml = config("prometheus-rules", renderAlertRules(plan));
    const datasourceYml = config("grafana-datasource", renderGrafanaDatasource(plan));
    const providerYml = config("grafana-dashboards", renderGrafanaDashboardProvider());
    const overviewJson = config("grafana-overview", renderGrafanaDashboard(plan));

    const adminPassword = new random.RandomPassword(`${name}-grafana-admin`, { length: 32, special: false }, parent);
    this.grafanaAdminPassword = pulumi.secret(adminPassword.result);
    const adminSecret = secret("grafana-admin", this.grafanaAdminPassword);
    const exporterSecret = secret("postgres-exporter-password", args.monitoringRolePassword);
    const alertmanagerSecret = secret(
      "alertmanager-yml",
      pulumi.output(args.alertWebhookUrl ?? "").apply((url) => renderAlertmanagerConfig(url)),
    );

    // Data. Prometheus' history survives `pulumi destroy` and cannot be deleted by a refactor.
    this.prometheusData = new docker.Volume(`${name}-prometheus-data`, { name: "advwell-prometheus-data" }, { ...parent, protect: true, retainOnDelete: true });
    const grafanaData = new docker.Volume(`${name}-grafana-data`, { name: "advwell-grafana-data" }, { ...parent, retainOnDelete: true });
    // Declared, so it is tracked and never created implicitly: the backup job (pinned beside the
    // primary, on the manager whose engine the provider reaches) writes into it there.
    this.textfileVolume = new docker.Volume(`${name}-node-textfile`, { name: TEXTFILE_VOLUME, driver: "local" }, { ...parent, retainOnDelete: true });
    const alertmanagerData = new docker.Volume(`${name}-alertmanager-data`, { name: "advwell-alertmanager-data" }, { ...parent, retainOnDelete: true });

    const service = (
      svc: MonitoringServiceName,
      containerSpec: Omit<In.ServiceTaskSpecContainerSpec, "healthcheck" | "image" | "stopGracePeriod"> & { readonly health: string[] },
      labels: Record<string, pulumi.Input<string>> = {},
    ): docker.Service => {
      const p = servicePlan(svc);
      const { health, ...container } = containerSpec;
      return new docker.Service(
        `${name}-${svc}`,
        swarmServiceArgs(p, {
          component: svc,
          labels: { "advwell.stack": plan.stack, "advwell.service": svc, ...labels },
          containerSpec: { ...container, healthcheck: healthcheck(health, p.health) },
          networks: networksOf(p, args.networks),
        }),
        parent,
      );
    };

    // Prometheus and Alertmanager answer without a login of their own: the only way to their UIs
    // from outside is the dashboard's router, its rate limit and password (issue 22 item 8).
    // Traefik reaches them on the monitoring network, which it joins (model/plan/networks.ts).
    const uiLabels = (ui: MonitoringUi, port: number) =>
      monitoringUiLabels(ui, { dashboardHost: args.dashboardHost, port, network: args.networks.monitoring!.name, certResolver: args.certResolver });
    const prometheus = service("prometheus", {
      args: [
        `--config.file=${PROMETHEUS_CONFIG_PATH}`,
        `--storage.tsdb.path=${PROMETHEUS_DATA}`,
        `--storage.tsdb.retention.time=${plan.prometheus.retention}`,
        // Prometheus sizes are powers of 1024 ("MB" = MiB).
        `--storage.tsdb.retention.size=${plan.prometheus.retentionSizeMiB}MB`,
        ...monitoringUiArgs("prometheus", args.dashboardHost),
      ],
      configs: [configMount(prometheusYml, PROMETHEUS_CONFIG_PATH), configMount(rulesYml, PROMETHEUS_RULES_PATH)],
      mounts: [volumeMount(this.prometheusData.name, PROMETHEUS_DATA)],
      health: wget(`http://127.0.0.1:${MONITORING_PORTS.prometheus}/-/healthy`),
    }, uiLabels("prometheus", MONITORING_PORTS.prometheus));

    const alertmanager = service("alertmanager", {
      // One replica: the HA gossip listener is switched off (empty address).
      args: [`--config.file=${ALERTMANAGER_CONFIG_FILE}`, "--storage.path=/alertmanager", "--cluster.listen-address=", ...monitoringUiArgs("alertmanager", args.dashboardHost)],
      secrets: [secretMount(alertmanagerSecret, ALERTMANAGER_CONFIG_FILE)],
      mounts: [volumeMount(alertmanagerData.name, "/alertmanager")],
      health: wget(`http://127.0.0.1:${MONITORING_PORTS.alertmanager}/-/healthy`),
    }, uiLabels("alertmanager", MONITORING_PORTS.alertmanager));

    this.grafanaUrl = `https://${plan.grafanaDomain}/`;
    const grafana = service("grafana", {
      env: {
        GF_SECURITY_ADMIN_USER: "admin",
        GF_SECURITY_ADMIN_PASSWORD__FILE: GRAFANA_ADMIN_PASSWORD_FILE,
        // Grafana is on the public internet behind Traefik: login only, no sign-up, no anonymous viewer.
        GF_AUTH_ANONYMOUS_ENABLED: "false",
        GF_AUTH_BASIC_ENABLED: "false",
        GF_USERS_ALLOW_SIGN_UP: "false",
        GF_SECURITY_COOKIE_SECURE: "true",
        GF_SERVER_DOMAIN: plan.grafanaDomain,
        GF_SERVER_ROOT_URL: this.grafanaUrl,
        GF_ANALYTICS_REPORTING_ENABLED: "false",
        GF_ANALYTICS_CHECK_FOR_UPDATES: "false",
      },
      secrets: [secretMount(adminSecret, GRAFANA_ADMIN_PASSWORD_FILE)],
      configs: [
        configMount(datasourceYml, "/etc/grafana/provisioning/datasources/advwell.yml"),
        configMount(providerYml, "/etc/grafana/provisioning/dashboards/advwell.yml"),
        configMount(overviewJson, `${GRAFANA_DASHBOARD_DIR}/advwell-overview.json`),
      ],
      mounts: [volumeMount(grafanaData.name, "/var/lib/grafana")],
      health: wget(`http://127.0.0.1:${MONITORING_PORTS.grafana}/api/health`),
    }, grafanaRouteLabels(plan.grafanaDomain, networksOf(servicePlan("grafana"), args.networks)[0].name, args.rateLimit, args.certResolver));

    const postgresExporter = service("postgres-exporter", {
      env: postgresExporterEnv(args.database, EXPORTER_PASSWORD_FILE),
      secrets: [secretMount(exporterSecret, EXPORTER_PASSWORD_FILE)],
      health: wget(`http://127.0.0.1:${MONITORING_PORTS["postgres-exporter"]}/`),
    });

    // Host metrics: the host's /proc, /sys and / read-only; the hostname is the node's, not the container's.
    const nodeExporter = service("node-exporter", {
      hostname: "{{.Node.Hostname}}",
      args: [
        "--path.procfs=/host/proc",
        "--path.sysfs=/host/sys",
        "--path.rootfs=/rootfs",
        `--collector.textfile.directory=${TEXTFILE_DIR}`,
        "--collector.filesystem.mount-points-exclude=^/(dev|proc|sys|run|var/lib/docker/.+)($|/)",
      ],
      mounts: [
        bindMount("/proc", "/host/proc"),
        bindMount("/sys", "/host/sys"),
        bindMount("/", "/rootfs", "rslave"),
        // The backup job writes advwell_backup.prom into this volume on its node.
        volumeMount(this.textfileVolume.name, TEXTFILE_DIR, true),
      ],
      health: wget(`http://127.0.0.1:${MONITORING_PORTS["node-exporter"]}/`),
    });

    // Container metrics. The Docker API maps cgroups to Swarm service labels, which the replica
    // alerts count; only those labels become metric labels (cardinality). Read-only, and only what
    // cAdvisor reads when it runs in a container (google/cadvisor container/docker/handler.go,
    // newDockerContainerHandler: outside the host's namespaces it prefixes host paths with /rootfs):
    // - /sys: the cgroups, the stats themselves;
    // - /var/lib/docker/image as /rootfs/var/lib/docker/image: getRwLayerID reads each container's
    //   layerdb mount-id there, and fails the container's handler without it. Not the rest of
    //   /var/lib/docker: that holds every container's files and secrets;
    // - /proc as /rootfs/proc: the containers' network counters (<rootfs>/proc/<pid>/net/dev).
    // Not /, /var/run or /dev/disk: disk metrics are off (nothing here reads container_fs_*), and
    // the Docker API is reached through the socket file alone until the socket proxy serves it.
    const cadvisor = service("cadvisor", {
      hostname: "{{.Node.Hostname}}",
      args: [
        "--docker_only=true",
        "--housekeeping_interval=30s",
        "--store_container_labels=false",
        "--whitelisted_container_labels=com.docker.swarm.service.name,com.docker.swarm.task.name,com.docker.swarm.node.id",
        "--disable_metrics=disk,diskIO",
      ],
      mounts: [
        bindMount("/sys", "/sys"),
        bindMount("/var/lib/docker/image", "/rootfs/var/lib/docker/image"),
        bindMount("/proc", "/rootfs/proc"),
        bindMount(DOCKER_SOCKET, DOCKER_SOCKET),
      ],
      health: wget(`http://127.0.0.1:${MONITORING_PORTS.cadvisor}/healthz`),
    });

    this.services = {
      prometheus,
      grafana,
      alertmanager,
      "postgres-exporter": postgresExporter,
      "node-exporter": nodeExporter,
      cadvisor,
    };
    this.registerOutputs({
      grafanaUrl: this.grafanaUrl,
      grafanaAdminPassword: this.grafanaAdminPassword,
      prometheusDataVolume: this.prometheusData.name,
      textfileVolume: this.textfileVolume.name,
    });
  }
}
