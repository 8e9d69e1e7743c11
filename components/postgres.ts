/**
 * PostgreSQL primary: one stop-first task pinned to the node that holds its volume, settings from
 * the plan as `-c` flags, passwords as Swarm secrets read through the image's *_FILE variables.
 */
import * as docker from "@pulumi/docker";
import * as pulumi from "@pulumi/pulumi";
import type { PostgresPlan, ServicePlan } from "../model/plan/types";
import { DATA_MOUNT_PATH, PGDATA, POSTGRES_UID } from "../model/replication";
import { renderPostgresArgs } from "../model/render/postgres";
import { containerFileMount } from "./containerFiles";
import { DatabaseRef, healthcheck, NetworkRef, secretFile, secretMount, swarmServiceArgs, tmpfsMount, volumeMount } from "./swarm";

import In = docker.types.input;

/** The official image's postgres user: it reads the secret files after it drops root. */
const POSTGRES_OWNER = { uid: POSTGRES_UID, gid: POSTGRES_UID };

export interface PostgresArgs {
  /** The postgres service's plan: resources, placement, health, stop grace period, image. */
  readonly plan: ServicePlan;
  /** PostgreSQL's settings and /dev/shm size. */
  readonly postgres: PostgresPlan;
  /** The internal data network the clients reach it on. */
  readonly network: NetworkRef;
  /** The application database and the role that owns it. */
  readonly database: Pick<DatabaseRef, "name"> & { readonly user: string };
  /** The `postgres` superuser's password (a secret). */
  readonly superuserPassword: pulumi.Input<string>;
  /** The application role's password (a secret). */
  readonly appPassword: pulumi.Input<string>;
  /** More init scripts, secrets and env for them (the monitoring and replication roles). */
  readonly extensions?: readonly PostgresExtension[];
}

/** What another part of the stack mounts into the primary: init scripts, their secrets and inputs. */
export interface PostgresExtension {
  readonly configs: readonly In.ServiceTaskSpecContainerSpecConfig[];
  readonly secrets: readonly In.ServiceTaskSpecContainerSpecSecret[];
  readonly env: Readonly<Record<string, string>>;
}

/** A secret the primary's postgres user can read (0400, uid/gid 999 of the official image). */
export function postgresSecretMount(secret: docker.Secret, fileName: string): In.ServiceTaskSpecContainerSpecSecret {
  return secretMount(secret, fileName, POSTGRES_OWNER);
}

export class Postgres extends pulumi.ComponentResource {
  /** DNS name, port and database of the primary on the data network. */
  readonly database: DatabaseRef;
  /** The data volume: protected, kept on delete, never dependent on the tier or an image. */
  readonly volume: docker.Volume;
  readonly service: docker.Service;

  constructor(name: string, args: PostgresArgs, opts?: pulumi.ComponentResourceOptions) {
    super("advwell:postgres:Postgres", name, {}, opts);
    const parent = { parent: this };
    this.database = { host: args.plan.name, port: args.plan.port ?? 5432, name: args.database.name, user: args.database.user };

    // The data volume outlives tiers and image updates: its inputs never depend on the plan, it is
    // protected against `pulumi destroy` and kept in Docker even if removed from the program.
    this.volume = new docker.Volume(
      `${name}-data`,
      { name: "advwell-postgres-data", driver: "local", labels: [{ label: "advwell.stateful", value: "true" }] },
      { ...parent, protect: true, retainOnDelete: true },
    );
    const superuserSecret = secretFile(`${name}-superuser-password`, args.superuserPassword, this);
    const appSecret = secretFile(`${name}-app-password`, args.appPassword, this);
    const extensions = args.extensions ?? [];

    this.service = new docker.Service(
      `${name}-service`,
      swarmServiceArgs(args.plan, {
        component: "postgres",
        containerSpec: {
          commands: ["docker-entrypoint.sh", "postgres"],
          args: renderPostgresArgs(args.postgres.settings),
          env: {
            POSTGRES_USER: "postgres",
            POSTGRES_DB: args.database.name,
            POSTGRES_PASSWORD_FILE: "/run/secrets/postgres-superuser-password",
            APP_DB_USER: args.database.user,
            APP_DB_PASSWORD_FILE: "/run/secrets/postgres-app-password",
            PGDATA,
            ...Object.assign({}, ...extensions.map((e) => e.env)),
          },
          secrets: [
            postgresSecretMount(superuserSecret, "postgres-superuser-password"),
            postgresSecretMount(appSecret, "postgres-app-password"),
            ...extensions.flatMap((e) => e.secrets),
          ],
          configs: [containerFileMount(`${name}-init-app-role`, "appRoleInit", this), ...extensions.flatMap((e) => e.configs)],
          mounts: [
            volumeMount(this.volume.name, DATA_MOUNT_PATH),
            // Parallel query uses POSIX shared memory; Docker's default /dev/shm is 64 MiB.
            tmpfsMount("/dev/shm", args.postgres.shmSizeMiB),
          ],
          healthcheck: healthcheck(["CMD-SHELL", `pg_isready -h 127.0.0.1 -U postgres -d ${args.database.name}`], args.plan.health),
          // SIGINT is PostgreSQL's fast shutdown, which writes a checkpoint within the plan's stop grace
          // period; a SIGKILL before it ends would force crash recovery on the next start.
          stopSignal: "SIGINT",
        },
        networks: [args.network],
      }),
      { ...parent, dependsOn: [this.volume] },
    );
    this.registerOutputs({ database: this.database, volumeName: this.volume.name, serviceName: this.service.name });
  }
}
