/**
 * PgBouncer in transaction mode between the backend and PostgreSQL, for the tiers that pool.
 * Its pgbouncer.ini is rendered by the same function the integration tests start real PgBouncer
 * with; the userlist (with the application password) is a Swarm secret.
 */
import * as docker from "@pulumi/docker";
import * as pulumi from "@pulumi/pulumi";
import type { PgBouncerPlan, ServicePlan } from "../model/plan";
import { renderPgBouncerIni, renderPgBouncerUserlist } from "../model/render";
import { healthcheck, secretFile, swarmServiceArgs, textConfig } from "./swarm";

export const PGBOUNCER_INI = "/etc/pgbouncer/pgbouncer.ini";
export const PGBOUNCER_USERLIST = "/etc/pgbouncer/userlist.txt";

export interface PgBouncerArgs {
  readonly plan: ServicePlan;
  readonly pgbouncer: PgBouncerPlan;
  readonly image: string;
  readonly networkId: pulumi.Input<string>;
  readonly postgresHost: string;
  readonly postgresPort: number;
  readonly database: string;
  readonly user: string;
  readonly password: pulumi.Input<string>;
}

export class PgBouncer extends pulumi.ComponentResource {
  readonly host = "pgbouncer";
  readonly port: number;
  readonly service: docker.Service;

  constructor(name: string, args: PgBouncerArgs, opts?: pulumi.ComponentResourceOptions) {
    super("advwell:postgres:PgBouncer", name, {}, opts);
    this.port = args.pgbouncer.listenPort;
    const ini = renderPgBouncerIni(args.pgbouncer, { host: args.postgresHost, port: args.postgresPort, database: args.database, authFile: PGBOUNCER_USERLIST });
    const config = textConfig(`${name}-ini`, ini, this);
    const userlist = secretFile(`${name}-userlist`, pulumi.output(args.password).apply((pw) => renderPgBouncerUserlist({ [args.user]: pw })),
      this,
    );
    this.service = new docker.Service(
      `${name}-service`,
      swarmServiceArgs(args.plan, {
        name: this.host,
        component: "pgbouncer",
        containerSpec: {
          image: args.image,
          configs: [{ configId: config.id, configName: config.name, fileName: PGBOUNCER_INI, fileMode: 0o444 }],
          secrets: [{ secretId: userlist.id, secretName: userlist.name, fileName: PGBOUNCER_USERLIST, fileMode: 0o400, fileUid: "70", fileGid: "70" }],
          // The image ships the PostgreSQL client tools; PgBouncer answers pg_isready itself.
          healthcheck: healthcheck(["CMD", "pg_isready", "-q", "-h", "127.0.0.1", "-p", String(this.port)], args.plan.health),
        },
        networks: [{ id: args.networkId, aliases: [this.host] }],
      }),
      { parent: this },
    );
    this.registerOutputs({ host: this.host, port: this.port, serviceName: this.service.name });
  }
}
