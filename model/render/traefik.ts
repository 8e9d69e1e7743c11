/**
 * Traefik v3 static configuration (CLI flags), its dynamic file (TLS options and the shared
 * middlewares, which Swarm labels cannot declare) and the Swarm service labels that route to a
 * service. Pure, so tests can check that every router names an entrypoint, a TLS resolver and a
 * service that exist. Label and flag names follow Traefik v3's Swarm provider reference and its
 * source (github.com/traefik/traefik/v3 v3.2.3: pkg/config/static, pkg/provider/acme/provider.go).
 */
import { renderYaml } from "../monitoring/yaml";

export const ENTRYPOINTS = { web: 80, websecure: 443, metrics: 8082 } as const;
export type EntrypointName = keyof typeof ENTRYPOINTS;
export const CERT_RESOLVER = "letsencrypt";
/** Let's Encrypt's production directory: lego's LEDirectoryProduction, Traefik's own default. */
export const LETS_ENCRYPT_DIRECTORY = "https://acme-v02.api.letsencrypt.org/directory";
export const ACME_STORAGE = "/letsencrypt/acme.json";
/** Where a private ACME server's CA certificate is mounted (advwell:acmeCaCertificate). */
export const ACME_CA_FILE = "/etc/traefik/acme-ca.pem";
/** The file provider's one file: TLS options and the middlewares every public router shares. */
export const DYNAMIC_CONFIG_FILE = "/etc/traefik/dynamic.yml";
export const DASHBOARD_USERS_FILE = "/run/secrets/traefik-dashboard-users";

/** Middlewares declared in the dynamic file, as routers on Swarm labels name them (`<name>@file`). */
export const FILE_MIDDLEWARES = { securityHeaders: "security-headers@file", retry: "retry@file" } as const;

/**
 * HSTS for a year on every public host, with the usual companions. Values from the OWASP secure
 * headers project; Traefik's `headers` middleware option names (pkg/config/dynamic/middlewares.go).
 */
export const SECURITY_HEADERS = {
  stsSeconds: 31536000,
  stsIncludeSubdomains: true,
  contentTypeNosniff: true,
  frameDeny: true,
  referrerPolicy: "strict-origin-when-cross-origin",
} as const;

/**
 * Swarm's task list reaches Traefik by polling (15 s by default, pkg/provider/docker/pswarm.go), so a
 * task that stops during a rollout is still a server for a moment: the proxy gets "connection
 * refused" there. Retrying on another server hides that from the client. Traefik retries only when
 * the backend could not be reached or failed before answering (pkg/middlewares/retry), never after
 * a response, so an answered request is never sent twice.
 */
export const RETRY = { attempts: 3, initialInterval: "100ms" } as const;

/** Seconds between Traefik's reads of Swarm's services and tasks (through the Docker API proxy). */
export const SWARM_REFRESH_SECONDS = 5;
/** Seconds Traefik waits to connect to a task before the retry middleware tries another one. */
export const DIAL_TIMEOUT_SECONDS = 2;

/** The dashboard's basic auth is rate-limited per IP before the password is checked (issue 22 item 9). */
export const DASHBOARD_RATE_LIMIT = { average: 5, burst: 20 } as const;

/** The dynamic file: TLS 1.2 minimum for every router (the `default` option), shared middlewares. */
export function renderDynamicConfig(): string {
  return renderYaml(
    {
      tls: { options: { default: { minVersion: "VersionTLS12" } } },
      http: {
        middlewares: {
          [FILE_MIDDLEWARES.securityHeaders.replace("@file", "")]: { headers: { ...SECURITY_HEADERS } },
          [FILE_MIDDLEWARES.retry.replace("@file", "")]: { retry: { ...RETRY } },
        },
      },
    },
    "Traefik's dynamic configuration (file provider): TLS options and shared middlewares",
  );
}

export interface AcmeOptions {
  /** The registration address. */
  readonly email: string;
  /** The ACME directory (Let's Encrypt's production directory unless configured). */
  readonly server: string;
  /** Mounted PEM file of a private ACME server's CA; undefined: the system's roots. */
  readonly caCertificatesFile?: string;
}

export interface TraefikStaticOptions {
  /** The ACME resolver; undefined: no resolver exists and routers use Traefik's default certificate. */
  readonly acme?: AcmeOptions;
  /** The overlay network Traefik reaches services on. */
  readonly network: string;
  /** The Docker API, through the filtering socket proxy, e.g. tcp://docker-socket-proxy:2375. */
  readonly dockerEndpoint: string;
}

export function traefikArgs(options: TraefikStaticOptions): string[] {
  const acme = options.acme;
  return [
    "--providers.swarm=true",
    `--providers.swarm.endpoint=${options.dockerEndpoint}`,
    "--providers.swarm.exposedByDefault=false",
    `--providers.swarm.network=${options.network}`,
    // A task Swarm stops stays a server until Traefik's next poll (15 s by default); polling every
    // SWARM_REFRESH_SECONDS keeps that window shorter than a task's own shutdown (the edge drill).
    `--providers.swarm.refreshSeconds=${SWARM_REFRESH_SECONDS}`,
    `--providers.file.filename=${DYNAMIC_CONFIG_FILE}`,
    // A Swarm config never changes in place (a new one replaces the task): nothing to watch.
    "--providers.file.watch=false",
    `--entrypoints.web.address=:${ENTRYPOINTS.web}`,
    "--entrypoints.web.http.redirections.entrypoint.to=websecure",
    "--entrypoints.web.http.redirections.entrypoint.scheme=https",
    `--entrypoints.websecure.address=:${ENTRYPOINTS.websecure}`,
    `--entrypoints.metrics.address=:${ENTRYPOINTS.metrics}`,
    // A stopped task's overlay address drops packets (no refusal): without a dial timeout a request
    // sent there waits for TCP's own (minutes) instead of failing over to another task (the retry).
    `--serversTransport.forwardingTimeouts.dialTimeout=${DIAL_TIMEOUT_SECONDS}s`,
    ...(acme
      ? [
          `--certificatesresolvers.${CERT_RESOLVER}.acme.email=${acme.email}`,
          `--certificatesresolvers.${CERT_RESOLVER}.acme.caserver=${acme.server}`,
          ...(acme.caCertificatesFile ? [`--certificatesresolvers.${CERT_RESOLVER}.acme.caCertificates=${acme.caCertificatesFile}`] : []),
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

/** Seconds Traefik's load balancer waits for a /health answer before it counts a failure. */
export const HEALTH_TIMEOUT_SECONDS = 5;

/**
 * Labels for a service Traefik routes to by host, over TLS: the rate limit first (a flood is
 * refused before it costs anything), then retries, then the security headers on every answer.
 */
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
    labels[`${service}.loadbalancer.healthcheck.timeout`] = `${HEALTH_TIMEOUT_SECONDS}s`;
  }
  if (o.rateLimit) middlewares.push(...rateLimitMiddleware(labels, `${o.name}-ratelimit`, o.rateLimit));
  middlewares.push(FILE_MIDDLEWARES.retry, FILE_MIDDLEWARES.securityHeaders);
  labels[`${router}.middlewares`] = middlewares.join(",");
  return labels;
}

/** Declares a per-IP rate limit middleware in `labels`; returns its name for a router's list. */
function rateLimitMiddleware(labels: Record<string, string>, name: string, limit: { readonly average: number; readonly burst: number }): string[] {
  // Without a sourceCriterion Traefik keys the limit on the client's remote address: per IP.
  labels[`traefik.http.middlewares.${name}.ratelimit.average`] = String(limit.average);
  labels[`traefik.http.middlewares.${name}.ratelimit.burst`] = String(limit.burst);
  return [name];
}

/**
 * The dashboard router on Traefik's own service: TLS, a rate limit, then basic auth from a Swarm
 * secret file, then the security headers. Its API (`/api/...`) is served on this host only.
 */
export function dashboardLabels(host: string, network: string, certResolver?: string): Record<string, string> {
  const labels: Record<string, string> = {
    "traefik.enable": "true",
    "traefik.swarm.network": network,
    "traefik.http.routers.dashboard.rule": `Host(\`${host}\`)`,
    "traefik.http.routers.dashboard.entrypoints": "websecure",
    "traefik.http.routers.dashboard.tls": "true",
    ...(certResolver ? { "traefik.http.routers.dashboard.tls.certresolver": certResolver } : {}),
    "traefik.http.routers.dashboard.service": "api@internal",
    "traefik.http.middlewares.dashboard-auth.basicauth.usersfile": DASHBOARD_USERS_FILE,
    // Swarm needs a port on every service Traefik reads, even when it routes to api@internal.
    "traefik.http.services.dashboard.loadbalancer.server.port": String(ENTRYPOINTS.websecure),
  };
  const limit = rateLimitMiddleware(labels, "dashboard-ratelimit", DASHBOARD_RATE_LIMIT);
  labels["traefik.http.routers.dashboard.middlewares"] = [...limit, "dashboard-auth", FILE_MIDDLEWARES.securityHeaders].join(",");
  return labels;
}

/** Monitoring UIs served under the dashboard's host, each at /<name>/, behind its rate limit and password. */
export const MONITORING_UI_PATHS = { prometheus: "/prometheus", alertmanager: "/alertmanager" } as const;
export type MonitoringUi = keyof typeof MONITORING_UI_PATHS;

/**
 * Arguments that make a Prometheus or Alertmanager UI work behind a path on another host: links
 * point at the external URL (with its path), while the server keeps answering at / (route prefix),
 * so health checks, scrapes and Grafana's datasource are unchanged and Traefik strips the path.
 */
export function monitoringUiArgs(ui: MonitoringUi, dashboardHost: string): string[] {
  return [`--web.external-url=https://${dashboardHost}${MONITORING_UI_PATHS[ui]}/`, "--web.route-prefix=/"];
}

/**
 * A monitoring UI's router (issue 22 item 8): on the dashboard's host under its path, through the
 * dashboard's rate limit and basic auth (middlewares declared on Traefik's own service), the path
 * stripped before the request reaches the UI. Its longer rule outranks the dashboard's Host rule.
 */
export function monitoringUiLabels(ui: MonitoringUi, o: { readonly dashboardHost: string; readonly port: number; readonly network: string; readonly certResolver?: string }): Record<string, string> {
  const router = `traefik.http.routers.${ui}`;
  const strip = `${ui}-strip`;
  return {
    "traefik.enable": "true",
    "traefik.swarm.network": o.network,
    [`${router}.rule`]: `Host(\`${o.dashboardHost}\`) && PathPrefix(\`${MONITORING_UI_PATHS[ui]}\`)`,
    [`${router}.entrypoints`]: "websecure",
    [`${router}.tls`]: "true",
    ...(o.certResolver ? { [`${router}.tls.certresolver`]: o.certResolver } : {}),
    [`${router}.service`]: ui,
    [`${router}.middlewares`]: ["dashboard-ratelimit", "dashboard-auth", strip, FILE_MIDDLEWARES.securityHeaders].join(","),
    [`traefik.http.middlewares.${strip}.stripprefix.prefixes`]: MONITORING_UI_PATHS[ui],
    [`traefik.http.services.${ui}.loadbalancer.server.port`]: String(o.port),
  };
}

/**
 * The routers the plan's labels declare (name -> host), from any set of Swarm labels: what the
 * rehearsal asks Traefik's API to report as enabled, and what a broken label must turn red.
 */
export function routersOf(labels: Readonly<Record<string, string>>): Record<string, string> {
  const routers: Record<string, string> = {};
  for (const [key, value] of Object.entries(labels)) {
    const m = /^traefik\.http\.routers\.([^.]+)\.rule$/.exec(key);
    if (m) routers[m[1]] = /Host\(`([^`]+)`\)/.exec(value)?.[1] ?? value;
  }
  return routers;
}
