/**
 * Traefik v3 static configuration (CLI flags) and the Swarm service labels that route to a
 * service. Pure, so tests can check that every router names an entrypoint, a TLS resolver and a
 * service that exist. Label and flag names follow Traefik v3's Swarm provider reference.
 */

export const ENTRYPOINTS = { web: 80, websecure: 443, metrics: 8082 } as const;
export type EntrypointName = keyof typeof ENTRYPOINTS;
export const CERT_RESOLVER = "letsencrypt";
export const ACME_STORAGE = "/letsencrypt/acme.json";
export const DASHBOARD_USERS_FILE = "/run/secrets/traefik-dashboard-users";

export interface TraefikStaticOptions {
  /** Let's Encrypt's registration address; without it no ACME resolver exists and routers use Traefik's default certificate. */
  readonly acmeEmail?: string;
  /** The overlay network Traefik reaches services on. */
  readonly network: string;
}

export function traefikArgs(options: TraefikStaticOptions): string[] {
  return [
    "--providers.swarm=true",
    "--providers.swarm.endpoint=unix:///var/run/docker.sock",
    "--providers.swarm.exposedByDefault=false",
    `--providers.swarm.network=${options.network}`,
    `--entrypoints.web.address=:${ENTRYPOINTS.web}`,
    "--entrypoints.web.http.redirections.entrypoint.to=websecure",
    "--entrypoints.web.http.redirections.entrypoint.scheme=https",
    `--entrypoints.websecure.address=:${ENTRYPOINTS.websecure}`,
    `--entrypoints.metrics.address=:${ENTRYPOINTS.metrics}`,
    ...(options.acmeEmail
      ? [
          `--certificatesresolvers.${CERT_RESOLVER}.acme.email=${options.acmeEmail}`,
          `--certificatesresolvers.${CERT_RESOLVER}.acme.storage=${ACME_STORAGE}`,
          `--certificatesresolvers.${CERT_RESOLVER}.acme.tlschallenge=true`,
        ]
      : []),
    "--accesslog=true",
    "--accesslog.format=json",
    "--metrics.prometheus=true",
    "--metrics.prometheus.entryPoint=metrics",
    "--metrics.prometheus.addServicesLabels=true",
    // The dashboard is served only through the authenticated router below; never --api.insecure.
    "--api.dashboard=true",
    "--ping=true",
    "--log.level=INFO",
  ];
}

export interface RouteOptions {
  /** Router, service and middleware names derive from this, e.g. "backend". */
  readonly name: string;
  readonly host: string;
  readonly port: number;
  readonly network: string;
  /** Load-balancer health check; the seed checks /health every 10 s. */
  readonly healthPath?: string;
  readonly healthIntervalSeconds?: number;
  readonly rateLimit?: { readonly average: number; readonly burst: number };
  /** The ACME resolver that issues the host's certificate; undefined: Traefik's default certificate. */
  readonly certResolver?: string;
}

/** Labels for a service Traefik routes to by host, over TLS, with a per-IP rate limit. */
export function routeLabels(o: RouteOptions): Record<string, string> {
  const router = `traefik.http.routers.${o.name}`;
  const service = `traefik.http.services.${o.name}`;
  const middlewares: string[] = [];
  const labels: Record<string, string> = {
    "traefik.enable": "true",
    "traefik.swarm.network": o.network,
    [`${router}.rule`]: `Host(\`${o.host}\`)`,
    [`${router}.entrypoints`]: "websecure",
    [`${router}.tls`]: "true",
    ...(o.certResolver ? { [`${router}.tls.certresolver`]: o.certResolver } : {}),
    [`${router}.service`]: o.name,
    [`${service}.loadbalancer.server.port`]: String(o.port),
  };
  if (o.healthPath) {
    labels[`${service}.loadbalancer.healthcheck.path`] = o.healthPath;
    labels[`${service}.loadbalancer.healthcheck.interval`] = `${o.healthIntervalSeconds ?? 10}s`;
    labels[`${service}.loadbalancer.healthcheck.timeout`] = "5s";
  }
  if (o.rateLimit) {
    // Without a sourceCriterion Traefik keys the limit on the client's remote address: per IP.
    const mw = `${o.name}-ratelimit`;
    labels[`traefik.http.middlewares.${mw}.ratelimit.average`] = String(o.rateLimit.average);
    labels[`traefik.http.middlewares.${mw}.ratelimit.burst`] = String(o.rateLimit.burst);
    middlewares.push(mw);
  }
  if (middlewares.length > 0) labels[`${router}.middlewares`] = middlewares.join(",");
  return labels;
}

/** The dashboard router on Traefik's own service: TLS, basic auth from a Swarm secret file. */
export function dashboardLabels(host: string, network: string, certResolver?: string): Record<string, string> {
  return {
    "traefik.enable": "true",
    "traefik.swarm.network": network,
    "traefik.http.routers.dashboard.rule": `Host(\`${host}\`)`,
    "traefik.http.routers.dashboard.entrypoints": "websecure",
    "traefik.http.routers.dashboard.tls": "true",
    ...(certResolver ? { "traefik.http.routers.dashboard.tls.certresolver": certResolver } : {}),
    "traefik.http.routers.dashboard.service": "api@internal",
    "traefik.http.routers.dashboard.middlewares": "dashboard-auth",
    "traefik.http.middlewares.dashboard-auth.basicauth.usersfile": DASHBOARD_USERS_FILE,
    // Swarm needs a port on every service Traefik reads, even when it routes to api@internal.
    "traefik.http.services.dashboard.loadbalancer.server.port": String(ENTRYPOINTS.websecure),
  };
}
