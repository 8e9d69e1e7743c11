/**
 * The parts of a resolved plan that every stage shares (the whole `Plan` is in plan/resolve.ts).
 * Types only.
 */
import type { Finding } from "../findings";
import type { NodeUsage } from "../placement";
import type { EndpointMode } from "../config/settings";
import type { HealthPlan, RestartPlan, ServiceName } from "../services";
import type { NetworkName } from "../networks";
import type { Resources } from "../tiers";
import type { Departure } from "../postgres/tuning";

export type { HealthPlan, RestartPlan };

export type UpdateOrder = "start-first" | "stop-first";

export interface UpdatePlan {
  /** Tasks replaced at once; derived from the replica count so `minHealthyReplicas` always holds. */
  readonly parallelism: number;
  readonly delaySeconds: number;
  readonly order: UpdateOrder;
  readonly failureAction: "rollback" | "pause";
  /** How long Swarm watches each new task before it counts the update as good. */
  readonly monitorSeconds: number;
  readonly maxFailureRatio: number;
  /** Replicas still running while a batch is replaced, even if the order were stop-first. */
  readonly minHealthyReplicas: number;
  /** Rough wall time of a full rollout: batches x (monitor + delay). */
  readonly rolloutSeconds: number;
}

export interface PlacementPlan {
  /** Swarm constraint expressions, e.g. `node.labels.advwell.postgres==primary`. */
  readonly constraints: readonly string[];
  /** Swarm spread preferences by node label, e.g. `node.labels.advwell.node`. */
  readonly spreadByLabels: readonly string[];
}

export interface ServicePlan extends Resources {
  /** The row's name, which is also the Docker service name and its DNS name on the overlays. */
  readonly name: ServiceName;
  readonly group: "application" | "monitoring";
  /** Swarm `mode: global` (one task per node) or replicated. */
  readonly global: boolean;
  /** Tasks: the replica count, or for a global service the number of nodes. */
  readonly replicas: number;
  readonly image: string;
  /** The port the service listens on inside the overlay network, when it has one. */
  readonly port?: number;
  /** Seconds Swarm waits after the stop signal before it kills the task. */
  readonly stopGraceSeconds: number;
  /** `vip` or `dnsrr` (advwell:endpointMode): how the service name resolves on the overlay. */
  readonly endpointMode: EndpointMode;
  readonly update: UpdatePlan;
  readonly rollback: UpdatePlan;
  readonly restart: RestartPlan;
  readonly health: HealthPlan;
  readonly placement: PlacementPlan;
  /**
   * How long `pulumi up` waits for the service to converge (the docker provider's convergeConfig),
   * failing the deploy on a rollback or a timeout. Replicated services only: the provider refuses
   * it on global ones.
   */
  readonly converge?: ConvergePlan;
  /** Overlay networks the tasks join (model/plan/networks.ts), the one Traefik reaches it on first. */
  readonly networks: readonly NetworkName[];
  /** How its Swarm secret files are mounted: owner and mode; absent when it mounts none. */
  readonly secretFiles?: SecretFilesPlan;
}

export interface SecretFilesPlan {
  readonly uid: number;
  readonly gid: number;
  /** Octal file mode: read by the owner only. */
  readonly mode: number;
  /** Who the owner is, in the image (model/services.ts). */
  readonly user: string;
}

/** One overlay network the stack creates (model/networks.ts). */
export interface NetworkPlan {
  readonly name: NetworkName;
  readonly dockerName: string;
  readonly internal: boolean;
  readonly encrypted: boolean;
  readonly why: string;
  /** The services that join it, in the service table's order. */
  readonly services: readonly ServiceName[];
}

export interface ConvergePlan {
  /** The whole rollout, a rollback after it, and a margin (see convergePlan in plan/services.ts). */
  readonly timeoutSeconds: number;
  /** convergeConfig.delay: when the provider first looks at the tasks after a create (firstLookSeconds in plan/services.ts). */
  readonly pollSeconds: number;
}

export type ServicePlans = Readonly<Partial<Record<ServiceName, ServicePlan>>>;

export interface ConnectionClient {
  readonly name: string;
  readonly instances: number;
  readonly connectionsEach: number;
  readonly total: number;
  readonly why: string;
}

export interface ConnectionPlan {
  readonly maxConnections: number;
  readonly superuserReserved: number;
  /** Slots ordinary roles can use: max_connections - superuser_reserved_connections. */
  readonly available: number;
  /** Every client the plan counts, at its peak (a start-first rollout runs extra replicas). */
  readonly budget: number;
  /** Slots beyond the budget for sessions the plan cannot count (derived: a quarter of it, at least 5). */
  readonly headroom: number;
  readonly clients: readonly ConnectionClient[];
}

export interface BackendPlan {
  /** V8 old space per replica: 75% of the container limit, leaving room for buffers and native memory. */
  readonly nodeHeapMiB: number;
  /** Prisma `connection_limit` per replica. */
  readonly connectionLimit: number;
  /** Prisma `pool_timeout`: seconds a query waits for a free pooled connection. */
  readonly poolTimeoutSeconds: number;
  /** Where DATABASE_URL points; migrations always use the direct URL. */
  readonly databaseHost: "pgbouncer" | "postgres";
  readonly port: number;
}

export interface PgBouncerPlan {
  readonly poolMode: "transaction";
  readonly listenPort: number;
  readonly defaultPoolSize: number;
  readonly reservePoolSize: number;
  readonly maxClientConn: number;
  readonly maxDbConnections: number;
}

export interface PostgresPlan {
  readonly majorVersion: number;
  readonly settings: Readonly<Record<string, string>>;
  /** Where the settings depart from PGTune (the reference), and why. */
  readonly departures: readonly Departure[];
  readonly memoryLimitMiB: number;
  /** The honest worst case (model/postgres/memory.ts), MiB, and its parts. */
  readonly worstCaseMemoryMiB: number;
  readonly worstCase: Readonly<Record<string, number>>;
  readonly readReplicas: number;
  /** Size of the tmpfs at /dev/shm: Docker's 64 MiB default is too small for parallel query. */
  readonly shmSizeMiB: number;
  /** The data volume: advwell-postgres-data, or the adopted deployment's volume. */
  readonly dataVolume: string;
  /** True when the volume is an existing deployment's, taken over (imported) rather than created. */
  readonly adopted: boolean;
  /** PGDATA inside the container: a subdirectory of a volume the stack created, the root of an adopted one. */
  readonly pgdata: string;
  /** The primary's pg_hba.conf, line by line (mounted as a config; `hba_file` points at it). */
  readonly hba: readonly string[];
}

/** What Traefik serves: the hosts of its routers and where their certificates come from. */
export interface EdgePlan {
  readonly hosts: { readonly api: string; readonly app: string; readonly dashboard: string; readonly grafana?: string };
  /** The ACME resolver routers ask for certificates; undefined means Traefik's default certificate. */
  readonly certResolver?: string;
  /** Let's Encrypt's registration address, when it issues the certificates. */
  readonly acmeEmail?: string;
  /** The ACME directory, when an ACME server issues the certificates (Let's Encrypt's by default). */
  readonly acmeServer?: string;
  /** PEM of a private ACME server's CA (advwell:acmeCaCertificate), mounted for Traefik to trust. */
  readonly acmeCaCertificate?: string;
  /** Where Traefik reaches the Docker API: the filtering socket proxy's service, never the socket. */
  readonly dockerEndpoint: string;
}

export interface NodePlan extends NodeUsage {
  readonly labels: Readonly<Record<string, string>>;
}

/** A planning stage's result: what it decided, and what it found wrong or risky. */
export interface Staged<T> {
  readonly value: T;
  readonly findings: readonly Finding[];
}
