/**
 * Prometheus, Alertmanager, Grafana, postgres-exporter, node-exporter and cAdvisor as Swarm
 * services. Every number and every file comes from the monitoring plan (model/monitoring.ts);
 * this component only maps them onto Docker resources.
 */
import * as docker from "@pulumi/docker";
import * as pulumi from "@pulumi/pulumi";
import * as random from "@pulumi/random";
import {
  ExporterTarget,
  GRAFANA_DASHBOARD_DIR,
  grafanaRouteLabels,
  MONITORING_PORTS,
  MonitoringImages,
  MonitoringPlan,
  MonitoringServiceName,
  postgresExporterEnv,
  PROMETHEUS_CONFIG_PATH,
  PROMETHEUS_RULES_PATH,
  renderAlertmanagerConfig,
  renderAlertRules,
  renderGrafanaDashboard,
  renderGrafanaDashboardProvider,
  renderGrafanaDatasource,
  renderPrometheusConfig,
  TEXTFILE_DIR,
  TEXTFILE_VOLUME,
} from "../model/monitoring";
import { healthcheck, secretFile, swarmServiceArgs, textConfig } from "./swarm";

import In = docker.types.input;

export interface MonitoringArgs {
  /** The monitoring slice of the plan. Plain, not an Input: it decides which resources exist. */
  readonly plan: MonitoringPlan;
  /** Pinned images from the monitoring settings. */
  readonly images: MonitoringImages;
  /**
   * `edge`: where Traefik and the web services are; every monitoring service joins it, so Prometheus
   * reaches each target through Swarm DNS (`tasks.<service>`) and Traefik reaches Grafana.
   * `data`: the internal SQL network; only postgres-exporter joins it.
   */
  readonly networks: { readonly edge: NetworkRef; readonly data: NetworkRef };
  /** Traefik's per-IP rate limit, applied to Grafana's router as to the application's. */
  readonly rateLimit?: { readonly average: number; readonly burst: number };
  /** PostgreSQL as postgres-exporter reaches it (host: the Postgres Docker service name). */
  readonly postgres: ExporterTarget;
  /** Password of the read-only `advwell_monitor` role; the Postgres side creates the role. */
  readonly monitoringRolePassword: pulumi.Input<string>;
  /** Slack, Discord or generic webhook URL (a credential). Empty or absent: no notifications. */
  readonly alertWebhookUrl?: pulumi.Input<string>;
}

export interface NetworkRef {
  readonly id: pulumi.Input<string>;
  readonly name: string;
}

const PROMETHEUS_DATA = "/prometheus";
const GRAFANA_ADMIN_PASSWORD_FILE = "/run/secrets/grafana_admin_password";
const EXPORTER_PASSWORD_FILE = "/run/secrets/postgres_exporter_password";
const ALERTMANAGER_CONFIG_FILE = "/run/secrets/alertmanager.yml";

const wget = (url: string) => ["CMD", "wget", "-q", "--spider", url];

export class Monitoring extends pulumi.ComponentResource {
  /** Grafana's admin password (user `admin`), for `pulumi stack output --show-secrets`. */
  readonly grafanaAdminPassword: pulumi.Output<string>;
  readonly grafanaUrl: string;
  readonly prometheusData: docker.Volume;
  /** node-exporter's textfile directory (the backup job writes its last-success metric there). */
  readonly textfileVolume: docker.Volume;
  readonly services: Readonly<Record<MonitoringServiceName, docker.Service>>;

  constructor(name: string, args: MonitoringArgs, opts?: pulumi.ComponentResourceOptions) {
    super("advwell:monitoring:Monitoring", name, {}, opts);
    const plan = args.plan;
    const parent = { parent: this };
    const dockerName = (s: MonitoringServiceName) => plan.dockerNames[s] ?? s;

    // Configs are named by their content and secrets auto-named (components/swarm.ts), so a changed
    // file is created beside the old one, the service moves to it, and the old one is deleted.
    const config = (file: string, text: string): docker.ServiceConfig => textConfig(`${name}-${file}`, text, this);
    const secret = (file: string, text: pulumi.Input<string>): docker.Secret => secretFile(`${name}-${file}`, text, this);
    const fileConfig = (c: docker.ServiceConfig, fileName: string): In.ServiceTaskSpecContainerSpecConfig => ({ configId: c.id, configName: c.name, fileName, fileMode: 0o444 });
    const fileSecret = (s: docker.Secret, fileName: string): In.ServiceTaskSpecContainerSpecSecret => ({ secretId: s.id, secretName: s.name, fileName, fileMode: 0o444 });

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
    this.prometheusData = new docker.Volume(`${name}-prometheus-data`, { name: `advwell-${dockerName("prometheus")}-data` }, { ...parent, protect: true, retainOnDelete: true });
    const grafanaData = new docker.Volume(`${name}-grafana-data`, { name: `advwell-${dockerName("grafana")}-data` }, { ...parent, retainOnDelete: true });
    // Declared, so it is tracked and never created implicitly: the backup job (pinned beside the
    // primary, on the manager whose engine the provider reaches) writes into it there.
    this.textfileVolume = new docker.Volume(`${name}-node-textfile`, { name: TEXTFILE_VOLUME, driver: "local" }, { ...parent, retainOnDelete: true });
    const alertmanagerData = new docker.Volume(`${name}-alertmanager-data`, { name: `advwell-${dockerName("alertmanager")}-data` }, { ...parent, retainOnDelete: true });

    const service = (
      svc: MonitoringServiceName,
      containerSpec: Omit<In.ServiceTaskSpecContainerSpec, "healthcheck" | "image"> & { readonly health: string[] },
      labels: Record<string, pulumi.Input<string>> = {},
      networks: readonly NetworkRef[] = [args.networks.edge],
    ): docker.Service => {
      const p = plan.services[svc];
      const { health, ...container } = containerSpec;
      return new docker.Service(
        `${name}-${svc}`,
        swarmServiceArgs(p, {
          name: dockerName(svc),
          component: svc,
          global: p.global,
          labels: { "advwell.stack": plan.stack, "advwell.service": svc, ...labels },
          containerSpec: { ...container, image: imageFor(args.images, svc), healthcheck: healthcheck(health, p.health) },
          networks: networks.map((n) => ({ id: n.id })),
        }),
        parent,
      );
    };

    const volume = (v: docker.Volume, target: string): In.ServiceTaskSpecContainerSpecMount => ({ type: "volume", source: v.name, target });
    const bind = (source: string, target: string, propagation?: string): In.ServiceTaskSpecContainerSpecMount => ({
      type: "bind", source, target, readOnly: true, ...(propagation ? { bindOptions: { propagation } } : {}),
    });

    const prometheus = service("prometheus", {
      args: [
        `--config.file=${PROMETHEUS_CONFIG_PATH}`,
        `--storage.tsdb.path=${PROMETHEUS_DATA}`,
        `--storage.tsdb.retention.time=${plan.prometheus.retention}`,
        // Prometheus sizes are powers of 1024 ("MB" = MiB).
        `--storage.tsdb.retention.size=${plan.prometheus.retentionSizeMiB}MB`,
      ],
      configs: [fileConfig(prometheusYml, PROMETHEUS_CONFIG_PATH), fileConfig(rulesYml, PROMETHEUS_RULES_PATH)],
      mounts: [volume(this.prometheusData, PROMETHEUS_DATA)],
      health: wget(`http://127.0.0.1:${MONITORING_PORTS.prometheus}/-/healthy`),
    });

    const alertmanager = service("alertmanager", {
      // One replica: the HA gossip listener is switched off (empty address).
      args: [`--config.file=${ALERTMANAGER_CONFIG_FILE}`, "--storage.path=/alertmanager", "--cluster.listen-address="],
      secrets: [fileSecret(alertmanagerSecret, ALERTMANAGER_CONFIG_FILE)],
      mounts: [volume(alertmanagerData, "/alertmanager")],
      health: wget(`http://127.0.0.1:${MONITORING_PORTS.alertmanager}/-/healthy`),
    });

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
      secrets: [fileSecret(adminSecret, GRAFANA_ADMIN_PASSWORD_FILE)],
      configs: [
        fileConfig(datasourceYml, "/etc/grafana/provisioning/datasources/advwell.yml"),
        fileConfig(providerYml, "/etc/grafana/provisioning/dashboards/advwell.yml"),
        fileConfig(overviewJson, `${GRAFANA_DASHBOARD_DIR}/advwell-overview.json`),
      ],
      mounts: [volume(grafanaData, "/var/lib/grafana")],
      health: wget(`http://127.0.0.1:${MONITORING_PORTS.grafana}/api/health`),
    }, grafanaRouteLabels(plan.grafanaDomain, args.networks.edge.name, args.rateLimit));

    const postgresExporter = service("postgres-exporter", {
      env: postgresExporterEnv(args.postgres, EXPORTER_PASSWORD_FILE),
      secrets: [fileSecret(exporterSecret, EXPORTER_PASSWORD_FILE)],
      health: wget(`http://127.0.0.1:${MONITORING_PORTS["postgres-exporter"]}/`),
    }, {}, [args.networks.edge, args.networks.data]);

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
        bind("/proc", "/host/proc"),
        bind("/sys", "/host/sys"),
        bind("/", "/rootfs", "rslave"),
        // The backup job writes advwell_backup.prom into this volume on its node.
        { type: "volume", source: this.textfileVolume.name, target: TEXTFILE_DIR, readOnly: true },
      ],
      health: wget(`http://127.0.0.1:${MONITORING_PORTS["node-exporter"]}/`),
    });

    // Container metrics. The Docker socket maps cgroups to Swarm service labels, which the
    // replica alerts count; only those labels become metric labels (cardinality).
    const cadvisor = service("cadvisor", {
      hostname: "{{.Node.Hostname}}",
      args: [
        "--docker_only=true",
        "--housekeeping_interval=30s",
        "--store_container_labels=false",
        "--whitelisted_container_labels=com.docker.swarm.service.name,com.docker.swarm.task.name,com.docker.swarm.node.id",
      ],
      mounts: [
        bind("/", "/rootfs"),
        bind("/var/run", "/var/run"),
        bind("/sys", "/sys"),
        bind("/var/lib/docker", "/var/lib/docker"),
        bind("/dev/disk", "/dev/disk"),
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

function imageFor(images: MonitoringImages, svc: MonitoringServiceName): string {
  const byService: Record<MonitoringServiceName, string> = {
    prometheus: images.prometheus,
    grafana: images.grafana,
    alertmanager: images.alertmanager,
    "postgres-exporter": images.postgresExporter,
    "node-exporter": images.nodeExporter,
    cadvisor: images.cadvisor,
  };
  return byService[svc];
}
