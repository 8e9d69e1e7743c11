/**
 * One component for every HTTP service behind Traefik (backend and frontend): replicas, limits,
 * start-first rolling updates with rollback, a container health check, and Traefik labels for a
 * host router over TLS with a load-balancer health check and a per-IP rate limit.
 */
import * as docker from "@pulumi/docker";
import * as pulumi from "@pulumi/pulumi";
import { AppEnvService, parseSecretEnv, secretEnvFile } from "../model/config/appEnv";
import type { AppEnvSettings } from "../model/config/settings";
import type { ServicePlan } from "../model/plan/types";
import { routeLabels } from "../model/render/traefik";
import { healthcheck, NetworkRef, secretFile, secretMount, swarmServiceArgs } from "./swarm";

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

/** A service's own environment as the service spec carries it: plain variables, and a *_FILE variable per secret one. */
export interface AppEnvironment {
  readonly env: Record<string, string>;
  readonly secrets: In.ServiceTaskSpecContainerSpecSecret[];
}

/**
 * The app's own environment (advwell:backendEnv / backendSecretEnv, and the frontend's): plain
 * variables into the spec's env; each secret variable into its own Swarm secret, mounted as
 * /run/secrets/env-<NAME>, with NAME_FILE pointing at it (the backend's preload reads it into NAME
 * before the app starts). A secret's value never enters the spec; one variable's change replaces
 * only its own secret. The names come from the settings (the CLI hands the program the decrypted
 * value, which the plan validated); the values from the secret input.
 */
export function appEnvironment(resourcePrefix: string, service: AppEnvService, settings: AppEnvSettings, secretText: pulumi.Input<string | undefined> | undefined, parent: pulumi.Resource): AppEnvironment {
  const env: Record<string, string> = { ...settings.env };
  const secrets: In.ServiceTaskSpecContainerSpecSecret[] = [];
  if (settings.secretNames.length > 0 && secretText === undefined) throw new pulumi.ResourceError(`the ${service}'s secret environment names ${settings.secretNames.length} variables but the program got no value for it`, parent);
  // A plain object, not the Map: an Output's value is unwrapped as plain data.
  const parsed = pulumi.secret(pulumi.output(secretText).apply((text): Record<string, string> => Object.fromEntries(parseSecretEnv(service, text ?? "").vars)));
  for (const name of settings.secretNames) {
    const file = secretEnvFile(name);
    const value = parsed.apply((vars) => vars[name] ?? "");
    secrets.push(secretMount(secretFile(`${resourcePrefix}-${service}-env-${name}`, value, parent), file.fileName));
    env[file.fileVar] = file.path;
  }
  return { env, secrets };
}

