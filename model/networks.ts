/**
 * The stack's overlay networks. A service joins only the networks it is reached on or reaches
 * through (its row's `networks` in model/services.ts, and model/plan/networks.ts), so:
 * - the public web services share `edge` with Traefik and nothing else: no unauthenticated
 *   endpoint (Prometheus, Alertmanager, cAdvisor, the exporters) is one hop from them;
 * - monitoring talks on `monitoring`, which Traefik joins to route to Grafana (and to be scraped);
 * - SQL travels only on `data`, which has no route out and is encrypted between nodes;
 * - the Docker API (through the filtering proxy) is reachable only on `docker-api`, which only
 *   Traefik joins besides the proxy.
 */
export const NETWORK_NAMES = ["edge", "monitoring", "data", "docker-api"] as const;
export type NetworkName = (typeof NETWORK_NAMES)[number];

export interface NetworkSpec {
  /** The Docker name (Traefik's `swarm.network` label and `docker network ls` show it). */
  readonly dockerName: string;
  /** Docker's `--internal`: no gateway out of the swarm. */
  readonly internal: boolean;
  /**
   * The overlay driver's `encrypted` option: VXLAN traffic between nodes goes through IPsec (ESP,
   * AES-GCM, keys rotated by the managers every 12 h). The driver tests only the option's presence
   * (moby libnetwork/drivers/overlay/ov_network.go, CreateNetwork: `optMap[secureOption]`).
   * Traffic between two tasks on one node never leaves it and is not encrypted either way.
   */
  readonly encrypted: boolean;
  /** Why the network is shaped so (the plan shows it). */
  readonly why: string;
}

export const NETWORK_TABLE: { readonly [N in NetworkName]: NetworkSpec } = {
  edge: {
    dockerName: "advwell-edge",
    // The web services and Traefik reach out (APIs, Let's Encrypt): a task gets a gateway only
    // through a non-internal network.
    internal: false,
    encrypted: false,
    why: "Traefik and the services it routes to; they reach the internet through it",
  },
  monitoring: {
    dockerName: "advwell-monitoring",
    // Alertmanager posts to the Slack/Discord webhook.
    internal: false,
    encrypted: false,
    why: "Prometheus, its targets, Alertmanager and Grafana; Alertmanager reaches the webhook through it",
  },
  data: {
    // Encrypted, it is named advwell-data-encrypted (model/plan/networks.ts): Docker cannot change
    // an existing network's options, so the encrypted network is a new one. Pulumi creates it
    // first, each service moves to it in its own rolling update, then the old one is deleted.
    dockerName: "advwell-data",
    internal: true,
    encrypted: true,
    why: "SQL (passwords at login, every row) between PostgreSQL and its clients: no route out, IPsec between nodes",
  },
  "docker-api": {
    dockerName: "advwell-docker-api",
    internal: true,
    // Traefik and the proxy both run on managers; what crosses is the Swarm's service list, which
    // holds no secret (Swarm secrets are never in a spec), so it is not worth IPsec's dependency.
    encrypted: false,
    why: "Traefik and the filtering Docker API proxy only: nothing else can reach the Docker API",
  },
};
