/**
 * The AdvWell stack: networks, generated credentials, and one component per service, each fed
 * its slice of the plan. No decisions here; the plan made them all.
 */
import * as awsConfig from "@pulumi/aws/config";
import * as docker from "@pulumi/docker";
import * as pulumi from "@pulumi/pulumi";
import * as random from "@pulumi/random";
import type { MonitoringImages } from "../model/monitoring";
import { renderMonitoringRoleInitScript, TEXTFILE_DIR } from "../model/monitoring";
import type { Plan } from "../model/plan";
import { nodeHttpProbe, wgetProbe } from "../model/probes";
import { backendDatabaseUrl, directDatabaseUrl } from "../model/render";
import { planReplication, replicaDatabaseUrl } from "../model/replication";
import { SECRETS_ENV_PRELOAD, SECRETS_ENV_PRELOAD_PATH } from "../model/secretsEnv";
import type { Settings } from "../model/settings";
import { BackupBucket, BackupService, BackupWriter } from "./backup";
import { Monitoring } from "./monitoring";
import { PgBouncer } from "./pgbouncer";
import { Postgres } from "./postgres";
import { PostgresReplica, primaryReplicationMounts } from "./postgresReplica";
import { secretFile, textConfig } from "./swarm";
import { Traefik } from "./traefik";
import { WebService } from "./webService";

export interface AdvWellArgs {
  readonly settings: Settings;
  readonly plan: Plan;
  readonly monitoringImages: MonitoringImages;
  /** Slack/Discord/webhook URL for alerts; a credential. */
  readonly alertWebhookUrl?: pulumi.Input<string | undefined>;
}

export class AdvWell extends pulumi.ComponentResource {
  readonly apiUrl: string;
  readonly appUrl: string;
  readonly dashboardUrl: string;
  readonly serviceNames: pulumi.Output<string[]>;
  /** Secret outputs. */
  readonly databaseUrl: pulumi.Output<string>;
  readonly dashboardPassword: pulumi.Output<string>;
  readonly grafanaUrl: string | undefined;
  readonly backupBucketName: pulumi.Output<string> | undefined;
  readonly grafanaAdminPassword: pulumi.Output<string> | undefined;

  constructor(name: string, args: AdvWellArgs, opts?: pulumi.ComponentResourceOptions) {
    super("advwell:stack:AdvWell", name, {}, opts);
    const { settings, plan } = args;
    const child = { parent: this };

    // Two overlays: `edge` carries Traefik's traffic to the web services; `data` carries SQL and
    // is internal (no route out), so only services attached to it can reach PostgreSQL.
    const edge = new docker.Network(`${name}-edge`, { name: "advwell-edge", driver: "overlay", attachable: false }, child);
    const data = new docker.Network(`${name}-data`, { name: "advwell-data", driver: "overlay", internal: true, attachable: false }, child);

    const password = (id: string) => new random.RandomPassword(`${name}-${id}`, { length: 32, special: false }, child);
    const superuserPassword = password("postgres-superuser-password");
    const appPassword = password("postgres-app-password");
    const dashboardPassword = password("traefik-dashboard-password");
    const monitorPassword = plan.monitoring ? password("postgres-monitor-password") : undefined;
    const monitorRole = monitorPassword ? this.monitoringRoleMounts(name, monitorPassword.result) : undefined;
    const replication = planReplication(plan);
    const replicationPassword = replication ? password("postgres-replication-password") : undefined;
    const primaryReplication =
      replication && replicationPassword ? primaryReplicationMounts("postgres", { replication, replicationPassword: replicationPassword.result }, this) : undefined;

    const postgres = new Postgres(
      "postgres",
      {
        service: plan.services.postgres!,
        postgres: plan.postgres,
        image: settings.images.postgres,
        networkId: data.id,
        databaseName: settings.databaseName,
        appUser: settings.databaseUser,
        superuserPassword: superuserPassword.result,
        appPassword: appPassword.result,
        extraInitScripts: [...(monitorRole?.initScripts ?? []), ...(primaryReplication?.initScripts ?? [])],
        extraSecrets: [...(monitorRole?.secrets ?? []), ...(primaryReplication?.secrets ?? [])],
      },
      child,
    );

    let replica: PostgresReplica | undefined;
    if (replication && replicationPassword) {
      const volumeProvider = settings.replicaDockerHost ? new docker.Provider(`${name}-replica-node`, { host: settings.replicaDockerHost }, child) : undefined;
      replica = new PostgresReplica(
        "postgres-replica",
        { replication, image: settings.images.postgres, networkId: data.id, replicationPassword: replicationPassword.result, volumeProvider },
        { parent: this, dependsOn: [postgres] },
      );
    }

    let pooler: PgBouncer | undefined;
    if (plan.pgbouncer && plan.services.pgbouncer) {
      pooler = new PgBouncer(
        "pgbouncer",
        {
          plan: plan.services.pgbouncer,
          pgbouncer: plan.pgbouncer,
          image: settings.images.pgbouncer,
          networkId: data.id,
          postgresHost: postgres.host,
          postgresPort: postgres.port,
          database: settings.databaseName,
          user: settings.databaseUser,
          password: appPassword.result,
        },
        child,
      );
    }

    const urlParts = (host: string, port: number) =>
      appPassword.result.apply((pw) => ({ user: settings.databaseUser, password: pw, host, port, database: settings.databaseName }));
    const databaseUrl = pulumi.secret(urlParts(pooler?.host ?? postgres.host, pooler?.port ?? postgres.port).apply((p) => backendDatabaseUrl(p, plan.backend)));
    // Prisma `directUrl`: migrations take session-level advisory locks and must bypass PgBouncer
    // (the seed's "FATAL: no username supplied" came from running them through it).
    const directUrl = pulumi.secret(urlParts(postgres.host, postgres.port).apply(directDatabaseUrl));

    // The URLs reach the backend as Swarm secret files, never as env values in the service spec.
    const urlSecret = (id: string, url: pulumi.Output<string>) => secretFile(`${name}-${id}`, url, this);
    const databaseUrlSecret = urlSecret("database-url", databaseUrl);
    const directUrlSecret = urlSecret("direct-database-url", directUrl);
    // Reads may go to the replica (Prisma's read-replicas extension), only on tiers that have one.
    const replicaUrlSecret = replica
      ? urlSecret(
          "database-replica-url",
          pulumi.secret(appPassword.result.apply((pw) => replicaDatabaseUrl({ user: settings.databaseUser, password: pw, database: settings.databaseName }, plan.backend))),
        )
      : undefined;
    const preload = textConfig("advwell-secrets-env", SECRETS_ENV_PRELOAD, this);

    const traefik = new Traefik(
      "traefik",
      {
        plan: plan.services.traefik!,
        image: settings.images.traefik,
        acmeEmail: settings.acmeEmail,
        dashboardDomain: settings.dashboardDomain,
        network: { id: edge.id, name: "advwell-edge" },
        dashboardUsers: pulumi.secret(pulumi.interpolate`admin:${dashboardPassword.bcryptHash}`),
      },
      child,
    );

    const rateLimit = { average: settings.rateLimitAverage, burst: settings.rateLimitBurst };
    const backend = new WebService(
      "backend",
      {
        plan: plan.services.backend!,
        image: settings.images.backend,
        domain: settings.apiDomain,
        port: plan.backend.port,
        healthPath: "/health",
        healthCommand: nodeHttpProbe(plan.backend.port, "/health"),
        env: {
          NODE_ENV: "production",
          PORT: String(plan.backend.port),
          NODE_OPTIONS: `--max-old-space-size=${plan.backend.nodeHeapMiB} --require ${SECRETS_ENV_PRELOAD_PATH}`,
          DATABASE_URL_FILE: "/run/secrets/database-url",
          DIRECT_DATABASE_URL_FILE: "/run/secrets/direct-database-url",
          ...(replicaUrlSecret ? { DATABASE_REPLICA_URL_FILE: "/run/secrets/database-replica-url" } : {}),
        },
        secrets: [
          { secret: databaseUrlSecret, fileName: "database-url" },
          { secret: directUrlSecret, fileName: "direct-database-url" },
          ...(replicaUrlSecret ? [{ secret: replicaUrlSecret, fileName: "database-replica-url" }] : []),
        ],
        configs: [{ config: preload, fileName: SECRETS_ENV_PRELOAD_PATH }],
        networks: [
          { id: edge.id, name: "advwell-edge" },
          { id: data.id, name: "advwell-data" },
        ],
        rateLimit,
      },
      { parent: this, dependsOn: [postgres, ...(pooler ? [pooler] : [])] },
    );
    const frontend = new WebService(
      "frontend",
      {
        plan: plan.services.frontend!,
        image: settings.images.frontend,
        domain: settings.appDomain,
        port: settings.frontendPort,
        healthPath: "/",
        healthCommand: wgetProbe(settings.frontendPort, "/"),
        env: { API_URL: `https://${settings.apiDomain}` },
        networks: [{ id: edge.id, name: "advwell-edge" }],
        rateLimit,
      },
      child,
    );

    let monitoring: Monitoring | undefined;
    if (plan.monitoring && monitorPassword) {
      monitoring = new Monitoring(
        "monitoring",
        {
          plan: plan.monitoring,
          images: args.monitoringImages,
          networks: { edge: { id: edge.id, name: "advwell-edge" }, data: { id: data.id, name: "advwell-data" } },
          rateLimit,
          postgres: { host: postgres.host, port: postgres.port, database: settings.databaseName },
          monitoringRolePassword: monitorPassword.result,
          alertWebhookUrl: pulumi.output(args.alertWebhookUrl).apply((url) => url ?? ""),
        },
        { parent: this, dependsOn: [postgres] },
      );
    }

    let backupBucket: BackupBucket | undefined;
    let backupService: BackupService | undefined;
    if (plan.backup && plan.services.backup) {
      const region = awsConfig.region;
      if (!region) throw new pulumi.ResourceError("aws:region must be set in Pulumi.<stack>.yaml: the backup bucket and the backup service use it", this);
      backupBucket = new BackupBucket("backup", { backup: plan.backup }, child);
      const writer = new BackupWriter("backup-writer", { backup: plan.backup, bucketArn: backupBucket.bucketArn }, child);
      backupService = new BackupService(
        "backup",
        {
          plan: plan.services.backup,
          backup: plan.backup,
          networkId: data.id,
          postgresHost: postgres.host,
          postgresPort: postgres.port,
          databaseName: settings.databaseName,
          // pg_dump as the superuser reads every object; the drill needs CREATEDB.
          user: "postgres",
          password: superuserPassword.result,
          bucketName: backupBucket.bucketName,
          region,
          accessKeyId: writer.accessKeyId,
          secretAccessKey: writer.secretAccessKey,
          metrics: monitoring ? { volume: monitoring.textfileVolume.name, dir: TEXTFILE_DIR } : undefined,
        },
        { parent: this, dependsOn: [postgres] },
      );
    }

    this.backupBucketName = backupBucket?.bucketName;
    this.grafanaUrl = monitoring ? `https://${plan.monitoring!.grafanaDomain}` : undefined;
    this.grafanaAdminPassword = monitoring?.grafanaAdminPassword;
    this.apiUrl = backend.url;
    this.appUrl = frontend.url;
    this.dashboardUrl = traefik.dashboardUrl;
    this.serviceNames = pulumi.all([postgres.service.name, backend.service.name, frontend.service.name, traefik.service.name, ...(pooler ? [pooler.service.name] : []), ...(replica ? [replica.service.name] : []), ...(backupService ? [backupService.service.name] : [])]);
    this.databaseUrl = databaseUrl;
    this.dashboardPassword = pulumi.secret(dashboardPassword.result);
    this.registerOutputs({ apiUrl: this.apiUrl, appUrl: this.appUrl, serviceNames: this.serviceNames });
  }

  /** The read-only `advwell_monitor` role postgres-exporter logs in as: created at initdb, password from a secret file. */
  private monitoringRoleMounts(name: string, rolePassword: pulumi.Output<string>) {
    const script = renderMonitoringRoleInitScript();
    const secret = secretFile(`${name}-monitor-password`, rolePassword, this);
    const config = textConfig(`${name}-init-monitor-role`, script, this);
    return {
      secrets: [{ secret, fileName: "postgres-monitor-password" }],
      initScripts: [{ config, fileName: "/docker-entrypoint-initdb.d/20-monitor-role.sh" }],
    };
  }
}
