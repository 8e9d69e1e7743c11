/**
 * PostgreSQL streaming read replicas as one Swarm service. Names, settings and the entrypoint's
 * environment come from model/replication.ts; the bootstrap logic is
 * containers/postgres/replica-entrypoint.sh, mounted verbatim. The primary's side (the replicator
 * role, the slots, the pg_hba line) is the postgres-reconcile service's and the plan's.
 */
import * as docker from "@pulumi/docker";
import * as pulumi from "@pulumi/pulumi";
import { renderPostgresArgs } from "../model/render/postgres";
import { postgresReadyProbe } from "../model/render/probes";
import { DATA_MOUNT_PATH, replicaEntrypointEnv, REPLICATION_PASSWORD_FILE, ReplicationPlan } from "../model/replication";
import { CONTAINER_FILES, containerFileMount } from "./containerFiles";
import { DatabaseRef, healthcheck, NetworkRef, secretFile, secretMount, swarmServiceArgs, tmpfsMount, volumeMount } from "./swarm";

export interface PostgresReplicaArgs {
  /** The replication slice of the plan; `replication.service` is the replica service's plan (image = the primary's, same major). */
  readonly replication: ReplicationPlan;
  /** The internal data network, on which the primary answers as `replication.primaryHost`. */
  readonly network: NetworkRef;
  /** The replicator's password (a secret). */
  readonly replicationPassword: pulumi.Input<string>;
  /**
   * A Docker provider for the engine of the replica's node (label advwell.postgres=replica).
   * A local volume lives on the node whose engine creates it; without this the volumes are
   * created through the default provider (the manager), and Swarm creates the replica's own
   * volume unprotected on first start.
   */
  readonly volumeProvider?: docker.Provider;
}

export class PostgresReplica extends pulumi.ComponentResource {
  /** The replicas as the backend reaches them (DATABASE_REPLICA_URL's host and port). */
  readonly database: Omit<DatabaseRef, "name">;
  readonly service: docker.Service;
  /** One protected volume per task slot. */
  readonly volumes: docker.Volume[];

  constructor(name: string, args: PostgresReplicaArgs, opts?: pulumi.ComponentResourceOptions) {
    super("advwell:postgres:PostgresReplica", name, {}, opts);
    const { replication } = args;
    const plan = replication.service;
    if (replication.volumeNames.length !== plan.replicas || replication.slots.length !== plan.replicas) {
      throw new pulumi.ResourceError(`replication plan lists ${replication.slots.length} slot(s) and ${replication.volumeNames.length} volume(s) for ${plan.replicas} replica task(s); build it with planReplication`, this);
    }
    this.database = { host: replication.replicaHost, port: replication.primaryPort };

    // One volume per task slot, so two tasks never share a data directory; the mount source
    // template picks the task's own. Protected: deleting it means a full re-clone at best.
    this.volumes = replication.volumeNames.map(
      (volumeName, i) =>
        new docker.Volume(
          `${name}-data-${i + 1}`,
          { name: volumeName, driver: "local", labels: [{ label: "advwell.stateful", value: "true" }, { label: "advwell.volume", value: "postgres-replica" }] },
          { parent: this, protect: true, retainOnDelete: true, ...(args.volumeProvider ? { provider: args.volumeProvider } : {}) },
        ),
    );
    const secret = secretFile(`${name}-replication-password`, args.replicationPassword, this);

    this.service = new docker.Service(
      name,
      swarmServiceArgs(plan, {
        component: "postgres-replica",
        containerSpec: {
          // Runs as root like the image's own entrypoint; the script drops to postgres with gosu.
          commands: ["bash", CONTAINER_FILES.replicaEntrypoint.mountPath],
          args: renderPostgresArgs(replication.settings),
          env: replicaEntrypointEnv(replication),
          configs: [containerFileMount(`${name}-entrypoint`, "replicaEntrypoint", this)],
          // Mounted for the image's postgres user only: the script reads it after dropping root.
          secrets: [secretMount(secret, REPLICATION_PASSWORD_FILE)],
          mounts: [
            volumeMount(replication.volumeTemplate, DATA_MOUNT_PATH),
            // Docker's 64 MiB /dev/shm is too small for parallel query (same as the primary).
            tmpfsMount("/dev/shm", replication.shmSizeMiB),
          ],
          // A hot standby reports "ready" only once it is consistent and accepting reads, so
          // Swarm routes nothing to a task that is still cloning (plan: 300 s start period).
          healthcheck: healthcheck(postgresReadyProbe("standby"), plan.health),
          // SIGINT is PostgreSQL's fast shutdown; SIGTERM (smart) waits for every client to leave,
          // and a SIGKILL after the grace period forces crash recovery (same as the primary).
          stopSignal: "SIGINT",
        },
        networks: [args.network],
      }),
      { parent: this, dependsOn: this.volumes },
    );

    this.registerOutputs({ database: this.database, serviceName: this.service.name, volumeNames: this.volumes.map((v) => v.name) });
  }
}
