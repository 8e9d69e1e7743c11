/**
 * Stage: which overlay networks the stack creates and which services join each. A service joins
 * its row's networks (model/services.ts), plus `monitoring` when Prometheus scrapes it (the
 * monitoring plan's scrape jobs) and, for Traefik, when it routes to a service that is reached only
 * on `monitoring` (Grafana). Nothing else joins a network: in particular nothing the public reaches
 * shares one with Prometheus, Alertmanager, cAdvisor or the exporters, which have no login.
 */
import type { MonitoringPlan } from "../monitoring/plan";
import { NETWORK_NAMES, NETWORK_TABLE, NetworkName } from "../networks";
import { SERVICE_NAMES, ServiceName } from "../services";
import type { NetworkPlan, ServicePlans } from "./types";

export interface NetworksStage {
  /** The services with their final `networks`. */
  readonly services: ServicePlans;
  /** The networks some service joins, in NETWORK_NAMES order. */
  readonly networks: readonly NetworkPlan[];
}

export function planNetworks(services: ServicePlans, monitoring: MonitoringPlan | undefined, routesGrafana: boolean): NetworksStage {
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
  if (routesGrafana && services.traefik && services.grafana) add("traefik", "monitoring");

  const planned: Partial<Record<ServiceName, ServicePlans[ServiceName]>> = {};
  for (const name of SERVICE_NAMES) if (services[name]) planned[name] = { ...services[name]!, networks: joined[name]! };
  const networks = NETWORK_NAMES.map((network): NetworkPlan => ({
    name: network,
    ...NETWORK_TABLE[network],
    services: SERVICE_NAMES.filter((s) => joined[s]?.includes(network)),
  })).filter((n) => n.services.length > 0);
  return { services: planned, networks };
}
