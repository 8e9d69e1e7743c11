/**
 * PostgreSQL streaming read replicas as one Swarm service, plus what the primary must mount for
 * them (primaryReplicationMounts). Names, settings and the scripts' environment come from
 * model/replication.ts; the bootstrap logic is scripts/postgres/*.sh, mounted verbatim.
 */
import * as fs from "fs";
import * as path from "path";
import * as docker from "@pulumi/docker";
import * as pulumi from "@pulumi/pulumi";
import { renderPostgresArgs } from "../model/render";
import {
  DATA_MOUNT_PATH,
  POSTGRES_PORT,
  POSTGRES_UID,
  PRIMARY_INIT_PATH,
  REPLICA_ENTRYPOINT_PATH,
  replicaEntrypointEnv,
  REPLICATION_PASSWORD_FILE,
  renderPrimaryInitScript,
  ReplicationPlan,
  SCRIPT_FILES,
} from "../model/replication";
import { mibToBytes } from "../model/units";
import { healthcheck, secretFile, swarmServiceArgs, textConfig } from "./swarm";

import In = docker.types.input;

const PROJECT_ROOT = path.resolve(__dirname, "..");

/** The text of one of the scripts in scripts/postgres, exactly as the integration test runs it. */
export function scriptText(file: keyof typeof SCRIPT_FILES): string {
  return fs.readFileSync(path.join(PROJECT_ROOT, SCRIPT_FILES[file]), "utf8");
}

/**
 * The replicator's password as a Swarm secret. Swarm secrets are immutable, so the name is left
 * to Pulumi's autonaming: a new password makes a new secret, services move to it, the old one
 * is deleted.
 */
/** Mounted for the image's postgres user only: the scripts read it after dropping root. */
function passwordMount(secret: docker.Secret): In.ServiceTaskSpecContainerSpecSecret {
  return { secretId: secret.id, secretName: secret.name, fileName: REPLICATION_PASSWORD_FILE, fileUid: POSTGRES_UID, fileGid: POSTGRES_UID, fileMode: 0o400 };
}


/** The primary's init script exactly as mounted: the repository file with the plan's inputs as defaults. */
export function primaryInitScriptText(replication: ReplicationPlan): string {
  return renderPrimaryInitScript(replication, scriptText("primaryInit"));
}

export interface PrimaryReplicationMounts {
  /** For the primary's `extraInitScripts`: the init script, to mount (0555) in /docker-entrypoint-initdb.d/. */
  readonly initScripts: { readonly config: docker.ServiceConfig; readonly fileName: string }[];
  /** For the primary's `extraSecrets`: the replicator's password file (mount 0400, uid/gid 999). */
  readonly secrets: { readonly secret: docker.Secret; readonly fileName: string }[];
}

/**
 * What the primary mounts so that its first start creates the replication role, the slots and
 * the pg_hba line. The script's inputs are baked into it, so the primary needs no extra env.
 * Creates a ServiceConfig and a Secret as children of `parent` (the root component).
 */
export function primaryReplicationMounts(
  name: string,
  args: { readonly replication: ReplicationPlan; readonly replicationPassword: pulumi.Input<string> },
  parent: pulumi.Resource,
): PrimaryReplicationMounts {
  const init = textConfig(`${name}-replication-init`, primaryInitScriptText(args.replication), parent);
  const secret = secretFile(`${name}-replication-password`, args.replicationPassword, parent);
  return {
    initScripts: [{ config: init, fileName: PRIMARY_INIT_PATH }],
    secrets: [{ secret, fileName: REPLICATION_PASSWORD_FILE }],
  };
}

export interface PostgresReplicaArgs {
  /** The replication slice of the plan (`planReplication(plan)`); `replication.service` is the replica ServicePlan. */
  readonly replication: ReplicationPlan;
  /** settings.images.postgres: the primary's image, since a physical replica must run the same major version. */
  readonly image: string;
  /** The stack's overlay network, on which the primary answers as `replication.primaryHost`. */
  readonly networkId: pulumi.Input<string>;
  /** The replicator's password (random.RandomPassword in the root component); kept secret here. */
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
  /** The replicas' DNS name on the overlay network (DATABASE_REPLICA_URL's host). */
  readonly host: pulumi.Output<string>;
  readonly port: number;
  readonly service: docker.Service;
  readonly volumes: docker.Volume[];

  constructor(name: string, args: PostgresReplicaArgs, opts?: pulumi.ComponentResourceOptions) {
    super("advwell:postgres:PostgresReplica", name, {}, opts);
    const { replication } = args;
    const plan = replication.service;
    if (replication.volumeNames.length !== plan.replicas || replication.slots.length !== plan.replicas) {
      throw new pulumi.ResourceError(`replication plan lists ${replication.slots.length} slot(s) and ${replication.volumeNames.length} volume(s) for ${plan.replicas} replica task(s); build it with planReplication(plan)`, this);
    }

    // One volume per task slot, so two tasks never share a data directory; the mount source
    // template picks the task's own. Protected: deleting it means a full re-clone at best.
    this.volumes = replication.volumeNames.map(
      (volumeName, i) =>
        new docker.Volume(
          `${name}-data-${i + 1}`,
          { name: volumeName, driver: "local", labels: [{ label: "advwell.volume", value: "postgres-replica" }] },
          { parent: this, protect: true, retainOnDelete: true, ...(args.volumeProvider ? { provider: args.volumeProvider } : {}) },
        ),
    );
    const entrypoint = textConfig(`${name}-entrypoint`, scriptText("replicaEntrypoint"), this);
    const secret = secretFile(`${name}-replication-password`, args.replicationPassword, this);

    this.port = POSTGRES_PORT;
    this.service = new docker.Service(
      name,
      swarmServiceArgs(plan, {
        name: replication.replicaHost,
        component: "postgres-replica",
        containerSpec: {
          image: args.image,
          // Runs as root like the image's own entrypoint; the script drops to postgres with gosu.
          commands: ["bash", REPLICA_ENTRYPOINT_PATH],
          args: renderPostgresArgs(replication.settings),
          env: replicaEntrypointEnv(replication),
          configs: [{ configId: entrypoint.id, configName: entrypoint.name, fileName: REPLICA_ENTRYPOINT_PATH, fileMode: 0o555 }],
          secrets: [passwordMount(secret)],
          mounts: [
            { type: "volume", source: replication.volumeTemplate, target: DATA_MOUNT_PATH },
            // Docker's 64 MiB /dev/shm is too small for parallel query (same as the primary).
            { type: "tmpfs", target: "/dev/shm", tmpfsOptions: { sizeBytes: mibToBytes(replication.shmSizeMiB) } },
          ],
          // A hot standby answers pg_isready only once it is consistent and accepting reads, so
          // Swarm routes nothing to a task that is still cloning (plan: 300 s start period).
          healthcheck: healthcheck(["CMD", "pg_isready", "-q", "-h", "127.0.0.1", "-p", String(POSTGRES_PORT)], plan.health),
          // SIGINT is PostgreSQL's fast shutdown; SIGTERM (smart) waits for every client to leave,
          // and a SIGKILL after the grace period forces crash recovery (same as the primary).
          stopSignal: "SIGINT",
        },
        networks: [{ id: args.networkId, aliases: [replication.replicaHost] }],
      }),
      { parent: this, dependsOn: this.volumes },
    );
    this.host = this.service.name;

    this.registerOutputs({ host: this.host, port: this.port, serviceId: this.service.id, volumeNames: this.volumes.map((v) => v.name) });
  }
}
