/**
 * Traefik v3 at the edge: Swarm provider (exposedByDefault=false), :80 redirecting to :443,
 * Let's Encrypt with storage on a volume, JSON access logs, Prometheus metrics, and a dashboard
 * that is only reachable through a TLS router with basic auth from a generated secret.
 */
import * as docker from "@pulumi/docker";
import * as pulumi from "@pulumi/pulumi";
import type { ServicePlan } from "../model/plan";
import { ACME_STORAGE, dashboardLabels, DASHBOARD_USERS_FILE, ENTRYPOINTS, traefikArgs } from "../model/traefik";
import { healthcheck, secretFile, swarmServiceArgs } from "./swarm";

export interface TraefikArgs {
  readonly plan: ServicePlan;
  readonly image: string;
  readonly acmeEmail: string;
  readonly dashboardDomain: string;
  readonly network: { id: pulumi.Input<string>; name: string };
  /** htpasswd line(s) for the dashboard, e.g. `admin:<bcrypt hash>`. */
  readonly dashboardUsers: pulumi.Input<string>;
}

export class Traefik extends pulumi.ComponentResource {
  readonly service: docker.Service;
  readonly certificates: docker.Volume;
  readonly dashboardUrl: string;

  constructor(name: string, args: TraefikArgs, opts?: pulumi.ComponentResourceOptions) {
    super("advwell:edge:Traefik", name, {}, opts);
    // Certificates survive redeploys, so Let's Encrypt's rate limits are never hit by an update.
    this.certificates = new docker.Volume(`${name}-certificates`, { name: "advwell-traefik-certificates" }, { parent: this, retainOnDelete: true });
    const users = secretFile(`${name}-dashboard-users`, args.dashboardUsers, this);
    this.dashboardUrl = `https://${args.dashboardDomain}/dashboard/`;
    this.service = new docker.Service(
      `${name}-service`,
      swarmServiceArgs(args.plan, {
        name: "traefik",
        component: "traefik",
        labels: dashboardLabels(args.dashboardDomain, args.network.name),
        endpointSpec: {
          // Host mode keeps the client's IP visible to the per-IP rate limit (ingress mode would NAT it).
          ports: (["web", "websecure"] as const).map((ep) => ({ targetPort: ENTRYPOINTS[ep], publishedPort: ENTRYPOINTS[ep], protocol: "tcp", publishMode: "host", name: ep })),
        },
        containerSpec: {
          image: args.image,
          args: traefikArgs({ acmeEmail: args.acmeEmail, network: args.network.name }),
          mounts: [
            { type: "bind", source: "/var/run/docker.sock", target: "/var/run/docker.sock", readOnly: true },
            { type: "volume", source: this.certificates.name, target: ACME_STORAGE.replace(/\/[^/]+$/, "") },
          ],
          secrets: [{ secretId: users.id, secretName: users.name, fileName: DASHBOARD_USERS_FILE.replace("/run/secrets/", ""), fileMode: 0o400 }],
          healthcheck: healthcheck(["CMD", "traefik", "healthcheck", "--ping"], args.plan.health),
        },
        networks: [{ id: args.network.id }],
      }),
      { parent: this },
    );
    this.registerOutputs({ dashboardUrl: this.dashboardUrl, serviceName: this.service.name });
  }
}
