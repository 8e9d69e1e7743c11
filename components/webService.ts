/**
 * One component for every HTTP service behind Traefik (backend and frontend): replicas, limits,
 * start-first rolling updates with rollback, a container health check, and Traefik labels for a
 * host router over TLS with a load-balancer health check and a per-IP rate limit.
 */
import * as docker from "@pulumi/docker";
import * as pulumi from "@pulumi/pulumi";
import type { ServicePlan } from "../model/plan/types";
import { routeLabels } from "../model/render/traefik";
import { healthcheck, NetworkRef, swarmServiceArgs } from "./swarm";

import In = docker.types.input;

export interface WebServiceArgs {
  /** The service's plan (backend or frontend): replicas, resources, port, health, image. */
  readonly plan: ServicePlan;
  /** Host Traefik routes to this service. */
  readonly domain: string;
  /** Path Traefik's load-balancer health check probes. */
  readonly healthPath: string;
  /** The container health check (exec form); it must probe `healthPath` with what the image has. */
  readonly healthCommand: readonly string[];
  /** Environment variables (never secrets: those are mounted files). */
  readonly env?: pulumi.Input<Record<string, pulumi.Input<string>>>;
  /** Swarm secrets mounted as files (secretMount). */
  readonly secrets?: readonly In.ServiceTaskSpecContainerSpecSecret[];
  /** Swarm configs mounted as files (configMount, containerFileMount). */
  readonly configs?: readonly In.ServiceTaskSpecContainerSpecConfig[];
  /** Overlay networks; the first one is the one Traefik reaches the service on. */
  readonly networks: readonly NetworkRef[];
  /** Traefik's per-IP rate limit. */
  readonly rateLimit: { readonly average: number; readonly burst: number };
  /** The ACME resolver for the host's certificate (the plan's edge); undefined: Traefik's default certificate. */
  readonly certResolver?: string;
}

export class WebService extends pulumi.ComponentResource {
  readonly service: docker.Service;
  /** https://<domain>. */
  readonly url: string;

  constructor(name: string, args: WebServiceArgs, opts?: pulumi.ComponentResourceOptions) {
    super("advwell:web:WebService", name, {}, opts);
    const port = args.plan.port;
    if (port === undefined) throw new pulumi.ResourceError(`the plan gives ${args.plan.name} no port; Traefik needs one to route to it`, this);
    const labels = routeLabels({
      name,
      host: args.domain,
      port,
      network: args.networks[0].name,
      healthPath: args.healthPath,
      healthIntervalSeconds: args.plan.health.intervalSeconds,
      rateLimit: args.rateLimit,
      certResolver: args.certResolver,
    });
    this.url = `https://${args.domain}`;
    this.service = new docker.Service(
      `${name}-service`,
      swarmServiceArgs(args.plan, {
        component: name,
        labels,
        containerSpec: {
          env: args.env,
          secrets: [...(args.secrets ?? [])],
          configs: [...(args.configs ?? [])],
          healthcheck: healthcheck(args.healthCommand, args.plan.health),
        },
        networks: args.networks,
      }),
      { parent: this },
    );
    this.registerOutputs({ url: this.url, serviceName: this.service.name });
  }
}
