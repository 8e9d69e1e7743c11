/**
 * The filtering Docker API proxy on a manager, on the plan's `docker-api` network (internal: no
 * route out), which only Traefik joins besides it (model/networks.ts): Traefik never mounts the socket, and a compromised Traefik can list
 * services but not create a container (issue 22 item 8).
 */
import * as docker from "@pulumi/docker";
import * as pulumi from "@pulumi/pulumi";
import type { ServicePlan } from "../model/plan/types";
import { socketProxyEnv } from "../model/render/socketProxy";
import { bindMount, healthcheck, NetworkRef, swarmServiceArgs } from "./swarm";

export interface DockerSocketProxyArgs {
  /** The proxy's plan: one task on a manager, resources, health, image, port. */
  readonly plan: ServicePlan;
  /** The `docker-api` network, which Traefik joins too. */
  readonly network: NetworkRef;
}

export class DockerSocketProxy extends pulumi.ComponentResource {
  readonly service: docker.Service;

  constructor(name: string, args: DockerSocketProxyArgs, opts?: pulumi.ComponentResourceOptions) {
    super("advwell:edge:DockerSocketProxy", name, {}, opts);
    const port = args.plan.port;
    if (port === undefined) throw new pulumi.ResourceError(`the plan gives ${args.plan.name} no port; Traefik needs one to reach it`, this);
    this.service = new docker.Service(
      `${name}-service`,
      swarmServiceArgs(args.plan, {
        component: "docker-socket-proxy",
        containerSpec: {
          env: socketProxyEnv(),
          // Read-only changes nothing for a unix socket (writes to it still pass); the filter does the work.
          mounts: [bindMount("/var/run/docker.sock", "/var/run/docker.sock")],
          healthcheck: healthcheck(["CMD", "wget", "-q", "-O", "/dev/null", `http://127.0.0.1:${port}/_ping`], args.plan.health),
        },
        networks: [args.network],
      }),
      { parent: this },
    );
    this.registerOutputs({ serviceName: this.service.name });
  }
}
