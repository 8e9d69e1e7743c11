/**
 * The AdvWell stack: networks, generated credentials, and one component per service, each fed
 * its slice of the plan. No decisions here; the plan made them all.
 */
import * as awsConfig from "@pulumi/aws/config";
import * as docker from "@pulumi/docker";
import * as pulumi from "@pulumi/pulumi";
import * as random from "@pulumi/random";
import { PitrPlan, renderPgbackrestConf } from "../model/backup/pitr";
import type { BackupPlan } from "../model/backup/plan";
import type { Settings } from "../model/config/settings";
import { TEXTFILE_DIR } from "../model/monitoring/plan";
import type { Plan } from "../model/plan/resolve";
import { nodeHttpProbe, wgetProbe } from "../model/render/probes";
import { backendDatabaseUrl, directDatabaseUrl } from "../model/render/urls";
import { replicaDatabaseUrl } from "../model/replication";
import { BackupBucket, BackupService, BackupWriter } from "./backup";
import { CONTAINER_FILES, containerFileMount } from "./containerFiles";
import { Monitoring } from "./monitoring";
import { PgBouncer } from "./pgbouncer";
import { Postgres } from "./postgres";
import { PostgresReconcile } from "./postgresReconcile";
import { PostgresReplica } from "./postgresReplica";
import { DockerSocketProxy } from "./dockerSocketProxy";
import type { ServiceName } from "../model/services";
import type { NetworkPlan } from "../model/plan/types";
import { DatabaseRef, NetworkRef, networksOf, secretFile, secretMount, StackNetworks } from "./swarm";
import { Traefik } from "./traefik";
import { appEnvironment, WebService } from "./webService";

export interface AdvWellArgs {
  /** Validated settings: domains, database names, rate limits, the replica node's endpoint. */
  readonly settings: Settings;
  /** The resolved plan; it has no errors (index.ts refuses one that has). */
  readonly plan: Plan;
  /** Slack/Discord/webhook URL for alerts; a credential. */
  readonly alertWebhookUrl?: pulumi.Input<string | undefined>;
  /** The superuser's password when configured (an adopted cluster's); otherwise one is generated. A credential. */
  readonly superuserPassword?: pulumi.Input<string>;
  /** advwell:backupEncryptionKey when set; otherwise one is generated. A credential. */
  readonly backupEncryptionKey?: pulumi.Input<string>;
  /** advwell:backupAccessKeyId / backupSecretAccessKey: the s3-compatible bucket's keys. Credentials. */
  readonly backupAccessKeyId?: pulumi.Input<string>;
  readonly backupSecretAccessKey?: pulumi.Input<string>;
  /** The backend's and the frontend's secret environment (env-file text, a credential), when set. */
  readonly secretEnv?: { readonly backend?: pulumi.Input<string | undefined>; readonly frontend?: pulumi.Input<string | undefined> };
}

/** The bucket, its region and the writer's keys (created in AWS, or an existing S3-compatible bucket's), and the stack's backup key. */
function backupStorage(backup: BackupPlan, pitr: PitrPlan | undefined, args: AdvWellArgs, child: pulumi.ComponentResourceOptions) {
  const encryptionKey = args.backupEncryptionKey !== undefined ? pulumi.secret(args.backupEncryptionKey) : new random.RandomPassword("advwell-backup-encryption-key", { length: 48, special: false }, child).result;
  if (backup.storage === "s3-compatible") {
    // No AWS resources: the plan has refused a missing bucket name, endpoint or keys.
    return {
      bucketName: pulumi.output(backup.bucket.name!),
      region: backup.region ?? "us-east-1",
      accessKeyId: pulumi.secret(args.backupAccessKeyId!),
      secretAccessKey: pulumi.secret(args.backupSecretAccessKey!),
      encryptionKey,
    };
  }
  const region = awsConfig.region;
  if (!region) throw new pulumi.ResourceError("aws:region must be set in Pulumi.<stack>.yaml: the backup bucket and the backup service use it", child.parent);
  const bucket = new BackupBucket("backup", { backup }, child);
  const writer = new BackupWriter("backup-writer", { backup, bucketArn: bucket.bucketArn, pitrKeyPrefix: pitr?.keyPrefix }, child);
  return { bucketName: bucket.bucketName, region, accessKeyId: writer.accessKeyId, secretAccessKey: writer.secretAccessKey, encryptionKey };
}

export class AdvWell extends pulumi.ComponentResource {
  /** https://<apiDomain>. */
  readonly apiUrl: string;
  /** https://<appDomain>. */
  readonly appUrl: string;
  /** Traefik's dashboard (basic auth). */
  readonly dashboardUrl: string;
  /** Docker names of every service the stack runs. */
  readonly serviceNames: pulumi.Output<string[]>;
  /** The backend's DATABASE_URL (a secret). */
  readonly databaseUrl: pulumi.Output<string>;
  /** The Traefik dashboard's password for user `admin` (a secret). */
  readonly dashboardPassword: pulumi.Output<string>;
  /** Grafana's URL, when monitoring runs. */
  readonly grafanaUrl: string | undefined;
  /** The backup bucket's name, when backups run. */
  readonly backupBucketName: pulumi.Output<string> | undefined;
  /** The key every backup is encrypted with (a secret), when backups run: keep a copy outside the stack. */
  readonly backupEncryptionKey: pulumi.Output<string> | undefined;
  /** Grafana's admin password (a secret), when monitoring runs. */
  readonly grafanaAdminPassword: pulumi.Output<string> | undefined;

  constructor(name: string, args: AdvWellArgs, opts?: pulumi.ComponentResourceOptions) {
    super("advwell:stack:AdvWell", name, {}, opts);
    const { settings, plan } = args;
    const child = { parent: this };
    const services = plan.services;

    // The overlays the plan names (model/networks.ts, model/plan/networks.ts), each joined only by
    // the services whose plan lists it.
    const networks: StackNetworks = Object.fromEntries(plan.networks.map((n) => [n.name, stackNetwork(name, n, this)]));
    const on = (svc: ServiceName) => networksOf(services[svc]!, networks);
    const onlyOn = (svc: ServiceName): NetworkRef => {
      const [single, ...more] = on(svc);
      if (more.length > 0) throw new pulumi.ResourceError(`${svc} joins ${on(svc).length} networks, but its component takes one`, this);
      return single;
    };

    const password = (id: string) => new random.RandomPassword(`${name}-${id}`, { length: 32, special: false }, child);
    const superuserPassword = args.superuserPassword !== undefined ? pulumi.secret(args.superuserPassword) : password("postgres-superuser-password").result;
    const appPassword = password("postgres-app-password");
    const dashboardPassword = password("traefik-dashboard-password");
    const monitorPassword = plan.monitoring ? password("postgres-monitor-password") : undefined;
    const replicationPassword = plan.replication ? password("postgres-replication-password") : undefined;

    // Where backups go: a bucket the stack creates in AWS, or an existing S3-compatible one (no AWS resources).
    const storage = plan.backup && services.backup ? backupStorage(plan.backup, plan.pitr, args, child) : undefined;
    // Point-in-time recovery: pgBackRest's config (credentials and the stack's key: a Swarm secret)
    // in the primary and the backup job, and the primary's socket shared with the job on its node.
    const pitr =
      storage && plan.pitr
        ? {
            plan: plan.pitr,
            conf: secretFile(
              "pgbackrest-conf",
              pulumi.all([storage.bucketName, storage.region, storage.accessKeyId, storage.secretAccessKey, storage.encryptionKey]).apply(([bucket, region, accessKeyId, secretAccessKey, cipherPass]) =>
                renderPgbackrestConf(plan.pitr!, { bucket, region, endpointUrl: plan.backup!.endpointUrl, accessKeyId, secretAccessKey, cipherPass, pgPath: plan.postgres.pgdata, pgPort: services.postgres!.port ?? 5432 }),
              ),
              this,
            ),
            socketVolume: new docker.Volume("postgres-socket", { name: "advwell-postgres-socket", driver: "local" }, child),
          }
        : undefined;

    const postgres = new Postgres(
      "postgres",
      { plan: services.postgres!, postgres: plan.postgres, network: onlyOn("postgres"), database: { name: settings.databaseName }, superuserPassword, pitr },
      child,
    );
    // Roles, ownership and slots, converged on every deploy (initdb scripts never run on an adopted cluster).
    const reconcile = new PostgresReconcile(
      "postgres-reconcile",
      {
        plan: services["postgres-reconcile"]!,
        network: onlyOn("postgres-reconcile"),
        target: {
          host: postgres.database.host,
          port: postgres.database.port,
          superuser: "postgres",
          databaseName: settings.databaseName,
          appUser: settings.databaseUser,
          monitoring: monitorPassword !== undefined,
          replication: plan.replication,
        },
        passwords: { superuser: superuserPassword, app: appPassword.result, monitor: monitorPassword?.result, replication: replicationPassword?.result },
      },
      { parent: this, dependsOn: [postgres] },
    );

    let replica: PostgresReplica | undefined;
    if (plan.replication && replicationPassword) {
      const volumeProvider = settings.replicaDockerHost ? new docker.Provider(`${name}-replica-node`, { host: settings.replicaDockerHost }, child) : undefined;
      replica = new PostgresReplica(
        "postgres-replica",
        { replication: plan.replication, network: onlyOn("postgres-replica"), replicationPassword: replicationPassword.result, volumeProvider },
        { parent: this, dependsOn: [postgres, reconcile] },
      );
    }

    let pooler: PgBouncer | undefined;
    if (plan.pgbouncer && services.pgbouncer) {
      pooler = new PgBouncer(
        "pgbouncer",
        { plan: services.pgbouncer, pgbouncer: plan.pgbouncer, network: onlyOn("pgbouncer"), database: { ...postgres.database, user: settings.databaseUser }, password: appPassword.result },
        { parent: this, dependsOn: [reconcile] },
      );
    }

    const urlParts = (db: Omit<DatabaseRef, "name">) =>
      appPassword.result.apply((pw) => ({ user: settings.databaseUser, password: pw, host: db.host, port: db.port, database: settings.databaseName }));
    const databaseUrl = pulumi.secret(urlParts(pooler?.database ?? postgres.database).apply((p) => backendDatabaseUrl(p, plan.backend)));
    // Prisma `directUrl`: migrations take session-level advisory locks and must bypass PgBouncer
    // (the seed's "FATAL: no username supplied" came from running them through it).
    const directUrl = pulumi.secret(urlParts(postgres.database).apply(directDatabaseUrl));

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

    const dockerApi = new DockerSocketProxy("docker-socket-proxy", { plan: services["docker-socket-proxy"]!, network: onlyOn("docker-socket-proxy") }, child);
    const traefik = new Traefik(
      "traefik",
      {
        plan: services.traefik!,
        edge: plan.edge,
        network: on("traefik")[0],
        alsoOn: on("traefik").slice(1),
        dashboardUsers: pulumi.secret(pulumi.interpolate`admin:${dashboardPassword.bcryptHash}`),
      },
      child,
    );

    const rateLimit = { average: settings.rateLimitAverage, burst: settings.rateLimitBurst };
    // The app's own variables first: the stack's own names (refused in the app's keys) are set after them.
    const backendEnv = appEnvironment(name, "backend", settings.appEnv.backend, args.secretEnv?.backend, this);
    const frontendEnv = appEnvironment(name, "frontend", settings.appEnv.frontend, args.secretEnv?.frontend, this);
    const backendPort = services.backend!.port!;
    const backend = new WebService(
      "backend",
      {
        plan: services.backend!,
        domain: plan.edge.hosts.api,
        healthPath: "/health",
        healthCommand: nodeHttpProbe(backendPort, "/health"),
        env: {
          ...backendEnv.env,
          NODE_ENV: "production",
          PORT: String(backendPort),
          NODE_OPTIONS: `--max-old-space-size=${plan.backend.nodeHeapMiB} --require ${CONTAINER_FILES.secretsEnv.mountPath}`,
          DATABASE_URL_FILE: "/run/secrets/database-url",
          DIRECT_DATABASE_URL_FILE: "/run/secrets/direct-database-url",
          ...(replicaUrlSecret ? { DATABASE_REPLICA_URL_FILE: "/run/secrets/database-replica-url" } : {}),
        },
        secrets: [
          secretMount(databaseUrlSecret, "database-url"),
          secretMount(directUrlSecret, "direct-database-url"),
          ...(replicaUrlSecret ? [secretMount(replicaUrlSecret, "database-replica-url")] : []),
          ...backendEnv.secrets,
        ],
        configs: [containerFileMount("advwell-secrets-env", "secretsEnv", this)],
        networks: on("backend"),
        rateLimit,
        certResolver: plan.edge.certResolver,
      },
      { parent: this, dependsOn: [postgres, reconcile, ...(pooler ? [pooler] : [])] },
    );
    const frontendPort = services.frontend!.port!;
    const frontend = new WebService(
      "frontend",
      {
        plan: services.frontend!,
        domain: plan.edge.hosts.app,
        healthPath: "/",
        healthCommand: wgetProbe(frontendPort, "/"),
        env: { ...frontendEnv.env, API_URL: `https://${settings.apiDomain}` },
        secrets: frontendEnv.secrets,
        networks: on("frontend"),
        rateLimit,
        certResolver: plan.edge.certResolver,
      },
      child,
    );

    let monitoring: Monitoring | undefined;
    if (plan.monitoring && monitorPassword) {
      monitoring = new Monitoring(
        "monitoring",
        {
          monitoring: plan.monitoring,
          services,
          networks,
          rateLimit,
          certResolver: plan.edge.certResolver,
          dashboardHost: plan.edge.hosts.dashboard,
          database: { host: postgres.database.host, port: postgres.database.port, database: settings.databaseName },
          monitoringRolePassword: monitorPassword.result,
          alertWebhookUrl: pulumi.output(args.alertWebhookUrl).apply((url) => url ?? ""),
        },
        { parent: this, dependsOn: [postgres, reconcile] },
      );
    }

    let backupService: BackupService | undefined;
    if (plan.backup && services.backup && storage) {
      backupService = new BackupService(
        "backup",
        {
          plan: services.backup,
          backup: plan.backup,
          network: onlyOn("backup"),
          // pg_dump as the superuser reads every object; the drill needs CREATEDB.
          database: { ...postgres.database, user: "postgres" },
          password: superuserPassword,
          bucketName: storage.bucketName,
          region: storage.region,
          accessKeyId: storage.accessKeyId,
          secretAccessKey: storage.secretAccessKey,
          passphrase: storage.encryptionKey,
          pitr: pitr && { plan: pitr.plan, conf: pitr.conf, dataVolume: postgres.volume.name, socketVolume: pitr.socketVolume.name, pgdata: plan.postgres.pgdata },
          metrics: monitoring ? { volume: monitoring.textfileVolume.name, dir: TEXTFILE_DIR } : undefined,
        },
        { parent: this, dependsOn: [postgres] },
      );
    }

    this.backupBucketName = storage?.bucketName;
    this.backupEncryptionKey = storage && pulumi.secret(storage.encryptionKey);
    this.grafanaUrl = plan.monitoring ? `https://${plan.monitoring.grafanaDomain}` : undefined;
    this.grafanaAdminPassword = monitoring?.grafanaAdminPassword;
    this.apiUrl = backend.url;
    this.appUrl = frontend.url;
    this.dashboardUrl = traefik.dashboardUrl;
    const dockerServices = [postgres.service, reconcile.service, backend.service, frontend.service, traefik.service, dockerApi.service, pooler?.service, replica?.service, backupService?.service, ...Object.values(monitoring?.services ?? {})];
    this.serviceNames = pulumi.all(dockerServices.filter((s): s is docker.Service => s !== undefined).map((s) => s.name));
    this.databaseUrl = databaseUrl;
    this.dashboardPassword = pulumi.secret(dashboardPassword.result);
    this.registerOutputs({
      apiUrl: this.apiUrl,
      appUrl: this.appUrl,
      dashboardUrl: this.dashboardUrl,
      serviceNames: this.serviceNames,
      databaseUrl: this.databaseUrl,
      dashboardPassword: this.dashboardPassword,
      grafanaUrl: this.grafanaUrl,
      backupBucketName: this.backupBucketName,
      backupEncryptionKey: this.backupEncryptionKey,
      grafanaAdminPassword: this.grafanaAdminPassword,
    });
  }
}

/** One overlay of the plan: internal and encrypted as it says, never attachable by a stray `docker run`. */
function stackNetwork(stack: string, n: NetworkPlan, parent: pulumi.Resource): NetworkRef {
  const network = new docker.Network(
    `${stack}-${n.name}`,
    {
      name: n.dockerName,
      driver: "overlay",
      attachable: false,
      ...(n.internal ? { internal: true } : {}),
      ...(n.encrypted ? { options: { encrypted: "true" } } : {}),
    },
    { parent },
  );
  return { id: network.id, name: n.dockerName, plan: n.name };
}
