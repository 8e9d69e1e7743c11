/**
 * One component for every HTTP service behind Traefik (backend and frontend): replicas, limits,
 * start-first rolling updates with rollback, a container health check, and Traefik labels for a
 * host router over TLS with a /health load-balancer check and a per-IP rate limit.
 */
import * as docker from "@pulumi/docker";
import * as pulumi from "@pulumi/pulumi";
import type { ServicePlan } from "../model/plan";
import { routeLabels } from "../model/traefik";
import type { ConfigMount, SecretMount } from "./postgres";
import { healthcheck, swarmServiceArgs } from "./swarm";

export interface WebServiceArgs {
  readonly plan: ServicePlan;
  readonly image: string;
  /** Host Traefik routes to this service. */
  readonly domain: string;
  readonly port: number;
  /** Path Traefik's load-balancer health check probes. */
  readonly healthPath: string;
  /** The container health check (exec form); it must probe `healthPath` with what the image has. */
  readonly healthCommand: string[];
  readonly env?: pulumi.Input<Record<string, pulumi.Input<string>>>;
  readonly secrets?: readonly SecretMount[];
  readonly configs?: readonly ConfigMount[];
  /** Overlay networks; the first one is the one Traefik reaches the service on. */
  readonly networks: readonly { id: pulumi.Input<string>; name: string }[];
  readonly rateLimit: { readonly average: number; readonly burst: number };
}

export class WebService extends pulumi.ComponentResource {
  readonly service: docker.Service;
  readonly url: string;

  constructor(name: string, args: WebServiceArgs, opts?: pulumi.ComponentResourceOptions) {
    super("advwell:web:WebService", name, {}, opts);
    const labels = routeLabels({
      name,
      host: args.domain,
      port: args.port,
      network: args.networks[0].name,
      healthPath: args.healthPath,
      healthIntervalSeconds: args.plan.health.intervalSeconds,
      rateLimit: args.rateLimit,
    });
    this.url = `https://${args.domain}`;
    this.service = new docker.Service(
      `${name}-service`,
      swarmServiceArgs(args.plan, {
        name,
        component: name,
        labels,
        containerSpec: {
          image: args.image,
          env: args.env,
          secrets: (args.secrets ?? []).map((s) => ({ secretId: s.secret.id, secretName: s.secret.name, fileName: s.fileName, fileMode: 0o444 })),
          configs: (args.configs ?? []).map((c) => ({ configId: c.config.id, configName: c.config.name, fileName: c.fileName, fileMode: 0o444 })),
          healthcheck: healthcheck(args.healthCommand, args.plan.health),
        },
        networks: args.networks.map((n) => ({ id: n.id })),
      }),
      { parent: this },
    );
    this.registerOutputs({ url: this.url, serviceName: this.service.name });
  }
}
