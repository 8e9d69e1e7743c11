/**
 * Traefik v3 at the edge: Swarm provider (exposedByDefault=false), :80 redirecting to :443,
 * Let's Encrypt with storage on a volume, JSON access logs, Prometheus metrics, and a dashboard
 * that is only reachable through a TLS router with basic auth from a generated secret.
 */
import * as docker from "@pulumi/docker";
import * as pulumi from "@pulumi/pulumi";
import type { EdgePlan, ServicePlan } from "../model/plan/types";
import { ACME_STORAGE, dashboardLabels, DASHBOARD_USERS_FILE, ENTRYPOINTS, traefikArgs } from "../model/render/traefik";
import { bindMount, healthcheck, NetworkRef, secretFile, secretMount, swarmServiceArgs, volumeMount } from "./swarm";

export interface TraefikArgs {
  /** Traefik's plan: one task on a manager, resources, health, image. */
  readonly plan: ServicePlan;
  /** Hosts and certificates: the dashboard's host, the ACME resolver and its e-mail (or none). */
  readonly edge: EdgePlan;
  /** The edge network Traefik reaches the web services on. */
  readonly network: NetworkRef;
  /** The other networks its plan names: `monitoring`, where it routes to Grafana and is scraped. */
  readonly alsoOn?: readonly NetworkRef[];
  /** htpasswd line(s) for the dashboard, e.g. `admin:<bcrypt hash>` (a secret). */
  readonly dashboardUsers: pulumi.Input<string>;
}

export class Traefik extends pulumi.ComponentResource {
  readonly service: docker.Service;
  /** Let's Encrypt's account and certificates; kept on delete. */
  readonly certificates: docker.Volume;
  /** https://<dashboardDomain>/dashboard/. */
  readonly dashboardUrl: string;

  constructor(name: string, args: TraefikArgs, opts?: pulumi.ComponentResourceOptions) {
    super("advwell:edge:Traefik", name, {}, opts);
    // Certificates survive redeploys, so Let's Encrypt's rate limits are never hit by an update.
    this.certificates = new docker.Volume(`${name}-certificates`, { name: "advwell-traefik-certificates" }, { parent: this, retainOnDelete: true });
    const users = secretFile(`${name}-dashboard-users`, args.dashboardUsers, this);
    this.dashboardUrl = `https://${args.edge.hosts.dashboard}/dashboard/`;
    this.service = new docker.Service(
      `${name}-service`,
      swarmServiceArgs(args.plan, {
        component: "traefik",
        labels: dashboardLabels(args.edge.hosts.dashboard, args.network.name, args.edge.certResolver),
        // Host mode keeps the client's IP visible to the per-IP rate limit (ingress mode would NAT it).
        ports: (["web", "websecure"] as const).map((ep) => ({ targetPort: ENTRYPOINTS[ep], publishedPort: ENTRYPOINTS[ep], protocol: "tcp", publishMode: "host", name: ep })),
        containerSpec: {
          args: traefikArgs({ acmeEmail: args.edge.acmeEmail, network: args.network.name }),
          mounts: [bindMount("/var/run/docker.sock", "/var/run/docker.sock"), volumeMount(this.certificates.name, ACME_STORAGE.replace(/\/[^/]+$/, ""))],
          secrets: [secretMount(users, DASHBOARD_USERS_FILE.replace("/run/secrets/", ""))],
          healthcheck: healthcheck(["CMD", "traefik", "healthcheck", "--ping"], args.plan.health),
        },
        networks: [args.network, ...(args.alsoOn ?? [])],
      }),
      { parent: this },
    );
    this.registerOutputs({ dashboardUrl: this.dashboardUrl, serviceName: this.service.name, certificatesVolume: this.certificates.name });
  }
}
