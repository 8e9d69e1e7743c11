/**
 * Container health checks (exec form) that need nothing but what the image certainly has:
 * the backend is a Node.js image, so node itself probes /health; no curl or wget required.
 */
export function nodeHttpProbe(port: number, path: string): string[] {
  const url = `http://127.0.0.1:${port}${path}`;
  const script = `require("http").get(${JSON.stringify(url)}, (r) => process.exit(r.statusCode >= 200 && r.statusCode < 300 ? 0 : 1)).on("error", () => process.exit(1))`;
  return ["CMD", "node", "-e", script];
}

/** nginx:alpine (and any busybox image) ships wget. */
export function wgetProbe(port: number, path: string): string[] {
  return ["CMD", "wget", "-q", "-O", "/dev/null", `http://127.0.0.1:${port}${path}`];
}

/**
 * PostgreSQL's readiness from its own postmaster.pid, without opening a connection: line 8 is the
 * postmaster's status ("ready" once a primary accepts connections, "standby" once a hot standby
 * accepts reads; PostgreSQL 10+, src/include/utils/pidfile.h), and line 6 the listen address, empty
 * while the official image's entrypoint runs its socket-only server for initdb. A connection-based
 * probe (pg_isready) every two seconds would fill the log of a server that logs connections, and
 * logs FATAL for a probe that names no existing role.
 */
export function postgresReadyProbe(status: "ready" | "standby"): string[] {
  return ["CMD-SHELL", `f="$PGDATA/postmaster.pid"; [ -n "$(sed -n 6p "$f" 2>/dev/null)" ] && [ "$(sed -n 8p "$f" 2>/dev/null | tr -d ' ')" = ${status} ]`];
}
