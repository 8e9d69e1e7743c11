/**
 * Traefik v3 at the edge: Swarm provider (exposedByDefault=false) through the filtering Docker API
 * proxy, :80 redirecting to :443, an ACME resolver (Let's Encrypt unless configured) with storage on
 * a volume, TLS 1.2 minimum and the shared middlewares from a dynamic file, JSON access logs,
 * Prometheus metrics, and a dashboard reachable only through a rate-limited TLS router with basic
 * auth from a generated secret.
 */
import * as docker from "@pulumi/docker";
import * as pulumi from "@pulumi/pulumi";
import type { EdgePlan, ServicePlan } from "../model/plan/types";
import { ACME_CA_FILE, ACME_STORAGE, dashboardLabels, DASHBOARD_USERS_FILE, DYNAMIC_CONFIG_FILE, ENTRYPOINTS, renderDynamicConfig, traefikArgs } from "../model/render/traefik";
import { configMount, healthcheck, NetworkRef, secretFile, secretMount, swarmServiceArgs, textConfig, volumeMount } from "./swarm";

export interface TraefikArgs {
  /** Traefik's plan: one task on a manager, resources, health, image. */
  readonly plan: ServicePlan;
  /** Hosts and certificates: the dashboard's host, the ACME resolver, its server and e-mail (or none), the Docker API. */
  readonly edge: EdgePlan;
  /** The edge network Traefik reaches the web services on. */
  readonly network: NetworkRef;
  /** The other networks its plan names: `docker-api` (the API proxy) and `monitoring`, where it routes to Grafana and is scraped. */
  readonly alsoOn?: readonly NetworkRef[];
  /** htpasswd line(s) for the dashboard, e.g. `admin:<bcrypt hash>` (a secret). */
  readonly dashboardUsers: pulumi.Input<string>;
}

export class Traefik extends pulumi.ComponentResource {
  readonly service: docker.Service;
  /** The ACME account and certificates; kept on delete. */
  readonly certificates: docker.Volume;
  /** https://<dashboardDomain>/dashboard/. */
  readonly dashboardUrl: string;

  constructor(name: string, args: TraefikArgs, opts?: pulumi.ComponentResourceOptions) {
    super("advwell:edge:Traefik", name, {}, opts);
    const edge = args.edge;
    // Certificates survive redeploys, so Let's Encrypt's rate limits are never hit by an update.
    this.certificates = new docker.Volume(`${name}-certificates`, { name: "advwell-traefik-certificates" }, { parent: this, retainOnDelete: true });
    const users = secretFile(`${name}-dashboard-users`, args.dashboardUsers, this);
    const dynamic = textConfig(`${name}-dynamic`, renderDynamicConfig(), this);
    const acmeCa = edge.acmeCaCertificate ? textConfig(`${name}-acme-ca`, edge.acmeCaCertificate, this) : undefined;
    this.dashboardUrl = `https://${edge.hosts.dashboard}/dashboard/`;
    const acme = edge.certResolver && edge.acmeEmail && edge.acmeServer ? { email: edge.acmeEmail, server: edge.acmeServer, caCertificatesFile: acmeCa ? ACME_CA_FILE : undefined } : undefined;
    this.service = new docker.Service(
      `${name}-service`,
      swarmServiceArgs(args.plan, {
        component: "traefik",
        labels: dashboardLabels(edge.hosts.dashboard, args.network.name, edge.certResolver),
        // Host mode keeps the client's IP visible to the per-IP rate limit (ingress mode would NAT it).
        ports: (["web", "websecure"] as const).map((ep) => ({ targetPort: ENTRYPOINTS[ep], publishedPort: ENTRYPOINTS[ep], protocol: "tcp", publishMode: "host", name: ep })),
        containerSpec: {
          args: traefikArgs({ acme, network: args.network.name, dockerEndpoint: edge.dockerEndpoint }),
          mounts: [volumeMount(this.certificates.name, ACME_STORAGE.replace(/\/[^/]+$/, ""))],
          secrets: [secretMount(users, DASHBOARD_USERS_FILE.replace("/run/secrets/", ""))],
          configs: [configMount(dynamic, DYNAMIC_CONFIG_FILE), ...(acmeCa ? [configMount(acmeCa, ACME_CA_FILE)] : [])],
          healthcheck: healthcheck(["CMD", "traefik", "healthcheck", "--ping"], args.plan.health),
        },
        networks: [args.network, ...(args.alsoOn ?? [])],
      }),
      { parent: this },
    );
    this.registerOutputs({ dashboardUrl: this.dashboardUrl, serviceName: this.service.name, certificatesVolume: this.certificates.name });
  }
}
