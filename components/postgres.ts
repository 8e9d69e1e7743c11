/**
 * PostgreSQL primary: one stop-first task pinned to the node that holds its volume, settings from
 * the plan as `-c` flags, passwords as Swarm secrets read through the image's *_FILE variables.
 */
import * as docker from "@pulumi/docker";
import * as pulumi from "@pulumi/pulumi";
import type { PostgresPlan, ServicePlan } from "../model/plan";
import { renderPostgresArgs } from "../model/render";
import { mibToBytes } from "../model/units";
import { healthcheck, secretFile, swarmServiceArgs, textConfig } from "./swarm";

/** Where the official image keeps its data; PGDATA is a subdirectory so the mount point can hold lost+found. */
export const POSTGRES_DATA_MOUNT = "/var/lib/postgresql/data";
export const PGDATA = `${POSTGRES_DATA_MOUNT}/pgdata`;

/** Creates the application role on first initialisation, its password read from a secret file. */
export const APP_ROLE_INIT_SCRIPT = `#!/bin/bash
# Runs once, when the official image initialises an empty PGDATA (docker-entrypoint-initdb.d).
set -euo pipefail
app_password="$(cat /run/secrets/postgres-app-password)"
psql -v ON_ERROR_STOP=1 --username "$POSTGRES_USER" --dbname "$POSTGRES_DB" \\
  --set=app_user="$APP_DB_USER" --set=app_password="$app_password" --set=app_db="$POSTGRES_DB" <<'SQL'
CREATE ROLE :"app_user" LOGIN PASSWORD :'app_password';
ALTER DATABASE :"app_db" OWNER TO :"app_user";
ALTER SCHEMA public OWNER TO :"app_user";
SQL
`;

export interface SecretMount {
  readonly secret: docker.Secret;
  readonly fileName: string;
}

export interface ConfigMount {
  readonly config: docker.ServiceConfig;
  readonly fileName: string;
}

export interface PostgresArgs {
  readonly service: ServicePlan;
  readonly postgres: PostgresPlan;
  readonly image: string;
  readonly networkId: pulumi.Input<string>;
  readonly databaseName: string;
  readonly appUser: string;
  readonly superuserPassword: pulumi.Input<string>;
  readonly appPassword: pulumi.Input<string>;
  /** Extra init scripts and secrets (e.g. the replication role on tiers with a read replica). */
  readonly extraInitScripts?: readonly ConfigMount[];
  readonly extraSecrets?: readonly SecretMount[];
}

export class Postgres extends pulumi.ComponentResource {
  /** DNS name other services use on the overlay network. */
  readonly host: string = "postgres";
  readonly port = 5432;
  readonly volume: docker.Volume;
  readonly service: docker.Service;
  readonly superuserSecret: docker.Secret;
  readonly appSecret: docker.Secret;

  constructor(name: string, args: PostgresArgs, opts?: pulumi.ComponentResourceOptions) {
    super("advwell:postgres:Postgres", name, {}, opts);

    // The data volume outlives tiers and image updates: its inputs never depend on the plan, it is
    // protected against `pulumi destroy` and kept in Docker even if removed from the program.
    this.volume = new docker.Volume(
      `${name}-data`,
      { name: "advwell-postgres-data", driver: "local", labels: [{ label: "advwell.stateful", value: "true" }] },
      { parent: this, protect: true, retainOnDelete: true },
    );
    this.superuserSecret = secretFile(`${name}-superuser-password`, args.superuserPassword, this);
    this.appSecret = secretFile(`${name}-app-password`, args.appPassword, this);
    const initScript = textConfig(`${name}-init-app-role`, APP_ROLE_INIT_SCRIPT, this);
    const inits: ConfigMount[] = [{ config: initScript, fileName: "/docker-entrypoint-initdb.d/10-app-role.sh" }, ...(args.extraInitScripts ?? [])];
    const secrets: SecretMount[] = [
      { secret: this.superuserSecret, fileName: "postgres-superuser-password" },
      { secret: this.appSecret, fileName: "postgres-app-password" },
      ...(args.extraSecrets ?? []),
    ];

    this.service = new docker.Service(
      `${name}-service`,
      swarmServiceArgs(args.service, {
        name: this.host,
        component: "postgres",
        containerSpec: {
          image: args.image,
          commands: ["docker-entrypoint.sh", "postgres"],
          args: renderPostgresArgs(args.postgres.settings),
          env: {
            POSTGRES_USER: "postgres",
            POSTGRES_DB: args.databaseName,
            POSTGRES_PASSWORD_FILE: "/run/secrets/postgres-superuser-password",
            APP_DB_USER: args.appUser,
            PGDATA,
          },
          secrets: secrets.map((s) => ({ secretId: s.secret.id, secretName: s.secret.name, fileName: s.fileName, fileMode: 0o400, fileUid: "999", fileGid: "999" })),
          configs: inits.map((c) => ({ configId: c.config.id, configName: c.config.name, fileName: c.fileName, fileMode: 0o555 })),
          mounts: [
            { type: "volume", source: this.volume.name, target: POSTGRES_DATA_MOUNT },
            // Parallel query uses POSIX shared memory; Docker's default /dev/shm is 64 MiB.
            { type: "tmpfs", target: "/dev/shm", tmpfsOptions: { sizeBytes: mibToBytes(args.postgres.shmSizeMiB) } },
          ],
          healthcheck: healthcheck(["CMD-SHELL", `pg_isready -h 127.0.0.1 -U postgres -d ${args.databaseName}`], args.service.health),
          // SIGINT is PostgreSQL's fast shutdown, which writes a checkpoint within the plan's stop grace
          // period; a SIGKILL before it ends would force crash recovery on the next start.
          stopSignal: "SIGINT",
        },
        networks: [{ id: args.networkId, aliases: [this.host] }],
      }),
      { parent: this, dependsOn: [this.volume] },
    );
    this.registerOutputs({ host: this.host, port: this.port, volumeName: this.volume.name, serviceName: this.service.name });
  }
}

export function toBase64(text: string): string {
  return Buffer.from(text, "utf8").toString("base64");
}
