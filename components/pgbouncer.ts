/**
 * PgBouncer in transaction mode between the backend and PostgreSQL, for the tiers that pool.
 * Its pgbouncer.ini is rendered by the same function the integration tests start real PgBouncer
 * with; the userlist (with the application password) is a Swarm secret.
 */
import * as docker from "@pulumi/docker";
import * as pulumi from "@pulumi/pulumi";
import type { PgBouncerPlan, ServicePlan } from "../model/plan";
import { renderPgBouncerIni, renderPgBouncerUserlist } from "../model/render";
import { toBase64 } from "./postgres";
import { contentName, healthcheck, serviceSpecFromPlan } from "./swarm";

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
    const config = new docker.ServiceConfig(`${name}-ini`, { name: contentName(`${name}-ini`, ini), dataRaw: ini }, { parent: this });
    const userlist = new docker.Secret(
      `${name}-userlist`,
      { name: `${name}-userlist`, data: pulumi.secret(pulumi.output(args.password).apply((pw) => toBase64(renderPgBouncerUserlist({ [args.user]: pw })))) },
      { parent: this },
    );
    const spec = serviceSpecFromPlan(args.plan);
    this.service = new docker.Service(
      `${name}-service`,
      {
        name: this.host,
        mode: spec.mode,
        updateConfig: spec.updateConfig,
        rollbackConfig: spec.rollbackConfig,
        labels: [{ label: "advwell.component", value: "pgbouncer" }],
        taskSpec: {
          containerSpec: {
            image: args.image,
            configs: [{ configId: config.id, configName: config.name, fileName: PGBOUNCER_INI, fileMode: 0o444 }],
            secrets: [{ secretId: userlist.id, secretName: userlist.name, fileName: PGBOUNCER_USERLIST, fileMode: 0o400, fileUid: "70", fileGid: "70" }],
            healthcheck: healthcheck(["CMD-SHELL", `nc -z 127.0.0.1 ${this.port} || exit 1`], args.plan.health),
          },
          networksAdvanceds: [{ id: args.networkId, aliases: [this.host] }],
          resources: spec.resources,
          restartPolicy: spec.restartPolicy,
          placement: spec.placement,
        },
      },
      { parent: this },
    );
    this.registerOutputs({ host: this.host, port: this.port, serviceName: this.service.name });
  }
}
