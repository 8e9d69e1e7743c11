/**
 * PgBouncer in transaction mode between the backend and PostgreSQL, for the tiers that pool.
 * Its pgbouncer.ini is rendered by the same function the integration tests start real PgBouncer
 * with; the userlist (with the application password) is a Swarm secret.
 */
import * as docker from "@pulumi/docker";
import * as pulumi from "@pulumi/pulumi";
import type { PgBouncerPlan, ServicePlan } from "../model/plan/types";
import { renderPgBouncerIni, renderPgBouncerUserlist } from "../model/render/pgbouncer";
import { configMount, DatabaseRef, healthcheck, NetworkRef, secretFile, secretMount, swarmServiceArgs, textConfig } from "./swarm";

export const PGBOUNCER_INI = "/etc/pgbouncer/pgbouncer.ini";
export const PGBOUNCER_USERLIST = "/etc/pgbouncer/userlist.txt";

export interface PgBouncerArgs {
  /** PgBouncer's service plan: resources, health, image, port. */
  readonly plan: ServicePlan;
  /** Pool mode and sizes. */
  readonly pgbouncer: PgBouncerPlan;
  /** The internal data network, shared with PostgreSQL and the backend. */
  readonly network: NetworkRef;
  /** PostgreSQL behind the pool, and the application role it logs in as. */
  readonly database: DatabaseRef & { readonly user: string };
  /** The application role's password (a secret), for the userlist. */
  readonly password: pulumi.Input<string>;
}

export class PgBouncer extends pulumi.ComponentResource {
  /** The pooled database as the backend reaches it: PgBouncer's name and port, the same database. */
  readonly database: DatabaseRef;
  readonly service: docker.Service;

  constructor(name: string, args: PgBouncerArgs, opts?: pulumi.ComponentResourceOptions) {
    super("advwell:postgres:PgBouncer", name, {}, opts);
    this.database = { host: args.plan.name, port: args.pgbouncer.listenPort, name: args.database.name, user: args.database.user };
    const ini = renderPgBouncerIni(args.pgbouncer, { host: args.database.host, port: args.database.port, database: args.database.name, authFile: PGBOUNCER_USERLIST });
    const config = textConfig(`${name}-ini`, ini, this);
    const userlist = secretFile(`${name}-userlist`, pulumi.output(args.password).apply((pw) => renderPgBouncerUserlist({ [args.database.user]: pw })), this);
    this.service = new docker.Service(
      `${name}-service`,
      swarmServiceArgs(args.plan, {
        component: "pgbouncer",
        containerSpec: {
          configs: [configMount(config, PGBOUNCER_INI)],
          secrets: [secretMount(userlist, PGBOUNCER_USERLIST)],
          // The image ships the PostgreSQL client tools; PgBouncer answers pg_isready itself.
          healthcheck: healthcheck(["CMD", "pg_isready", "-q", "-h", "127.0.0.1", "-p", String(args.pgbouncer.listenPort)], args.plan.health),
        },
        networks: [args.network],
      }),
      { parent: this },
    );
    this.registerOutputs({ database: this.database, serviceName: this.service.name });
  }
}
