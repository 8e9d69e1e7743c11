/**
 * The postgres-reconcile service: converges PostgreSQL's roles (the app role and its password, the
 * monitoring role, the replicator), ownership of the application database and every object in its
 * public schema, and the replication slots, on every deploy and every few minutes after. It runs
 * containers/postgres/reconcile.sh in the PostgreSQL image (which has psql, and perl for the SCRAM
 * verifiers the script sends instead of passwords), reaching the primary over the data network;
 * passwords are Swarm secret files.
 *
 * A service of its own rather than initdb scripts (which run only on an empty data directory, so
 * never on a taken-over cluster) or a wrapper in the database's container (where a rotated
 * password would restart the database): here a rotation restarts only this task and the clients.
 * It is healthy once a pass succeeded, so `pulumi up` (convergeConfig) waits for the roles.
 */
import * as docker from "@pulumi/docker";
import * as pulumi from "@pulumi/pulumi";
import type { ServicePlan } from "../model/plan/types";
import { RECONCILE_SECRET_FILES, reconcileEnvironment, ReconcileTarget } from "../model/postgres/reconcile";
import { CONTAINER_FILES, containerFileMount } from "./containerFiles";
import { healthcheck, NetworkRef, secretFile, secretMount, swarmServiceArgs } from "./swarm";

export interface PostgresReconcileArgs {
  /** The postgres-reconcile service's plan: resources, health, image (the primary's PostgreSQL image). */
  readonly plan: ServicePlan;
  /** The internal data network, where the primary answers. */
  readonly network: NetworkRef;
  /** The primary, the superuser, the application database and role, and what else to reconcile. */
  readonly target: ReconcileTarget;
  /** The passwords it applies (secrets); monitor and replication only when the target wants them. */
  readonly passwords: {
    readonly superuser: pulumi.Input<string>;
    readonly app: pulumi.Input<string>;
    readonly monitor?: pulumi.Input<string>;
    readonly replication?: pulumi.Input<string>;
  };
}

export class PostgresReconcile extends pulumi.ComponentResource {
  readonly service: docker.Service;

  constructor(name: string, args: PostgresReconcileArgs, opts?: pulumi.ComponentResourceOptions) {
    super("advwell:postgres:PostgresReconcile", name, {}, opts);
    const { target, passwords } = args;
    if (target.monitoring !== (passwords.monitor !== undefined) || (target.replication !== undefined) !== (passwords.replication !== undefined)) {
      throw new pulumi.ResourceError("the reconcile target and its passwords disagree: monitoring and replication each need both", this);
    }
    const files: [keyof typeof RECONCILE_SECRET_FILES, pulumi.Input<string> | undefined][] = [
      ["superuser", passwords.superuser],
      ["app", passwords.app],
      ["monitor", passwords.monitor],
      ["replication", passwords.replication],
    ];
    const secrets = files
      .filter((f): f is [keyof typeof RECONCILE_SECRET_FILES, pulumi.Input<string>] => f[1] !== undefined)
      .map(([file, value]) => secretMount(secretFile(`${name}-${file}-password`, value, this), RECONCILE_SECRET_FILES[file]));
    const script = CONTAINER_FILES.reconcile.mountPath;
    this.service = new docker.Service(
      `${name}-service`,
      swarmServiceArgs(args.plan, {
        component: "postgres-reconcile",
        containerSpec: {
          commands: ["bash", script],
          env: reconcileEnvironment(target),
          configs: [containerFileMount(`${name}-script`, "reconcile", this)],
          secrets,
          healthcheck: healthcheck(["CMD", "bash", script, "health"], args.plan.health),
        },
        networks: [args.network],
      }),
      { parent: this },
    );
    this.registerOutputs({ serviceName: this.service.name });
  }
}
