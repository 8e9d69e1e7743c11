/**
 * Which overlay networks services share, read across the stack:
 * - a network a database service joins (PostgreSQL, its replicas, PgBouncer) is internal (no route
 *   out of the swarm) and encrypted (the overlay driver's `encrypted` option: IPsec between nodes);
 * - the edge network, the one Traefik routes on by default (`--providers.swarm.network`), holds
 *   only Traefik and the services Traefik routes to there: anything else on it (Prometheus,
 *   Alertmanager, cAdvisor, an exporter, the database) would be one hop from the public web
 *   services, with no login in front.
 *
 * A service names its networks by id (`taskSpec.networksAdvanceds[].id`). The id is the network's
 * `id` property once it exists; before that (a first preview) the engine still says which network
 * the service's taskSpec depends on (propertyDependencies), which is used when the ids are unknown.
 */
import { asArray, labelMap, ResourceLike, StackViolation, TYPES } from "./common";
import { componentOf } from "./hardening";

/** Components that hold the database or pool it. */
export const DATABASE_COMPONENTS: readonly string[] = ["postgres", "postgres-replica", "pgbouncer"];
/** The edge proxy's component. */
export const EDGE_PROXY = "traefik";

const networkNameOf = (n: ResourceLike) => (typeof n.props.name === "string" ? n.props.name : n.name);
const serviceNameOf = (s: ResourceLike) => (typeof s.props.name === "string" ? s.props.name : s.name);

/** The network resources a service joins. */
export function networksOfService(service: ResourceLike, networks: readonly ResourceLike[]): ResourceLike[] {
  const ids: unknown[] = asArray<Record<string, unknown>>(service.props.taskSpec?.networksAdvanceds).map((n) => n?.id);
  const byId = networks.filter((n) => typeof n.props.id === "string" && ids.includes(n.props.id));
  if (byId.length > 0 || ids.length === 0) return byId;
  const deps = service.propertyDependencies?.taskSpec ?? [];
  return networks.filter((n) => deps.includes(n.urn));
}

/** The network Traefik routes on by default: its `--providers.swarm.network=` argument. */
function edgeNetworkName(proxy: ResourceLike): string | undefined {
  const args: unknown[] = asArray(proxy.props.taskSpec?.containerSpec?.args);
  for (const a of args) {
    const m = typeof a === "string" ? /^--providers\.(?:swarm|docker)\.network=(.+)$/.exec(a) : null;
    if (m) return m[1];
  }
  return undefined;
}

export function networkViolations(resources: readonly ResourceLike[]): StackViolation[] {
  const networks = resources.filter((r) => r.type === TYPES.network);
  const services = resources.filter((r) => r.type === TYPES.service);
  const out: StackViolation[] = [];

  const dataNetworks = new Map<string, ResourceLike>();
  for (const s of services.filter((x) => DATABASE_COMPONENTS.includes(componentOf(x.props) ?? ""))) {
    for (const n of networksOfService(s, networks)) dataNetworks.set(n.urn, n);
  }
  for (const n of dataNetworks.values()) {
    const name = networkNameOf(n);
    if (n.props.internal !== true) out.push({ urn: n.urn, message: `network ${name} carries SQL but is not internal: it has a route out of the swarm; set internal: true` });
    if (n.props.options?.encrypted === undefined) out.push({ urn: n.urn, message: `network ${name} carries SQL unencrypted between nodes; set options.encrypted (IPsec)` });
  }

  for (const proxy of services.filter((s) => componentOf(s.props) === EDGE_PROXY)) {
    const edgeName = edgeNetworkName(proxy);
    const edge = networksOfService(proxy, networks).find((n) => networkNameOf(n) === edgeName);
    if (!edge) continue;
    for (const s of services) {
      if (s === proxy || !networksOfService(s, networks).includes(edge)) continue;
      const labels = labelMap(s.props.labels);
      const routedHere = labels["traefik.enable"] === "true" && (labels["traefik.swarm.network"] ?? edgeName) === edgeName;
      if (!routedHere) {
        out.push({ urn: s.urn, message: `service ${serviceNameOf(s)} is on the edge network ${edgeName}, next to the public web services, but Traefik does not route to it there; put it on an internal network of its own kind (monitoring, data)` });
      }
    }
  }
  return out;
}
