/**
 * Stage: which overlay networks the stack creates and which services join each. A service joins
 * its row's networks (model/services.ts), plus `monitoring` when Prometheus scrapes it (the
 * monitoring plan's scrape jobs) and, for Traefik, when it routes to a service that is reached only
 * on `monitoring` (Grafana). Nothing else joins a network: in particular nothing the public reaches
 * shares one with Prometheus, Alertmanager, cAdvisor or the exporters, which have no login.
 */
import { configKey } from "../config/keys";
import { Finding, warning } from "../findings";
import type { MonitoringPlan } from "../monitoring/plan";
import { NETWORK_NAMES, NETWORK_TABLE, NetworkName } from "../networks";
import { SERVICE_NAMES, ServiceName } from "../services";
import type { NetworkPlan, ServicePlans } from "./types";

export interface NetworksStage {
  /** The services with their final `networks`. */
  readonly services: ServicePlans;
  /** The networks some service joins, in NETWORK_NAMES order. */
  readonly networks: readonly NetworkPlan[];
  readonly findings: readonly Finding[];
}

export interface NetworkOptions {
  /** Traefik routes to Grafana (on the monitoring network). */
  readonly routesGrafana: boolean;
  /** advwell:dataNetworkEncrypted. */
  readonly encrypt: boolean;
  /** Nodes in the inventory: with one, no overlay traffic crosses nodes. */
  readonly nodeCount: number;
}

export function planNetworks(services: ServicePlans, monitoring: MonitoringPlan | undefined, o: NetworkOptions): NetworksStage {
  const scraped = new Set<ServiceName>((monitoring?.scrapeJobs ?? []).map((j) => j.service));
  const joined: Partial<Record<ServiceName, NetworkName[]>> = {};
  const add = (name: ServiceName, network: NetworkName) => {
    const list = (joined[name] ??= [...services[name]!.networks]);
    if (!list.includes(network)) list.push(network);
  };
  for (const name of SERVICE_NAMES) {
    if (!services[name]) continue;
    joined[name] = [...services[name]!.networks];
    // Prometheus reaches each target's tasks through `tasks.<service>` on the monitoring network.
    if (scraped.has(name) && name !== "prometheus") add(name, "monitoring");
  }
  // Traefik's router for Grafana names the monitoring network (model/monitoring/files.ts grafanaRouteLabels).
  if (o.routesGrafana && services.traefik && services.grafana) add("traefik", "monitoring");

  const planned: Partial<Record<ServiceName, ServicePlans[ServiceName]>> = {};
  for (const name of SERVICE_NAMES) if (services[name]) planned[name] = { ...services[name]!, networks: joined[name]! };
  const networks = NETWORK_NAMES.map((network): NetworkPlan => {
    const spec = NETWORK_TABLE[network];
    const encrypted = spec.encrypted && o.encrypt;
    return {
      name: network,
      ...spec,
      // A new name for the encrypted network: Docker cannot add the option to an existing one.
      dockerName: encrypted ? `${spec.dockerName}-encrypted` : spec.dockerName,
      encrypted,
      services: SERVICE_NAMES.filter((s) => joined[s]?.includes(network)),
    };
  }).filter((n) => n.services.length > 0);
  const findings: Finding[] = [];
  if (!o.encrypt && o.nodeCount > 1) {
    findings.push(
      warning(configKey("dataNetworkEncrypted"), "is false: SQL between PostgreSQL and its clients on other nodes, passwords at login included, crosses the network between the nodes unencrypted; set it to true unless the nodes' kernels cannot do IPsec (ESP with AES-GCM)"),
    );
  }
  return { services: planned, networks, findings };
}
