/**
 * What a Swarm service may reach and expose, read from its properties as the Docker provider (v5)
 * names them:
 * - exposure: only the edge proxy publishes ports; PostgreSQL's and PgBouncer's never;
 * - credentials: no password, token or key as a literal in env or args (`docker service inspect`
 *   and every `pulumi preview` show both): they come as Swarm secret files;
 * - privileges: added capabilities only from a short list; the Docker socket (or a directory that
 *   holds it) only into the services that serve or filter the Docker API; the host's `/` only into
 *   node-exporter; every bind mount read-only;
 * - secret files: readable by their owner (and at most its group), never by everyone (Swarm's
 *   default mode is 0444).
 */
import { labelMap, TYPES } from "./common";
import { findCredentials } from "./secrets";

/** `advwell.component` label of a service (swarmServiceArgs sets it on every service). */
export function componentOf(props: Record<string, any>): string | undefined {
  return labelMap(props.labels)["advwell.component"];
}

const nameOf = (props: Record<string, any>) => (typeof props.name === "string" ? props.name : "service");

/** Components that publish ports on the hosts: the edge proxy, which binds 80 and 443. */
export const PUBLISHERS: readonly string[] = ["traefik"];
/** Ports whose publication would put the database on the hosts' interfaces. */
export const DATABASE_PORTS: Readonly<Record<number, string>> = { 5432: "PostgreSQL's port 5432", 6432: "PgBouncer's port 6432" };

export function exposureViolations(type: string, props: Record<string, any>): string[] {
  if (type !== TYPES.service) return [];
  const ports: Record<string, any>[] = Array.isArray(props.endpointSpec?.ports) ? props.endpointSpec.ports : [];
  const out: string[] = [];
  for (const p of ports) {
    const published = p.publishedPort ?? p.targetPort;
    const database = DATABASE_PORTS[p.targetPort] ?? DATABASE_PORTS[published];
    if (database) out.push(`${nameOf(props)}: publishes ${database} on every node (published ${published}): reach it only over the internal data network`);
    else if (!PUBLISHERS.includes(componentOf(props) ?? "")) out.push(`${nameOf(props)}: publishes port ${published}; only ${PUBLISHERS.join(", ")} publishes ports, everything else is reached through it`);
  }
  return out;
}

/** An env name or a flag that holds a credential when its value is a literal. */
const CREDENTIAL_NAME = /(^|[_.-])(pass(word|wd)?|secret|token|api[_-]?key|access[_-]?key|private[_-]?key|credentials?)$/i;
/** Values that name where a credential is, not the credential. */
const REFERENCE = /^(\/|\$|file:|<|\{\{)|^$/;

export function credentialViolations(type: string, props: Record<string, any>): string[] {
  if (type !== TYPES.service) return [];
  const container = props.taskSpec?.containerSpec ?? {};
  const out: string[] = [];
  const env: Record<string, unknown> = container.env && typeof container.env === "object" ? container.env : {};
  for (const [key, value] of Object.entries(env)) {
    if (typeof value !== "string") continue;
    if ((CREDENTIAL_NAME.test(key) && !REFERENCE.test(value)) || findCredentials(`${key}=${value}`).length > 0) {
      out.push(`${nameOf(props)}: env ${key} holds a credential; mount it as a Swarm secret file (${key}_FILE or the image's equivalent)`);
    }
  }
  const args: unknown[] = [...(Array.isArray(container.args) ? container.args : []), ...(Array.isArray(container.commands) ? container.commands : [])];
  for (const [i, arg] of args.entries()) {
    if (typeof arg !== "string") continue;
    const flag = /^--?([A-Za-z0-9_.-]+)$/.exec(arg);
    const next = args[i + 1];
    const split = flag && CREDENTIAL_NAME.test(flag[1]) && typeof next === "string" && !next.startsWith("-") && !REFERENCE.test(next);
    const inline = /^--?([A-Za-z0-9_.-]+)=(.*)$/.exec(arg);
    const joined = inline && CREDENTIAL_NAME.test(inline[1]) && !REFERENCE.test(inline[2]);
    if (split || joined || findCredentials(arg).length > 0) out.push(`${nameOf(props)}: argument ${i + 1} (${(flag?.[1] ?? inline?.[1] ?? "a URL or assignment")}) holds a credential; pass a file path instead`);
  }
  return out;
}

/**
 * Capabilities a service may add. Docker's default set already has NET_BIND_SERVICE, CHOWN, SETUID
 * and the like; anything beyond it (SYS_ADMIN, NET_ADMIN, ALL) breaks the container's isolation.
 */
export const CAPABILITIES_ALLOWED: readonly string[] = ["NET_BIND_SERVICE"];
/**
 * Components that may reach the Docker API through its socket. A read-only bind limits nothing: a
 * unix socket accepts POST /containers/create whatever the mount's mode, and that is root on the node.
 * - traefik: reads services and labels (until it goes through the proxy);
 * - docker-socket-proxy: the filtering proxy, which lets through only the read endpoints;
 * - cadvisor: maps cgroups to Swarm labels through the API; it belongs behind the proxy too (issue 22
 *   item 8), and leaves this list when it reads the API there.
 */
export const DOCKER_SOCKET_CLIENTS: readonly string[] = ["traefik", "docker-socket-proxy", "cadvisor"];
/**
 * The host's `/`: node-exporter's filesystem collector reads every mount's usage under it
 * (node_exporter's README runs it with `-v /:/host:ro,rslave`); the disk-space alert needs it. The
 * Docker socket is under it too, but its image runs as `nobody`, which the socket's mode (0660,
 * root:docker) refuses; Docker's bind mounts have no non-recursive option in the provider to hide it.
 */
export const HOST_ROOT_READERS: readonly string[] = ["node-exporter"];
const DOCKER_SOCKETS = ["/var/run/docker.sock", "/run/docker.sock"];

const normalize = (p: string) => (p.replace(/\/+/g, "/").replace(/(.)\/$/, "$1") || "/");
/** True when binding `source` exposes `target` (the path itself or a directory above it). */
const exposes = (source: string, target: string) => {
  const s = normalize(source);
  return s === "/" || target === s || target.startsWith(`${s}/`);
};

export function privilegeViolations(type: string, props: Record<string, any>): string[] {
  if (type !== TYPES.service) return [];
  const container = props.taskSpec?.containerSpec ?? {};
  const component = componentOf(props) ?? "";
  const name = nameOf(props);
  const out: string[] = [];
  const adds: unknown[] = Array.isArray(container.capAdds) ? container.capAdds : [];
  for (const cap of adds) {
    const normalized = String(cap).toUpperCase().replace(/^CAP_/, "");
    if (!CAPABILITIES_ALLOWED.includes(normalized)) out.push(`${name}: adds capability ${String(cap)}; allowed: ${CAPABILITIES_ALLOWED.join(", ")}`);
  }
  const mounts: Record<string, any>[] = Array.isArray(container.mounts) ? container.mounts : [];
  for (const m of mounts.filter((x) => x?.type === "bind")) {
    const source = typeof m.source === "string" ? m.source : "";
    const rootReader = normalize(source) === "/" && HOST_ROOT_READERS.includes(component);
    if (DOCKER_SOCKETS.some((s) => exposes(source, s)) && !DOCKER_SOCKET_CLIENTS.includes(component) && !rootReader) {
      out.push(`${name}: binds ${source}, which exposes the Docker socket (root on the node, read-only or not); only ${DOCKER_SOCKET_CLIENTS.join(", ")} may, and they belong behind the filtering proxy`);
    }
    if (normalize(source) === "/" && !HOST_ROOT_READERS.includes(component)) out.push(`${name}: binds the host's / ; only ${HOST_ROOT_READERS.join(", ")} may, read-only`);
    if (m.readOnly !== true) out.push(`${name}: binds ${source} read-write; host paths are mounted read-only`);
  }
  return out;
}

/** The mode bits a secret file may have: read by its owner, and at most its group. */
export const SECRET_FILE_BITS = 0o440;

export function secretFileViolations(type: string, props: Record<string, any>): string[] {
  if (type !== TYPES.service) return [];
  const secrets: Record<string, any>[] = Array.isArray(props.taskSpec?.containerSpec?.secrets) ? props.taskSpec.containerSpec.secrets : [];
  const out: string[] = [];
  for (const s of secrets) {
    const mode = s.fileMode;
    if (typeof mode !== "number") out.push(`${nameOf(props)}: secret file ${s.fileName} has no fileMode, so Swarm mounts it 0444 (every user of the container reads it); set 0400 and its owner`);
    else if ((mode & ~SECRET_FILE_BITS) !== 0) out.push(`${nameOf(props)}: secret file ${s.fileName} is mode 0${mode.toString(8)}; allowed: 0400 or 0440 (owner, at most its group, read-only)`);
  }
  return out;
}
