/**
 * PostgreSQL primary: one stop-first task pinned to the node that holds its volume, settings from
 * the plan as `-c` flags, pg_hba.conf from the plan as a config, the superuser's password as a
 * Swarm secret read through the image's *_FILE variable. Roles, ownership and slots are the
 * postgres-reconcile service's job (components/postgresReconcile.ts), not initdb's.
 */
import * as docker from "@pulumi/docker";
import * as pulumi from "@pulumi/pulumi";
import { PITR_CONF_SECRET, PITR_SOCKET_DIR } from "../model/backup/pitr";
import type { PostgresPlan, ServicePlan } from "../model/plan/types";
import { HBA_FILE, renderPgHba, renderPostgresArgs } from "../model/render/postgres";
import { postgresReadyProbe } from "../model/render/probes";
import { DATA_MOUNT_PATH } from "../model/replication";
import { configMount, DatabaseRef, healthcheck, NetworkRef, secretFile, secretMount, swarmServiceArgs, textConfig, tmpfsMount, volumeMount } from "./swarm";

export interface PostgresArgs {
  /** The postgres service's plan: resources, placement, health, stop grace period, image. */
  readonly plan: ServicePlan;
  /** PostgreSQL's settings, /dev/shm size, data volume (created or adopted), PGDATA and pg_hba lines. */
  readonly postgres: PostgresPlan;
  /** The internal data network the clients reach it on. */
  readonly network: NetworkRef;
  /** The application database (POSTGRES_DB: the official image creates it on an empty volume). */
  readonly database: Pick<DatabaseRef, "name">;
  /** The `postgres` superuser's password (a secret): initdb sets it; an adopted cluster keeps its own. */
  readonly superuserPassword: pulumi.Input<string>;
  /**
   * Point-in-time recovery: pgBackRest's config for archive_command (a secret, readable by the
   * postgres user only) and the socket directory as a volume the backup job on this node shares.
   */
  readonly pitr?: { readonly conf: docker.Secret; readonly socketVolume: docker.Volume };
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
    const pg = args.postgres;
    this.database = { host: args.plan.name, port: args.plan.port ?? 5432, name: args.database.name };

    // The data volume outlives tiers and image updates: its inputs never depend on the plan's
    // numbers, it is protected against `pulumi destroy` and kept in Docker even if removed from the
    // program. An adopted volume (an existing deployment's) is imported, not created: its labels are
    // the old stack's, so they are left as they are.
    this.volume = new docker.Volume(
      `${name}-data`,
      pg.adopted ? { name: pg.dataVolume, driver: "local" } : { name: pg.dataVolume, driver: "local", labels: [{ label: "advwell.stateful", value: "true" }] },
      { ...parent, protect: true, retainOnDelete: true, ...(pg.adopted ? { import: pg.dataVolume, ignoreChanges: ["labels", "driverOpts"] } : {}) },
    );
    const superuserSecret = secretFile(`${name}-superuser-password`, args.superuserPassword, this);
    const hba = textConfig(`${name}-hba`, renderPgHba(pg.hba), this);

    this.service = new docker.Service(
      `${name}-service`,
      swarmServiceArgs(args.plan, {
        component: "postgres",
        containerSpec: {
          commands: ["docker-entrypoint.sh", "postgres"],
          args: renderPostgresArgs(pg.settings),
          env: {
            POSTGRES_USER: "postgres",
            POSTGRES_DB: args.database.name,
            POSTGRES_PASSWORD_FILE: "/run/secrets/postgres-superuser-password",
            PGDATA: pg.pgdata,
          },
          secrets: [secretMount(superuserSecret, "postgres-superuser-password"), ...(args.pitr ? [secretMount(args.pitr.conf, PITR_CONF_SECRET)] : [])],
          configs: [configMount(hba, HBA_FILE)],
          mounts: [
            volumeMount(this.volume.name, DATA_MOUNT_PATH),
            // Parallel query uses POSIX shared memory; Docker's default /dev/shm is 64 MiB.
            tmpfsMount("/dev/shm", pg.shmSizeMiB),
            ...(args.pitr ? [volumeMount(args.pitr.socketVolume.name, PITR_SOCKET_DIR)] : []),
          ],
          healthcheck: healthcheck(postgresReadyProbe("primary"), args.plan.health),
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
