/**
 * The filtering Docker API proxy (tecnativa/docker-socket-proxy): HAProxy in front of the socket,
 * configured by environment variables, one per API section, each 0 (403) or 1 (allowed), and
 * POST=0 refusing every method but GET and HEAD (its haproxy.cfg: `http-request deny unless
 * METH_GET || { env(POST) -m bool }`, then one `allow` per section and a final `deny`).
 *
 * Traefik's Swarm provider calls exactly these (traefik v3.2.3 pkg/provider/docker/pswarm.go:
 * ServerVersion, ServiceList, NetworkList, TaskList; the Docker client's version negotiation pings).
 * Everything else, events included (the Swarm provider polls), stays closed.
 */
export const DOCKER_API_SECTIONS = ["VERSION", "PING", "SERVICES", "TASKS", "NETWORKS"] as const;

/** Sections the image opens by default that Traefik does not need: closed explicitly. */
const CLOSED_DEFAULTS = ["EVENTS"] as const;

export function socketProxyEnv(): Record<string, string> {
  return {
    ...Object.fromEntries(DOCKER_API_SECTIONS.map((s) => [s, "1"])),
    ...Object.fromEntries(CLOSED_DEFAULTS.map((s) => [s, "0"])),
    POST: "0",
  };
}
